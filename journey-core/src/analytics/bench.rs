//! The benchmark kit's parameters and output files (`../shared/bench/README.md`, "Measures").
//!
//! [`BenchParams::default`] holds the kit's parameters; [`run_all`] computes the nine
//! measures with them; [`write_measure`] and [`write_stitch`] write the canonical JSON files
//! (`<measure>.json`) that `check.py` compares.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use serde::Serialize;

use super::columns::EventTable;
use super::conformance::{Conformance, conformance};
use super::emotion::{EmotionOptions, EmotionReport, emotion};
use super::funnel::{Funnel, FunnelOptions, funnel};
use super::gray_areas::{GrayAreas, GrayAreasOptions, gray_areas};
use super::journeys::Journeys;
use super::json::{write_canonical, write_canonical_with, write_str};
use super::key_moments::{KeyMoments, KeyMomentsOptions, Outcome, key_moments};
use super::paths::{Paths, PathsOptions, paths};
use super::reach::{Reach, reach};
use super::stitch::{StitchResult, Stitched};
use super::transitions::{NameLevel, Transitions, transitions};
use crate::error::Result;

/// The measures, in the kit's order.
pub const MEASURES: [&str; 9] = ["stitch", "reach", "funnel", "transitions", "paths", "emotion", "gray_areas", "conformance", "key_moments"];

/// The kit's parameters of every measure.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchParams {
    /// Funnel: raw event steps, 7-day window, now = last ts.
    pub funnel: FunnelOptions,
    /// Paths: event level, k = 8, top 20.
    pub paths: PathsOptions,
    /// Emotion: min count 30.
    pub emotion: EmotionOptions,
    /// Gray areas: emotion window 3.
    pub gray_areas: GrayAreasOptions,
    /// Key moments: outcome = touchpoint `order_confirmation`, min count 30.
    pub key_moments: KeyMomentsOptions,
}

impl Default for BenchParams {
    fn default() -> Self {
        BenchParams {
            funnel: FunnelOptions::events(&["product_view", "add_to_cart", "checkout_start", "payment", "order_confirmed"]),
            paths: PathsOptions::default(),
            emotion: EmotionOptions::default(),
            gray_areas: GrayAreasOptions::default(),
            key_moments: KeyMomentsOptions { outcome: Some(Outcome::Touchpoint("order_confirmation".into())), min_count: 30 },
        }
    }
}

/// The results of the eight measures after stitching.
#[derive(Debug, Clone)]
pub struct BenchResults {
    /// Phase reach.
    pub reach: Reach,
    /// The funnel.
    pub funnel: Funnel,
    /// Transitions at the three levels.
    pub transitions: Transitions,
    /// Top paths.
    pub paths: Paths,
    /// Emotion.
    pub emotion: EmotionReport,
    /// Gray areas.
    pub gray_areas: GrayAreas,
    /// Conformance.
    pub conformance: Conformance,
    /// Key moments.
    pub key_moments: KeyMoments,
}

/// Computes the eight measures after stitching, calling `timed(name, seconds)` after each.
pub fn run_all(j: &Journeys<'_>, p: &BenchParams, mut timed: impl FnMut(&str, f64)) -> Result<BenchResults> {
    macro_rules! t {
        ($name:expr, $e:expr) => {{
            let t0 = std::time::Instant::now();
            let r = $e;
            timed($name, t0.elapsed().as_secs_f64());
            r
        }};
    }
    let reach = t!("reach", reach(j));
    let funnel = t!("funnel", funnel(j, &p.funnel)?);
    let transitions = t!("transitions", transitions(j, &[NameLevel::Event, NameLevel::Touchpoint, NameLevel::Phase]));
    let paths = t!("paths", paths(j, &p.paths));
    let emotion = t!("emotion", emotion(j, &p.emotion));
    let gray_areas = t!("gray_areas", gray_areas(j, &p.gray_areas));
    let conformance = t!("conformance", conformance(j));
    let key_moments = t!("key_moments", key_moments(j, &p.key_moments)?);
    Ok(BenchResults { reach, funnel, transitions, paths, emotion, gray_areas, conformance, key_moments })
}

/// Writes one measure as `<dir>/<name>.json`, canonically.
pub fn write_measure<T: Serialize>(dir: &Path, name: &str, value: &T) -> io::Result<()> {
    let v = serde_json::to_value(value).map_err(io::Error::other)?;
    let mut w = BufWriter::new(File::create(dir.join(format!("{name}.json")))?);
    write_canonical(&mut w, &v)?;
    w.flush()
}

/// Writes the eight measures of [`BenchResults`] into `dir`.
pub fn write_results(dir: &Path, r: &BenchResults) -> io::Result<()> {
    write_measure(dir, "reach", &r.reach)?;
    write_measure(dir, "funnel", &r.funnel)?;
    write_measure(dir, "transitions", &r.transitions)?;
    write_measure(dir, "paths", &r.paths)?;
    write_measure(dir, "emotion", &r.emotion)?;
    write_measure(dir, "gray_areas", &r.gray_areas)?;
    write_measure(dir, "conformance", &r.conformance)?;
    write_measure(dir, "key_moments", &r.key_moments)
}

/// Writes `<dir>/stitch.json`: the summary plus `profile_of` (every key → its canonical key,
/// sorted by key), streamed.
pub fn write_stitch(dir: &Path, table: &EventTable, stitched: &Stitched, summary: &StitchResult) -> io::Result<()> {
    let v = serde_json::to_value(summary).map_err(io::Error::other)?;
    let obj = v.as_object().expect("a struct serialises to an object");
    let mut w = BufWriter::with_capacity(1 << 20, File::create(dir.join("stitch.json"))?);
    let keys = table.keys();
    let canonical = stitched.canonical();
    write_canonical_with(&mut w, obj, "profile_of", |w, _| {
        let ids = keys.sorted_ids();
        if ids.is_empty() {
            return w.write_all(b"{}");
        }
        w.write_all(b"{")?;
        for (i, &k) in ids.iter().enumerate() {
            w.write_all(if i == 0 { b"\n  " } else { b",\n  " })?;
            write_str(w, keys.get(k))?;
            w.write_all(b": ")?;
            write_str(w, keys.get(canonical[k as usize]))?;
        }
        w.write_all(b"\n }")
    })?;
    w.flush()
}
