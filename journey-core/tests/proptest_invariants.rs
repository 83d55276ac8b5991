//! Property-based tests of the invariants hostile or unusual input must not break:
//!
//! * stitching gives the same profiles whatever the order of the links, when no limit is
//!   hit (the tracker, with events and explicit links mixed);
//! * funnel counts never increase from one step to the next, whatever the options;
//! * JSON round trips of events and map documents are lossless.

use std::collections::{BTreeMap, BTreeSet};

use journey_core::analytics::{self, EventTable, FunnelOptions, Journeys, StitchOptions};
use journey_core::resolve::Resolver;
use journey_core::time::Duration;
use journey_core::{
    Action, Cap, Channel, Condition, Department, EmotionLabel, Event, IdentityKey, IdentityLevel, JourneyMap, MapBuilder, MapDocument, Op, Persona,
    Phase, PropertyTest, Rating, RoutingRule, Touchpoint, Tracker, TrackerConfig, Waypoint,
};
use proptest::prelude::*;
use serde_json::{Map, Number, Value};

const T0: i64 = 1_736_121_600_000_000;

fn key(text: &str) -> IdentityKey {
    IdentityKey::parse(text).unwrap()
}

fn shop() -> MapDocument {
    MapDocument::load(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/maps/shop.json")).unwrap()
}

// ---------------------------------------------------------------------------------------
// Stitching: the same profiles whatever the order.

/// Keys of kinds without an identity limit, so no link is refused.
const POOL: [&str; 10] =
    ["session:a", "session:b", "session:c", "device:d", "device:e", "cookie:f", "email:g@x.test", "email:h@x.test", "phone:+1", "loyalty:L"];

#[derive(Debug, Clone)]
enum Link {
    /// An event carrying these keys (indexes into `POOL`).
    Event(Vec<usize>),
    /// An explicit link of two keys.
    Explicit(usize, usize),
}

fn link() -> impl Strategy<Value = Link> {
    prop_oneof![
        3 => prop::collection::vec(0..POOL.len(), 1..4).prop_map(Link::Event),
        1 => (0..POOL.len(), 0..POOL.len()).prop_map(|(a, b)| Link::Explicit(a, b)),
    ]
}

/// Applies the links in order (event times shuffled too) and returns the partition of the
/// keys seen into profiles.
fn partition(links: &[(Link, i64)]) -> BTreeSet<BTreeSet<String>> {
    let tracker = Tracker::new(&shop(), TrackerConfig::default()).unwrap();
    let mut seen = BTreeSet::new();
    for (l, ts) in links {
        match l {
            Link::Event(keys) => {
                let mut event = Event::new(T0 + ts, key(POOL[keys[0]]), "product_view", "web");
                for &k in &keys[1..] {
                    event = event.with_key(key(POOL[k]));
                }
                tracker.track(event).unwrap();
                seen.extend(keys.iter().copied());
            }
            Link::Explicit(a, b) => {
                tracker.link(&key(POOL[*a]), &key(POOL[*b]), T0 + ts).unwrap();
                seen.extend([*a, *b]);
            }
        }
    }
    assert!(tracker.conflicts().unwrap().is_empty(), "no limit can be hit with this pool");
    seen.iter().map(|&k| tracker.context(&key(POOL[k])).unwrap().unwrap().keys.iter().map(|k| k.to_string()).collect()).collect()
}

/// The expected partition: connected components of the links, by union-find.
fn components(links: &[(Link, i64)]) -> BTreeSet<BTreeSet<String>> {
    let mut parent: Vec<usize> = (0..POOL.len()).collect();
    fn find(p: &mut Vec<usize>, x: usize) -> usize {
        if p[x] != x {
            let root = find(p, p[x]);
            p[x] = root;
        }
        p[x]
    }
    let mut seen = BTreeSet::new();
    for (l, _) in links {
        let pairs: Vec<(usize, usize)> = match l {
            Link::Event(keys) => keys.iter().map(|&k| (keys[0], k)).collect(),
            Link::Explicit(a, b) => vec![(*a, *b)],
        };
        for (a, b) in pairs {
            seen.extend([a, b]);
            let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
            parent[ra] = rb;
        }
    }
    let mut groups: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
    for k in seen {
        let root = find(&mut parent, k);
        groups.entry(root).or_default().insert(POOL[k].to_string());
    }
    groups.into_values().collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn stitching_is_independent_of_link_order(
        links in prop::collection::vec((link(), 0i64..1_000_000), 1..24),
        order in any::<prop::sample::Index>(),
        seed in any::<u64>(),
    ) {
        let expected = components(&links);
        prop_assert_eq!(partition(&links), expected.clone());
        // The same links in another order: a rotation and a seeded shuffle.
        let mut rotated = links.clone();
        rotated.rotate_left(order.index(links.len()));
        prop_assert_eq!(partition(&rotated), expected.clone());
        let mut shuffled = links.clone();
        let mut state = seed | 1;
        for i in (1..shuffled.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            shuffled.swap(i, (state % (i as u64 + 1)) as usize);
        }
        prop_assert_eq!(partition(&shuffled), expected);
    }
}

// ---------------------------------------------------------------------------------------
// Funnels: counts never increase from one step to the next.

const NAMES: [&str; 5] = ["a", "b", "c", "d", "e"];

fn funnel_map() -> MapDocument {
    let mut b = MapBuilder::new("F").persona("p", "P").map("m", "M", "p").phase("one", "One").phase("two", "Two");
    for (i, name) in NAMES.iter().enumerate() {
        b = b.touchpoint(format!("t{name}"), name.to_uppercase(), if i < 2 { "one" } else { "two" }, |t| t.events([*name]));
    }
    b.build_unchecked()
}

#[derive(Debug, Clone)]
struct FunnelCase {
    events: Vec<(usize, usize, i64)>,
    steps: Vec<Vec<usize>>,
    window: Option<i64>,
    strict: bool,
    exclusion: Option<usize>,
    per_step: Option<Vec<Option<i64>>>,
}

fn funnel_case() -> impl Strategy<Value = FunnelCase> {
    let events = prop::collection::vec((0..6usize, 0..NAMES.len(), 0i64..10_000), 0..60);
    let steps = prop::collection::vec(prop::collection::vec(0..NAMES.len(), 1..3), 1..6);
    (
        events,
        steps,
        prop::option::of(0i64..5_000),
        any::<bool>(),
        prop::option::of(0..NAMES.len()),
        any::<bool>(),
        prop::collection::vec(prop::option::of(0i64..3_000), 5),
    )
        .prop_map(|(events, steps, window, strict, exclusion, per, windows)| {
            let per_step = per.then(|| windows[..steps.len() - 1].to_vec());
            FunnelCase { events, steps, window, strict, exclusion, per_step }
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn funnel_counts_never_increase(c in funnel_case()) {
        let events: Vec<Event> = c.events.iter().map(|&(who, name, ts)| Event::new(T0 + ts, key(&format!("session:s{who}")), NAMES[name], "web")).collect();
        let doc = funnel_map();
        let table = EventTable::from_events(&events).unwrap();
        let stitched = analytics::stitch(&table, &StitchOptions::default());
        let resolver = Resolver::new(&doc.maps[0]);
        let journeys = Journeys::build(&table, &stitched, &resolver);
        let mut options = FunnelOptions::events(&c.steps.iter().map(|s| NAMES[s[0]]).collect::<Vec<_>>());
        options.steps = c.steps.iter().map(|s| s.iter().map(|&n| NAMES[n].to_string()).collect()).collect();
        options.window_us = c.window;
        options.strict_order = c.strict;
        options.exclusion_steps = c.exclusion.map(|n| vec![vec![NAMES[n].to_string()]]).unwrap_or_default();
        options.per_step_windows = c.per_step.clone();
        let f = analytics::funnel(&journeys, &options).unwrap();
        prop_assert_eq!(f.steps.len(), c.steps.len());
        for pair in f.steps.windows(2) {
            prop_assert!(pair[1].journeys <= pair[0].journeys, "step {} has {} journeys, step {} {}", pair[0].index, pair[0].journeys, pair[1].index, pair[1].journeys);
            if let Some(rate) = pair[1].conversion_from_previous {
                prop_assert!((0.0..=1.0).contains(&rate), "conversion {rate}");
            }
        }
        prop_assert!(f.steps[0].journeys <= f.journeys);
        prop_assert_eq!(f.converted, f.steps.last().unwrap().journeys);
        prop_assert_eq!(f.not_entered + f.steps[0].journeys, f.journeys);
    }
}

// ---------------------------------------------------------------------------------------
// JSON round trips.

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z_]{1,12}",
        "\\PC{0,16}",
        Just("<script>alert('x')</script>".to_string()),
        Just("a: b; #c \"d\" \\ e\n\t".to_string()),
        Just("ünïcödé ✓ 𝄞".to_string()),
    ]
}

fn id() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_]{0,8}"
}

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |x| Number::from_f64(x).map(Value::Number)),
        prop_oneof![Just(0.1), Just(-0.0), Just(1e300), Just(5e-324), Just(-1.288888888888889e40), Just(9007199254740993.0)]
            .prop_map(|x| Value::Number(Number::from_f64(x).unwrap())),
    ]
}

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![Just(Value::Null), any::<bool>().prop_map(Value::Bool), number(), text().prop_map(Value::String)];
    leaf.prop_recursive(4, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((text(), inner), 0..5).prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn object() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::vec((text(), json()), 0..5).prop_map(|kv| kv.into_iter().collect())
}

fn channel() -> impl Strategy<Value = Channel> {
    prop_oneof![
        prop::sample::select(vec!["web", "mobile_app", "phone", "email", "store", "social"]).prop_map(Channel::from),
        "[a-z]{1,10}".prop_map(Channel::from),
        text().prop_filter("non-empty", |s| !s.is_empty()).prop_map(Channel::from),
    ]
}

fn department() -> impl Strategy<Value = Department> {
    prop_oneof![prop::sample::select(vec!["sales", "support", "billing", "marketing"]).prop_map(Department::from), text().prop_map(Department::from)]
}

fn rating() -> impl Strategy<Value = Rating> {
    prop_oneof![
        prop::sample::select(vec![EmotionLabel::Negative, EmotionLabel::Neutral, EmotionLabel::Positive]).prop_map(Rating::Label),
        (1i64..=5).prop_map(Rating::Csat),
        (0i64..=10).prop_map(Rating::Nps),
        (-1.0f64..=1.0).prop_map(Rating::Score),
    ]
}

fn identity_key() -> impl Strategy<Value = IdentityKey> {
    ("[a-z][a-z0-9_]{0,6}", "[^\\p{Cc}]{1,20}").prop_map(|(kind, value)| key(&format!("{kind}:{value}")))
}

fn event() -> impl Strategy<Value = Event> {
    (
        any::<i64>(),
        prop::collection::vec(identity_key(), 1..4),
        text().prop_filter("a name", |s| !s.trim().is_empty()),
        channel(),
        prop::option::of(department()),
        prop::option::of(rating()),
        object(),
    )
        .prop_map(|(ts, keys, name, channel, department, rating, properties)| Event { ts, keys, name, channel, department, rating, properties })
}

fn duration() -> impl Strategy<Value = Duration> {
    (0i64..=i64::MAX).prop_map(|us| Duration::from_micros(us).unwrap())
}

fn condition() -> impl Strategy<Value = Condition> {
    let level = prop::sample::select(vec![IdentityLevel::Anonymous, IdentityLevel::Identified, IdentityLevel::Authenticated]);
    let op = prop::sample::select(vec![Op::Eq, Op::Ne, Op::Lt, Op::Le, Op::Gt, Op::Ge, Op::In, Op::Exists, Op::Contains]);
    let leaf = prop_oneof![
        id().prop_map(Condition::Touchpoint),
        text().prop_map(Condition::Event),
        id().prop_map(Condition::Phase),
        channel().prop_map(Condition::Channel),
        department().prop_map(Condition::Department),
        level.prop_map(Condition::Level),
        (text(), op, prop::option::of(json())).prop_map(|(name, op, value)| Condition::Property(PropertyTest { name, op, value })),
    ];
    leaf.prop_recursive(4, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Condition::All),
            prop::collection::vec(inner.clone(), 0..4).prop_map(Condition::Any),
            inner.prop_map(|c| Condition::Not(Box::new(c))),
        ]
    })
}

fn action() -> impl Strategy<Value = Action> {
    (prop::sample::select(vec!["callback_offer", "sms", "popup", "coupon", "my_custom"]), object())
        .prop_map(|(kind, payload)| Action { kind: kind.into(), payload })
}

fn waypoint() -> impl Strategy<Value = Waypoint> {
    let cap = prop_oneof![Just(Cap::Unlimited), Just(Cap::OncePerProfile), duration().prop_map(Cap::Cooldown)];
    (
        (id(), text(), text(), condition(), prop::option::of(condition()), prop::option::of(duration())),
        (any::<bool>(), prop::option::of(condition()), prop::collection::vec(action(), 0..3), prop::collection::vec(action(), 0..2), cap),
    )
        .prop_map(|((id, name, description, condition, trigger, within), (rearm, exit, on_reached, on_missed, cap))| Waypoint {
            id,
            name,
            description,
            condition,
            trigger,
            within,
            rearm,
            exit,
            on_reached,
            on_missed,
            cap,
        })
}

fn touchpoint() -> impl Strategy<Value = Touchpoint> {
    (
        (id(), text(), id(), text(), prop::collection::vec(channel(), 0..3), prop::option::of(department())),
        (prop::collection::vec(text(), 0..3), prop::option::of(rating()), any::<bool>(), prop::collection::vec(text(), 0..3)),
        (prop::collection::vec(text(), 0..2), prop::collection::vec(text(), 0..2)),
    )
        .prop_map(|((id, name, phase, description, channels, department), (events, emotion, key_moment, pains), (opportunities, kpis))| {
            Touchpoint { id, name, phase, description, channels, department, events, emotion, key_moment, pains, opportunities, kpis }
        })
}

fn journey_map() -> impl Strategy<Value = JourneyMap> {
    let phase = (id(), text(), text()).prop_map(|(id, name, description)| Phase { id, name, description });
    let rule = (id(), prop::option::of(condition()), text(), prop::option::of(department()), any::<i64>())
        .prop_map(|(id, when, queue, department, priority)| RoutingRule { id, when, queue, department, priority });
    (
        (id(), text(), id(), text()),
        prop::collection::vec(phase, 0..4),
        prop::collection::vec(touchpoint(), 0..4),
        prop::collection::vec(waypoint(), 0..3),
        prop::collection::vec(rule, 0..2),
    )
        .prop_map(|((id, name, persona, description), phases, touchpoints, waypoints, routing)| JourneyMap {
            id,
            name,
            persona,
            description,
            phases,
            touchpoints,
            waypoints,
            routing,
        })
}

fn persona() -> impl Strategy<Value = Persona> {
    (
        (id(), text(), text(), prop::collection::vec(text(), 0..2), prop::collection::vec(text(), 0..2)),
        (prop::collection::vec(text(), 0..2), prop::collection::vec(channel(), 0..2), prop::collection::vec(text(), 0..2)),
        (prop::collection::btree_map(text(), json(), 0..3), prop::option::of(condition())),
    )
        .prop_map(|((id, name, description, goals, motivations), (doubts, preferred_channels, preferred_times), (attributes, assign_when))| {
            Persona { id, name, description, goals, motivations, doubts, preferred_channels, preferred_times, attributes, assign_when }
        })
}

fn document() -> impl Strategy<Value = MapDocument> {
    (prop::option::of(text()), 0u32..=1, text(), text(), prop::collection::vec(persona(), 0..3), prop::collection::vec(journey_map(), 0..3))
        .prop_map(|(schema, version, name, description, personas, maps)| MapDocument { schema, version, name, description, personas, maps })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn events_round_trip_through_json(e in event()) {
        let text = e.to_json();
        let back = Event::from_json(&text).map_err(|err| TestCaseError::fail(format!("{err}\n{text}")))?;
        prop_assert_eq!(&back, &e);
        prop_assert_eq!(back.to_json(), text);
    }

    #[test]
    fn map_documents_round_trip_through_json(doc in document()) {
        let text = doc.to_json();
        let back = MapDocument::from_json(&text).map_err(|err| TestCaseError::fail(format!("{err}\n{text}")))?;
        prop_assert_eq!(&back, &doc);
        prop_assert_eq!(back.to_json(), text);
        // The problems found do not depend on the trip either.
        prop_assert_eq!(back.problems(), doc.problems());
    }
}
