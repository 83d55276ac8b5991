//! Waypoint conditions from untrusted text, compiled against the example shop map and
//! evaluated on fuzzed subjects. Also checks two identities: `not` negates, and a
//! one-item `all` or `any` is its item.
//!
//! The input is lines of text: the condition (JSON), the event's properties (a JSON
//! object), its name, channel and department (empty: none), and three numbers: the
//! touchpoint and phase indexes (past the end: off-map) and the identity level (0-2).
#![no_main]

use std::sync::LazyLock;

use journey_core::condition::{Compiled, Subject};
use journey_core::{Channel, Condition, Department, IdentityLevel, JourneyMap, MapDocument};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

static MAP: LazyLock<JourneyMap> = LazyLock::new(|| {
    let doc = MapDocument::from_json(include_str!("../../../examples/maps/shop.json")).expect("the example map parses");
    doc.maps[0].clone()
});

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut lines = text.split('\n');
    let Ok(condition) = serde_json::from_str::<Condition>(lines.next().unwrap_or("")) else { return };
    let properties = match serde_json::from_str::<Value>(lines.next().unwrap_or("")) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    let name = lines.next().unwrap_or("");
    let channel = Channel::from(lines.next().unwrap_or("web").to_string());
    let department = lines.next().filter(|d| !d.is_empty()).map(|d| Department::from(d.to_string()));
    let numbers: Vec<usize> = lines.next().unwrap_or("").split_whitespace().filter_map(|n| n.parse().ok()).collect();
    let number = |i: usize| numbers.get(i).copied().unwrap_or(usize::MAX);
    let map = &*MAP;
    let Ok(compiled) = Compiled::compile(&condition, map, "condition") else { return };
    let level = [IdentityLevel::Anonymous, IdentityLevel::Identified, IdentityLevel::Authenticated][number(2) % 3];
    let subject = Subject {
        name,
        touchpoint: Some(number(0)).filter(|&t| t < map.touchpoints.len()),
        phase: Some(number(1)).filter(|&p| p < map.phases.len()),
        channel: &channel,
        department: department.as_ref(),
        level,
        properties: &properties,
    };
    let matched = compiled.matches(&subject);
    let not = Compiled::compile(&Condition::Not(Box::new(condition.clone())), map, "condition").expect("the negation of a valid condition compiles");
    assert_eq!(not.matches(&subject), !matched, "`not` does not negate");
    for one in [Condition::All(vec![condition.clone()]), Condition::Any(vec![condition])] {
        let one = Compiled::compile(&one, map, "condition").expect("a one-item list of a valid condition compiles");
        assert_eq!(one.matches(&subject), matched, "a one-item list differs from its item");
    }
});
