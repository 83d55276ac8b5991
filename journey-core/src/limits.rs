//! Limits on untrusted input: how large an event, a batch, a profile or a map may be.
//!
//! journey-core runs inside other people's processes and is fed events built from HTTP
//! requests and maps edited by hand. [`Limits`] bounds everything that comes from outside,
//! so that no input can exhaust the host's memory or time. Every limit has a safe default
//! and can be changed (in Rust with struct update syntax, in a [`TrackerConfig`]'s
//! `limits`, or in JSON with the field names below, every field optional).
//!
//! | field | default | what it bounds | checked by |
//! |---|---|---|---|
//! | `key_len` | 256 | bytes of one identity key, `kind:value` | [`Event::check_with`] (`keys[i]`) |
//! | `event_name_len` | 256 | bytes of the event name, and of its channel and department names | [`Event::check_with`] (`event`, `channel`, `department`) |
//! | `keys_per_event` | 32 | identity keys one event carries | [`Event::check_with`] (`keys`) |
//! | `properties_per_event` | 256 | top-level properties of one event | [`Event::check_with`] (`properties`) |
//! | `property_name_len` | 256 | bytes of one top-level property name | [`Event::check_with`] (`properties`) |
//! | `property_value_len` | 65 536 | bytes of one top-level property value, as compact JSON | [`Event::check_with`] (`properties.NAME`) |
//! | `property_depth` | 32 | nesting of `properties`: `{"a": 1}` is 1 deep, `{"a": {"b": [1]}}` 3 | [`Event::check_with`] (`properties.NAME`) |
//! | `batch_size` | 10 000 | events in one batch | [`check_batch_with`](crate::event::check_batch_with), `Tracker::track_batch` (`events`) |
//! | `keys_per_profile` | 1 000 | identity keys one profile may hold, all kinds together | stitching: the link is refused and recorded as a [`Conflict`](crate::Conflict) of kind `*` |
//! | `map_phases` | 100 | phases of one map | [`MapDocument::validate_with`] (`maps[i].phases`) |
//! | `map_touchpoints` | 2 000 | touchpoints of one map | [`MapDocument::validate_with`] (`maps[i].touchpoints`) |
//! | `map_waypoints` | 500 | waypoints of one map | [`MapDocument::validate_with`] (`maps[i].waypoints`) |
//! | `condition_depth` | 32 | nesting of one waypoint, routing or persona condition: `{"event": "x"}` is 1 deep, `{"not": {"event": "x"}}` 2 | [`MapDocument::validate_with`] (the condition's path) |
//! | `condition_nodes` | 1 000 | nodes of one condition (`{"any": [{"event": "a"}, {"event": "b"}]}` has 3) | [`MapDocument::validate_with`] (the condition's path) |
//!
//! A value equal to its limit is accepted; one more is refused. An event or batch over a
//! limit is refused whole with [`Error::Limit`], which names the limit, its maximum, the
//! value found and the field (and, in a batch, the index of the event); nothing of it is
//! applied. A map over a limit is refused by validation with a
//! [`ProblemKind::LimitExceeded`](crate::ProblemKind::LimitExceeded) problem at the list
//! or condition at fault (the other checks of that map or condition are skipped, so an
//! enormous map is refused quickly). A link that would give a profile more than `keys_per_profile` keys
//! is refused like a link breaking an identity rule: the event still lands on its anchor's
//! profile, and the refusal is recorded as a conflict.
//!
//! Independently of these limits, [`IdentityKey::parse`](crate::IdentityKey::parse)
//! refuses keys longer than [`MAX_KEY_LEN`](crate::identity::MAX_KEY_LEN) (1 024 bytes),
//! and JSON text nested deeper than 128 levels is a parse error.
//!
//! ```
//! use journey_core::{Event, IdentityKey, Limits, Error};
//! let limits = Limits { event_name_len: 8, ..Limits::default() };
//! let event = Event::new(1, IdentityKey::parse("session:a").unwrap(), "much_too_long", "web");
//! match event.check_with(&limits) {
//!     Err(Error::Limit { limit, max, value, field, .. }) => {
//!         assert_eq!((limit, max, value, field.as_str()), ("event_name_len", 8, 13, "event"));
//!     }
//!     other => panic!("{other:?}"),
//! }
//! ```
//!
//! [`TrackerConfig`]: crate::TrackerConfig
//! [`Event::check_with`]: crate::Event::check_with
//! [`MapDocument::validate_with`]: crate::MapDocument::validate_with
//! [`Error::Limit`]: crate::Error::Limit

use serde::{Deserialize, Serialize};

/// Limits on the size of untrusted input; see the [module docs](self) for each field,
/// its default and where it is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Bytes of one identity key (default 256; at most [`crate::identity::MAX_KEY_LEN`]
    /// takes effect).
    pub key_len: usize,
    /// Bytes of an event's name, channel and department (default 256).
    pub event_name_len: usize,
    /// Identity keys per event (default 32).
    pub keys_per_event: usize,
    /// Top-level properties per event (default 256).
    pub properties_per_event: usize,
    /// Bytes of one top-level property name (default 256).
    pub property_name_len: usize,
    /// Bytes of one top-level property value, as compact JSON (default 65 536).
    pub property_value_len: usize,
    /// Nesting depth of an event's properties (default 32).
    pub property_depth: usize,
    /// Events per batch (default 10 000).
    pub batch_size: usize,
    /// Identity keys per profile, all kinds together (default 1 000).
    pub keys_per_profile: usize,
    /// Phases per map (default 100).
    pub map_phases: usize,
    /// Touchpoints per map (default 2 000).
    pub map_touchpoints: usize,
    /// Waypoints per map (default 500).
    pub map_waypoints: usize,
    /// Nesting depth of a condition (default 32).
    pub condition_depth: usize,
    /// Nodes of one condition (default 1 000).
    pub condition_nodes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            key_len: 256,
            event_name_len: 256,
            keys_per_event: 32,
            properties_per_event: 256,
            property_name_len: 256,
            property_value_len: 64 * 1024,
            property_depth: 32,
            batch_size: 10_000,
            keys_per_profile: 1_000,
            map_phases: 100,
            map_touchpoints: 2_000,
            map_waypoints: 500,
            condition_depth: 32,
            condition_nodes: 1_000,
        }
    }
}

impl Limits {
    /// No practical limit: every field `usize::MAX` (the absolute bounds of parsing still
    /// apply). For trusted input only, e.g. a replay of one's own log.
    pub fn unlimited() -> Self {
        let n = usize::MAX;
        Limits {
            key_len: n,
            event_name_len: n,
            keys_per_event: n,
            properties_per_event: n,
            property_name_len: n,
            property_value_len: n,
            property_depth: n,
            batch_size: n,
            keys_per_profile: n,
            map_phases: n,
            map_touchpoints: n,
            map_waypoints: n,
            condition_depth: n,
            condition_nodes: n,
        }
    }
}

/// The unit a limit counts, for messages (`bytes`, `keys`...).
pub(crate) fn unit(limit: &str) -> &'static str {
    match limit {
        "key_len" | "event_name_len" | "property_name_len" | "property_value_len" => "bytes",
        "keys_per_event" | "keys_per_profile" => "keys",
        "properties_per_event" => "properties",
        "property_depth" | "condition_depth" => "levels deep",
        "batch_size" => "events",
        "map_phases" => "phases",
        "map_touchpoints" => "touchpoints",
        "map_waypoints" => "waypoints",
        "condition_nodes" => "nodes",
        _ => "",
    }
}

/// The message of a limit broken: `300 bytes, over the limit `key_len` of 256`.
pub(crate) fn describe(limit: &str, max: usize, value: usize) -> String {
    let unit = unit(limit);
    let sep = if unit.is_empty() { "" } else { " " };
    format!("{value}{sep}{unit}, over the limit `{limit}` of {max}")
}

/// The nesting depth of a JSON value (a scalar is 0 deep, `[1]` and `{"a": 1}` 1 deep),
/// counted without recursion and without going further than `max + 1`.
pub(crate) fn json_depth(value: &serde_json::Value, max: usize) -> usize {
    use serde_json::Value;
    if !matches!(value, Value::Array(_) | Value::Object(_)) {
        return 0;
    }
    let mut deepest = 0;
    let mut stack: Vec<(&Value, usize)> = vec![(value, 0)];
    while let Some((v, depth)) = stack.pop() {
        let depth = depth + 1;
        match v {
            Value::Array(items) => stack.extend(items.iter().map(|c| (c, depth))),
            Value::Object(map) => stack.extend(map.values().map(|c| (c, depth))),
            _ => continue,
        }
        deepest = deepest.max(depth);
        if depth > max {
            return depth;
        }
    }
    deepest
}

/// The longest compact JSON form of a number (`-2.2250738585072014e-308`).
const NUMBER_LEN: usize = 24;

/// The nesting depth of a value and a bound on its compact JSON length, in one pass,
/// without allocating: the length is exact except that a number counts as
/// [`NUMBER_LEN`] bytes (use [`json_len`] for the exact length when the bound is too
/// large). `None` when the value is nested more than `levels` deep (then nothing deeper
/// is visited, so the recursion is bounded by `levels`).
pub(crate) fn json_measure(value: &serde_json::Value, levels: usize) -> Option<(usize, usize)> {
    use serde_json::Value;
    match value {
        Value::Array(items) => {
            let levels = levels.checked_sub(1)?;
            let (mut depth, mut len) = (0, 1 + items.len().max(1));
            for item in items {
                let (d, l) = json_measure(item, levels)?;
                depth = depth.max(d);
                len += l;
            }
            Some((depth + 1, len))
        }
        Value::Object(map) => {
            let levels = levels.checked_sub(1)?;
            let (mut depth, mut len) = (0, 1 + map.len().max(1));
            for (key, item) in map {
                let (d, l) = json_measure(item, levels)?;
                depth = depth.max(d);
                len += string_len(key) + 1 + l;
            }
            Some((depth + 1, len))
        }
        Value::String(text) => Some((0, string_len(text))),
        Value::Null | Value::Bool(true) => Some((0, 4)),
        Value::Bool(false) => Some((0, 5)),
        Value::Number(_) => Some((0, NUMBER_LEN)),
    }
}

/// The length of a string as a JSON string: quotes plus each byte escaped as serde_json
/// escapes it.
fn string_len(text: &str) -> usize {
    2 + text
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0..0x20 => 6,
            _ => 1,
        })
        .sum::<usize>()
}

/// The length of a value's compact JSON, counted without building it. Call only on values
/// of bounded depth (serialising recurses).
pub(crate) fn json_len(value: &serde_json::Value) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 = self.0.saturating_add(buf.len());
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    // Serialising a `Value` into a writer that never fails cannot fail.
    let _ = serde_json::to_writer(&mut counter, value);
    counter.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn depth_counts_containers() {
        assert_eq!(json_depth(&json!(1), 10), 0);
        assert_eq!(json_depth(&json!([]), 10), 1);
        assert_eq!(json_depth(&json!({"a": [1, {"b": null}]}), 10), 3);
        assert_eq!(json_depth(&json!([[[[1]]]]), 2), 3, "stops one past the limit");
    }

    #[test]
    fn length_is_the_compact_json() {
        for v in [json!(1), json!("a\"b"), json!({"a": [1, 2.5, null]}), json!("ü"), json!("\u{0}\u{1f}\u{7f}\u{8}\u{c}\n\r\t\\/")] {
            assert_eq!(json_len(&v), serde_json::to_string(&v).unwrap().len(), "{v}");
        }
    }

    #[test]
    fn measure_is_depth_and_length_in_one_pass() {
        let values = [
            json!(null),
            json!(false),
            json!(-1.5e300),
            json!("a\"\u{1}"),
            json!([]),
            json!({}),
            json!([1, [2, [3]], {"k\n": {"x": [true, null, "é"]}}]),
            json!({"a": 1, "b": [1, 2], "c": {}}),
        ];
        for v in values {
            let (depth, bound) = json_measure(&v, 10).unwrap();
            let exact = serde_json::to_string(&v).unwrap().len();
            assert_eq!(depth, json_depth(&v, usize::MAX), "{v}");
            assert!(bound >= exact, "{v}");
            if !v.to_string().bytes().any(|b| b.is_ascii_digit()) {
                assert_eq!(bound, exact, "{v}");
            }
        }
        assert_eq!(json_measure(&json!([["x"]]), 2), Some((2, 7)));
        assert_eq!(json_measure(&json!([1, -2.2250738585072014e-308]), 2), Some((1, 3 + 2 * NUMBER_LEN)));
        assert_eq!(json_len(&json!(-2.2250738585072014e-308)), NUMBER_LEN);
        assert_eq!(json_measure(&json!([[[1]]]), 2), None, "deeper than allowed");
    }

    #[test]
    fn json_form_is_partial_and_strict() {
        let limits: Limits = serde_json::from_str(r#"{"batch_size": 5}"#).unwrap();
        assert_eq!(limits, Limits { batch_size: 5, ..Limits::default() });
        assert!(serde_json::from_str::<Limits>(r#"{"batch": 5}"#).is_err());
        assert_eq!(describe("key_len", 256, 300), "300 bytes, over the limit `key_len` of 256");
    }
}
