//! Events from untrusted text: one event or a batch (a JSON array or JSON Lines), checked
//! under the default and tight limits, and the JSON round trip.
#![no_main]

use journey_core::event::{check_batch_with, parse_batch};
use journey_core::{Event, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let tight = Limits {
        key_len: 12,
        event_name_len: 8,
        keys_per_event: 2,
        properties_per_event: 2,
        property_name_len: 4,
        property_value_len: 16,
        property_depth: 2,
        batch_size: 2,
        ..Limits::default()
    };
    if let Ok(event) = Event::from_json(text) {
        let written = event.to_json();
        let again = Event::from_json(&written).unwrap_or_else(|e| panic!("a written event does not parse: {e}\n{written}"));
        assert_eq!(again, event, "the JSON round trip lost data:\n{written}");
        let _ = event.check();
        let _ = event.check_with(&tight);
        let _ = event.emotion();
    }
    if let Ok(events) = parse_batch(text) {
        let _ = check_batch_with(&events, &Limits::default());
        let _ = check_batch_with(&events, &tight);
    }
});
