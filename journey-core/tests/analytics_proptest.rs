//! The fast analytics against a brute-force reference written literally from ANALYTICS.md
//! (journey by journey, a greedy chain from *every* step-1 event, explicit windows), on
//! random journeys: ties in time, repeated steps, out-of-order arrivals, one-event
//! journeys, steps exactly at the window's edge, links and multi-key events.

#![allow(clippy::needless_range_loop, clippy::type_complexity)]

mod analytics_fixture;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use analytics_fixture::{CHANNELS, DEPTS, NAMES, design};
use journey_core::Rating;
use journey_core::analytics::{
    self, EventTable, FunnelOptions, GrayAreasOptions, Journeys, KeyMomentsOptions, NameLevel, Outcome, PathsOptions, StepLevel, StitchOptions,
};
use journey_core::resolve::Resolver;
use proptest::prelude::*;

const KEYS: [&str; 7] = ["session:1", "session:2", "session:3", "device:9", "email:m", "customer:7", "customer:8"];

#[derive(Debug, Clone)]
struct Ev {
    ts: i64,
    seq: u64,
    keys: Vec<usize>,
    name: usize,
    channel: usize,
    dept: Option<usize>,
    csat: Option<i64>,
}

#[derive(Debug, Clone)]
struct Case {
    events: Vec<Ev>,
    links: Vec<(usize, usize)>,
}

fn case() -> impl Strategy<Value = Case> {
    let ev = (
        0i64..12,
        prop::collection::vec(0usize..KEYS.len(), 1..3),
        0usize..NAMES.len(),
        0usize..CHANNELS.len(),
        prop::option::weighted(0.6, 0usize..DEPTS.len()),
        prop::option::weighted(0.4, 1i64..=5),
    );
    (prop::collection::vec(ev, 0..40), prop::collection::vec((0usize..KEYS.len(), 0usize..KEYS.len()), 0..4)).prop_map(|(evs, links)| {
        let events = evs
            .into_iter()
            .enumerate()
            .map(|(i, (t, keys, name, channel, dept, csat))| Ev { ts: t * 5, seq: i as u64, keys, name, channel, dept, csat })
            .collect();
        Case { events, links }
    })
}

fn table(c: &Case) -> EventTable {
    let mut t = EventTable::new();
    for e in &c.events {
        let keys: Vec<&str> = e.keys.iter().map(|&k| KEYS[k]).collect();
        t.push(e.ts, e.seq, &keys, NAMES[e.name], CHANNELS[e.channel], e.dept.map(|d| DEPTS[d]), e.csat.map(Rating::Csat)).unwrap();
    }
    for &(a, b) in &c.links {
        t.push_link(KEYS[a], KEYS[b], 0);
    }
    t
}

// ---- the reference ---------------------------------------------------------------------

fn tp_of(name: usize) -> Option<usize> {
    match NAMES[name] {
        "a" | "b" => Some(0),
        "c" => Some(1),
        "d" => Some(2),
        "e" | "f" => Some(3),
        _ => None,
    }
}
const TP_IDS: [&str; 4] = ["ta", "tc", "td", "te"];
const TP_PHASE: [usize; 4] = [0, 1, 2, 2];
const TP_OWNER: [Option<&str>; 4] = [Some("sales"), Some("support"), None, Some("sales")];
const TP_CHANNELS: [&[&str]; 4] = [&["web"], &[], &["phone", "web"], &["app"]];

/// Profiles by naive union of key sets; canonical = smallest key.
fn ref_profiles(c: &Case) -> BTreeMap<String, String> {
    let mut groups: Vec<BTreeSet<&str>> = Vec::new();
    let mut join = |ks: Vec<&'static str>| {
        let mut merged: BTreeSet<&str> = ks.into_iter().collect();
        groups.retain(|g| {
            if g.iter().any(|k| merged.contains(k)) {
                merged.extend(g.iter().copied());
                false
            } else {
                true
            }
        });
        groups.push(merged);
    };
    for e in &c.events {
        join(e.keys.iter().map(|&k| KEYS[k]).collect());
    }
    for &(a, b) in &c.links {
        join(vec![KEYS[a], KEYS[b]]);
    }
    let mut out = BTreeMap::new();
    for g in groups {
        let canon = g.iter().next().unwrap().to_string();
        for k in g {
            out.insert(k.to_string(), canon.clone());
        }
    }
    out
}

fn ref_journeys(c: &Case) -> Vec<Vec<Ev>> {
    let p = ref_profiles(c);
    let mut per: BTreeMap<String, Vec<Ev>> = BTreeMap::new();
    for e in &c.events {
        per.entry(p[KEYS[e.keys[0]]].clone()).or_default().push(e.clone());
    }
    per.into_values()
        .map(|mut v| {
            v.sort_by_key(|e| (e.ts, e.seq));
            v
        })
        .collect()
}

struct FunnelRef {
    steps: Vec<Vec<usize>>,
    window: Option<i64>,
    strict: bool,
    excl: Vec<usize>,
    step_windows: Option<Vec<Option<i64>>>,
}

/// (level, in progress, ttc, excluded) of one journey, literally.
fn ref_funnel_journey(evs: &[Ev], f: &FunnelRef, now: i64) -> (usize, bool, Option<i64>, bool) {
    let m = f.steps.len();
    let matches = |e: &Ev, k: usize| f.steps[k].contains(&e.name);
    let is_step = |e: &Ev| (0..m).any(|k| matches(e, k));
    let mut chains = Vec::new(); // (level, start, chain positions)
    for s in 0..evs.len() {
        if !matches(&evs[s], 0) {
            continue;
        }
        let t0 = evs[s].ts;
        let mut chain = vec![s];
        for k in 1..m {
            let cur = *chain.last().unwrap();
            // the first later event matching step k+1 (strict: the next step event, if it matches)
            let cand = if f.strict {
                (cur + 1..evs.len()).find(|&j| is_step(&evs[j])).filter(|&j| matches(&evs[j], k))
            } else {
                (cur + 1..evs.len()).find(|&j| matches(&evs[j], k))
            };
            let Some(j) = cand else { break };
            if f.window.is_some_and(|w| evs[j].ts > t0 + w) {
                break;
            }
            if let Some(Some(w)) = f.step_windows.as_ref().map(|v| v[k - 1])
                && evs[j].ts > evs[cur].ts + w
            {
                break;
            }
            chain.push(j);
        }
        chains.push((chain.len(), s, chain));
    }
    let Some(level) = chains.iter().map(|c| c.0).max() else { return (0, false, None, false) };
    let best = chains.iter().filter(|c| c.0 == level).max_by_key(|c| c.1).unwrap();
    let t0 = evs[best.1].ts;
    let in_progress = level < m && f.window.is_some_and(|w| t0 + w > now);
    let ttc = (level == m).then(|| evs[*best.2.last().unwrap()].ts - t0);
    let excluded = !f.excl.is_empty() && best.2.windows(2).any(|w| (w[0] + 1..w[1]).any(|j| f.excl.contains(&evs[j].name)));
    (level, in_progress, ttc, excluded)
}

fn median(v: &mut [i64]) -> Option<f64> {
    v.sort();
    let n = v.len();
    if n == 0 {
        None
    } else if n % 2 == 1 {
        Some(v[n / 2] as f64)
    } else {
        Some((v[n / 2 - 1] + v[n / 2]) as f64 / 2.0)
    }
}

fn dept_of(e: &Ev) -> Option<&'static str> {
    e.dept.map(|d| DEPTS[d]).or_else(|| tp_of(e.name).and_then(|t| TP_OWNER[t]))
}

fn norm(x: i64) -> f64 {
    (x - 3) as f64 / 2.0
}

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(x), Some(y)) => (x - y).abs() < 1e-12,
        _ => false,
    }
}

// ---- the properties ----------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn stitch_reach_transitions_paths(c in case(), threads in 1usize..=3) {
        analytics::set_threads(threads);
        let doc = design();
        let resolver = Resolver::new(&doc.maps[0]);
        let t = table(&c);
        let s = analytics::stitch(&t, &StitchOptions::default());
        let j = Journeys::build(&t, &s, &resolver);
        let rp = ref_profiles(&c);
        for (k, canon) in &rp {
            let id = t.keys().lookup(k).unwrap();
            prop_assert_eq!(t.keys().get(s.canonical()[id as usize]), canon.as_str());
        }
        let rj = ref_journeys(&c);
        prop_assert_eq!(j.len(), rj.len());
        prop_assert_eq!(s.profiles(), rp.values().collect::<BTreeSet<_>>().len());

        // reach
        let r = analytics::reach(&j);
        for k in 0..3 {
            let reached = |evs: &Vec<Ev>, k: usize| evs.iter().any(|e| tp_of(e.name).map(|t| TP_PHASE[t]) == Some(k));
            prop_assert_eq!(r.phases[k].journeys, rj.iter().filter(|evs| reached(evs, k)).count() as u64);
            if k > 0 {
                prop_assert_eq!(r.phases[k].reached_previous_and_this, Some(rj.iter().filter(|evs| reached(evs, k) && reached(evs, k - 1)).count() as u64));
            }
        }

        // transitions, event and touchpoint level
        let tr = analytics::transitions(&j, &[NameLevel::Event, NameLevel::Touchpoint]);
        for (level, got) in [(0, tr.event.as_ref().unwrap()), (1, tr.touchpoint.as_ref().unwrap())] {
            let label = |e: &Ev| if level == 0 { NAMES[e.name].to_string() } else { tp_of(e.name).map_or(NAMES[e.name].to_string(), |t| TP_IDS[t].to_string()) };
            let mut pairs: BTreeMap<(String, String), u64> = BTreeMap::new();
            let mut starts: BTreeMap<String, u64> = BTreeMap::new();
            let mut ends: BTreeMap<String, u64> = BTreeMap::new();
            for evs in &rj {
                *starts.entry(label(&evs[0])).or_default() += 1;
                *ends.entry(label(evs.last().unwrap())).or_default() += 1;
                for w in evs.windows(2) {
                    *pairs.entry((label(&w[0]), label(&w[1]))).or_default() += 1;
                }
            }
            let want: Vec<(String, String, u64)> = pairs.into_iter().map(|((a, b), n)| (a, b, n)).collect();
            prop_assert_eq!(&got.counts, &want);
            prop_assert_eq!(&got.starts, &starts.into_iter().collect::<Vec<_>>());
            prop_assert_eq!(&got.ends, &ends.into_iter().collect::<Vec<_>>());
        }

        // paths (k = 3, top 4)
        let po = PathsOptions { k: 3, top: 4, ..PathsOptions::default() };
        let p = analytics::paths(&j, &po);
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        for evs in &rj {
            let mut path: Vec<&str> = Vec::new();
            for e in evs {
                if path.last() != Some(&NAMES[e.name]) {
                    path.push(NAMES[e.name]);
                }
            }
            path.truncate(3);
            *counts.entry(path.join(">")).or_default() += 1;
        }
        let mut top: Vec<(String, u64)> = counts.iter().map(|(k, v)| (k.clone(), *v)).collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        top.truncate(4);
        prop_assert_eq!(p.distinct_paths, counts.len() as u64);
        prop_assert_eq!(p.top.iter().map(|x| (x.path.clone(), x.journeys)).collect::<Vec<_>>(), top);
        analytics::set_threads(0);
    }

    #[test]
    fn funnel_matches_the_literal_definition(
        c in case(),
        steps in prop::collection::vec(prop::collection::btree_set(0usize..7, 1..3), 1..5),
        window in prop::option::weighted(0.85, prop::sample::select(vec![0i64, 5, 10, 15, 25, 40])),
        strict in any::<bool>(),
        excl in prop::collection::btree_set(0usize..8, 0..2),
        step_windows in prop::option::weighted(0.3, prop::collection::vec(prop::option::of(prop::sample::select(vec![0i64, 5, 10])), 4)),
        now_shift in -10i64..20,
        threads in 1usize..=2,
    ) {
        analytics::set_threads(threads);
        let doc = design();
        let resolver = Resolver::new(&doc.maps[0]);
        let t = table(&c);
        let s = analytics::stitch(&t, &StitchOptions::default());
        let j = Journeys::build(&t, &s, &resolver);
        let steps: Vec<Vec<usize>> = steps.into_iter().map(|s| s.into_iter().collect()).collect();
        let m = steps.len();
        let step_windows = step_windows.map(|v| v[..m - 1].to_vec());
        let now = c.events.iter().map(|e| e.ts).max().unwrap_or(0) + now_shift;
        let opts = FunnelOptions {
            steps: steps.iter().map(|s| s.iter().map(|&n| NAMES[n].to_string()).collect()).collect(),
            match_on: StepLevel::Event,
            window_us: window,
            now_us: Some(now),
            strict_order: strict,
            exclusion_steps: excl.iter().map(|&n| vec![NAMES[n].to_string()]).collect(),
            per_step_windows: step_windows.clone(),
            histogram_edges_us: vec![5, 20],
        };
        let f = analytics::funnel(&j, &opts).unwrap();
        let fr = FunnelRef { steps, window, strict, excl: excl.into_iter().collect(), step_windows };
        let mut levels = vec![0u64; m + 1];
        let mut ip = vec![0u64; m + 1];
        let mut ttcs = Vec::new();
        let mut excluded = 0;
        for evs in ref_journeys(&c) {
            let (l, p, ttc, x) = ref_funnel_journey(&evs, &fr, now);
            if x {
                excluded += 1;
                continue;
            }
            levels[l] += 1;
            ip[l] += p as u64;
            ttcs.extend(ttc);
        }
        for i in 0..m {
            prop_assert_eq!(f.steps[i].journeys, levels[i + 1..].iter().sum::<u64>(), "step {}", i + 1);
        }
        for l in 1..m {
            prop_assert_eq!(f.stopped_at[l - 1].in_progress, ip[l], "in progress at {}", l);
        }
        prop_assert_eq!(f.excluded.unwrap_or(0), excluded);
        prop_assert_eq!(f.time_to_convert.journeys, ttcs.len() as u64);
        let mut sorted = ttcs.clone();
        prop_assert_eq!(f.time_to_convert.median_us, median(&mut sorted));
        if !sorted.is_empty() {
            prop_assert_eq!(f.time_to_convert.p90_us, Some(sorted[(9 * sorted.len()).div_ceil(10) - 1]));
        }
        let hist: Vec<u64> = [(0, 5), (5, 20), (20, i64::MAX)].iter().map(|&(a, b)| ttcs.iter().filter(|&&x| x >= a && x < b).count() as u64).collect();
        prop_assert_eq!(f.time_to_convert.histogram.iter().map(|h| h.journeys).collect::<Vec<_>>(), hist);
        analytics::set_threads(0);
    }

    #[test]
    fn emotion_gray_areas_conformance_key_moments(c in case(), threads in 1usize..=2) {
        analytics::set_threads(threads);
        let doc = design();
        let resolver = Resolver::new(&doc.maps[0]);
        let t = table(&c);
        let s = analytics::stitch(&t, &StitchOptions::default());
        let j = Journeys::build(&t, &s, &resolver);
        let rj = ref_journeys(&c);

        // emotion
        let em = analytics::emotion(&j, &analytics::EmotionOptions::default());
        for (i, row) in em.touchpoints.iter().enumerate() {
            let xs: Vec<f64> = rj.iter().flatten().filter(|e| tp_of(e.name) == Some(i)).filter_map(|e| e.csat.map(norm)).collect();
            prop_assert_eq!(row.ratings, xs.len() as u64);
            let mean = (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64);
            prop_assert!(close(row.mean, mean), "{:?} vs {:?}", row.mean, mean);
            if xs.len() >= 2 {
                let m = mean.unwrap();
                let var = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (xs.len() - 1) as f64;
                prop_assert!(close(row.std, Some(var.sqrt())));
            }
        }
        let mut lowest: BTreeMap<i64, u64> = BTreeMap::new();
        let mut last: BTreeMap<i64, u64> = BTreeMap::new();
        for evs in &rj {
            let xs: Vec<i64> = evs.iter().filter_map(|e| e.csat).collect();
            if let (Some(lo), Some(la)) = (xs.iter().min(), xs.last()) {
                *lowest.entry(*lo).or_default() += 1;
                *last.entry(*la).or_default() += 1;
            }
        }
        prop_assert_eq!(&em.journeys.lowest, &lowest.iter().map(|(&x, &n)| (norm(x), n)).collect::<Vec<_>>());
        prop_assert_eq!(&em.journeys.last, &last.iter().map(|(&x, &n)| (norm(x), n)).collect::<Vec<_>>());

        // gray areas, department dimension, literally
        let g = analytics::gray_areas(&j, &GrayAreasOptions::default());
        let mut occ: BTreeMap<(String, String), (u64, u64, Vec<f64>, Vec<i64>)> = BTreeMap::new();
        let (mut unknown, mut base, mut base_ends) = (0u64, 0u64, 0u64);
        for evs in &rj {
            for i in 0..evs.len().saturating_sub(1) {
                let (a, b) = (dept_of(&evs[i]), dept_of(&evs[i + 1]));
                let ends = i + 2 == evs.len();
                match (a, b) {
                    (Some(a), Some(b)) if a == b => { base += 1; base_ends += ends as u64; }
                    (Some(a), Some(b)) => {
                        let o = occ.entry((a.into(), b.into())).or_default();
                        o.0 += 1;
                        o.1 += ends as u64;
                        o.3.push(evs[i + 1].ts - evs[i].ts);
                        let mean = |w: &[Ev]| { let r: Vec<f64> = w.iter().filter_map(|e| e.csat.map(norm)).collect(); (!r.is_empty()).then(|| r.iter().sum::<f64>() / r.len() as f64) };
                        if let (Some(bf), Some(af)) = (mean(&evs[i.saturating_sub(2)..=i]), mean(&evs[i + 1..(i + 4).min(evs.len())])) {
                            o.2.push(af - bf);
                        }
                    }
                    _ => unknown += 1,
                }
            }
        }
        prop_assert_eq!(g.department.unknown_pairs, unknown);
        prop_assert_eq!(g.department.baseline.pairs, base);
        prop_assert_eq!(g.department.baseline.ends_after, base_ends);
        prop_assert_eq!(g.department.changes.len(), occ.len());
        for (row, ((a, b), (n, ends, deltas, gaps))) in g.department.changes.iter().zip(occ.iter_mut()) {
            prop_assert_eq!((&row.from, &row.to), (a, b));
            prop_assert_eq!((row.occurrences, row.ends_after, row.emotion_change_n), (*n, *ends, deltas.len() as u64));
            let mean = (!deltas.is_empty()).then(|| deltas.iter().sum::<f64>() / deltas.len() as f64);
            prop_assert!(close(row.emotion_change, mean), "{:?} vs {:?}", row.emotion_change, mean);
            prop_assert_eq!(row.median_gap_us, median(gaps));
        }

        // conformance
        let cf = analytics::conformance(&j);
        let mut dev: HashMap<&str, u64> = HashMap::new();
        let (mut full, mut fit_sum) = (0u64, 0f64);
        for evs in &rj {
            let mut prev: Option<usize> = None;
            let mut conf = 0;
            for e in evs {
                let mut kinds = Vec::new();
                match tp_of(e.name) {
                    None => kinds.push("off_map"),
                    Some(t) => {
                        if !TP_CHANNELS[t].is_empty() && !TP_CHANNELS[t].contains(&CHANNELS[e.channel]) { kinds.push("unplanned_channel"); }
                        let q = TP_PHASE[t];
                        if prev.is_some_and(|p| q < p) { kinds.push("regression"); }
                        if prev.is_some_and(|p| q > p + 1) { kinds.push("skip"); }
                        prev = Some(q);
                    }
                }
                if kinds.is_empty() { conf += 1; }
                for k in kinds { *dev.entry(k).or_default() += 1; }
            }
            full += (conf == evs.len()) as u64;
            fit_sum += conf as f64 / evs.len() as f64;
        }
        prop_assert_eq!(cf.deviations.off_map, dev.get("off_map").copied().unwrap_or(0));
        prop_assert_eq!(cf.deviations.regression, dev.get("regression").copied().unwrap_or(0));
        prop_assert_eq!(cf.deviations.skip, dev.get("skip").copied().unwrap_or(0));
        prop_assert_eq!(cf.deviations.unplanned_channel, dev.get("unplanned_channel").copied().unwrap_or(0));
        prop_assert_eq!(cf.fully_conforming, full);
        if !rj.is_empty() {
            prop_assert!(close(cf.fitness.mean, Some(fit_sum / rj.len() as f64)));
        }

        // key moments, outcome = touchpoint te
        let km = analytics::key_moments(&j, &KeyMomentsOptions { outcome: Some(Outcome::Touchpoint("te".into())), min_count: 1 }).unwrap();
        for (i, row) in km.touchpoints.iter().enumerate() {
            let (mut n, mut neg, mut nn, mut end_at) = (0, 0, 0, 0);
            for evs in &rj {
                let at: Vec<&Ev> = evs.iter().filter(|e| tp_of(e.name) == Some(i)).collect();
                if at.is_empty() { continue; }
                n += 1;
                end_at += (tp_of(evs.last().unwrap().name) == Some(i)) as u64;
                match at.iter().filter_map(|e| e.csat).min() {
                    Some(x) if x < 3 => neg += 1,
                    Some(_) => nn += 1,
                    None => {}
                }
            }
            prop_assert_eq!((row.journeys, row.negative.journeys, row.non_negative.journeys, row.end_at), (n, neg, nn, end_at));
        }
        analytics::set_threads(0);
    }
}

#[test]
fn window_edge_is_inclusive_and_ties_follow_arrival() {
    // step 2 exactly at t0 + W counts, one microsecond later does not; equal ts in arrival order
    let doc = design();
    let resolver = Resolver::new(&doc.maps[0]);
    let mut t = EventTable::new();
    t.push(0, 0, &["session:1"], "a", "web", None, None).unwrap();
    t.push(10, 1, &["session:1"], "b", "web", None, None).unwrap();
    t.push(11, 2, &["session:1"], "c", "web", None, None).unwrap();
    // arrives before its predecessor in time: order is (ts, seq)
    t.push(7, 3, &["session:2"], "b", "web", None, None).unwrap();
    t.push(7, 4, &["session:2"], "a", "web", None, None).unwrap();
    let s = analytics::stitch(&t, &StitchOptions::default());
    let j = Journeys::build(&t, &s, &resolver);
    let mut o = FunnelOptions::events(&["a", "b", "c"]);
    o.window_us = Some(10);
    o.histogram_edges_us = vec![];
    let f = analytics::funnel(&j, &o).unwrap();
    // session:1 reaches b at exactly t0 + 10, not c at t0 + 11; session:2's b arrived first
    assert_eq!(f.steps.iter().map(|s| s.journeys).collect::<Vec<_>>(), vec![2, 1, 0]);
}
