//! Medians and percentiles of non-negative integers (times to convert, handoff gaps), from
//! every value (exact, the default) or from a mergeable quantile sketch (for very large data).
//!
//! [`Samples`] holds the values a median or percentile is computed from, in one of two forms
//! chosen by [`QuantileMode`]:
//!
//! * **exact** ([`Samples::Exact`]): every value. The median is the mean of the two middle
//!   values, p90 the nearest rank (the ⌈0.9·m⌉-th smallest of m), as ANALYTICS.md defines
//!   them. The state grows with the number of values.
//! * **sketch** ([`Samples::Sketch`], [`Sketch`]): a log-bucketed histogram in the style of
//!   DDSketch (Masson, Rim and Lee, VLDB 2019). For a relative accuracy `α`
//!   (`0.0001 ≤ α ≤ 0.1`, default 0.01) and `γ = (1 + α) / (1 − α)`, zero is counted
//!   exactly, and a value `x ≥ 1` is counted in bucket `i = ⌈log_γ x⌉`, the bucket of the
//!   values in `(γ^(i−1), γ^i]`. A rank query walks the buckets in order and answers with
//!   the bucket's representative `2·γ^i / (γ + 1)` (0 for the zeros).
//!
//! **Guarantee.** The estimate of the value at any rank is within relative error `α` of the
//! exact value at that rank (the representative is within `α` of every value of its bucket;
//! up to floating-point rounding, about 1e-14 relative). So the sketched
//! median (the mean of the estimates of the two middle ranks) is within `α` of the exact
//! median, and the sketched p90 within `α` of the exact p90 before it is rounded to a whole
//! number (p90 is published as an integer: within `α·x + 0.5`). Counts are exact.
//!
//! **Merging** adds bucket counts: exact, associative and commutative, so any split of the
//! data merged in any order gives the same sketch (bucket for bucket) and the same estimates
//! (bit for bit). Sketches of different relative accuracy do not merge.
//!
//! **Size.** One entry per non-empty bucket: at most about `ln(max / min) / ln γ + 1` buckets
//! for non-zero values between `min` and `max` (`ln γ ≈ 2α`), whatever the number of values.
//! With `α = 0.01`, values from 1 µs to 10^12 µs (11.6 days) take at most 1,383 buckets; one
//! second to one week, 667.
//!
//! **When to use it.** When states must stay small over very large data (millions of
//! converted journeys or handoffs per state, states shipped between cluster nodes) and a
//! median within 1 % is good enough. Counts, histograms and every other field stay exact;
//! only the medians and p90s are estimates, and the results say so (their
//! `relative_accuracy`).
//!
//! The JSON form (in partial states): exact samples are a plain array of integers
//! (`[12, 5, 40]`); a sketch is an object, `{"relative_accuracy": 0.01, "zeros": 0,
//! "buckets": {"812": 3, "815": 1}}` (bucket index → values, in index order).

use std::collections::BTreeMap;

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::numbers::median_i64;
use super::partial::merge::bad;
use crate::error::{Error, Result};

/// The default relative accuracy of a sketch.
pub const DEFAULT_RELATIVE_ACCURACY: f64 = 0.01;
/// The smallest relative accuracy allowed (finer sketches are not much smaller than the values).
pub const MIN_RELATIVE_ACCURACY: f64 = 0.0001;
/// The largest relative accuracy allowed.
pub const MAX_RELATIVE_ACCURACY: f64 = 0.1;

/// How medians and percentiles are kept in partial states: `"exact"` (every value, the
/// default) or `{"sketch": {"relative_accuracy": 0.01}}` (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuantileMode {
    /// Every value: exact medians and percentiles.
    #[default]
    Exact,
    /// A quantile sketch: estimates within a relative accuracy.
    Sketch(SketchOptions),
}

/// The options of a quantile sketch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SketchOptions {
    /// The relative error `α` of every estimate, `0.0001..=0.1` (default 0.01).
    pub relative_accuracy: f64,
}

impl Default for SketchOptions {
    fn default() -> Self {
        SketchOptions { relative_accuracy: DEFAULT_RELATIVE_ACCURACY }
    }
}

impl QuantileMode {
    /// A sketch of this relative accuracy (checked by [`QuantileMode::check`]).
    pub fn sketch(relative_accuracy: f64) -> Self {
        QuantileMode::Sketch(SketchOptions { relative_accuracy })
    }

    /// Whether every value is kept.
    pub fn is_exact(&self) -> bool {
        *self == QuantileMode::Exact
    }

    /// The relative accuracy of the estimates; `None` when exact.
    pub fn relative_accuracy(&self) -> Option<f64> {
        match self {
            QuantileMode::Exact => None,
            QuantileMode::Sketch(s) => Some(s.relative_accuracy),
        }
    }

    /// Refuses a relative accuracy outside `0.0001..=0.1`, naming `quantiles.relative_accuracy`.
    pub fn check(&self) -> Result<()> {
        match self.relative_accuracy() {
            Some(a) if !(MIN_RELATIVE_ACCURACY..=MAX_RELATIVE_ACCURACY).contains(&a) => Err(Error::parse(
                "quantiles.relative_accuracy",
                format!("the relative accuracy of a quantile sketch must be between {MIN_RELATIVE_ACCURACY} and {MAX_RELATIVE_ACCURACY}, not {a}"),
            )),
            _ => Ok(()),
        }
    }

    /// No values yet, in this form.
    pub fn samples(&self) -> Samples {
        match self {
            QuantileMode::Exact => Samples::Exact(Vec::new()),
            QuantileMode::Sketch(s) => Samples::Sketch(Sketch::new(s.relative_accuracy)),
        }
    }
}

/// A mergeable log-bucketed quantile sketch of non-negative integers (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sketch {
    /// The relative error `α` of every estimate.
    pub relative_accuracy: f64,
    /// Values equal to 0 (counted exactly).
    pub zeros: u64,
    /// Bucket `i` → values in `(γ^(i−1), γ^i]`.
    pub buckets: BTreeMap<u32, u64>,
}

impl Sketch {
    /// An empty sketch (`relative_accuracy` is checked by [`QuantileMode::check`]).
    pub fn new(relative_accuracy: f64) -> Self {
        Sketch { relative_accuracy, zeros: 0, buckets: BTreeMap::new() }
    }

    /// `γ = (1 + α) / (1 − α)`.
    pub fn gamma(&self) -> f64 {
        (1.0 + self.relative_accuracy) / (1.0 - self.relative_accuracy)
    }

    /// The bucket of a value `x ≥ 1`: `⌈log_γ x⌉`.
    fn index(x: i64, ln_gamma: f64) -> u32 {
        ((x as f64).ln() / ln_gamma).ceil() as u32
    }

    /// Counts a value. Values are times between ordered events, never negative; a negative
    /// value would count as 0.
    pub fn insert(&mut self, x: i64) {
        debug_assert!(x >= 0, "a sketch counts non-negative values, not {x}");
        if x <= 0 {
            self.zeros += 1;
        } else {
            *self.buckets.entry(Self::index(x, self.gamma().ln())).or_default() += 1;
        }
    }

    /// The number of values.
    pub fn count(&self) -> u64 {
        self.zeros + self.buckets.values().sum::<u64>()
    }

    /// Adds the counts of another sketch of the same relative accuracy.
    pub fn merge(&mut self, o: &Sketch, path: &str) -> Result<()> {
        if self.relative_accuracy != o.relative_accuracy {
            return Err(bad(
                path,
                format!("cannot merge sketches of different relative accuracy ({} and {})", self.relative_accuracy, o.relative_accuracy),
            ));
        }
        self.zeros += o.zeros;
        for (i, c) in &o.buckets {
            *self.buckets.entry(*i).or_default() += c;
        }
        Ok(())
    }

    /// The estimate of the value of 0-based rank `rank` (the `rank + 1`-th smallest);
    /// `None` beyond the count.
    pub fn value_at(&self, rank: u64) -> Option<f64> {
        if rank < self.zeros {
            return Some(0.0);
        }
        let (gamma, mut seen) = (self.gamma(), self.zeros);
        for (&i, &c) in &self.buckets {
            seen += c;
            if rank < seen {
                return Some(2.0 * (i as f64 * gamma.ln()).exp() / (gamma + 1.0));
            }
        }
        None
    }

    /// Checks a sketch read from bytes: its accuracy, and bucket indexes that an `i64` can reach.
    fn check(&self, path: &str) -> Result<()> {
        QuantileMode::sketch(self.relative_accuracy).check().map_err(|e| bad(path, e.to_string()))?;
        let top = Self::index(i64::MAX, self.gamma().ln());
        match self.buckets.keys().next_back() {
            Some(&i) if i > top => Err(bad(path, format!("bucket {i} is beyond the largest a 64-bit value reaches ({top})"))),
            _ => Ok(()),
        }
    }
}

/// The values of a median or percentile: every value, or a sketch (see the module docs).
/// In JSON, a plain array of integers or a sketch object.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Samples {
    /// Every value.
    Exact(Vec<i64>),
    /// A quantile sketch.
    Sketch(Sketch),
}

/// An array is exact values, an object a sketch (by hand rather than `untagged`, which
/// cannot read a sketch's integer bucket keys and names no field in its errors).
impl<'de> Deserialize<'de> for Samples {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Form;
        impl<'de> Visitor<'de> for Form {
            type Value = Samples;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an array of integers (exact values) or a quantile sketch object")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> std::result::Result<Samples, A::Error> {
                Vec::<i64>::deserialize(SeqAccessDeserializer::new(seq)).map(Samples::Exact)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> std::result::Result<Samples, A::Error> {
                Sketch::deserialize(MapAccessDeserializer::new(map)).map(Samples::Sketch)
            }
        }
        d.deserialize_any(Form)
    }
}

impl Default for Samples {
    fn default() -> Self {
        Samples::Exact(Vec::new())
    }
}

impl Samples {
    /// Counts a value (non-negative).
    pub fn push(&mut self, x: i64) {
        match self {
            Samples::Exact(v) => v.push(x),
            Samples::Sketch(s) => s.insert(x),
        }
    }

    /// The number of values.
    pub fn len(&self) -> u64 {
        match self {
            Samples::Exact(v) => v.len() as u64,
            Samples::Sketch(s) => s.count(),
        }
    }

    /// Whether there is no value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every value, when exact.
    pub fn values(&self) -> Option<&[i64]> {
        match self {
            Samples::Exact(v) => Some(v),
            Samples::Sketch(_) => None,
        }
    }

    /// The relative accuracy of the estimates; `None` when exact.
    pub fn relative_accuracy(&self) -> Option<f64> {
        match self {
            Samples::Exact(_) => None,
            Samples::Sketch(s) => Some(s.relative_accuracy),
        }
    }

    /// Adds other values, of the same form; `path` names the field in the error.
    pub fn merge(&mut self, o: &Samples, path: &str) -> Result<()> {
        match (self, o) {
            (Samples::Exact(a), Samples::Exact(b)) => {
                a.extend_from_slice(b);
                Ok(())
            }
            (Samples::Sketch(a), Samples::Sketch(b)) => a.merge(b, path),
            _ => Err(bad(path, "cannot merge exact values with a quantile sketch")),
        }
    }

    /// Checks the form against the mode and, for a sketch read from bytes, its shape.
    pub fn check(&self, mode: &QuantileMode, path: &str) -> Result<()> {
        match (self, mode) {
            (Samples::Exact(_), QuantileMode::Exact) => Ok(()),
            (Samples::Sketch(s), QuantileMode::Sketch(o)) if s.relative_accuracy == o.relative_accuracy => s.check(path),
            _ => Err(bad(path, format!("the values are not kept as the options say ({})", serde_json::to_string(mode).unwrap_or_default()))),
        }
    }

    /// The median (the mean of the two middle values for an even count); reorders exact values.
    pub fn median(&mut self) -> Option<f64> {
        match self {
            Samples::Exact(v) => median_i64(v),
            Samples::Sketch(s) => {
                let n = s.count();
                match n {
                    0 => None,
                    _ if n % 2 == 1 => s.value_at(n / 2),
                    _ => Some((s.value_at(n / 2 - 1)? + s.value_at(n / 2)?) / 2.0),
                }
            }
        }
    }

    /// The 90th percentile, nearest rank (the ⌈0.9·m⌉-th smallest of m), a sketch's estimate
    /// rounded to a whole number; reorders exact values.
    pub fn p90(&mut self) -> Option<i64> {
        let n = self.len();
        if n == 0 {
            return None;
        }
        let k = (9 * n).div_ceil(10) - 1;
        match self {
            Samples::Exact(v) => {
                let (_, &mut x, _) = v.select_nth_unstable(k as usize);
                Some(x)
            }
            Samples::Sketch(s) => s.value_at(k).map(|x| x.round() as i64),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sketch(values: &[i64], alpha: f64) -> Samples {
        let mut s = QuantileMode::sketch(alpha).samples();
        for &x in values {
            s.push(x);
        }
        s
    }

    fn within(estimate: f64, exact: i64, alpha: f64, slack: f64) -> bool {
        (estimate - exact as f64).abs() <= (alpha + 1e-12) * exact as f64 + slack
    }

    /// Values of every magnitude: 0, 1, small, times in µs, huge.
    fn value() -> impl Strategy<Value = i64> {
        prop_oneof![Just(0i64), Just(1i64), 0i64..100, 0i64..10_000_000_000, (0u32..63).prop_map(|b| 1i64 << b), Just(i64::MAX), (i64::MAX / 2)..i64::MAX,]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// Every rank's estimate is within α of the exact value at that rank; the median and
        /// p90 follow.
        #[test]
        fn estimates_are_within_the_relative_accuracy(values in prop::collection::vec(value(), 1..300), alpha in prop::sample::select(vec![0.0001, 0.001, 0.01, 0.05, 0.1])) {
            let mut sorted = values.clone();
            sorted.sort_unstable();
            let Samples::Sketch(s) = sketch(&values, alpha) else { unreachable!() };
            prop_assert_eq!(s.count(), values.len() as u64);
            for (rank, &x) in sorted.iter().enumerate() {
                let e = s.value_at(rank as u64).unwrap();
                prop_assert!(within(e, x, alpha, 0.0), "rank {}: {} for {} (alpha {})", rank, e, x, alpha);
            }
            prop_assert_eq!(s.value_at(values.len() as u64), None);
            let mut exact = Samples::Exact(values.clone());
            let mut sk = Samples::Sketch(s);
            let (m, em) = (sk.median().unwrap(), exact.median().unwrap());
            prop_assert!((m - em).abs() <= (alpha + 1e-12) * em, "median {} for {}", m, em);
            let (p, ep) = (sk.p90().unwrap(), exact.p90().unwrap());
            prop_assert!(within(p as f64, ep, alpha, 0.5), "p90 {} for {}", p, ep);
        }

        /// Any split merged in any order gives the same sketch and the same estimates, bit for bit.
        #[test]
        fn merging_is_exact_and_order_free(values in prop::collection::vec(value(), 0..200), cut in 0usize..200, cut2 in 0usize..200) {
            let (a, b) = (cut.min(values.len()), cut2.min(values.len()));
            let (lo, hi) = (a.min(b), a.max(b));
            let whole = sketch(&values, 0.01);
            let parts = [sketch(&values[..lo], 0.01), sketch(&values[lo..hi], 0.01), sketch(&values[hi..], 0.01)];
            let mut x = parts[2].clone();
            x.merge(&parts[0], "t").unwrap();
            x.merge(&parts[1], "t").unwrap();
            let mut y = parts[1].clone();
            y.merge(&parts[2], "t").unwrap();
            y.merge(&parts[0], "t").unwrap();
            prop_assert_eq!(&x, &whole);
            prop_assert_eq!(&y, &whole);
            let (mut x, mut w) = (x, whole.clone());
            prop_assert_eq!(x.median().map(f64::to_bits), w.median().map(f64::to_bits));
            prop_assert_eq!(x.p90(), w.p90());
        }
    }

    #[test]
    fn small_values_and_zeros() {
        let mut s = sketch(&[0, 0, 1, 3], 0.01);
        assert_eq!(s.len(), 4);
        // middle ranks: 0 and 1 (estimated within 1 %)
        let m = s.median().unwrap();
        assert!((m - 0.5).abs() <= 0.005 + 1e-12, "{m}");
        assert_eq!(s.p90(), Some(3));
        assert_eq!(sketch(&[], 0.01).median(), None);
        assert_eq!(sketch(&[], 0.01).p90(), None);
        assert_eq!(sketch(&[0], 0.05).median(), Some(0.0));
    }

    #[test]
    fn the_size_is_bounded_by_the_range_not_the_count() {
        // a million values from 1 µs to 10^12 µs: at most ln(10^12) / ln(γ) + 1 buckets
        let mut s = Sketch::new(0.01);
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..1_000_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            s.insert(1 + (x % 1_000_000_000_000) as i64);
        }
        let bound = ((1e12f64).ln() / s.gamma().ln()).ceil() as usize + 1;
        assert!(s.buckets.len() <= bound && bound <= 1_383, "{} buckets, bound {bound}", s.buckets.len());
        assert_eq!(s.count(), 1_000_000);
    }

    #[test]
    fn bad_accuracy_and_mixed_forms_are_refused() {
        for a in [0.0, 0.00009, 0.2, -0.01, 1.0, f64::NAN] {
            match QuantileMode::sketch(a).check() {
                Err(Error::Parse { path, message, .. }) => {
                    assert_eq!(path, "quantiles.relative_accuracy");
                    assert!(message.contains("between 0.0001 and 0.1"), "{message}");
                }
                other => panic!("{a}: {other:?}"),
            }
        }
        assert!(QuantileMode::sketch(0.0001).check().is_ok() && QuantileMode::sketch(0.1).check().is_ok());
        let mut exact = Samples::Exact(vec![1]);
        let err = exact.merge(&sketch(&[1], 0.01), "funnel.ttcs").unwrap_err().to_string();
        assert!(err.contains("funnel.ttcs") && err.contains("exact values with a quantile sketch"), "{err}");
        let err = sketch(&[1], 0.01).merge(&sketch(&[1], 0.02), "gaps").unwrap_err().to_string();
        assert!(err.contains("different relative accuracy"), "{err}");
        // a hand-made bucket beyond any 64-bit value
        let mut s = Sketch::new(0.01);
        s.buckets.insert(1_000_000, 1);
        assert!(Samples::Sketch(s).check(&QuantileMode::sketch(0.01), "x").unwrap_err().to_string().contains("beyond"));
        assert!(Samples::Exact(vec![]).check(&QuantileMode::sketch(0.01), "x").is_err());
    }

    #[test]
    fn json_forms() {
        let exact: Samples = serde_json::from_str("[3, 1, 2]").unwrap();
        assert_eq!(exact, Samples::Exact(vec![3, 1, 2]));
        assert_eq!(serde_json::to_string(&exact).unwrap(), "[3,1,2]");
        let s = sketch(&[0, 1, 100], 0.01);
        let text = serde_json::to_string(&s).unwrap();
        assert_eq!(text, r#"{"relative_accuracy":0.01,"zeros":1,"buckets":{"0":1,"231":1}}"#);
        assert_eq!(serde_json::from_str::<Samples>(&text).unwrap(), s);
        let mode: QuantileMode = serde_json::from_str(r#"{"sketch": {}}"#).unwrap();
        assert_eq!(mode, QuantileMode::sketch(0.01));
        assert_eq!(serde_json::from_str::<QuantileMode>(r#""exact""#).unwrap(), QuantileMode::Exact);
        assert!(serde_json::from_str::<QuantileMode>(r#"{"sketch": {"accuracy": 0.1}}"#).unwrap_err().to_string().contains("accuracy"));
        let err = serde_json::from_str::<Samples>(r#"{"relative_accuracy": 0.01, "zeros": 0, "bucket": {}}"#).unwrap_err().to_string();
        assert!(err.contains("bucket"), "{err}");
        assert!(serde_json::from_str::<Samples>("3").unwrap_err().to_string().contains("array of integers"));
    }
}
