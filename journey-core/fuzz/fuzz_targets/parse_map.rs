//! Map documents from untrusted text: parsing, validation, the JSON round trip, both
//! renderers and building a tracker must never panic, hang or lose data.
#![no_main]

use journey_core::{Limits, MapDocument, Tracker, TrackerConfig, render};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(doc) = MapDocument::from_json(text) else { return };
    // What parsed is written and read back losslessly.
    let written = doc.to_json();
    let again = MapDocument::from_json(&written).unwrap_or_else(|e| panic!("a written document does not parse: {e}\n{written}"));
    assert_eq!(again, doc, "the JSON round trip lost data:\n{written}");
    // Validation, with the default limits and with tight ones.
    let problems = doc.problems();
    let tight = Limits { map_phases: 3, map_touchpoints: 4, map_waypoints: 2, condition_depth: 3, condition_nodes: 5, ..Limits::default() };
    let _ = doc.problems_with(&tight);
    // Any map within the limits renders, valid or not; the SVG is well-formed enough to end.
    let limits = Limits::default();
    for map in &doc.maps {
        if map.phases.len() <= limits.map_phases && map.touchpoints.len() <= limits.map_touchpoints {
            let svg = render::svg(map);
            assert!(svg.ends_with("</svg>\n"));
            assert!(!svg.contains("<script"), "markup leaked into the SVG");
            let mermaid = render::mermaid(map);
            assert!(mermaid.lines().skip(1).all(|l| l.starts_with("    ")), "a line break leaked into Mermaid:\n{mermaid}");
        }
    }
    // A valid document makes a tracker (or is refused with an error, never a panic).
    if problems.is_empty() {
        let _ = Tracker::new(&doc, TrackerConfig::default());
    }
});
