//! Which column of a table holds what: the column mapping of Arrow and Parquet input.
//!
//! A [`ColumnMapping`] names the columns of events that do not use the default names of
//! [`EVENT_COLUMN_NAMES`](super::arrow::EVENT_COLUMN_NAMES): the time, the arrival order,
//! one or more identity-key columns, the event name, the channel, the department, a rating
//! and its scale, and a profile column. Every field is optional; a field left out keeps
//! today's default (`ts`; `seq` if present; `customer_key` or `key`; `event`; `channel`;
//! `department` if present; a rating as `csat`, `nps` or `rating` if present; no profile).
//! A column named in the mapping must exist; the default of a required field (`ts`, the
//! key, `event`, `channel`) must exist too.
//!
//! Identity keys: a key column holds `kind:value` strings, or plain values (strings or
//! integers) when the mapping gives its `kind` (`{"column": "email", "kind": "email"}`
//! reads `ana@example.com` as `email:ana@example.com`). With several key columns, each
//! row is one event carrying several keys: its first non-null key (in mapping order) is
//! the row's key, and each other non-null key becomes an identity link to it, made at the
//! event's time. A row with no key is refused, naming its columns.
//!
//! [`ColumnMapping::resolve`] checks the mapping against a schema (every error names the
//! column and the mapping field); [`Resolved::apply`] turns a record batch into one with
//! the default names (a rename, no copy, unless a key column needs a `kind` prefix or
//! several key columns are coalesced) plus a batch of links; [`Resolved::explain`] names the
//! source column in an error the analysis raises about a default name. The columns that the
//! mapping does not name stay as event properties, except those carrying a default name
//! (`csat` when the rating is another column...), which are left out.
//!
//! ```
//! use journey_core::analytics::mapping::ColumnMapping;
//! let m: ColumnMapping = serde_json::from_str(r#"{"ts": "time", "keys": ["session", {"column": "user", "kind": "customer"}],
//!     "rating": {"column": "stars", "scale": "csat"}}"#).unwrap();
//! assert_eq!(m.keys.as_ref().unwrap()[1].kind.as_deref(), Some("customer"));
//! ```

use serde::{Deserialize, Serialize};

use crate::emotion::Scale;

/// Which column holds what (see the module docs); `None` = the default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnMapping {
    /// Event times: integers (µs since the Unix epoch, UTC) or timestamps. Default `ts`.
    #[serde(default)]
    pub ts: Option<String>,
    /// Arrival order (integers). Default `seq` if present, else the row position.
    #[serde(default)]
    pub seq: Option<String>,
    /// Identity-key columns, in order of preference. Default `customer_key` or `key`.
    #[serde(default)]
    pub keys: Option<Vec<KeyColumn>>,
    /// Raw event names. Default `event`.
    #[serde(default)]
    pub event: Option<String>,
    /// Channels. Default `channel`.
    #[serde(default)]
    pub channel: Option<String>,
    /// Departments. Default `department` if present.
    #[serde(default)]
    pub department: Option<String>,
    /// A rating and its scale. Default `csat` (CSAT), `nps` (NPS) or `rating` (a score in
    /// [-1, 1]), the first present.
    #[serde(default)]
    pub rating: Option<RatingColumn>,
    /// A profile id per row, given by a pipeline that stitched already (Spark): passed on
    /// as the column `profile`, never an event property. No default.
    #[serde(default)]
    pub profile: Option<String>,
}

/// One identity-key column: a column name, or `{"column": ..., "kind": ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "KeyColumnForm")]
pub struct KeyColumn {
    /// The column.
    pub column: String,
    /// The key kind of its plain values (`email`...); `None` = values are `kind:value`.
    pub kind: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum KeyColumnForm {
    Name(String),
    Full(KeyColumnFull),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyColumnFull {
    column: String,
    #[serde(default)]
    kind: Option<String>,
}

impl From<KeyColumnForm> for KeyColumn {
    fn from(f: KeyColumnForm) -> Self {
        match f {
            KeyColumnForm::Name(column) => KeyColumn { column, kind: None },
            KeyColumnForm::Full(KeyColumnFull { column, kind }) => KeyColumn { column, kind },
        }
    }
}

/// A rating column and the scale of its values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatingColumn {
    /// The column.
    pub column: String,
    /// Its scale (`csat`, `nps`, `score`, `label` as -1/0/1).
    pub scale: Scale,
}

#[cfg(feature = "arrow")]
pub use self::arrow_mapping::{MappedBatch, Resolved};

#[cfg(feature = "arrow")]
mod arrow_mapping {
    use std::sync::Arc;

    use arrow_array::builder::StringBuilder;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type, UInt32Type, UInt64Type};
    use arrow_array::{Array, ArrayRef, Int64Array, RecordBatch, RecordBatchOptions, StringArray};
    use arrow_schema::{DataType, Field, Schema, SchemaRef};

    use super::{ColumnMapping, KeyColumn, RatingColumn};
    use crate::emotion::Scale;
    use crate::error::{Error, Result};
    use crate::identity::IdentityKey;

    use crate::analytics::arrow::{EVENT_COLUMN_NAMES, ints};

    fn bad(column: &str, message: impl Into<String>) -> Error {
        Error::BadEvent { index: None, field: column.into(), message: message.into() }
    }

    fn is_string(t: &DataType) -> bool {
        match t {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
            DataType::Dictionary(_, v) => is_string(v),
            _ => false,
        }
    }

    fn is_int(t: &DataType) -> bool {
        matches!(
            t,
            DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 | DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64
        )
    }

    fn is_time(t: &DataType) -> bool {
        matches!(t, DataType::Int64 | DataType::Int32 | DataType::UInt32 | DataType::UInt64 | DataType::Timestamp(_, _))
    }

    /// A mapping checked against a schema: the source column of every field.
    #[derive(Debug, Clone, PartialEq)]
    pub struct Resolved {
        /// Event times.
        pub ts: String,
        /// Arrival order, if any.
        pub seq: Option<String>,
        /// Identity keys, in order of preference.
        pub keys: Vec<KeyColumn>,
        /// Event names.
        pub event: String,
        /// Channels.
        pub channel: String,
        /// Departments, if any.
        pub department: Option<String>,
        /// The rating, if any.
        pub rating: Option<RatingColumn>,
        /// The profile column, if any.
        pub profile: Option<String>,
        schema: SchemaRef,
    }

    /// A record batch under the default names, and the links its extra keys make.
    #[derive(Debug, Clone)]
    pub struct MappedBatch {
        /// The events: `ts`, `seq` (if mapped), `customer_key`, `event`, `channel`,
        /// `department` and the rating (if mapped), `profile` (if mapped), then the
        /// properties.
        pub events: RecordBatch,
        /// Links `key_a` (the row's key), `key_b`, `ts` (µs) from rows with several keys;
        /// `None` with one key column.
        pub links: Option<RecordBatch>,
    }

    impl ColumnMapping {
        /// Checks the mapping against a schema (see the module docs). Errors are
        /// `BadEvent`s whose `field` is the column at fault.
        pub fn resolve(&self, schema: &Schema) -> Result<Resolved> {
            let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            let has = |c: &str| names.contains(&c);
            let missing = |c: &str, field: &str, given: bool| {
                let how = if given { format!("mapping.{field}") } else { format!("the default of mapping.{field}; name the column in the mapping") };
                bad(c, format!("missing column ({how}); the columns are: {}", names.join(", ")))
            };
            let pick = |given: &Option<String>, field: &str, defaults: &[&str], required: bool| -> Result<Option<String>> {
                match given {
                    Some(c) if has(c) => Ok(Some(c.clone())),
                    Some(c) => Err(missing(c, field, true)),
                    None => match defaults.iter().find(|d| has(d)) {
                        Some(d) => Ok(Some(d.to_string())),
                        None if required => Err(missing(defaults[0], field, false)),
                        None => Ok(None),
                    },
                }
            };
            let need = |given: &Option<String>, field: &str, default: &str| -> Result<String> {
                Ok(pick(given, field, &[default], true)?.unwrap_or_default())
            };
            let ts = need(&self.ts, "ts", "ts")?;
            let seq = pick(&self.seq, "seq", &["seq"], false)?;
            let event = need(&self.event, "event", "event")?;
            let channel = need(&self.channel, "channel", "channel")?;
            let department = pick(&self.department, "department", &["department"], false)?;
            let keys = match &self.keys {
                Some(k) if k.is_empty() => return Err(bad("keys", "mapping.keys: give at least one identity-key column")),
                Some(k) => {
                    for (i, key) in k.iter().enumerate() {
                        if !has(&key.column) {
                            return Err(missing(&key.column, &format!("keys[{i}]"), true));
                        }
                        if let Some(kind) = &key.kind {
                            IdentityKey::parse(&format!("{kind}:x")).map_err(|e| bad(&key.column, format!("mapping.keys[{i}].kind: {e}")))?;
                        }
                    }
                    k.clone()
                }
                None => vec![KeyColumn { column: pick(&None, "keys", &["customer_key", "key"], true)?.unwrap_or_default(), kind: None }],
            };
            let rating = match &self.rating {
                Some(r) if has(&r.column) => Some(r.clone()),
                Some(r) => return Err(missing(&r.column, "rating", true)),
                None => [("csat", Scale::Csat), ("nps", Scale::Nps), ("rating", Scale::Score)]
                    .into_iter()
                    .find(|(c, _)| has(c))
                    .map(|(c, scale)| RatingColumn { column: c.into(), scale }),
            };
            let profile = match &self.profile {
                Some(p) if has(p) => Some(p.clone()),
                Some(p) => return Err(missing(p, "profile", true)),
                None => None,
            };
            let r = Resolved { ts, seq, keys, event, channel, department, rating, profile, schema: Arc::new(schema.clone()) };
            r.check_types()?;
            Ok(r)
        }
    }

    impl Resolved {
        fn data_type(&self, column: &str) -> &DataType {
            self.schema.field_with_name(column).map(|f| f.data_type()).unwrap_or(&DataType::Null)
        }

        fn check_types(&self) -> Result<()> {
            let expect = |column: &str, field: &str, ok: bool, what: &str| -> Result<()> {
                if ok { Ok(()) } else { Err(bad(column, format!("mapping.{field}: expected {what}, found {}", self.data_type(column)))) }
            };
            expect(&self.ts, "ts", is_time(self.data_type(&self.ts)), "an integer or timestamp column")?;
            if let Some(s) = &self.seq {
                expect(s, "seq", is_time(self.data_type(s)), "an integer column")?;
            }
            for (i, k) in self.keys.iter().enumerate() {
                let t = self.data_type(&k.column);
                let ok = is_string(t) || (k.kind.is_some() && is_int(t));
                let what = if k.kind.is_some() { "a string or integer column" } else { "a string column of kind:value keys (or give the kind)" };
                expect(&k.column, &format!("keys[{i}]"), ok, what)?;
            }
            expect(&self.event, "event", is_string(self.data_type(&self.event)), "a string column")?;
            expect(&self.channel, "channel", is_string(self.data_type(&self.channel)), "a string column")?;
            if let Some(d) = &self.department {
                expect(d, "department", is_string(self.data_type(d)), "a string column")?;
            }
            if let Some(r) = &self.rating {
                let t = self.data_type(&r.column);
                expect(&r.column, "rating", is_int(t) || matches!(t, DataType::Float32 | DataType::Float64), "a numeric column")?;
            }
            Ok(())
        }

        /// The source columns the mapping reads, in schema order (a Parquet projection).
        pub fn source_columns(&self) -> Vec<&str> {
            let mut cols: Vec<&str> = vec![&self.ts, &self.event, &self.channel];
            cols.extend(self.seq.as_deref());
            cols.extend(self.keys.iter().map(|k| k.column.as_str()));
            cols.extend(self.department.as_deref());
            cols.extend(self.rating.as_ref().map(|r| r.column.as_str()));
            cols.extend(self.profile.as_deref());
            self.schema.fields().iter().map(|f| f.name().as_str()).filter(|n| cols.contains(n)).collect()
        }

        /// The default name a source column is read as, if the mapping names it.
        fn target(&self, column: &str) -> Option<&'static str> {
            let rating = self.rating.as_ref().map(|r| match r.scale {
                Scale::Csat => "csat",
                Scale::Nps => "nps",
                Scale::Score | Scale::Label => "rating",
            });
            [
                (Some(self.ts.as_str()), "ts"),
                (self.seq.as_deref(), "seq"),
                (Some(self.event.as_str()), "event"),
                (Some(self.channel.as_str()), "channel"),
                (self.department.as_deref(), "department"),
                (self.rating.as_ref().map(|r| r.column.as_str()), rating.unwrap_or("rating")),
                (self.profile.as_deref(), "profile"),
            ]
            .into_iter()
            .find(|(c, _)| *c == Some(column))
            .map(|(_, t)| t)
        }

        /// The source column behind a default name (`ts` → `time`).
        fn source(&self, target: &str) -> Option<&str> {
            if matches!(target, "key" | "customer_key" | "keys") {
                return self.keys.first().map(|k| k.column.as_str());
            }
            self.schema.fields().iter().map(|f| f.name().as_str()).find(|c| self.target(c) == Some(target))
        }

        /// Names the source column in a `BadEvent` error about a default name.
        pub fn explain(&self, err: Error) -> Error {
            match err {
                Error::BadEvent { index, field, message } => match self.source(&field) {
                    Some(src) if src != field => Error::BadEvent { index, field: src.to_string(), message: format!("{message} (read as {field})") },
                    _ => Error::BadEvent { index, field, message },
                },
                other => other,
            }
        }

        /// Every batch under the default names, in order, and the links of rows with several
        /// keys: [`apply`](Self::apply) over pieces of the input (big batches sliced, no
        /// copy) on the analytics threads. A bad row's `index` counts from the input's first row.
        pub fn apply_all(&self, batches: &[RecordBatch]) -> Result<(Vec<RecordBatch>, Vec<RecordBatch>)> {
            let pieces = crate::analytics::arrow::slice_for_threads(batches);
            let mut firsts = Vec::with_capacity(pieces.len() + 1);
            let mut rows = 0usize;
            for p in &pieces {
                firsts.push(rows);
                rows += p.num_rows();
            }
            firsts.push(rows);
            let parts = crate::analytics::par::split_run(pieces.len(), rows, |i| firsts[i], |range| {
                range
                    .map(|i| {
                        self.apply(&pieces[i]).map_err(|e| match e {
                            Error::BadEvent { index: Some(row), field, message } => Error::BadEvent { index: Some(firsts[i] + row), field, message },
                            other => other,
                        })
                    })
                    .collect::<Result<Vec<_>>>()
            });
            let (mut events, mut links) = (Vec::with_capacity(pieces.len()), Vec::new());
            for part in parts {
                for m in part? {
                    events.push(m.events);
                    links.extend(m.links);
                }
            }
            Ok((events, links))
        }

        /// A batch under the default names, and the links of rows with several keys.
        pub fn apply(&self, batch: &RecordBatch) -> Result<MappedBatch> {
            if batch.schema_ref().fields() != self.schema.fields() {
                return Err(bad("", "a record batch's columns differ from the schema the mapping was resolved against"));
            }
            let n = batch.num_rows();
            let col = |c: &str| batch.column_by_name(c).cloned().expect("resolved columns exist");
            let mut fields: Vec<Field> = Vec::new();
            let mut arrays: Vec<ArrayRef> = Vec::new();
            let mut push = |name: &str, a: ArrayRef| {
                fields.push(Field::new(name, a.data_type().clone(), true));
                arrays.push(a);
            };
            let ts = col(&self.ts);
            push("ts", ts.clone());
            if let Some(s) = &self.seq {
                push("seq", col(s));
            }
            let mut links = None;
            if let [only] = self.keys.as_slice()
                && only.kind.is_none()
            {
                push("customer_key", col(&only.column));
            } else {
                let texts = self.keys.iter().map(|k| key_texts(&col(&k.column), k)).collect::<Result<Vec<_>>>()?;
                let mut key = StringBuilder::with_capacity(n, n * 16);
                let (mut la, mut lb, mut lt) = (Vec::new(), Vec::new(), Vec::new());
                let mut times = Vec::with_capacity(n);
                ints(&self.ts, ts.as_ref(), &mut times)?;
                for row in 0..n {
                    let mut first: Option<&str> = None;
                    for t in &texts {
                        if let Some(k) = t[row].as_deref() {
                            match first {
                                None => first = Some(k),
                                Some(f) if f != k => {
                                    la.push(f.to_string());
                                    lb.push(k.to_string());
                                    lt.push(times[row]);
                                }
                                Some(_) => {}
                            }
                        }
                    }
                    let Some(f) = first else {
                        let cols: Vec<&str> = self.keys.iter().map(|k| k.column.as_str()).collect();
                        return Err(Error::BadEvent { index: Some(row), field: cols.join(", "), message: "every identity-key column is null".into() });
                    };
                    key.append_value(f);
                }
                push("customer_key", Arc::new(key.finish()));
                if self.keys.len() > 1 {
                    let schema = Schema::new(vec![Field::new("key_a", DataType::Utf8, false), Field::new("key_b", DataType::Utf8, false), Field::new("ts", DataType::Int64, false)]);
                    let cols: Vec<ArrayRef> = vec![Arc::new(StringArray::from(la)), Arc::new(StringArray::from(lb)), Arc::new(Int64Array::from(lt))];
                    links = Some(RecordBatch::try_new(Arc::new(schema), cols).map_err(|e| bad("keys", e.to_string()))?);
                }
            }
            push("event", col(&self.event));
            push("channel", col(&self.channel));
            for c in [self.department.as_ref(), self.rating.as_ref().map(|r| &r.column), self.profile.as_ref()].into_iter().flatten() {
                push(self.target(c).expect("a mapped column"), col(c));
            }
            let keys: Vec<&str> = self.keys.iter().map(|k| k.column.as_str()).collect();
            for (f, a) in self.schema.fields().iter().zip(batch.columns()) {
                let name = f.name().as_str();
                if self.target(name).is_none() && !keys.contains(&name) && !EVENT_COLUMN_NAMES.contains(&name) && name != "profile" {
                    fields.push(f.as_ref().clone());
                    arrays.push(a.clone());
                }
            }
            let schema = Schema::new(fields).with_metadata(batch.schema_ref().metadata().clone());
            let events = RecordBatch::try_new_with_options(Arc::new(schema), arrays, &RecordBatchOptions::new().with_row_count(Some(n)))
                .map_err(|e| bad("", e.to_string()))?;
            Ok(MappedBatch { events, links })
        }
    }

    /// The keys of a column as `kind:value` texts (null stays null).
    fn key_texts(arr: &ArrayRef, k: &KeyColumn) -> Result<Vec<Option<String>>> {
        let fmt = |v: &str| match &k.kind {
            Some(kind) => format!("{kind}:{v}"),
            None => v.to_string(),
        };
        macro_rules! strings {
            ($a:expr) => {{
                let a = $a;
                (0..a.len()).map(|i| (!a.is_null(i)).then(|| fmt(a.value(i)))).collect()
            }};
        }
        macro_rules! ints {
            ($t:ty) => {{
                let a = arr.as_primitive::<$t>();
                (0..a.len()).map(|i| (!a.is_null(i)).then(|| fmt(&a.value(i).to_string()))).collect()
            }};
        }
        Ok(match arr.data_type() {
            DataType::Utf8 => strings!(arr.as_string::<i32>()),
            DataType::LargeUtf8 => strings!(arr.as_string::<i64>()),
            DataType::Utf8View => strings!(arr.as_string_view()),
            DataType::Dictionary(_, _) => {
                let d = arr.as_any_dictionary();
                let values = key_texts(d.values(), k)?;
                let nulls = d.keys().logical_nulls();
                d.normalized_keys().iter().enumerate().map(|(i, &v)| if nulls.as_ref().is_some_and(|n| n.is_null(i)) { None } else { values[v].clone() }).collect()
            }
            DataType::Int8 => ints!(Int8Type),
            DataType::Int16 => ints!(Int16Type),
            DataType::Int32 => ints!(Int32Type),
            DataType::Int64 => ints!(Int64Type),
            DataType::UInt8 => ints!(UInt8Type),
            DataType::UInt16 => ints!(UInt16Type),
            DataType::UInt32 => ints!(UInt32Type),
            DataType::UInt64 => ints!(UInt64Type),
            other => return Err(bad(&k.column, format!("expected a string or integer key column, found {other}"))),
        })
    }
}

#[cfg(feature = "parquet")]
/// Reads an events file with a mapping: the mapped columns only, the event, channel and
/// department columns as dictionaries. Returns the batches under the default names, the
/// links of rows with several keys, and the resolved mapping (for [`Resolved::explain`]).
pub fn read_parquet(path: &std::path::Path, mapping: &ColumnMapping) -> crate::error::Result<(Vec<arrow_array::RecordBatch>, Vec<arrow_array::RecordBatch>, Resolved)> {
    use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
    let file = std::fs::File::open(path).map_err(|source| crate::error::Error::Io { path: path.display().to_string(), source })?;
    let meta = ArrowReaderMetadata::load(&file, ArrowReaderOptions::new())
        .map_err(|e| crate::error::Error::Storage { message: format!("{}: {e}", path.display()), source: None })?;
    let resolved = mapping.resolve(meta.schema())?;
    let columns = resolved.source_columns();
    let dict: Vec<&str> = [Some(resolved.event.as_str()), Some(resolved.channel.as_str()), resolved.department.as_deref()].into_iter().flatten().collect();
    let batches = super::parquet::read_batches(path, &columns, &dict)?;
    // the projection's schema: resolve again so `apply` sees the columns read
    let Some(first) = batches.first() else { return Ok((Vec::new(), Vec::new(), resolved)) };
    let resolved = mapping.resolve(first.schema_ref())?;
    let (events, links) = resolved.apply_all(&batches)?;
    Ok((events, links, resolved))
}

#[cfg(all(test, feature = "arrow"))]
mod tests {
    use std::sync::Arc;

    use arrow_array::cast::AsArray;
    use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};

    use super::*;

    fn batch(cols: Vec<(&str, ArrayRef)>) -> RecordBatch {
        RecordBatch::try_from_iter(cols).unwrap()
    }

    #[test]
    fn renames_prefixes_and_links() {
        let b = batch(vec![
            ("time", Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef),
            ("sid", Arc::new(StringArray::from(vec![Some("a"), None, Some("c")]))),
            ("uid", Arc::new(Int64Array::from(vec![Some(7), Some(8), None]))),
            ("name", Arc::new(StringArray::from(vec!["view", "buy", "view"]))),
            ("channel", Arc::new(StringArray::from(vec!["web", "web", "app"]))),
            ("coupon", Arc::new(StringArray::from(vec!["x", "y", "z"]))),
            ("csat", Arc::new(Int64Array::from(vec![1, 2, 3]))),
        ]);
        let m: ColumnMapping = serde_json::from_str(r#"{"ts": "time", "event": "name", "keys": [{"column": "sid", "kind": "session"}, {"column": "uid", "kind": "customer"}]}"#).unwrap();
        let r = m.resolve(b.schema_ref()).unwrap();
        assert_eq!(r.rating.as_ref().map(|r| r.scale), Some(Scale::Csat));
        let out = r.apply(&b).unwrap();
        let names: Vec<String> = out.events.schema().fields().iter().map(|f| f.name().clone()).collect();
        assert_eq!(names, ["ts", "customer_key", "event", "channel", "csat", "coupon"]);
        let keys = out.events.column_by_name("customer_key").unwrap();
        let keys: Vec<&str> = keys.as_any().downcast_ref::<StringArray>().unwrap().iter().map(|k| k.unwrap()).collect();
        assert_eq!(keys, ["session:a", "customer:8", "session:c"]);
        let links = out.links.unwrap();
        assert_eq!(links.num_rows(), 1);
        let err = r.explain(crate::Error::BadEvent { index: None, field: "ts".into(), message: "must not be null".into() });
        assert!(err.to_string().contains("time: must not be null (read as ts)"), "{err}");
    }

    /// One big batch is mapped in slices, on every thread, with the same result as whole;
    /// a bad row is named by its position in the whole input.
    #[test]
    fn apply_all_slices_and_counts_rows_from_the_start() {
        let n = 300_000usize;
        let sid: Vec<Option<String>> = (0..n).map(|i| (i % 3 != 0).then(|| format!("s{i}"))).collect();
        // every row has a key; even rows have both (a link)
        let mut uid: Vec<Option<i64>> = (0..n).map(|i| (i % 3 == 0 || i % 2 == 0).then_some(i as i64)).collect();
        let cols = |uid: &[Option<i64>]| {
            batch(vec![
                ("ts", Arc::new(Int64Array::from_iter_values(0..n as i64)) as ArrayRef),
                ("sid", Arc::new(StringArray::from(sid.clone()))),
                ("uid", Arc::new(Int64Array::from(uid.to_vec()))),
                ("event", Arc::new(StringArray::from(vec!["view"; n]))),
                ("channel", Arc::new(StringArray::from(vec!["web"; n]))),
            ])
        };
        let b = cols(&uid);
        let m: ColumnMapping = serde_json::from_str(r#"{"keys": [{"column": "sid", "kind": "session"}, {"column": "uid", "kind": "customer"}]}"#).unwrap();
        let r = m.resolve(b.schema_ref()).unwrap();
        let whole = r.apply(&b).unwrap();
        let texts = |v: &[RecordBatch], column: &str| -> Vec<String> {
            v.iter().flat_map(|b| b.column_by_name(column).unwrap().as_string::<i32>().iter().map(|s| s.unwrap().to_string()).collect::<Vec<_>>()).collect()
        };
        crate::analytics::par::set_threads(2);
        let (events, links) = r.apply_all(std::slice::from_ref(&b)).unwrap();
        let bad = 249_999; // divisible by 3: no sid, so its uid is its only key
        uid[bad] = None;
        let e = r.apply_all(&[cols(&uid)]).unwrap_err();
        crate::analytics::par::set_threads(0);
        assert!(events.len() > 1, "sliced into pieces");
        assert_eq!(texts(&events, "customer_key"), texts(std::slice::from_ref(&whole.events), "customer_key"));
        let whole_links = [whole.links.unwrap()];
        assert_eq!(texts(&links, "key_b"), texts(&whole_links, "key_b"));
        assert_eq!(links.iter().map(|l| l.num_rows()).sum::<usize>(), n / 2 - n / 6);
        assert!(matches!(e, crate::Error::BadEvent { index: Some(i), .. } if i == bad), "{e:?}");
    }

    #[test]
    fn errors_name_the_column() {
        let b = batch(vec![("ts", Arc::new(StringArray::from(vec!["x"])) as ArrayRef), ("customer_key", Arc::new(StringArray::from(vec!["s:a"])))]);
        let e = ColumnMapping::default().resolve(b.schema_ref()).unwrap_err().to_string();
        assert!(e.contains("event: missing column (the default of mapping.event"), "{e}");
        let m = ColumnMapping { event: Some("customer_key".into()), channel: Some("customer_key".into()), ..Default::default() };
        let e = m.resolve(b.schema_ref()).unwrap_err().to_string();
        assert!(e.contains("ts: mapping.ts: expected an integer or timestamp column, found Utf8"), "{e}");
        let m = ColumnMapping { keys: Some(vec![KeyColumn { column: "nope".into(), kind: None }]), ..m };
        let e = m.resolve(b.schema_ref()).unwrap_err().to_string();
        assert!(e.contains("nope: missing column (mapping.keys[0])"), "{e}");
        let bad_kind: ColumnMapping = serde_json::from_str(r#"{"ts": "ts", "event": "customer_key", "channel": "customer_key", "keys": [{"column": "customer_key", "kind": "Bad"}]}"#).unwrap();
        assert!(bad_kind.resolve(b.schema_ref()).unwrap_err().to_string().contains("mapping.keys[0].kind"));
        assert!(serde_json::from_str::<ColumnMapping>(r#"{"tss": "x"}"#).is_err());
    }
}
