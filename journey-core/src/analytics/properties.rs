//! Event properties kept beside the event table, for breakdowns by any property.
//!
//! One column per property name, aligned with the table's rows: each value is an interned
//! text ([`NONE`] when the event does not carry the property). Values are compared as text:
//! a string as is, a number or a boolean as JSON writes it (`129.9`, `true`), an array or
//! an object as its JSON text; JSON `null` is no value. Only top-level properties are kept
//! (`cart.total` is not split); which ones is [`AnalysisOptions::properties`]
//! (default: all).
//!
//! [`AnalysisOptions::properties`]: super::session::AnalysisOptions::properties

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::intern::{Interner, NONE};

/// The text a property value is compared as (`None` for JSON `null`).
pub fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// Property columns aligned with an event table's rows (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct EventProperties {
    only: Option<Vec<String>>,
    index: BTreeMap<String, usize>,
    names: Vec<String>,
    columns: Vec<Vec<u32>>,
    values: Vec<Interner>,
    rows: usize,
}

impl EventProperties {
    /// No columns yet; `only` = the property names to keep (`None`: every property met).
    pub fn new(only: Option<Vec<String>>) -> Self {
        EventProperties { only, ..Self::default() }
    }

    fn keeps(&self, name: &str) -> bool {
        self.only.as_ref().is_none_or(|o| o.iter().any(|n| n == name))
    }

    fn column_for(&mut self, name: &str) -> Option<usize> {
        if let Some(&i) = self.index.get(name) {
            return Some(i);
        }
        if !self.keeps(name) {
            return None;
        }
        let i = self.names.len();
        self.index.insert(name.to_string(), i);
        self.names.push(name.to_string());
        self.columns.push(vec![NONE; self.rows]);
        self.values.push(Interner::new());
        Some(i)
    }

    /// Appends one row: the properties of one event.
    pub fn push_row(&mut self, properties: &Map<String, Value>) {
        for (name, v) in properties {
            let Some(c) = self.column_for(name) else { continue };
            let id = value_text(v).map_or(NONE, |t| self.values[c].intern(&t));
            self.columns[c].push(id);
        }
        self.rows += 1;
        for col in &mut self.columns {
            if col.len() < self.rows {
                col.push(NONE);
            }
        }
    }

    /// Appends `n` rows without any property.
    pub fn push_empty_rows(&mut self, n: usize) {
        self.rows += n;
        for col in &mut self.columns {
            col.resize(self.rows, NONE);
        }
    }

    /// The number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The property names kept, in order of first appearance.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// A property's column (value ids per row, [`NONE`] = no value) and its values.
    pub fn column(&self, name: &str) -> Option<(&[u32], &Interner)> {
        self.index.get(name).map(|&i| (self.columns[i].as_slice(), &self.values[i]))
    }

    /// The value of a property on one row.
    pub fn value(&self, name: &str, row: usize) -> Option<&str> {
        let (col, values) = self.column(name)?;
        let v = *col.get(row)?;
        (v != NONE).then(|| values.get(v))
    }

    /// Appends the rows of a batch of Arrow columns: `columns` are (name, array) pairs of
    /// `rows` values each. Strings (plain, large, view or dictionary), integers, floats and
    /// booleans are kept; other types are skipped unless named in the selection, which is an
    /// error.
    #[cfg(feature = "arrow")]
    pub fn push_arrow(&mut self, columns: &[(&str, &dyn arrow_array::Array)], rows: usize) -> crate::error::Result<()> {
        use arrow_array::Array;
        use arrow_array::cast::AsArray;
        use arrow_array::types::{Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type, UInt32Type, UInt64Type};
        use arrow_schema::DataType;
        let start = self.rows;
        for &(name, arr) in columns {
            if arr.len() != rows {
                return Err(crate::error::Error::BadEvent { index: None, field: name.into(), message: format!("has {} rows, the batch {rows}", arr.len()) });
            }
            let supported = matches!(
                arr.data_type(),
                DataType::Utf8
                    | DataType::LargeUtf8
                    | DataType::Utf8View
                    | DataType::Dictionary(_, _)
                    | DataType::Boolean
                    | DataType::Int8
                    | DataType::Int16
                    | DataType::Int32
                    | DataType::Int64
                    | DataType::UInt8
                    | DataType::UInt16
                    | DataType::UInt32
                    | DataType::UInt64
                    | DataType::Float32
                    | DataType::Float64
            );
            if !supported {
                if self.only.as_ref().is_some_and(|o| o.iter().any(|n| n == name)) {
                    return Err(crate::error::Error::BadEvent {
                        index: None,
                        field: name.into(),
                        message: format!("a property column must hold strings, integers, floats or booleans, not {}", arr.data_type()),
                    });
                }
                continue;
            }
            let Some(c) = self.column_for(name) else { continue };
            let col = &mut self.columns[c];
            col.resize(start, NONE);
            let values = &mut self.values[c];
            macro_rules! each {
                ($a:expr, $f:expr) => {{
                    let a = $a;
                    for i in 0..rows {
                        col.push(if a.is_null(i) { NONE } else { values.intern(&$f(a.value(i))) });
                    }
                }};
            }
            let num = |x: f64| serde_json::Number::from_f64(x).map_or_else(|| x.to_string(), |n| n.to_string());
            match arr.data_type() {
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Dictionary(_, _) => {
                    super::arrow::intern_strings(name, arr, values, col)?;
                }
                DataType::Boolean => each!(arr.as_boolean(), |v: bool| v.to_string()),
                DataType::Int8 => each!(arr.as_primitive::<Int8Type>(), |v: i8| v.to_string()),
                DataType::Int16 => each!(arr.as_primitive::<Int16Type>(), |v: i16| v.to_string()),
                DataType::Int32 => each!(arr.as_primitive::<Int32Type>(), |v: i32| v.to_string()),
                DataType::Int64 => each!(arr.as_primitive::<Int64Type>(), |v: i64| v.to_string()),
                DataType::UInt8 => each!(arr.as_primitive::<UInt8Type>(), |v: u8| v.to_string()),
                DataType::UInt16 => each!(arr.as_primitive::<UInt16Type>(), |v: u16| v.to_string()),
                DataType::UInt32 => each!(arr.as_primitive::<UInt32Type>(), |v: u32| v.to_string()),
                DataType::UInt64 => each!(arr.as_primitive::<UInt64Type>(), |v: u64| v.to_string()),
                DataType::Float32 => each!(arr.as_primitive::<Float32Type>(), |v: f32| num(v as f64)),
                DataType::Float64 => each!(arr.as_primitive::<Float64Type>(), num),
                _ => unreachable!("checked above"),
            }
        }
        self.push_empty_rows(rows);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_aligned() {
        let mut p = EventProperties::new(None);
        p.push_row(serde_json::json!({"a": "x"}).as_object().unwrap());
        p.push_empty_rows(1);
        p.push_row(serde_json::json!({"b": 1.5, "a": null, "c": [1]}).as_object().unwrap());
        assert_eq!(p.rows(), 3);
        assert_eq!(p.names(), &["a", "b", "c"]);
        assert_eq!((p.value("a", 0), p.value("a", 2), p.value("b", 2), p.value("b", 0)), (Some("x"), None, Some("1.5"), None));
        assert_eq!(p.value("c", 2), Some("[1]"));
        let mut only = EventProperties::new(Some(vec!["b".into()]));
        only.push_row(serde_json::json!({"a": "x", "b": true}).as_object().unwrap());
        assert_eq!(only.names(), &["b"]);
        assert_eq!(only.value("b", 0), Some("true"));
    }
}
