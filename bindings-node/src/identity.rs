//! Identity: keys given as `kind:value` text, and the identity rules of a tracker.

use std::collections::BTreeMap;

use journey_core::{Error, IdentityKey, IdentityLevel, IdentityRules};
use napi_derive::napi;
use serde::Deserialize;

/// How identity keys are judged and how far profiles may be merged. Every field is
/// optional; a missing one keeps journey-core's default: `session`, `device`, `cookie`,
/// `social` anonymous; `email`, `phone`, `loyalty` identified; `customer` authenticated,
/// at most one per profile (so a shared device never merges two customers).
#[napi(object, js_name = "IdentityRules", object_from_js = false, object_to_js = false)]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct JsIdentityRules {
    /// The level each key kind gives a profile, e.g. `{email: 'identified'}` (replaces
    /// the default table): `anonymous` (transient keys such as a session or a device),
    /// `identified` (contact keys such as an e-mail or a phone number) or `authenticated`
    /// (a logged-in customer id).
    #[napi(ts_type = "Record<string, 'anonymous' | 'identified' | 'authenticated'>")]
    pub levels: Option<BTreeMap<String, IdentityLevel>>,
    /// The level of kinds not listed in `levels` (default `anonymous`).
    #[napi(ts_type = "'anonymous' | 'identified' | 'authenticated'")]
    pub default_level: Option<IdentityLevel>,
    /// The most keys of a kind one profile may hold, e.g. `{customer: 1}`; a link that
    /// would exceed it is refused and recorded as a conflict (replaces the default table).
    #[napi(ts_type = "Record<string, number>")]
    pub limits: Option<BTreeMap<String, usize>>,
}

impl JsIdentityRules {
    /// The core's rules: the given fields over the defaults.
    pub(crate) fn into_core(self) -> IdentityRules {
        let mut rules = IdentityRules::default();
        if let Some(levels) = self.levels {
            rules.levels = levels;
        }
        if let Some(level) = self.default_level {
            rules.default_level = level;
        }
        if let Some(limits) = self.limits {
            rules.limits = limits;
        }
        rules
    }
}

/// Parses an identity key argument (`kind:value`).
///
/// The error is `E_PARSE` whose `path` is the argument's name.
pub(crate) fn key(argument: &str, text: &str) -> Result<IdentityKey, Error> {
    IdentityKey::parse(text).map_err(|message| Error::parse(argument, message))
}

/// A level's name: `anonymous`, `identified` or `authenticated`.
pub(crate) fn level_name(level: IdentityLevel) -> String {
    level.as_str().to_string()
}
