//! The track path: sequences of tracking, batches, explicit links and unlinks, clock
//! advances, attributes and reads on a tracker over the example shop map, with tight
//! limits so the limit paths run too. Nothing may panic, and every profile stays
//! consistent: its context counts the events its journey lists, and holds the key asked.
#![no_main]

use std::sync::LazyLock;

use arbitrary::Arbitrary;
use journey_core::{Error, Event, IdentityKey, Limits, MapDocument, Rating, Tracker, TrackerConfig};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value, json};

static DOC: LazyLock<MapDocument> =
    LazyLock::new(|| MapDocument::from_json(include_str!("../../../examples/maps/shop.json")).expect("the example map parses"));

/// A small pool of keys, so events link, merge and hit the identity limits often.
const KEYS: [&str; 12] = [
    "session:a",
    "session:b",
    "session:c",
    "device:d1",
    "device:d2",
    "cookie:k",
    "email:ana@example.com",
    "email:bo@example.com",
    "phone:+34600000000",
    "customer:1",
    "customer:2",
    "loyalty:L9",
];

const NAMES: [&str; 14] = [
    "product_view",
    "add_to_cart",
    "remove_from_cart",
    "checkout_start",
    "payment",
    "order_confirmed",
    "support_call",
    "survey",
    "account_login",
    "ad_click",
    "chat_presales",
    "review_read",
    "off_map_event",
    "",
];

#[derive(Arbitrary, Debug)]
enum Ts {
    After(u16),
    At(i64),
}

#[derive(Arbitrary, Debug)]
enum Prop {
    Int(i64),
    Float(f64),
    Text(String),
    Deep(u8),
    List(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
struct Ev {
    ts: Ts,
    keys: Vec<u8>,
    raw_key: Option<String>,
    name: u8,
    raw_name: Option<String>,
    channel: u8,
    department: Option<String>,
    rating: Option<(u8, i8)>,
    properties: Vec<(u8, Prop)>,
}

#[derive(Arbitrary, Debug)]
enum Op {
    Track(Ev),
    Batch(Vec<Ev>),
    Link(u8, u8, Ts),
    Unlink(u8, u8, Ts),
    Advance(Ts),
    Attributes(u8, u8),
    Read(u8),
}

struct Clock(i64);

impl Clock {
    fn at(&mut self, ts: &Ts) -> i64 {
        match ts {
            Ts::After(d) => self.0 = self.0.saturating_add(i64::from(*d) * 1_000_000),
            Ts::At(t) => self.0 = *t,
        }
        self.0
    }
}

fn key(i: u8) -> IdentityKey {
    IdentityKey::parse(KEYS[i as usize % KEYS.len()]).expect("pool keys are valid")
}

fn event(e: &Ev, clock: &mut Clock) -> Option<Event> {
    let mut keys: Vec<IdentityKey> = e.keys.iter().take(6).map(|&k| key(k)).collect();
    if let Some(raw) = &e.raw_key {
        keys.push(IdentityKey::parse(raw).ok()?);
    }
    let name = e.raw_name.clone().unwrap_or_else(|| NAMES[e.name as usize % NAMES.len()].to_string());
    let channel = ["web", "mobile_app", "phone", "store", "email", ""][e.channel as usize % 6];
    let rating = e.rating.map(|(scale, v)| match scale % 4 {
        0 => Rating::Csat(i64::from(v)),
        1 => Rating::Nps(i64::from(v)),
        2 => Rating::Score(f64::from(v) / 64.0),
        _ => Rating::Label(journey_core::EmotionLabel::Negative),
    });
    let mut properties = Map::new();
    for (name, value) in e.properties.iter().take(8) {
        let value = match value {
            Prop::Int(i) => json!(i),
            Prop::Float(x) => serde_json::Number::from_f64(*x).map_or(Value::Null, Value::Number),
            Prop::Text(s) => json!(s),
            Prop::Deep(n) => (0..*n % 40).fold(json!(1), |v, _| json!({"x": v})),
            Prop::List(items) => json!(items),
        };
        properties.insert(["csat", "cart_value", "topic", "product", "x", "cart"][*name as usize % 6].to_string(), value);
    }
    Some(Event { ts: clock.at(&e.ts), keys, name, channel: channel.into(), department: e.department.clone().map(Into::into), rating, properties })
}

/// Errors an operation may legitimately end with; anything else (and any panic) is a bug.
fn expected(result: Result<impl Sized, Error>) {
    match result {
        Ok(_) | Err(Error::BadEvent { .. } | Error::Limit { .. } | Error::Conflict { .. } | Error::NotFound { .. } | Error::Emotion(_)) => {}
        Err(other) => panic!("unexpected error: {other}"),
    }
}

fuzz_target!(|ops: Vec<Op>| {
    let limits = Limits { keys_per_profile: 5, batch_size: 4, property_depth: 16, property_value_len: 256, ..Limits::default() };
    let config = TrackerConfig { limits, ..TrackerConfig::default() };
    let tracker = Tracker::new(&DOC, config).expect("the example map makes a tracker");
    let mut clock = Clock(1_736_121_600_000_000);
    for op in ops.iter().take(64) {
        match op {
            Op::Track(e) => {
                if let Some(event) = event(e, &mut clock) {
                    expected(tracker.track(event));
                }
            }
            Op::Batch(events) => {
                let batch: Option<Vec<Event>> = events.iter().take(8).map(|e| event(e, &mut clock)).collect();
                if let Some(batch) = batch {
                    expected(tracker.track_batch(batch));
                }
            }
            Op::Link(a, b, ts) => expected(tracker.link(&key(*a), &key(*b), clock.at(ts))),
            Op::Unlink(a, b, ts) => expected(tracker.unlink(&key(*a), &key(*b), clock.at(ts))),
            Op::Advance(ts) => expected(tracker.advance(clock.at(ts))),
            Op::Attributes(k, v) => {
                let segment = ["vip", "new"][*v as usize % 2];
                let attributes = json!({"segment": segment, "age": v}).as_object().cloned().unwrap_or_default();
                expected(tracker.set_attributes(&key(*k), attributes));
            }
            Op::Read(k) => {
                let k = key(*k);
                expected(tracker.route(&k));
                expected(tracker.link_log(&k));
            }
        }
    }
    for k in KEYS {
        let k = IdentityKey::parse(k).expect("pool keys are valid");
        let context = tracker.context(&k).expect("context reads");
        let journey = tracker.journey(&k).expect("journey reads");
        match context {
            Some(c) => {
                assert_eq!(c.events, journey.len() as u64, "context and journey disagree for {k}");
                assert!(c.keys.contains(&k), "the profile of {k} does not hold it");
                assert!(journey.windows(2).all(|w| (w[0].event.ts, w[0].seq) <= (w[1].event.ts, w[1].seq)), "journey out of order");
            }
            None => assert!(journey.is_empty()),
        }
    }
    let _ = tracker.conflicts().expect("conflicts read");
});
