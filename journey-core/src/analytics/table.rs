//! Results as tables: named, typed columns that the bindings hand to pandas, polars or
//! Node without copying row by row.
//!
//! A [`Table`] is a name, a list of [`Column`]s of equal length and some metadata (always
//! `options`: the JSON of the options the result was computed with, so a number in a data
//! frame can still be explained). Column types ([`ColumnType`]): 64-bit integers, 64-bit
//! floats, UTF-8 text, booleans, timestamps (microseconds since the Unix epoch, UTC) and
//! durations (microseconds). Every column says whether it may hold nulls; that is fixed by
//! the result's schema, not by the data, so the same result always has the same schema.
//!
//! Every result converts with [`ToTables`]: [`ToTables::to_tables`] gives all its tables,
//! [`ToTables::to_table`] the main one (the first). With the `arrow` feature,
//! `Table::to_record_batch` (or `Table::into_record_batch`, which consumes the table)
//! builds an Arrow `RecordBatch`, column by column in Rust, the table's name and metadata
//! in the schema's metadata: a binding hands the batch over whole (pyarrow / polars through
//! the Arrow C interfaces, Node through Arrow IPC), never row by row.
//!
//! # Tables of each result
//!
//! Types: `i64`, `f64`, `str`, `bool`, `ts` (timestamp µs, UTC), `dur` (duration µs); `?` =
//! nullable. Ratios and means are `f64`; medians of microseconds are `f64` too (the mean of
//! the two middle values can end in .5).
//!
//! | result | table | columns |
//! |---|---|---|
//! | [`StitchResult`] | `stitch` | keys i64, profiles i64, journeys i64, profiles_without_events i64, largest_profile_keys i64, conflicts i64? |
//! | [`Reach`] | `reach` | phase str, index i64, journeys i64, share f64?, previous_phase str?, reached_previous i64?, reached_previous_and_this i64?, share_of_previous f64? |
//! | [`ReachByPersona`] | `reach_by_persona` | persona str?, persona_journeys i64, then the `reach` columns |
//! | [`Funnel`] | `funnel_steps` | index i64, step str, journeys i64, conversion_from_previous f64?, conversion_from_first f64?, stopped i64?, in_progress i64?, dropped i64? (the last three: journeys whose level is exactly this step; null on the last step) |
//! | | `funnel_summary` | journeys i64, not_entered i64, converted i64, excluded i64?, now ts?, window dur?, ttc_journeys i64, ttc_median_us f64?, ttc_p90 dur? |
//! | | `funnel_time_to_convert` | from dur, to dur?, journeys i64 |
//! | [`FunnelBreakdown`] | `funnel_breakdown` | value str?, then the `funnel_steps` columns |
//! | | `funnel_breakdown_summary` | value str?, then the `funnel_summary` columns |
//! | | `funnel_breakdown_time_to_convert` | value str?, from dur, to dur?, journeys i64 |
//! | [`Transitions`] | `transitions` | level str, from str, to str, count i64 |
//! | | `transition_starts`, `transition_ends` | level str, name str, journeys i64 |
//! | [`Paths`] | `paths` | rank i64, path str, names i64, journeys i64, share f64? |
//! | [`EmotionReport`] | `emotion_touchpoints` | touchpoint str, phase str, ratings i64, mean f64?, std f64?, planned f64?, gap f64?, enough_data bool |
//! | | `emotion_phases` | phase str, ratings i64, mean f64?, std f64?, planned f64?, gap f64?, enough_data bool |
//! | | `emotion_journeys` | kind str (`lowest` / `last`), rating f64, journeys i64 |
//! | [`EmotionByPersona`] | `emotion_by_persona` | persona str?, then the `emotion_touchpoints` columns |
//! | | `emotion_phases_by_persona` | persona str?, then the `emotion_phases` columns |
//! | [`GrayAreas`] | `gray_areas` | dimension str (`department` / `channel`), from str, to str, occurrences i64, ends_after i64, drop_rate f64?, baseline_drop_rate f64?, lift f64?, emotion_change f64?, emotion_change_n i64, median_gap_us f64? |
//! | | `gray_area_baselines` | dimension str, pairs i64, unknown_pairs i64, baseline_pairs i64, baseline_ends_after i64, baseline_drop_rate f64? |
//! | [`Conformance`] | `conformance_touchpoints` | touchpoint str (raw name when off-map), off_map i64, regression i64, skip i64, unplanned_channel i64 |
//! | | `conformance_summary` | journeys i64, events i64, conforming_events i64, fully_conforming i64, share_fully_conforming f64?, fitness_mean f64?, fitness_median f64?, off_map i64, regression i64, skip i64, unplanned_channel i64 |
//! | | `conformance_fitness` | from f64, to f64, journeys i64 |
//! | [`KeyMoments`] | `key_moments` | touchpoint str, flagged bool, journeys i64, outcome i64, outcome_rate f64?, rated i64, negative_journeys i64, negative_outcome i64, negative_rate f64?, non_negative_journeys i64, non_negative_outcome i64, non_negative_rate f64?, difference f64?, end_at i64, end_at_rate f64?, enough_data bool, rank i64? |
//! | [`HypothesisReport`] | `hypotheses` | kind str, subject str, planned str, measured str?, verdict str (`confirmed` / `contradicted` / `not_enough_data`), evidence i64, value f64?, threshold f64, note str |
//! | [`Analysis::journey_table`] | `journeys` | profile str, persona str?, events i64, first_ts ts, last_ts ts, duration dur, first_phase str?, furthest_phase str?, last_phase str?, phases_reached i64, off_map_events i64, ratings i64, lowest_rating f64?, last_rating f64?, mean_rating f64? |
//!
//! [`StitchResult`]: super::stitch::StitchResult
//! [`Reach`]: super::reach::Reach
//! [`ReachByPersona`]: super::persona::ReachByPersona
//! [`Funnel`]: super::funnel::Funnel
//! [`FunnelBreakdown`]: super::breakdown::FunnelBreakdown
//! [`Transitions`]: super::transitions::Transitions
//! [`Paths`]: super::paths::Paths
//! [`EmotionReport`]: super::emotion::EmotionReport
//! [`EmotionByPersona`]: super::persona::EmotionByPersona
//! [`GrayAreas`]: super::gray_areas::GrayAreas
//! [`Conformance`]: super::conformance::Conformance
//! [`KeyMoments`]: super::key_moments::KeyMoments
//! [`HypothesisReport`]: super::hypothesis::HypothesisReport
//! [`Analysis::journey_table`]: super::session::Analysis::journey_table

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::time::Micros;

/// The type of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    /// 64-bit signed integers.
    Int64,
    /// 64-bit floats.
    Float64,
    /// UTF-8 text.
    Utf8,
    /// Booleans.
    Bool,
    /// Timestamps: microseconds since the Unix epoch, UTC.
    TimestampUs,
    /// Durations in microseconds.
    DurationUs,
}

/// The values of a column (`None` = null).
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnValues {
    /// 64-bit signed integers.
    Int64(Vec<Option<i64>>),
    /// 64-bit floats.
    Float64(Vec<Option<f64>>),
    /// UTF-8 text.
    Utf8(Vec<Option<String>>),
    /// Booleans.
    Bool(Vec<Option<bool>>),
    /// Timestamps, microseconds since the Unix epoch, UTC.
    TimestampUs(Vec<Option<Micros>>),
    /// Durations, microseconds.
    DurationUs(Vec<Option<Micros>>),
}

impl ColumnValues {
    /// The number of values.
    pub fn len(&self) -> usize {
        match self {
            ColumnValues::Int64(v) | ColumnValues::TimestampUs(v) | ColumnValues::DurationUs(v) => v.len(),
            ColumnValues::Float64(v) => v.len(),
            ColumnValues::Utf8(v) => v.len(),
            ColumnValues::Bool(v) => v.len(),
        }
    }

    /// Whether there is no value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The type.
    pub fn column_type(&self) -> ColumnType {
        match self {
            ColumnValues::Int64(_) => ColumnType::Int64,
            ColumnValues::Float64(_) => ColumnType::Float64,
            ColumnValues::Utf8(_) => ColumnType::Utf8,
            ColumnValues::Bool(_) => ColumnType::Bool,
            ColumnValues::TimestampUs(_) => ColumnType::TimestampUs,
            ColumnValues::DurationUs(_) => ColumnType::DurationUs,
        }
    }

    fn is_null(&self, row: usize) -> bool {
        match self {
            ColumnValues::Int64(v) | ColumnValues::TimestampUs(v) | ColumnValues::DurationUs(v) => v[row].is_none(),
            ColumnValues::Float64(v) => v[row].is_none(),
            ColumnValues::Utf8(v) => v[row].is_none(),
            ColumnValues::Bool(v) => v[row].is_none(),
        }
    }

    /// One value as text (`null` for a null; floats to 6 significant decimals).
    pub fn text(&self, row: usize) -> String {
        match self {
            ColumnValues::Int64(v) | ColumnValues::TimestampUs(v) | ColumnValues::DurationUs(v) => v[row].map_or("null".into(), |x| x.to_string()),
            ColumnValues::Float64(v) => v[row].map_or("null".into(), |x| format!("{}", (x * 1e6).round() / 1e6)),
            ColumnValues::Utf8(v) => v[row].clone().unwrap_or_else(|| "null".into()),
            ColumnValues::Bool(v) => v[row].map_or("null".into(), |x| x.to_string()),
        }
    }
}

/// One named, typed column.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Its name.
    pub name: String,
    /// Whether the result's schema allows nulls in it.
    pub nullable: bool,
    /// Its values.
    pub values: ColumnValues,
}

impl Column {
    /// The type.
    pub fn column_type(&self) -> ColumnType {
        self.values.column_type()
    }
}

/// A named table of typed columns of equal length (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Its name (e.g. `funnel_steps`).
    pub name: String,
    /// Its columns, in order.
    pub columns: Vec<Column>,
    /// Metadata: at least `options`, the JSON of the options the result was computed with.
    pub metadata: BTreeMap<String, String>,
}

impl Table {
    /// An empty table (no columns) with a name.
    pub fn new(name: impl Into<String>) -> Self {
        Table { name: name.into(), columns: Vec::new(), metadata: BTreeMap::new() }
    }

    /// Sets the `options` metadata to the JSON of `options`.
    pub fn with_options<T: Serialize + ?Sized>(mut self, options: &T) -> Self {
        self.metadata.insert("options".into(), serde_json::to_string(options).expect("options always serialise"));
        self
    }

    fn push(mut self, name: &str, nullable: bool, values: ColumnValues) -> Self {
        debug_assert!(self.columns.first().is_none_or(|c| c.values.len() == values.len()), "column {name} of table {} has another length", self.name);
        debug_assert!(nullable || !(0..values.len()).any(|r| values.is_null(r)), "non-nullable column {name} of table {} holds a null", self.name);
        self.columns.push(Column { name: name.into(), nullable, values });
        self
    }

    /// Adds a non-null integer column.
    pub fn int(self, name: &str, v: impl IntoIterator<Item = i64>) -> Self {
        self.push(name, false, ColumnValues::Int64(v.into_iter().map(Some).collect()))
    }
    /// Adds a nullable integer column.
    pub fn int_opt(self, name: &str, v: impl IntoIterator<Item = Option<i64>>) -> Self {
        self.push(name, true, ColumnValues::Int64(v.into_iter().collect()))
    }
    /// Adds a non-null float column.
    pub fn float(self, name: &str, v: impl IntoIterator<Item = f64>) -> Self {
        self.push(name, false, ColumnValues::Float64(v.into_iter().map(Some).collect()))
    }
    /// Adds a nullable float column.
    pub fn float_opt(self, name: &str, v: impl IntoIterator<Item = Option<f64>>) -> Self {
        self.push(name, true, ColumnValues::Float64(v.into_iter().collect()))
    }
    /// Adds a non-null text column.
    pub fn text<S: Into<String>>(self, name: &str, v: impl IntoIterator<Item = S>) -> Self {
        self.push(name, false, ColumnValues::Utf8(v.into_iter().map(|s| Some(s.into())).collect()))
    }
    /// Adds a nullable text column.
    pub fn text_opt<S: Into<String>>(self, name: &str, v: impl IntoIterator<Item = Option<S>>) -> Self {
        self.push(name, true, ColumnValues::Utf8(v.into_iter().map(|s| s.map(Into::into)).collect()))
    }
    /// Adds a non-null boolean column.
    pub fn boolean(self, name: &str, v: impl IntoIterator<Item = bool>) -> Self {
        self.push(name, false, ColumnValues::Bool(v.into_iter().map(Some).collect()))
    }
    /// Adds a non-null timestamp column (µs since the Unix epoch, UTC).
    pub fn timestamp(self, name: &str, v: impl IntoIterator<Item = Micros>) -> Self {
        self.push(name, false, ColumnValues::TimestampUs(v.into_iter().map(Some).collect()))
    }
    /// Adds a nullable timestamp column.
    pub fn timestamp_opt(self, name: &str, v: impl IntoIterator<Item = Option<Micros>>) -> Self {
        self.push(name, true, ColumnValues::TimestampUs(v.into_iter().collect()))
    }
    /// Adds a non-null duration column (µs).
    pub fn duration(self, name: &str, v: impl IntoIterator<Item = Micros>) -> Self {
        self.push(name, false, ColumnValues::DurationUs(v.into_iter().map(Some).collect()))
    }
    /// Adds a nullable duration column.
    pub fn duration_opt(self, name: &str, v: impl IntoIterator<Item = Option<Micros>>) -> Self {
        self.push(name, true, ColumnValues::DurationUs(v.into_iter().collect()))
    }

    /// The number of rows.
    pub fn num_rows(&self) -> usize {
        self.columns.first().map_or(0, |c| c.values.len())
    }

    /// The column with this name.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The column names, in order.
    pub fn column_names(&self) -> Vec<&str> {
        self.columns.iter().map(|c| c.name.as_str()).collect()
    }

    /// The table as aligned text: a header line and at most `max_rows` rows (all when `None`).
    pub fn to_text(&self, max_rows: Option<usize>) -> String {
        let rows = max_rows.map_or(self.num_rows(), |m| m.min(self.num_rows()));
        let cells: Vec<Vec<String>> = self.columns.iter().map(|c| (0..rows).map(|r| c.values.text(r)).collect()).collect();
        let widths: Vec<usize> =
            self.columns.iter().zip(&cells).map(|(c, v)| v.iter().map(|s| s.chars().count()).chain([c.name.chars().count()]).max().unwrap_or(0)).collect();
        let mut out = String::new();
        let line = |out: &mut String, items: &mut dyn Iterator<Item = (usize, String, bool)>| {
            let parts: Vec<String> = items.map(|(w, s, right)| if right { format!("{s:>w$}") } else { format!("{s:<w$}") }).collect();
            let _ = writeln!(out, "{}", parts.join("  ").trim_end());
        };
        let numeric = |c: &Column| !matches!(c.column_type(), ColumnType::Utf8 | ColumnType::Bool);
        line(&mut out, &mut self.columns.iter().zip(&widths).map(|(c, &w)| (w, c.name.clone(), numeric(c))));
        for r in 0..rows {
            line(&mut out, &mut self.columns.iter().zip(&widths).zip(&cells).map(|((c, &w), v)| (w, v[r].clone(), numeric(c))));
        }
        if rows < self.num_rows() {
            let _ = writeln!(out, "... {} more rows", self.num_rows() - rows);
        }
        out
    }
}

/// A result that converts to tables (see the module docs for each result's tables).
pub trait ToTables {
    /// All of its tables; the first is the main one.
    fn to_tables(&self) -> Vec<Table>;

    /// The main table.
    fn to_table(&self) -> Table {
        self.to_tables().into_iter().next().expect("every result has a table")
    }
}

#[cfg(feature = "arrow")]
mod to_arrow {
    use std::collections::HashMap;
    use std::sync::Arc;

    use arrow_array::{
        ArrayRef, BooleanArray, DurationMicrosecondArray, Float64Array, Int64Array, RecordBatch, RecordBatchOptions, StringArray,
        TimestampMicrosecondArray,
    };
    use arrow_schema::{DataType, Field, Schema, TimeUnit};

    use super::{ColumnValues, Table};
    use crate::error::{Error, Result};

    impl Table {
        /// The Arrow schema: one field per column (`Int64`, `Float64`, `Utf8`, `Boolean`,
        /// `Timestamp(µs, "UTC")`, `Duration(µs)`), with the column's nullability; the
        /// table's metadata plus `table` (its name) as schema metadata.
        pub fn arrow_schema(&self) -> Schema {
            let fields: Vec<Field> = self
                .columns
                .iter()
                .map(|c| {
                    let t = match &c.values {
                        ColumnValues::Int64(_) => DataType::Int64,
                        ColumnValues::Float64(_) => DataType::Float64,
                        ColumnValues::Utf8(_) => DataType::Utf8,
                        ColumnValues::Bool(_) => DataType::Boolean,
                        ColumnValues::TimestampUs(_) => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                        ColumnValues::DurationUs(_) => DataType::Duration(TimeUnit::Microsecond),
                    };
                    Field::new(&c.name, t, c.nullable)
                })
                .collect();
            let mut meta: HashMap<String, String> = self.metadata.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            meta.insert("table".into(), self.name.clone());
            Schema::new(fields).with_metadata(meta)
        }

        /// The table as an Arrow record batch (see [`Table::arrow_schema`]).
        pub fn to_record_batch(&self) -> Result<RecordBatch> {
            let arrays: Vec<ArrayRef> = self
                .columns
                .iter()
                .map(|c| -> ArrayRef {
                    match &c.values {
                        ColumnValues::Int64(v) => Arc::new(Int64Array::from(v.clone())),
                        ColumnValues::Float64(v) => Arc::new(Float64Array::from(v.clone())),
                        ColumnValues::Utf8(v) => Arc::new(StringArray::from_iter(v.iter().map(|s| s.as_deref()))),
                        ColumnValues::Bool(v) => Arc::new(BooleanArray::from(v.clone())),
                        ColumnValues::TimestampUs(v) => Arc::new(TimestampMicrosecondArray::from(v.clone()).with_timezone("UTC")),
                        ColumnValues::DurationUs(v) => Arc::new(DurationMicrosecondArray::from(v.clone())),
                    }
                })
                .collect();
            let options = RecordBatchOptions::new().with_row_count(Some(self.num_rows()));
            RecordBatch::try_new_with_options(Arc::new(self.arrow_schema()), arrays, &options)
                .map_err(|e| Error::Storage { message: format!("table {}: {e}", self.name), source: None })
        }

        /// Consumes the table into an Arrow record batch without copying the numeric buffers.
        pub fn into_record_batch(self) -> Result<RecordBatch> {
            let schema = Arc::new(self.arrow_schema());
            let rows = self.num_rows();
            let name = self.name.clone();
            let arrays: Vec<ArrayRef> = self
                .columns
                .into_iter()
                .map(|c| -> ArrayRef {
                    match c.values {
                        ColumnValues::Int64(v) => Arc::new(Int64Array::from(v)),
                        ColumnValues::Float64(v) => Arc::new(Float64Array::from(v)),
                        ColumnValues::Utf8(v) => Arc::new(StringArray::from(v)),
                        ColumnValues::Bool(v) => Arc::new(BooleanArray::from(v)),
                        ColumnValues::TimestampUs(v) => Arc::new(TimestampMicrosecondArray::from(v).with_timezone("UTC")),
                        ColumnValues::DurationUs(v) => Arc::new(DurationMicrosecondArray::from(v)),
                    }
                })
                .collect();
            RecordBatch::try_new_with_options(schema, arrays, &RecordBatchOptions::new().with_row_count(Some(rows)))
                .map_err(|e| Error::Storage { message: format!("table {name}: {e}"), source: None })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_and_prints() {
        let t = Table::new("t").text("name", ["a", "bb"]).int_opt("n", [Some(1), None]).float("x", [0.5, 1.0 / 3.0]).with_options(&serde_json::json!({"k": 1}));
        assert_eq!(t.num_rows(), 2);
        assert_eq!(t.column_names(), vec!["name", "n", "x"]);
        assert_eq!(t.metadata["options"], "{\"k\":1}");
        let text = t.to_text(None);
        assert_eq!(text, "name     n         x\na        1       0.5\nbb    null  0.333333\n");
        assert!(t.to_text(Some(1)).ends_with("... 1 more rows\n"));
    }
}
