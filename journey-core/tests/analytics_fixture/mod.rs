//! The small map and vocabulary the analytics property tests share.

#![allow(dead_code)]

use journey_core::MapDocument;
use journey_core::analytics;

/// Raw event names; `x` and `y` are off-map.
pub const NAMES: [&str; 8] = ["a", "b", "c", "d", "e", "f", "x", "y"];
/// Channels.
pub const CHANNELS: [&str; 3] = ["web", "phone", "app"];
/// Departments.
pub const DEPTS: [&str; 2] = ["sales", "support"];

/// Three phases, four touchpoints (one key moment, planned emotions, planned channels).
pub fn design() -> MapDocument {
    analytics::from_bench_design(
        r#"{"format": "journey-bench-design", "version": 1, "name": "t", "persona": {"id": "p"},
        "phases": [{"id": "p0", "name": "P0"}, {"id": "p1", "name": "P1"}, {"id": "p2", "name": "P2"}],
        "touchpoints": [
          {"id": "ta", "name": "A", "phase": "p0", "events": ["a", "b"], "department": "sales", "channels": ["web"], "emotion": 0.5, "key_moment": true},
          {"id": "tc", "name": "C", "phase": "p1", "events": ["c"], "department": "support", "channels": [], "emotion": -0.25},
          {"id": "td", "name": "D", "phase": "p2", "events": ["d"], "channels": ["phone", "web"], "emotion": 0.0},
          {"id": "te", "name": "E", "phase": "p2", "events": ["e", "f"], "department": "sales", "channels": ["app"]}
        ]}"#,
    )
    .unwrap()
}
