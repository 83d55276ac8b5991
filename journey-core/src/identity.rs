//! Identity: typed keys, the level they give a profile, and the rules for merging.
//!
//! Stitching itself (linking keys into profiles, refusing links that break a limit,
//! splitting a profile when a wrong link is removed) lives in [`crate::stitch`].

use compact_str::CompactString;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How well a profile is known, from least to most. Ordered: `Anonymous < Identified < Authenticated`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IdentityLevel {
    /// Only transient keys: a browser session, a device, an IVR session.
    Anonymous,
    /// A contact key such as an e-mail address or a phone number.
    Identified,
    /// A logged-in or verified customer id.
    Authenticated,
}

impl IdentityLevel {
    /// The level's name as written in maps and results.
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityLevel::Anonymous => "anonymous",
            IdentityLevel::Identified => "identified",
            IdentityLevel::Authenticated => "authenticated",
        }
    }
}

use std::collections::BTreeMap;
use std::fmt;

/// The longest identity key [`IdentityKey::parse`] accepts at all, in bytes. The
/// configurable limit, checked when an event is tracked, is
/// [`Limits::key_len`](crate::Limits::key_len) (256 by default).
pub const MAX_KEY_LEN: usize = 1024;

/// A typed identity key, `kind:value` (`session:8f3a`, `email:ana@example.com`,
/// `phone:+34600000000`, `customer:0012345`).
///
/// The kind is lowercase ASCII letters, digits and `_`, starting with a letter; the value
/// is any non-empty text without control characters. The whole key is at most
/// [`MAX_KEY_LEN`] bytes (and a tracker refuses keys longer than its
/// [`Limits::key_len`](crate::Limits::key_len)).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdentityKey(CompactString);

impl IdentityKey {
    /// Parses and checks a key; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.len() > MAX_KEY_LEN {
            return Err(format!("identity key is {} bytes long, longer than the most accepted, {MAX_KEY_LEN}", text.len()));
        }
        let Some((kind, value)) = text.split_once(':') else {
            return Err(format!("identity key {text:?} is not of the form kind:value (e.g. session:abc, email:ana@example.com)"));
        };
        let kind_ok = kind.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
            && kind.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !kind_ok {
            return Err(format!("identity key {text:?} has kind {kind:?}: a kind is lowercase letters, digits and _, starting with a letter"));
        }
        if value.is_empty() {
            return Err(format!("identity key {text:?} has an empty value"));
        }
        if value.chars().any(char::is_control) {
            return Err(format!("identity key {text:?} contains control characters"));
        }
        Ok(IdentityKey(CompactString::from(text)))
    }

    /// The whole key, `kind:value`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The kind, before the first `:`.
    pub fn kind(&self) -> &str {
        self.0.split_once(':').map_or("", |(k, _)| k)
    }

    /// The value, after the first `:`.
    pub fn value(&self) -> &str {
        self.0.split_once(':').map_or("", |(_, v)| v)
    }
}

impl fmt::Display for IdentityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for IdentityKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for IdentityKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        IdentityKey::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// How identity keys are judged and how far profiles may be merged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdentityRules {
    /// The level each key kind gives a profile. Kinds not listed are `default_level`.
    pub levels: BTreeMap<String, IdentityLevel>,
    /// The level of kinds not listed in `levels`.
    pub default_level: IdentityLevel,
    /// The most keys of a kind one profile may hold. A link that would exceed it is refused
    /// and recorded as a conflict.
    pub limits: BTreeMap<String, usize>,
}

impl Default for IdentityRules {
    /// `session`, `device`, `cookie` anonymous; `email`, `phone` identified; `customer`
    /// authenticated, at most one per profile (so a shared device or session never merges
    /// two customers).
    fn default() -> Self {
        let levels = [
            ("session", IdentityLevel::Anonymous),
            ("device", IdentityLevel::Anonymous),
            ("cookie", IdentityLevel::Anonymous),
            ("social", IdentityLevel::Anonymous),
            ("email", IdentityLevel::Identified),
            ("phone", IdentityLevel::Identified),
            ("loyalty", IdentityLevel::Identified),
            ("customer", IdentityLevel::Authenticated),
        ];
        IdentityRules {
            levels: levels.iter().map(|(k, l)| (k.to_string(), *l)).collect(),
            default_level: IdentityLevel::Anonymous,
            limits: [("customer".to_string(), 1)].into(),
        }
    }
}

impl IdentityRules {
    /// The level a key gives its profile.
    pub fn level_of(&self, key: &IdentityKey) -> IdentityLevel {
        self.levels.get(key.kind()).copied().unwrap_or(self.default_level)
    }

    /// The highest level among keys (anonymous for none).
    pub fn level_of_keys<'a>(&self, keys: impl IntoIterator<Item = &'a IdentityKey>) -> IdentityLevel {
        keys.into_iter().map(|k| self.level_of(k)).max().unwrap_or(IdentityLevel::Anonymous)
    }

    /// The first limit that the union of two key sets would break: `(kind, limit, count)`.
    pub fn violation<'a>(&self, keys: impl IntoIterator<Item = &'a IdentityKey>) -> Option<(String, usize, usize)> {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for key in keys {
            *counts.entry(key.kind()).or_default() += 1;
        }
        self.limits.iter().find_map(|(kind, &limit)| {
            let n = counts.get(kind.as_str()).copied().unwrap_or(0);
            (n > limit).then(|| (kind.clone(), limit, n))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked() {
        let k = IdentityKey::parse("email:ana@example.com").unwrap();
        assert_eq!((k.kind(), k.value()), ("email", "ana@example.com"));
        assert_eq!(IdentityKey::parse("url:https://x").unwrap().value(), "https://x");
        for bad in ["", "nokind", ":x", "Email:x", "1x:y", "session:", "session:a\nb"] {
            assert!(IdentityKey::parse(bad).is_err(), "{bad:?}");
        }
        assert!(IdentityKey::parse(&format!("s:{}", "x".repeat(MAX_KEY_LEN - 2))).is_ok());
        assert!(IdentityKey::parse(&format!("s:{}", "x".repeat(MAX_KEY_LEN - 1))).is_err());
    }

    #[test]
    fn default_rules() {
        let rules = IdentityRules::default();
        let key = |s: &str| IdentityKey::parse(s).unwrap();
        assert_eq!(rules.level_of(&key("customer:1")), IdentityLevel::Authenticated);
        assert_eq!(rules.level_of(&key("unknownkind:1")), IdentityLevel::Anonymous);
        let two = [key("customer:1"), key("customer:2"), key("device:d")];
        assert_eq!(rules.violation(&two), Some(("customer".into(), 1, 2)));
        assert_eq!(rules.violation(&two[1..]), None);
    }
}
