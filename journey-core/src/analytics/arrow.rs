//! Building an [`EventTable`] from Arrow arrays (feature `arrow`), as the bindings hand
//! them over (pyarrow, polars, arrow-js) and as Parquet files decode.
//!
//! String columns may be `Utf8`, `LargeUtf8`, `Utf8View` or dictionaries of those (a
//! dictionary is interned once per distinct value, not per row). Times are `Int64` or
//! `Timestamp` (any unit, converted to microseconds). Ratings are integers (CSAT, NPS,
//! labels -1/0/1) or floats (raw scores), with the scale given by the caller.

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Int8Type, Int16Type, Int32Type, Int64Type, TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, AnyDictionaryArray};
use arrow_schema::{DataType, TimeUnit};

use crate::emotion::{Rating, Scale};
use crate::error::{Error, Result};
use crate::time::Micros;

use super::columns::{EventTable, NO_RATING, quantize_rating};
use super::intern::{Interner, NONE};

/// The event columns of one batch. All arrays have the same length.
#[derive(Clone, Copy)]
pub struct ArrowEvents<'a> {
    /// Event times: `Int64` microseconds or `Timestamp`.
    pub ts: &'a dyn Array,
    /// Arrival sequence numbers (integers); `None` = the row's position in the whole input.
    pub seq: Option<&'a dyn Array>,
    /// Identity keys (strings, not null).
    pub key: &'a dyn Array,
    /// Raw event names (strings, not null).
    pub event: &'a dyn Array,
    /// Channels (strings; null = unknown).
    pub channel: &'a dyn Array,
    /// Departments (strings; null = not given).
    pub department: Option<&'a dyn Array>,
    /// Ratings and their scale (null = no rating).
    pub rating: Option<(&'a dyn Array, Scale)>,
}

fn bad(field: &str, message: impl Into<String>) -> Error {
    Error::BadEvent { index: None, field: field.into(), message: message.into() }
}

/// Interns a string column into `out` (null → [`NONE`]).
pub fn intern_strings(field: &str, arr: &dyn Array, interner: &mut Interner, out: &mut Vec<u32>) -> Result<()> {
    out.reserve(arr.len());
    macro_rules! strings {
        ($a:expr) => {{
            let a = $a;
            if a.null_count() == 0 {
                out.extend((0..a.len()).map(|i| interner.intern(a.value(i))));
            } else {
                out.extend((0..a.len()).map(|i| if a.is_null(i) { NONE } else { interner.intern(a.value(i)) }));
            }
        }};
    }
    match arr.data_type() {
        DataType::Utf8 => strings!(arr.as_string::<i32>()),
        DataType::LargeUtf8 => strings!(arr.as_string::<i64>()),
        DataType::Utf8View => strings!(arr.as_string_view()),
        DataType::Dictionary(_, _) => {
            let d: &dyn AnyDictionaryArray = arr.as_any_dictionary();
            let mut values = Vec::new();
            intern_strings(field, d.values().as_ref(), interner, &mut values)?;
            let keys = d.normalized_keys();
            let knulls = d.keys().logical_nulls();
            out.extend(keys.iter().enumerate().map(|(i, &k)| if knulls.as_ref().is_some_and(|n| n.is_null(i)) { NONE } else { values[k] }));
        }
        other => return Err(bad(field, format!("expected a string column, found {other}"))),
    }
    Ok(())
}

/// Appends an integer-like column as `i64`, converting timestamps to microseconds.
pub(crate) fn ints(field: &str, arr: &dyn Array, out: &mut Vec<i64>) -> Result<()> {
    if arr.null_count() > 0 {
        return Err(bad(field, "must not be null"));
    }
    macro_rules! prim {
        ($t:ty, $f:expr) => {
            out.extend(arr.as_primitive::<$t>().values().iter().map(|&v| $f(v)))
        };
    }
    match arr.data_type() {
        DataType::Int64 => prim!(Int64Type, |v: i64| v),
        DataType::Int32 => prim!(Int32Type, |v: i32| v as i64),
        DataType::UInt32 => prim!(UInt32Type, |v: u32| v as i64),
        DataType::UInt64 => prim!(UInt64Type, |v: u64| v as i64),
        DataType::Timestamp(TimeUnit::Microsecond, _) => prim!(TimestampMicrosecondType, |v: i64| v),
        DataType::Timestamp(TimeUnit::Millisecond, _) => prim!(TimestampMillisecondType, |v: i64| v * 1_000),
        DataType::Timestamp(TimeUnit::Nanosecond, _) => prim!(TimestampNanosecondType, |v: i64| v.div_euclid(1_000)),
        DataType::Timestamp(TimeUnit::Second, _) => prim!(TimestampSecondType, |v: i64| v * 1_000_000),
        other => return Err(bad(field, format!("expected an integer or timestamp column, found {other}"))),
    }
    Ok(())
}

fn ratings(arr: &dyn Array, scale: Scale, out: &mut Vec<i16>) -> Result<()> {
    // one conversion per distinct value: build a table over the small integer domain
    let conv = |v: f64| -> Result<i16> {
        let r = Rating::from_scale(scale, v).map_err(|e| bad("rating", e.to_string()))?;
        Ok(quantize_rating(r.normalize()?.value()))
    };
    macro_rules! int {
        ($t:ty) => {{
            let a = arr.as_primitive::<$t>();
            let mut cache: Vec<(i64, i16)> = Vec::new();
            for i in 0..a.len() {
                if a.is_null(i) {
                    out.push(NO_RATING);
                    continue;
                }
                let v = a.value(i) as i64;
                let q = match cache.iter().find(|c| c.0 == v) {
                    Some(c) => c.1,
                    None => {
                        let q = conv(v as f64)?;
                        cache.push((v, q));
                        q
                    }
                };
                out.push(q);
            }
        }};
    }
    match arr.data_type() {
        DataType::Int8 => int!(Int8Type),
        DataType::Int16 => int!(Int16Type),
        DataType::Int32 => int!(Int32Type),
        DataType::Int64 => int!(Int64Type),
        DataType::UInt8 => int!(UInt8Type),
        DataType::UInt16 => int!(UInt16Type),
        DataType::Float64 => {
            let a = arr.as_primitive::<arrow_array::types::Float64Type>();
            for i in 0..a.len() {
                out.push(if a.is_null(i) { NO_RATING } else { conv(a.value(i))? });
            }
        }
        DataType::Float32 => {
            let a = arr.as_primitive::<arrow_array::types::Float32Type>();
            for i in 0..a.len() {
                out.push(if a.is_null(i) { NO_RATING } else { conv(a.value(i) as f64)? });
            }
        }
        other => return Err(bad("rating", format!("expected a numeric column, found {other}"))),
    }
    Ok(())
}

impl EventTable {
    /// Appends a batch of events. `first_row` is the position of the batch's first row in the
    /// whole input (the seq of rows when `cols.seq` is `None`).
    pub fn append_arrow(&mut self, cols: &ArrowEvents<'_>, first_row: u64) -> Result<()> {
        let n = cols.ts.len();
        for (name, a) in [("seq", cols.seq), ("key", Some(cols.key)), ("event", Some(cols.event)), ("channel", Some(cols.channel)), ("department", cols.department)] {
            if let Some(a) = a
                && a.len() != n
            {
                return Err(bad(name, format!("has {} rows, ts has {n}", a.len())));
            }
        }
        if cols.key.null_count() > 0 {
            return Err(bad("key", "must not be null"));
        }
        if cols.event.null_count() > 0 {
            return Err(bad("event", "must not be null"));
        }
        let start = self.len();
        let scale = cols.rating.map(|r| r.1);
        let (keys, names, channels, departments) = self.interners_mut();
        // interners first, through a temporary, to keep the borrows apart
        let mut key = Vec::new();
        let mut name = Vec::new();
        let mut channel = Vec::new();
        let mut department = Vec::new();
        intern_strings("key", cols.key, keys, &mut key)?;
        intern_strings("event", cols.event, names, &mut name)?;
        intern_strings("channel", cols.channel, channels, &mut channel)?;
        match cols.department {
            Some(d) => intern_strings("department", d, departments, &mut department)?,
            None => department.resize(n, NONE),
        }
        let mut ts = Vec::with_capacity(n);
        ints("ts", cols.ts, &mut ts)?;
        let mut rating = Vec::with_capacity(n);
        match cols.rating {
            Some((a, s)) => {
                if a.len() != n {
                    return Err(bad("rating", format!("has {} rows, ts has {n}", a.len())));
                }
                ratings(a, s, &mut rating)?
            }
            None => rating.resize(n, NO_RATING),
        }
        let (cts, cseq, ckey, cname, cch, cdep, crat) = self.columns_mut();
        match cols.seq {
            Some(s) => {
                let mut v = Vec::with_capacity(n);
                ints("seq", s, &mut v)?;
                cseq.extend(v.iter().map(|&x| x as u64));
            }
            None => cseq.extend(first_row..first_row + n as u64),
        }
        cts.extend_from_slice(&ts);
        ckey.extend_from_slice(&key);
        cname.extend_from_slice(&name);
        cch.extend_from_slice(&channel);
        cdep.extend_from_slice(&department);
        crat.extend_from_slice(&rating);
        if let Some(s) = scale
            && rating.iter().any(|&q| q != NO_RATING)
        {
            self.note_scale(s);
        }
        debug_assert_eq!(self.len(), start + n);
        Ok(())
    }

    /// Builds a table from batches, converting groups of batches in parallel and joining
    /// them in order.
    pub fn from_arrow_batches(batches: &[ArrowEvents<'_>]) -> Result<Self> {
        let mut firsts = Vec::with_capacity(batches.len() + 1);
        let mut acc = 0u64;
        for b in batches {
            firsts.push(acc);
            acc += b.ts.len() as u64;
        }
        firsts.push(acc);
        let parts = super::par::split_run(batches.len(), acc as usize, |i| firsts[i] as usize, |range| -> Result<EventTable> {
            let rows = (firsts[range.end] - firsts[range.start]) as usize;
            let mut t = EventTable::with_capacity(rows);
            for i in range {
                t.append_arrow(&batches[i], firsts[i])?;
            }
            Ok(t)
        });
        let mut it = parts.into_iter();
        let mut table = it.next().unwrap_or_else(|| Ok(EventTable::new()))?;
        for p in it {
            table.append(p?);
        }
        Ok(table)
    }

    /// Appends identity links: two key columns and, optionally, their times (`None` = 0).
    pub fn append_arrow_links(&mut self, a: &dyn Array, b: &dyn Array, ts: Option<&dyn Array>) -> Result<()> {
        if a.len() != b.len() || ts.is_some_and(|t| t.len() != a.len()) {
            return Err(bad("links", "columns of different lengths"));
        }
        if a.null_count() > 0 || b.null_count() > 0 {
            return Err(bad("links", "keys must not be null"));
        }
        let mut va = Vec::new();
        let mut vb = Vec::new();
        let mut vt: Vec<Micros> = Vec::new();
        {
            let (keys, _, _, _) = self.interners_mut();
            intern_strings("key_a", a, keys, &mut va)?;
            intern_strings("key_b", b, keys, &mut vb)?;
        }
        match ts {
            Some(t) => ints("ts", t, &mut vt)?,
            None => vt.resize(a.len(), 0),
        }
        let l = self.links_mut();
        l.a.extend_from_slice(&va);
        l.b.extend_from_slice(&vb);
        l.ts.extend_from_slice(&vt);
        Ok(())
    }
}

/// The batches cut (zero-copy) into pieces of at most `max_rows` rows, in order, so that
/// one huge batch (polars exports a whole frame as one) still spreads over the threads.
pub fn slice_batches(batches: &[arrow_array::RecordBatch], max_rows: usize) -> Vec<arrow_array::RecordBatch> {
    let max_rows = max_rows.max(1);
    let mut out = Vec::with_capacity(batches.len());
    for b in batches {
        let n = b.num_rows();
        if n <= max_rows {
            out.push(b.clone());
            continue;
        }
        out.extend((0..n).step_by(max_rows).map(|off| b.slice(off, max_rows.min(n - off))));
    }
    out
}

/// [`slice_batches`] into about four pieces per analytics thread, of at least 65,536 rows.
pub(crate) fn slice_for_threads(batches: &[arrow_array::RecordBatch]) -> Vec<arrow_array::RecordBatch> {
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    slice_batches(batches, (rows / (super::par::threads() * 4)).max(65_536))
}

/// The event columns recognised by name in a record batch ([`event_columns`]); any other
/// column is an event property for an [`Analysis`](super::session::Analysis).
pub const EVENT_COLUMN_NAMES: [&str; 10] = ["ts", "seq", "customer_key", "key", "event", "channel", "department", "csat", "nps", "rating"];

/// The event columns of a record batch, by name: `ts`, `seq` (optional), `customer_key` or
/// `key`, `event`, `channel`, `department` (optional), and a rating as `csat` (CSAT 1..5),
/// `nps` (0..10) or `rating` (a raw score in [-1, 1]) (optional, the first found).
pub fn event_columns(batch: &arrow_array::RecordBatch) -> Result<ArrowEvents<'_>> {
    let missing = |c: &str| Error::BadEvent { index: None, field: c.into(), message: "missing column".into() };
    let col = |n: &str| batch.column_by_name(n).map(|a| a.as_ref());
    let rating = if let Some(a) = col("csat") {
        Some((a, Scale::Csat))
    } else if let Some(a) = col("nps") {
        Some((a, Scale::Nps))
    } else {
        col("rating").map(|a| (a, Scale::Score))
    };
    Ok(ArrowEvents {
        ts: col("ts").ok_or_else(|| missing("ts"))?,
        seq: col("seq"),
        key: col("customer_key").or_else(|| col("key")).ok_or_else(|| missing("customer_key"))?,
        event: col("event").ok_or_else(|| missing("event"))?,
        channel: col("channel").ok_or_else(|| missing("channel"))?,
        department: col("department"),
        rating,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{DictionaryArray, Int8Array, Int64Array, StringArray, StringViewArray};

    use super::*;

    #[test]
    fn builds_from_arrays() {
        let ts = Int64Array::from(vec![3, 1, 2]);
        let key = StringViewArray::from(vec!["session:a", "session:b", "session:a"]);
        let event: DictionaryArray<arrow_array::types::Int32Type> = vec!["view", "buy", "view"].into_iter().collect();
        let channel = StringArray::from(vec![Some("web"), None, Some("web")]);
        let dept = StringArray::from(vec![None, Some("sales"), None]);
        let csat = Int8Array::from(vec![None, Some(5), Some(1)]);
        let cols = ArrowEvents { ts: &ts, seq: None, key: &key, event: &event, channel: &channel, department: Some(&dept), rating: Some((&csat, Scale::Csat)) };
        let t = EventTable::from_arrow_batches(&[cols, cols]).unwrap();
        assert_eq!(t.len(), 6);
        assert_eq!(t.seq(), &[0, 1, 2, 3, 4, 5]);
        assert_eq!(t.key(), &[0, 1, 0, 0, 1, 0]);
        assert_eq!(t.name(), &[0, 1, 0, 0, 1, 0]);
        assert_eq!(t.channel()[1], NONE);
        assert_eq!(t.rating(), &[NO_RATING, 10_000, -10_000, NO_RATING, 10_000, -10_000]);
        let mut t = t;
        let a: Arc<dyn Array> = Arc::new(StringArray::from(vec!["session:a"]));
        t.append_arrow_links(a.as_ref(), &StringArray::from(vec!["email:x"]), None).unwrap();
        assert_eq!(t.links().len(), 1);
        let bad_csat = Int8Array::from(vec![Some(9), None, None]);
        let cols = ArrowEvents { rating: Some((&bad_csat, Scale::Csat)), ..cols };
        assert!(EventTable::new().append_arrow(&cols, 0).is_err());
    }
}
