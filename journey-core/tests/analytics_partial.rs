//! Mergeable measures (`analytics::partial`): for random events, any split of the journeys
//! into parts, merged in any order (through bytes), finishes to exactly the single-pass
//! result of every measure; the benchmark's small data set split in three gives the expected
//! outputs; bad bytes and mismatched states are refused with clear errors.

#![allow(clippy::type_complexity)]

mod analytics_fixture;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use analytics_fixture::{CHANNELS, DEPTS, NAMES, design};
use journey_core::analytics::bench::BenchParams;
use journey_core::analytics::funnel::TimeToConvert;
use journey_core::analytics::partial::{BreakdownSpec, FORMAT_VERSION, MAGIC, PartialOptions, Partials, ProfiledEvent, QuantileMode, Results};
use journey_core::analytics::{
    self, Analysis, AnalysisOptions, Breakdown, EmotionOptions, FunnelOptions, HypothesisOptions, KeyMomentsOptions, NameLevel, Outcome, StepLevel,
    json,
};
use journey_core::{Error, Event, IdentityKey, MapDocument, Rating};
use proptest::prelude::*;

const KEYS: [&str; 8] = ["session:1", "session:2", "session:3", "session:4", "device:9", "email:m", "customer:7", "customer:8"];
const PLANS: [&str; 2] = ["basic", "gold"];

fn key(s: &str) -> IdentityKey {
    IdentityKey::parse(s).unwrap()
}

/// Every measure, with small thresholds so that verdicts and ranks are exercised, funnels
/// with and without a given `now`, strict order, exclusions, per-step windows and
/// touchpoint steps, and breakdowns by every dimension a partition can compute alone.
fn options() -> PartialOptions {
    let mut deferred = FunnelOptions::events(&["a", "c", "d"]);
    deferred.window_us = Some(25);
    let mut fixed = FunnelOptions::events(&["a", "a", "e"]);
    fixed.window_us = Some(30);
    fixed.now_us = Some(40);
    fixed.strict_order = true;
    fixed.exclusion_steps = vec![vec!["x".into()]];
    fixed.histogram_edges_us = vec![5, 10];
    let mut touch = FunnelOptions::events(&["ta", "td"]);
    touch.match_on = StepLevel::Touchpoint;
    touch.per_step_windows = Some(vec![Some(10)]);
    let mut unbounded = FunnelOptions::events(&["b", "c"]);
    unbounded.window_us = None;
    let mut o = PartialOptions::all(vec![deferred.clone(), fixed, touch, unbounded]);
    o.funnel_breakdowns.push(BreakdownSpec { funnel: deferred.clone(), by: Breakdown::Property("plan".into()) });
    o.funnel_breakdowns.push(BreakdownSpec { funnel: deferred, by: Breakdown::Attribute("tier".into()) });
    o.emotion = Some(EmotionOptions { min_count: 2, ..EmotionOptions::default() });
    o.key_moments = Some(KeyMomentsOptions { outcome: Some(Outcome::Touchpoint("te".into())), min_count: 1 });
    o.hypotheses = Some(HypothesisOptions {
        emotion_min_ratings: 1,
        key_moment_min_count: 1,
        min_events: 2,
        phase_min_steps: 2,
        ..HypothesisOptions::default()
    });
    o.paths = Some(analytics::PathsOptions { k: 3, top: 4, ..Default::default() });
    o.transitions = Some(vec![NameLevel::Event, NameLevel::Phase]);
    o
}

#[derive(Debug, Clone)]
struct Case {
    /// (ts, keys, name, channel, department, csat, plan); seq = position.
    events: Vec<(i64, Vec<usize>, usize, usize, Option<usize>, Option<i64>, Option<usize>)>,
    links: Vec<(usize, usize, i64)>,
    /// The part of each profile (by the profile's rank), modulo the number of parts.
    parts: Vec<usize>,
    k: usize,
    /// The order parts are merged in (sort keys).
    order: Vec<u8>,
    /// Personas and attributes of some keys.
    personas: Vec<(usize, bool)>,
    tiers: Vec<(usize, usize)>,
}

fn case() -> impl Strategy<Value = Case> {
    let ev = (
        0i64..12,
        prop::collection::vec(0usize..KEYS.len(), 1..3),
        0usize..NAMES.len(),
        0usize..CHANNELS.len(),
        prop::option::weighted(0.6, 0usize..DEPTS.len()),
        prop::option::weighted(0.5, 1i64..=5),
        prop::option::weighted(0.5, 0usize..PLANS.len()),
    );
    (
        prop::collection::vec(ev, 0..45),
        prop::collection::vec((0usize..KEYS.len(), 0usize..KEYS.len(), 0i64..60), 0..4),
        prop::collection::vec(0usize..8, 8),
        1usize..5,
        prop::collection::vec(any::<u8>(), 8),
        prop::collection::vec((0usize..KEYS.len(), any::<bool>()), 0..3),
        prop::collection::vec((0usize..KEYS.len(), 0usize..2), 0..3),
    )
        .prop_map(|(evs, links, parts, k, order, personas, tiers)| Case {
            events: evs.into_iter().map(|(t, keys, n, c, d, r, p)| (t * 5, keys, n, c, d, r, p)).collect(),
            links,
            parts,
            k,
            order,
            personas,
            tiers,
        })
}

fn event(e: &(i64, Vec<usize>, usize, usize, Option<usize>, Option<i64>, Option<usize>)) -> Event {
    let (ts, keys, name, channel, dept, csat, plan) = e;
    let mut ev = Event::new(*ts, key(KEYS[keys[0]]), NAMES[*name], CHANNELS[*channel]);
    for &k in &keys[1..] {
        ev = ev.with_key(key(KEYS[k]));
    }
    if let Some(d) = dept {
        ev = ev.with_department(DEPTS[*d]);
    }
    if let Some(r) = csat {
        ev = ev.with_rating(Rating::Csat(*r as _));
    }
    if let Some(p) = plan {
        ev = ev.with_property("plan", PLANS[*p]);
    }
    ev
}

/// Persona assignments and attributes, keyed by the canonical key of each key's profile (so
/// the stitched and the profiled analyses see the same).
fn personas_of(c: &Case, whole: &Analysis) -> (Vec<(String, String)>, Vec<(String, serde_json::Map<String, serde_json::Value>)>) {
    let mut assigned = Vec::new();
    for &(k, known) in &c.personas {
        if let Some(p) = whole.profile_of(KEYS[k]) {
            assigned.push((p.to_string(), if known { "p" } else { "q" }.to_string()));
        }
    }
    let mut attrs = Vec::new();
    for &(k, t) in &c.tiers {
        if let Some(p) = whole.profile_of(KEYS[k]) {
            let mut m = serde_json::Map::new();
            m.insert("tier".into(), serde_json::Value::from(["silver", "bronze"][t]));
            attrs.push((p.to_string(), m));
        }
    }
    (assigned, attrs)
}

/// An analysis of pre-stitched events (the profile of each given), with personas and
/// attributes keyed by profile.
fn profiled(doc: &MapDocument, events: &[ProfiledEvent], c: &Case, whole: &Analysis) -> Analysis {
    let mut a = Analysis::from_profiled(doc, events, AnalysisOptions::default()).unwrap();
    let (assigned, attrs) = personas_of(c, whole);
    a.assign_personas(assigned);
    a.set_attributes(attrs);
    a
}

/// The results without the stitch summary (which differs between stitched and profiled
/// input by design: profiled input has one key per profile).
fn without_stitch(mut r: Results) -> Results {
    r.stitch = None;
    r
}

/// Splits, merges both ways and finishes: the one-pass results, which it returns.
fn run(c: &Case, opts: &PartialOptions) -> Results {
    let doc = design();
    let opts = opts.clone();
    let events: Vec<Event> = c.events.iter().map(event).collect();
    let links: Vec<analytics::IdentityLink> =
        c.links.iter().map(|&(a, b, ts)| analytics::IdentityLink { a: key(KEYS[a]), b: key(KEYS[b]), ts }).collect();
    // the stitched analysis of everything, with the tracker's identity limits
    let mut whole = Analysis::from_events_and_links(&doc, &events, &links, AnalysisOptions::default()).unwrap();
    let (assigned, attrs) = personas_of(c, &whole);
    whole.assign_personas(assigned);
    whole.set_attributes(attrs);
    // every event with its profile, as a cluster would hand them over
    let given: Vec<ProfiledEvent> =
        events.iter().enumerate().map(|(i, e)| ProfiledEvent { profile: key(whole.event_profile(i)), seq: i as u64, event: e.clone() }).collect();
    let single = profiled(&doc, &given, c, &whole).results(&opts).unwrap();
    // pre-stitched input gives the stitched results
    assert_eq!(without_stitch(whole.results(&opts).unwrap()), without_stitch(single.clone()));

    // split whole profiles into k parts
    let profiles: BTreeSet<String> = given.iter().map(|e| e.profile.as_str().to_string()).collect();
    let part_of: BTreeMap<&str, usize> = profiles.iter().enumerate().map(|(i, p)| (p.as_str(), c.parts[i % c.parts.len()] % c.k)).collect();
    let mut bytes: Vec<(u8, Vec<u8>)> = (0..c.k)
        .map(|p| {
            let mine: Vec<ProfiledEvent> = given.iter().filter(|e| part_of[e.profile.as_str()] == p).cloned().collect();
            let partial = profiled(&doc, &mine, c, &whole).partials(&opts).unwrap();
            (c.order[p], partial.to_bytes().unwrap())
        })
        .collect();
    bytes.sort_by_key(|b| b.0);
    let parts: Vec<Partials> = bytes.iter().map(|(_, b)| Partials::from_bytes(b).unwrap()).collect();
    // in sequence
    let merged = Partials::merge_all(&parts).unwrap().unwrap();
    assert_eq!(merged.journeys(), profiles.len() as u64);
    assert_eq!(merged.finish().unwrap(), single);
    // as a tree, the other way round
    let half = parts.len() / 2;
    let mut right = Partials::merge_all(&parts[half..]).unwrap().unwrap();
    if let Some(left) = Partials::merge_all(&parts[..half]).unwrap() {
        right.merge(&left).unwrap();
    }
    assert_eq!(right.finish().unwrap(), single);
    single
}

/// Parts that stitch their own events and links: whole connected components in each.
fn run_stitched_parts(c: &Case) {
    let doc = design();
    let opts = PartialOptions { stitch: true, reach: true, conformance: true, transitions: Some(vec![NameLevel::Touchpoint]), ..Default::default() };
    let events: Vec<Event> = c.events.iter().map(event).collect();
    let links: Vec<analytics::IdentityLink> =
        c.links.iter().map(|&(a, b, ts)| analytics::IdentityLink { a: key(KEYS[a]), b: key(KEYS[b]), ts }).collect();
    let whole = Analysis::from_events_and_links(&doc, &events, &links, AnalysisOptions::default()).unwrap();
    let single = whole.results(&opts).unwrap();
    // components without limits contain the profiles with limits
    let comp = Analysis::from_events_and_links(&doc, &events, &links, AnalysisOptions::without_limits()).unwrap();
    let part = |k: &IdentityKey| c.parts[KEYS.iter().position(|x| *x == comp.profile_of(k.as_str()).unwrap()).unwrap()] % c.k;
    let parts: Vec<Partials> = (0..c.k)
        .map(|p| {
            let mut b = Analysis::builder(&doc, AnalysisOptions::default()).unwrap();
            for (i, e) in events.iter().enumerate() {
                if part(&e.keys[0]) == p {
                    b.push_with_seq(e, i as u64).unwrap();
                }
            }
            b.push_links(links.iter().filter(|l| part(&l.a) == p));
            b.finish().partials(&opts).unwrap()
        })
        .collect();
    let merged = Partials::merge_all(&parts).unwrap().unwrap();
    assert_eq!(merged.finish().unwrap(), single);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn any_split_merged_in_any_order_equals_one_pass(c in case()) {
        run(&c, &options());
    }

    /// With quantile sketches: any split merged in any order gives the same results, bit
    /// for bit, and they are the exact ones but for medians and p90s within the accuracy.
    #[test]
    fn sketched_states_merge_in_any_order_to_the_same_estimates(c in case()) {
        let sketch = run(&c, &sketched(options()));
        assert_close_to_exact(&sketch, &run(&c, &options()), ALPHA);
    }

    #[test]
    fn parts_stitching_whole_components_equal_one_pass(c in case()) {
        run_stitched_parts(&c);
    }
}

// ---- the benchmark's small data set, split in three ------------------------------------

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bench-small")
}

/// A benchmark data set's events (`seq` as in the file) and links, from its CSV files.
fn bench_events(dir: &Path) -> (Vec<(u64, Event)>, Vec<analytics::IdentityLink>) {
    let text = std::fs::read_to_string(dir.join("events.csv")).unwrap();
    let mut events = Vec::new();
    for line in text.lines().skip(1) {
        let f = analytics::csv::fields(line);
        let s = |i: usize| f[i].as_deref().unwrap();
        let mut e = Event::new(s(0).parse().unwrap(), key(s(2)), s(3), s(4));
        if let Some(d) = f[5].as_deref() {
            e = e.with_department(d);
        }
        if let Some(r) = f[6].as_deref() {
            e = e.with_rating(Rating::Csat(r.parse().unwrap()));
        }
        events.push((s(1).parse().unwrap(), e));
    }
    let text = std::fs::read_to_string(dir.join("links.csv")).unwrap();
    let links = text
        .lines()
        .skip(1)
        .map(|line| {
            let f = analytics::csv::fields(line);
            analytics::IdentityLink {
                a: key(f[0].as_deref().unwrap()),
                b: key(f[1].as_deref().unwrap()),
                ts: f[2].as_deref().unwrap().parse().unwrap(),
            }
        })
        .collect();
    (events, links)
}

/// The design, the stitched analysis of the whole data set (the cluster's stitching: here
/// journey-core's own, without limits, the kit's Decision 2), and every event with its profile.
fn bench_setup(dir: &Path) -> (MapDocument, Analysis, Vec<ProfiledEvent>) {
    let doc = analytics::from_bench_design(&std::fs::read_to_string(data().join("design.json")).unwrap()).unwrap();
    let (events, links) = bench_events(dir);
    let mut b = Analysis::builder(&doc, AnalysisOptions::without_limits()).unwrap();
    for (seq, e) in &events {
        b.push_with_seq(e, *seq).unwrap();
    }
    b.push_links(&links);
    let whole = b.finish();
    let given =
        events.into_iter().enumerate().map(|(row, (seq, event))| ProfiledEvent { profile: key(whole.event_profile(row)), seq, event }).collect();
    (doc, whole, given)
}

/// The measures of the benchmark kit, with its parameters.
fn bench_options() -> PartialOptions {
    let p = BenchParams::default();
    PartialOptions {
        reach: true,
        funnels: vec![p.funnel],
        transitions: Some(vec![NameLevel::Event, NameLevel::Touchpoint, NameLevel::Phase]),
        paths: Some(p.paths),
        emotion: Some(p.emotion),
        gray_areas: Some(p.gray_areas),
        conformance: true,
        key_moments: Some(p.key_moments),
        ..Default::default()
    }
}

/// A cluster's repartitioning: parts by a hash of the profile.
fn part_of(profile: &IdentityKey, k: u64) -> u64 {
    profile.as_str().bytes().fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64)) % k
}

fn expected(name: &str) -> String {
    std::fs::read_to_string(data().join("expected").join(format!("{name}.json"))).unwrap()
}

#[test]
fn bench_small_split_in_three_gives_the_expected_outputs() {
    let (doc, whole, given) = bench_setup(&data());
    let opts = bench_options();
    let mut sizes = Vec::new();
    let parts: Vec<Vec<u8>> = (0..3)
        .map(|k| {
            let mine: Vec<ProfiledEvent> = given.iter().filter(|e| part_of(&e.profile, 3) == k).cloned().collect();
            sizes.push(mine.len());
            Analysis::from_profiled(&doc, &mine, AnalysisOptions::without_limits()).unwrap().partials(&opts).unwrap().to_bytes().unwrap()
        })
        .collect();
    assert!(sizes.iter().all(|&n| n > 4_000), "three real partitions: {sizes:?}");
    let mut merged = Partials::from_bytes(&parts[2]).unwrap();
    merged.merge(&Partials::from_bytes(&parts[0]).unwrap()).unwrap();
    merged.merge(&Partials::from_bytes(&parts[1]).unwrap()).unwrap();
    let r = merged.finish().unwrap();
    let same = |name: &str, got: String| assert!(got == expected(name), "{name}.json differs from the expected output");
    same("reach", json::to_canonical_string(r.reach.as_ref().unwrap()));
    same("funnel", json::to_canonical_string(&r.funnels[0]));
    same("transitions", json::to_canonical_string(r.transitions.as_ref().unwrap()));
    same("paths", json::to_canonical_string(r.paths.as_ref().unwrap()));
    same("emotion", json::to_canonical_string(r.emotion.as_ref().unwrap()));
    same("gray_areas", json::to_canonical_string(r.gray_areas.as_ref().unwrap()));
    same("conformance", json::to_canonical_string(r.conformance.as_ref().unwrap()));
    same("key_moments", json::to_canonical_string(r.key_moments.as_ref().unwrap()));
    // a few of the expected figures in plain sight
    assert_eq!((merged.journeys(), merged.events()), (2_934, 20_000));
    assert_eq!(r.reach.as_ref().unwrap().phases.iter().map(|p| p.journeys).collect::<Vec<_>>(), [1294, 1108, 1799, 581, 365, 226, 264]);
    assert_eq!(r.funnels[0].steps.iter().map(|s| s.journeys).collect::<Vec<_>>(), [1577, 779, 396, 285, 257]);
    assert_eq!(r.funnels[0].time_to_convert.median_us, Some(369_409_350.0));
    assert_eq!(r, whole.results(&opts).unwrap());
}

// ---- bytes and refusals -----------------------------------------------------------------

fn small() -> (MapDocument, Analysis) {
    let doc = design();
    let events = vec![
        Event::new(1, key("session:1"), "a", "web").with_rating(Rating::Csat(2)),
        Event::new(5, key("session:1"), "c", "phone"),
        Event::new(9, key("session:2"), "a", "app"),
    ];
    let a = Analysis::from_events(&doc, &events, AnalysisOptions::default()).unwrap();
    (doc, a)
}

fn parse_error(r: Result<Partials, Error>) -> (String, String) {
    match r {
        Err(Error::Parse { path, message, .. }) => (path, message),
        other => panic!("expected a parse error, got {other:?}"),
    }
}

/// Bytes with a valid header around any payload.
fn framed(payload: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&sha2::Sha256::digest(payload)[..8]);
    out.extend_from_slice(payload);
    out
}

#[test]
fn bytes_round_trip_exactly() {
    let (_, a) = small();
    let opts = options();
    let p = a.partials(&opts).unwrap();
    let bytes = p.to_bytes().unwrap();
    assert_eq!(&bytes[..8], b"JCPARTS\n");
    let back = Partials::from_bytes(&bytes).unwrap();
    assert_eq!(back.to_bytes().unwrap(), bytes, "stable bytes");
    assert_eq!(back.finish().unwrap(), a.results(&opts).unwrap());
    assert_eq!(back.options(), &opts);
    assert_eq!(back.max_ts(), Some(9));
}

#[test]
fn bad_bytes_are_refused_with_the_reason() {
    let (_, a) = small();
    let bytes = a.partials(&PartialOptions { reach: true, ..Default::default() }).unwrap().to_bytes().unwrap();
    let (path, m) = parse_error(Partials::from_bytes(&bytes[..10]));
    assert_eq!(path, "partial");
    assert!(m.contains("truncated") && m.contains("28-byte header"), "{m}");
    let mut b = bytes.clone();
    b[0] = b'X';
    assert!(parse_error(Partials::from_bytes(&b)).1.contains("magic"));
    let mut b = bytes.clone();
    b[8..10].copy_from_slice(&2u16.to_le_bytes());
    let m = parse_error(Partials::from_bytes(&b)).1;
    assert!(m.contains("format version 2") && m.contains("newer") && m.contains("version 1"), "{m}");
    let mut b = bytes.clone();
    b[8..10].copy_from_slice(&0u16.to_le_bytes());
    assert!(parse_error(Partials::from_bytes(&b)).1.contains("format version 0"));
    let mut b = bytes.clone();
    b[10] = 1;
    assert!(parse_error(Partials::from_bytes(&b)).1.contains("flags"));
    let m = parse_error(Partials::from_bytes(&bytes[..bytes.len() - 1])).1;
    assert!(m.contains("announces") && m.contains("payload bytes"), "{m}");
    // one flipped bit in the payload
    let mut b = bytes.clone();
    let last = b.len() - 2;
    b[last] ^= 0x04;
    assert!(parse_error(Partials::from_bytes(&b)).1.contains("checksum"));
    // a well-framed payload that is not a state: the error names the field
    let (path, _) = parse_error(Partials::from_bytes(&framed(b"not json")));
    assert!(path.starts_with("partial"));
    let text = String::from_utf8(bytes[28..].to_vec()).unwrap().replace("\"events\":3", "\"events\":\"three\"");
    let (path, m) = parse_error(Partials::from_bytes(&framed(text.as_bytes())));
    assert_eq!(path, "partial.state.events", "{m}");
    let text = String::from_utf8(bytes[28..].to_vec()).unwrap().replace("\"state\":{", "\"state\":{\"extra\":1,");
    assert!(parse_error(Partials::from_bytes(&framed(text.as_bytes()))).1.contains("unknown field"));
}

#[test]
fn states_that_do_not_fit_their_map_fail_at_the_finish() {
    let (_, a) = small();
    let bytes = a.partials(&PartialOptions { reach: true, ..Default::default() }).unwrap().to_bytes().unwrap();
    let text = String::from_utf8(bytes[28..].to_vec()).unwrap();
    let reached = text.find("\"reached\":[").unwrap();
    let text = format!("{}\"reached\":[1,{}", &text[..reached], &text[reached + "\"reached\":[".len()..]);
    let p = Partials::from_bytes(&framed(text.as_bytes())).unwrap();
    match p.finish() {
        Err(Error::Parse { path, message, .. }) => {
            assert_eq!(path, "partial.reach.reached");
            assert!(message.contains("expected 3 entries, found 4"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // and merging it with a good state is refused the same way
    let mut good = a.partials(&PartialOptions { reach: true, ..Default::default() }).unwrap();
    assert!(matches!(good.merge(&p), Err(Error::Parse { path, .. }) if path == "partial.reach.reached"));
}

#[test]
fn states_of_other_options_or_maps_do_not_merge() {
    let (doc, a) = small();
    let reach = PartialOptions { reach: true, ..Default::default() };
    let mut p = a.partials(&reach).unwrap();
    let before = p.to_bytes().unwrap();
    let other = a.partials(&PartialOptions { reach: true, conformance: true, ..Default::default() }).unwrap();
    assert!(matches!(p.merge(&other), Err(Error::Parse { path, .. }) if path == "partial.header.options"));
    let f = |w| {
        let mut f = FunnelOptions::events(&["a", "c"]);
        f.window_us = Some(w);
        PartialOptions { funnels: vec![f], ..Default::default() }
    };
    assert!(a.partials(&f(10)).unwrap().merge(&a.partials(&f(11)).unwrap()).is_err());
    let limits = Analysis::from_events(&doc, &[Event::new(1, key("session:9"), "a", "web")], AnalysisOptions::without_limits()).unwrap();
    assert!(matches!(p.merge(&limits.partials(&reach).unwrap()), Err(Error::Parse { path, .. }) if path == "partial.header.analysis"));
    let mut doc2 = doc.clone();
    doc2.maps[0].phases[0].name = "Renamed".into();
    let renamed = Analysis::from_events(&doc2, &[Event::new(1, key("session:9"), "a", "web")], AnalysisOptions::default()).unwrap();
    assert!(matches!(p.merge(&renamed.partials(&reach).unwrap()), Err(Error::Parse { path, .. }) if path == "partial.header.map"));
    // a refused merge leaves the state as it was
    assert_eq!(p.to_bytes().unwrap(), before);
    // personas set up differently
    let mut x = a.partials(&PartialOptions { reach_by_persona: true, ..Default::default() }).unwrap();
    let mut b = Analysis::from_events(&doc, &[Event::new(1, key("session:9"), "a", "web")], AnalysisOptions::default()).unwrap();
    b.assign_personas([("session:9".to_string(), "p".to_string())]);
    let y = b.partials(&PartialOptions { reach_by_persona: true, ..Default::default() }).unwrap();
    assert!(matches!(x.merge(&y), Err(Error::Parse { path, .. }) if path == "partial.personas"));
}

#[test]
fn funnel_now_is_the_last_ts_of_all_parts() {
    // part one ends at 10, part two at 100: a journey of part one is in progress at 10 but
    // not at 100, so the merged funnel must decide with 100
    let doc = design();
    let mut f = FunnelOptions::events(&["a", "c"]);
    f.window_us = Some(50);
    let opts = PartialOptions { funnels: vec![f], ..Default::default() };
    let one = Analysis::from_events(&doc, &[Event::new(10, key("session:1"), "a", "web")], AnalysisOptions::default()).unwrap();
    let two = Analysis::from_events(&doc, &[Event::new(100, key("session:2"), "b", "web")], AnalysisOptions::default()).unwrap();
    let alone = one.results(&opts).unwrap();
    assert_eq!(alone.funnels[0].stopped_at[0].in_progress, 1);
    let mut m = one.partials(&opts).unwrap();
    m.merge(&two.partials(&opts).unwrap()).unwrap();
    let r = m.finish().unwrap();
    assert_eq!(r.funnels[0].options.now_us, Some(100));
    assert_eq!((r.funnels[0].stopped_at[0].in_progress, r.funnels[0].stopped_at[0].dropped), (0, 1));
}

#[test]
fn profiled_input_refuses_bad_events_and_uses_the_profile() {
    let doc = design();
    let good = ProfiledEvent { profile: key("email:a"), seq: 0, event: Event::new(1, key("session:1"), "a", "web") };
    let mut bad = good.clone();
    bad.event.rating = Some(Rating::Csat(9));
    let err = Analysis::from_profiled(&doc, &[good.clone(), bad], AnalysisOptions::default()).unwrap_err();
    assert!(matches!(err, Error::Emotion(_)), "{err:?}");
    // the profile, not the event's keys, decides the journey
    let other = ProfiledEvent { profile: key("email:a"), seq: 1, event: Event::new(2, key("session:2"), "c", "web") };
    let a = Analysis::from_profiled(&doc, &[good, other], AnalysisOptions::default()).unwrap();
    assert_eq!(a.len(), 1);
    assert_eq!(a.profile_of("email:a"), Some("email:a"));
}

// ---- figures -------------------------------------------------------------------------------

/// Figures for the notes (ignored by default; run in release):
/// `JC_PARTIAL_DATA=<dir with events.csv, links.csv> cargo test --release -p journey-core
/// --test analytics_partial -- --ignored --nocapture figures` (default: the small set).
/// Times one pass against partial states over k parts (built, serialised, read back, merged,
/// finished), and the size of the states.
#[test]
#[ignore]
fn figures() {
    use std::time::Instant;
    let dir = std::env::var_os("JC_PARTIAL_DATA").map(PathBuf::from).unwrap_or_else(data);
    let t = Instant::now();
    let (doc, whole, given) = bench_setup(&dir);
    println!("{} events, {} journeys: read and stitched in {:.2} s", given.len(), whole.len(), t.elapsed().as_secs_f64());
    let mut opts = PartialOptions { hypotheses: Some(HypothesisOptions::default()), ..bench_options() };
    let t = Instant::now();
    let single = whole.results(&opts).unwrap();
    println!("one pass, 9 measures: {:.3} s", t.elapsed().as_secs_f64());
    for given_now in [false, true] {
        if given_now {
            opts.funnels[0].now_us = whole.journeys().now();
        }
        for k in [1u64, 4, 16] {
            let (mut build, mut partial, mut bytes) = (0.0, 0.0, Vec::new());
            for part in 0..k {
                let mine: Vec<ProfiledEvent> = given.iter().filter(|e| part_of(&e.profile, k) == part).cloned().collect();
                let t = Instant::now();
                let a = Analysis::from_profiled(&doc, &mine, AnalysisOptions::without_limits()).unwrap();
                build += t.elapsed().as_secs_f64();
                let t = Instant::now();
                bytes.push(a.partials(&opts).unwrap().to_bytes().unwrap());
                partial += t.elapsed().as_secs_f64();
            }
            let t = Instant::now();
            let parts: Vec<Partials> = bytes.iter().map(|b| Partials::from_bytes(b).unwrap()).collect();
            let merged = Partials::merge_all(&parts).unwrap().unwrap();
            let r = merged.finish().unwrap();
            let finish = t.elapsed().as_secs_f64();
            let mut want = single.clone();
            want.funnels = vec![whole.funnel(&opts.funnels[0]).unwrap()];
            assert_eq!(r, want);
            let sizes: Vec<usize> = bytes.iter().map(Vec::len).collect();
            let merged_size = merged.to_bytes().unwrap().len();
            println!(
                "now {}: k = {k:>2}: build {build:.3} s, states + bytes {partial:.3} s, read + merge + finish {finish:.3} s; state bytes: total {:.1} KB, largest {:.1} KB, merged {:.1} KB",
                if given_now { "given" } else { "at finish" },
                sizes.iter().sum::<usize>() as f64 / 1024.0,
                *sizes.iter().max().unwrap() as f64 / 1024.0,
                merged_size as f64 / 1024.0
            );
        }
    }
}

/// The serde form of the options needs only what differs from the defaults, and names an
/// unknown field.
#[test]
fn partial_options_from_minimal_json() {
    use journey_core::analytics::{FunnelOptions, KeyMomentsOptions, Outcome, PathsOptions};
    let o: PartialOptions = serde_json::from_str(
        r#"{"reach": true, "funnels": [{"steps": [["view"], ["buy"]]}], "paths": {"k": 4},
            "key_moments": {"outcome": {"touchpoint": "done"}}}"#,
    )
    .unwrap();
    assert!(o.reach);
    assert_eq!(o.funnels, vec![FunnelOptions::events(&["view", "buy"])]);
    assert_eq!(o.paths, Some(PathsOptions { k: 4, ..PathsOptions::default() }));
    assert_eq!(o.key_moments, Some(KeyMomentsOptions { outcome: Some(Outcome::Touchpoint("done".into())), ..KeyMomentsOptions::default() }));
    let err = serde_json::from_str::<PartialOptions>(r#"{"paths": {"kk": 4}}"#).unwrap_err().to_string();
    assert!(err.contains("kk"), "{err}");
}

// ---- quantile sketches ----------------------------------------------------------------------

const ALPHA: f64 = 0.01;

fn sketched(mut o: PartialOptions) -> PartialOptions {
    o.quantiles = QuantileMode::sketch(ALPHA);
    o
}

/// Sketched results are the exact ones but for the medians and p90s (each within `alpha` of
/// the exact value, p90 rounded to an integer: within `alpha·x + 0.5`) and the fields saying so.
fn assert_close_to_exact(sketch: &Results, exact: &Results, alpha: f64) {
    let mut s = sketch.clone();
    assert_eq!(s.quantiles, QuantileMode::sketch(alpha));
    s.quantiles = QuantileMode::Exact;
    let close = |what: &str, est: Option<f64>, x: Option<f64>, slack: f64| match (est, x) {
        (Some(e), Some(x)) => assert!((e - x).abs() <= (alpha + 1e-12) * x.abs() + slack, "{what}: {e} estimates {x}"),
        (e, x) => assert_eq!(e, x, "{what}"),
    };
    let ttc = |s: &mut TimeToConvert, e: &TimeToConvert, what: &str| {
        assert_eq!(s.relative_accuracy, Some(alpha), "{what}");
        close(what, s.median_us, e.median_us, 0.0);
        close(what, s.p90_us.map(|x| x as f64), e.p90_us.map(|x| x as f64), 0.5);
        (s.median_us, s.p90_us, s.relative_accuracy) = (e.median_us, e.p90_us, None);
    };
    for (f, e) in s.funnels.iter_mut().zip(&exact.funnels) {
        ttc(&mut f.time_to_convert, &e.time_to_convert, "funnel");
    }
    for (b, e) in s.funnel_breakdowns.iter_mut().zip(&exact.funnel_breakdowns) {
        ttc(&mut b.total.time_to_convert, &e.total.time_to_convert, "breakdown total");
        for (g, eg) in b.groups.iter_mut().zip(&e.groups) {
            ttc(&mut g.time_to_convert, &eg.time_to_convert, "breakdown group");
        }
    }
    if let (Some(g), Some(e)) = (s.gray_areas.as_mut(), exact.gray_areas.as_ref()) {
        assert_eq!(g.median_gap_relative_accuracy, Some(alpha));
        g.median_gap_relative_accuracy = None;
        for (d, ed) in [(&mut g.department, &e.department), (&mut g.channel, &e.channel)] {
            for (c, ec) in d.changes.iter_mut().zip(&ed.changes) {
                close("median gap", c.median_gap_us, ec.median_gap_us, 0.0);
                c.median_gap_us = ec.median_gap_us;
            }
        }
    }
    assert_eq!(s, *exact, "every count, histogram and other field is exact");
}

#[test]
fn bench_small_sketched_is_within_the_accuracy_of_the_expected_outputs() {
    let (doc, whole, given) = bench_setup(&data());
    let mut exact = bench_options();
    exact.funnel_breakdowns.push(BreakdownSpec { funnel: exact.funnels[0].clone(), by: Breakdown::Channel });
    let opts = sketched(exact.clone());
    let bytes = |opts: &PartialOptions| -> Vec<Vec<u8>> {
        (0..3)
            .map(|k| {
                let mine: Vec<ProfiledEvent> = given.iter().filter(|e| part_of(&e.profile, 3) == k).cloned().collect();
                Analysis::from_profiled(&doc, &mine, AnalysisOptions::without_limits()).unwrap().partials(opts).unwrap().to_bytes().unwrap()
            })
            .collect()
    };
    let parts: Vec<Partials> = bytes(&opts).iter().map(|b| Partials::from_bytes(b).unwrap()).collect();
    let finish = |order: [usize; 3]| Partials::merge_all(order.map(|i| &parts[i])).unwrap().unwrap().finish().unwrap();
    let r = finish([2, 0, 1]);
    assert_eq!(r, finish([1, 2, 0]), "bit for bit, in any order");
    assert_eq!(r, whole.results(&opts).unwrap(), "one pass gives the same estimates");
    assert_close_to_exact(&r, &whole.results(&exact).unwrap(), ALPHA);
    // the expected outputs' figures, within 1 %
    let expected: serde_json::Value = serde_json::from_str(&expected("funnel")).unwrap();
    let median = expected["time_to_convert"]["median_us"].as_f64().unwrap();
    assert_eq!(median, 369_409_350.0);
    let got = r.funnels[0].time_to_convert.median_us.unwrap();
    assert!(got != median && (got - median).abs() <= ALPHA * median, "{got} estimates {median}");
    assert_eq!(serde_json::to_value(&r.funnels[0].time_to_convert.histogram).unwrap(), expected["time_to_convert"]["histogram"]);
    let size = |opts: &PartialOptions| bytes(opts).iter().map(Vec::len).sum::<usize>();
    println!("bench small, 3 parts: exact states {} bytes, sketched {} bytes", size(&exact), size(&opts));
}

/// `n` converted journeys of two events ("a" then "c", a department handoff and a channel
/// switch between them), times to convert spread from 1 s to 6 days.
fn converted_journeys(n: usize) -> Vec<Event> {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut events = Vec::with_capacity(2 * n);
    for i in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        // log-uniform between 10^6 and ~5.2 * 10^11 µs
        let ttc = (1e6 * (13.16 * (x >> 11) as f64 / (1u64 << 53) as f64).exp()) as i64;
        let (k, t0) = (key(&format!("session:{i}")), (i as i64) * 1_000);
        events.push(Event::new(t0, k.clone(), "a", "web"));
        events.push(Event::new(t0 + ttc, k, "c", "phone"));
    }
    events
}

/// Figures for the notes: `JC_SKETCH_JOURNEYS=1000000 cargo test --release -p journey-core
/// --test analytics_partial -- --nocapture sketched_states_stay_small` (default 100,000).
#[test]
fn sketched_states_stay_small() {
    let n: usize = std::env::var("JC_SKETCH_JOURNEYS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let a = Analysis::from_events(&design(), &converted_journeys(n), AnalysisOptions::default()).unwrap();
    let mut f = FunnelOptions::events(&["a", "c"]);
    f.now_us = a.journeys().now();
    let exact = PartialOptions { funnels: vec![f], gray_areas: Some(Default::default()), ..Default::default() };
    let opts = sketched(exact.clone());
    let (e, s) = (a.partials(&exact).unwrap(), a.partials(&opts).unwrap());
    let (eb, sb) = (e.to_bytes().unwrap().len(), s.to_bytes().unwrap().len());
    // the state without the header (the map and options), which does not grow
    let empty = Analysis::from_events(&design(), &[], AnalysisOptions::default()).unwrap().partials(&opts).unwrap().to_bytes().unwrap().len();
    println!(
        "{n} converted journeys (funnel + gray areas): exact state {eb} bytes ({:.1} MB), sketched {sb} bytes ({:.1} KB; {} bytes without the empty state's {empty}), {:.0}x smaller",
        eb as f64 / 1e6,
        sb as f64 / 1024.0,
        sb - empty,
        eb as f64 / sb as f64
    );
    let r = s.finish().unwrap();
    assert_eq!(r.funnels[0].converted, n as u64);
    assert_eq!(r.gray_areas.as_ref().unwrap().department.changes[0].occurrences, n as u64);
    assert_close_to_exact(&r, &e.finish().unwrap(), ALPHA);
    // times to convert and gaps: n values each in the exact state, a bounded sketch here
    assert!(eb > 20 * n, "{eb}");
    assert!(sb - empty < 60_000, "{} bytes of sketches", sb - empty);
}

#[test]
fn bad_quantile_options_are_refused_with_the_field() {
    let (_, a) = small();
    for alpha in [0.0, 0.5, 0.00001, -0.01] {
        let o = PartialOptions { gray_areas: Some(Default::default()), quantiles: QuantileMode::sketch(alpha), ..Default::default() };
        for r in [a.partials(&o).map(|_| ()), a.results(&o).map(|_| ())] {
            match r {
                Err(Error::Parse { path, message, .. }) => {
                    assert_eq!(path, "quantiles.relative_accuracy");
                    assert!(message.contains("between 0.0001 and 0.1") && message.contains(&alpha.to_string()), "{message}");
                }
                other => panic!("{alpha}: {other:?}"),
            }
        }
    }
    // as the bindings pass them: JSON
    let o: PartialOptions = serde_json::from_str(r#"{"gray_areas": {}, "quantiles": {"sketch": {}}}"#).unwrap();
    assert_eq!(o.quantiles, QuantileMode::sketch(0.01));
    let o: PartialOptions = serde_json::from_str(r#"{"quantiles": "exact"}"#).unwrap();
    assert_eq!(o, PartialOptions::default());
    let err = serde_json::from_str::<PartialOptions>(r#"{"quantiles": {"sketch": {"relative_accuracy": 0.01, "alpha": 1}}}"#).unwrap_err().to_string();
    assert!(err.contains("alpha"), "{err}");
    let err = serde_json::from_str::<PartialOptions>(r#"{"quantiles": "approximate"}"#).unwrap_err().to_string();
    assert!(err.contains("approximate") && err.contains("sketch"), "{err}");
}

#[test]
fn exact_and_sketched_states_do_not_merge() {
    let (_, a) = small();
    let mut exact = a.partials(&options()).unwrap();
    let before = exact.to_bytes().unwrap();
    let mut sketch = a.partials(&sketched(options())).unwrap();
    for r in [exact.merge(&sketch), sketch.merge(&a.partials(&options()).unwrap())] {
        match r {
            Err(Error::Parse { path, message, .. }) => {
                assert_eq!(path, "partial.header.options.quantiles");
                assert!(message.contains("\"exact\"") && message.contains("sketch"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(exact.to_bytes().unwrap(), before, "unchanged");
    let mut finer = options();
    finer.quantiles = QuantileMode::sketch(0.001);
    assert!(matches!(sketch.merge(&a.partials(&finer).unwrap()), Err(Error::Parse { path, .. }) if path == "partial.header.options.quantiles"));
}

/// The events of the golden state in `tests/data/partial-v1`, written by journey-core before
/// quantile sketches existed (with `options()` over them).
fn golden_analysis() -> Analysis {
    // (ts, session, name, channel)
    let rows = [
        (1, 1, "a", "web"), (5, 1, "c", "phone"), (9, 1, "d", "web"),
        (2, 2, "b", "web"), (20, 2, "c", "app"), (26, 2, "e", "app"),
        (3, 3, "a", "app"), (4, 3, "a", "web"), (11, 3, "c", "web"), (12, 3, "d", "phone"),
        (30, 4, "b", "web"), (41, 4, "c", "web"),
    ];
    let events: Vec<Event> = rows.iter().map(|&(ts, s, n, c)| Event::new(ts, key(&format!("session:{s}")), n, c)).collect();
    Analysis::from_events(&design(), &events, AnalysisOptions::default()).unwrap()
}

#[test]
fn exact_states_are_byte_for_byte_those_written_before_sketches() {
    let golden = std::fs::read(data().join("../partial-v1/exact-before-sketches.bin")).unwrap();
    let a = golden_analysis();
    let bytes = a.partials(&options()).unwrap().to_bytes().unwrap();
    assert!(bytes == golden, "the exact state's bytes changed");
    let payload = String::from_utf8(golden[28..].to_vec()).unwrap();
    assert!(payload.contains("\"ttcs\":[8,8]") && payload.contains("\"gaps\":[4,18,7,11]"));
    assert!(!payload.contains("quantiles") && !payload.contains("ttc_histogram"));
    let old = Partials::from_bytes(&golden).unwrap();
    assert_eq!(old.finish().unwrap(), a.results(&options()).unwrap());
    assert_eq!(old.options().quantiles, QuantileMode::Exact);
}

#[test]
fn sketched_states_round_trip_and_bad_sketches_are_refused() {
    let a = golden_analysis();
    let opts = sketched(options());
    let bytes = a.partials(&opts).unwrap().to_bytes().unwrap();
    let back = Partials::from_bytes(&bytes).unwrap();
    assert_eq!(back.to_bytes().unwrap(), bytes, "stable bytes");
    assert_eq!(back.finish().unwrap(), a.results(&opts).unwrap());
    let text = String::from_utf8(bytes[28..].to_vec()).unwrap();
    assert!(text.contains(r#""quantiles":{"sketch":{"relative_accuracy":0.01}}"#));
    assert!(text.contains(r#""ttcs":{"relative_accuracy":0.01,"zeros":0,"buckets":{"#) && text.contains("\"ttc_histogram\":["));
    let finish_error = |from: &str, to: &str| -> (String, String) {
        let bad = text.replacen(from, to, 1);
        assert_ne!(bad, text, "{from}");
        match Partials::from_bytes(&framed(bad.as_bytes())).and_then(|p| p.finish()) {
            Err(Error::Parse { path, message, .. }) => (path, message),
            other => panic!("{to}: {other:?}"),
        }
    };
    // a sketch counting a journey that is not there
    let (path, m) = finish_error(r#""ttcs":{"relative_accuracy":0.01,"zeros":0"#, r#""ttcs":{"relative_accuracy":0.01,"zeros":1"#);
    assert_eq!(path, "partial.funnel.ttcs", "{m}");
    assert!(m.contains("times to convert for"), "{m}");
    // a sketch of another accuracy than the options say
    let (path, m) = finish_error(r#""ttcs":{"relative_accuracy":0.01"#, r#""ttcs":{"relative_accuracy":0.02"#);
    assert_eq!(path, "partial.funnel.ttcs", "{m}");
    // exact values where the options say sketch
    let exact = a.partials(&options()).unwrap().to_bytes().unwrap();
    let exact = String::from_utf8(exact[28..].to_vec()).unwrap();
    let mixed = exact.replacen(r#""stitch":true}"#, r#""stitch":true,"quantiles":{"sketch":{"relative_accuracy":0.01}}}"#, 1);
    assert_ne!(mixed, exact);
    match Partials::from_bytes(&framed(mixed.as_bytes())).unwrap().finish() {
        Err(Error::Parse { path, message, .. }) => {
            assert_eq!(path, "partial.funnel.ttcs");
            assert!(message.contains("not kept as the options say"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // options out of range in hand-made bytes
    let (path, m) = finish_error(r#""quantiles":{"sketch":{"relative_accuracy":0.01}}"#, r#""quantiles":{"sketch":{"relative_accuracy":0.5}}"#);
    assert_eq!(path, "partial.header.options.quantiles", "{m}");
}
