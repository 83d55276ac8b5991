//! Regressions found by the fuzz targets of `journey-core/fuzz/` (see its `run.sh`) and by
//! the property tests (`proptest_invariants.rs`): each test replays one failing input,
//! reduced, with what was wrong.

use journey_core::condition::{Compiled, Subject};
use journey_core::{Channel, Condition, Event, IdentityLevel, MapBuilder, MapDocument};
use serde_json::json;

/// `parse_event`: a float written and read back changed value. serde_json's default float
/// parser is not correctly rounded; the workspace enables its `float_roundtrip`.
#[test]
fn event_floats_round_trip_exactly() {
    let text = r#"{"ts": 1, "keys": ["session:a"], "event": "v", "channel": "web",
        "properties": {"x": -12888888888888888888888888888888888888889.9, "y": 0.1, "z": 1e-300}}"#;
    let event = Event::from_json(text).unwrap();
    assert_eq!(Event::from_json(&event.to_json()).unwrap(), event);
    let x = event.properties["x"].as_f64().unwrap();
    assert_eq!(x, -12888888888888888888888888888888888888889.9_f64, "parsed correctly rounded");
}

/// The same for the numbers of a map document (ratings, persona attributes, payloads).
#[test]
fn map_floats_round_trip_exactly() {
    let text = r#"{"name": "M", "personas": [{"id": "p", "name": "P", "attributes": {"w": -12888888888888888888888888888888888888889.9}}],
        "maps": [{"id": "m", "name": "M", "persona": "p", "phases": [{"id": "a", "name": "A"}],
          "touchpoints": [{"id": "t", "name": "T", "phase": "a", "emotion": 0.30000000000000004}]}]}"#;
    let doc = MapDocument::from_json(text).unwrap();
    assert_eq!(MapDocument::from_json(&doc.to_json()).unwrap(), doc);
}

/// `map_documents_round_trip_through_json` (proptest): a property test against `null`
/// (`"value": null`) was read as no value at all, so it did not survive a round trip and
/// validation refused it ("`=` needs a `value`"). A present `null` is now a value.
#[test]
fn a_null_comparison_value_is_a_value() {
    let condition: Condition = serde_json::from_value(json!({"property": {"name": "coupon", "op": "=", "value": null}})).unwrap();
    assert_eq!(serde_json::from_str::<Condition>(&serde_json::to_string(&condition).unwrap()).unwrap(), condition);
    let absent: Condition = serde_json::from_value(json!({"property": {"name": "coupon", "op": "exists"}})).unwrap();
    assert_ne!(absent, condition);
    let doc =
        MapBuilder::new("M").persona("p", "P").map("m", "M", "p").phase("a", "A").touchpoint("t", "T", "a", |t| t.events(["e"])).build_unchecked();
    let compiled = Compiled::compile(&condition, &doc.maps[0], "condition").expect("`= null` is a valid test");
    let subject = |properties: &serde_json::Map<String, serde_json::Value>| {
        compiled.matches(&Subject {
            name: "e",
            touchpoint: Some(0),
            phase: Some(0),
            channel: &Channel::Web,
            department: None,
            level: IdentityLevel::Anonymous,
            properties,
        })
    };
    assert!(subject(json!({"coupon": null}).as_object().unwrap()));
    assert!(!subject(json!({"coupon": "X"}).as_object().unwrap()));
    assert!(!subject(json!({}).as_object().unwrap()), "a missing property is not null");
}

/// The committed seeds of the fuzz targets (`journey-core/fuzz/seeds/`) pass the targets'
/// own checks in the normal test run: parsing, the lossless round trip, validation,
/// rendering, and compiling and evaluating conditions.
#[test]
fn fuzz_seeds_pass_the_fuzz_checks() {
    let seeds = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
    let files = |target: &str| {
        let mut files: Vec<_> = std::fs::read_dir(seeds.join(target)).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        assert!(!files.is_empty(), "no seeds for {target}");
        files.into_iter().map(|p| (p.display().to_string(), std::fs::read_to_string(&p).unwrap()))
    };
    let mut parsed = 0;
    for (path, text) in files("parse_map") {
        let Ok(doc) = MapDocument::from_json(&text) else { continue };
        parsed += 1;
        assert_eq!(MapDocument::from_json(&doc.to_json()).unwrap(), doc, "{path}");
        let _ = doc.problems();
        for map in &doc.maps {
            assert!(journey_core::render::svg(map).ends_with("</svg>\n"), "{path}");
            let _ = journey_core::render::mermaid(map);
        }
    }
    for (path, text) in files("parse_event") {
        if let Ok(event) = Event::from_json(&text) {
            assert_eq!(Event::from_json(&event.to_json()).unwrap(), event, "{path}");
        }
        if let Ok(events) = journey_core::event::parse_batch(&text) {
            parsed += 1;
            let _ = journey_core::event::check_batch_with(&events, &journey_core::Limits::default());
        }
    }
    let shop = MapDocument::load(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/maps/shop.json")).unwrap();
    let map = &shop.maps[0];
    for (path, text) in files("condition") {
        let mut lines = text.split('\n');
        let Ok(condition) = serde_json::from_str::<Condition>(lines.next().unwrap_or("")) else { continue };
        let properties = serde_json::from_str(lines.next().unwrap_or("")).unwrap_or_default();
        let Ok(compiled) = Compiled::compile(&condition, map, "condition") else { continue };
        parsed += 1;
        let not = Compiled::compile(&Condition::Not(Box::new(condition)), map, "condition").unwrap();
        for touchpoint in [None, Some(0), Some(16)] {
            let subject = Subject {
                name: "add_to_cart",
                touchpoint,
                phase: touchpoint.map(|t| map.phase_index(&map.touchpoints[t].phase).unwrap()),
                channel: &Channel::Web,
                department: None,
                level: IdentityLevel::Identified,
                properties: &properties,
            };
            assert_eq!(not.matches(&subject), !compiled.matches(&subject), "{path}");
        }
    }
    assert!(parsed >= 20, "only {parsed} seeds were valid inputs");
}
