//! Profiles: identity conflicts and the link log.

use journey_core::{Conflict, LinkEntry, LinkOutcome};
use napi_derive::napi;

/// A link refused because it would break an identity limit (e.g. two `customer:` keys
/// on one shared device).
#[napi(object, js_name = "Conflict", object_from_js = false, use_nullable = true)]
#[derive(Debug, Clone)]
pub struct JsConflict {
    /// The key whose profile the link would have extended.
    pub key: String,
    /// The key that could not be linked.
    pub other: String,
    /// Event time, in microseconds since the Unix epoch (UTC).
    pub ts: i64,
    /// The event that carried both keys, or `null` for an explicit `link`.
    pub event_seq: Option<i64>,
    /// The key kind whose limit would be broken.
    pub kind: String,
    /// The limit.
    pub limit: u32,
    /// Why, in words.
    pub message: String,
}

impl From<&Conflict> for JsConflict {
    fn from(c: &Conflict) -> Self {
        JsConflict {
            key: c.key.to_string(),
            other: c.other.to_string(),
            ts: c.ts,
            event_seq: c.event_seq.map(|s| s as i64),
            kind: c.kind.clone(),
            limit: u32::try_from(c.limit).unwrap_or(u32::MAX),
            message: c.message.clone(),
        }
    }
}

/// One entry of the append-only log of links and merges.
#[napi(object, js_name = "LinkEntry", object_from_js = false, use_nullable = true)]
#[derive(Debug, Clone)]
pub struct JsLinkEntry {
    /// One key.
    pub a: String,
    /// The other key.
    pub b: String,
    /// Event time of the link, in microseconds since the Unix epoch (UTC).
    pub ts: i64,
    /// The event that carried both keys, or `null` for an explicit `link`.
    pub event_seq: Option<i64>,
    /// What happened: `joined` (a new key joined a profile), `merged` (two profiles
    /// became one), `already` (already one profile), `refused` (it would break an identity
    /// limit) or `removed` (by `unlink`).
    #[napi(ts_type = "'joined' | 'merged' | 'already' | 'refused' | 'removed'")]
    pub outcome: String,
    /// For a merge: the profile that was absorbed.
    pub absorbed: Option<i64>,
    /// The profile that kept the keys (for a removal: the profile of `a` afterwards).
    pub profile: i64,
}

impl From<&LinkEntry> for JsLinkEntry {
    fn from(l: &LinkEntry) -> Self {
        JsLinkEntry {
            a: l.a.to_string(),
            b: l.b.to_string(),
            ts: l.ts,
            event_seq: l.event_seq.map(|s| s as i64),
            outcome: link_outcome(l.outcome).to_string(),
            absorbed: l.absorbed.map(|p| p.0 as i64),
            profile: l.profile.0 as i64,
        }
    }
}

/// A link outcome's name.
pub(crate) fn link_outcome(o: LinkOutcome) -> &'static str {
    match o {
        LinkOutcome::Joined => "joined",
        LinkOutcome::Merged => "merged",
        LinkOutcome::Already => "already",
        LinkOutcome::Refused => "refused",
        LinkOutcome::Removed => "removed",
    }
}
