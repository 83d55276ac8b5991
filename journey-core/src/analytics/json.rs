//! Canonical JSON, byte for byte as the benchmark kit writes it (`bench_common.py`):
//! keys sorted (byte-wise), one-space indent, `", "`/`": "` separators, floats rounded to 9
//! decimals and written as Python writes them (`0.5`, `1e-05`, `369409350.0`), `-0.0` and
//! non-finite floats as `0.0` / `null`, non-ASCII text as is.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::Value;

use super::numbers::{py_repr, round9};

/// Writes a serialisable value as canonical JSON, with a final newline.
pub fn to_canonical_string<T: Serialize + ?Sized>(value: &T) -> String {
    let v = serde_json::to_value(value).expect("analytics results always serialise");
    let mut out = Vec::new();
    write_canonical(&mut out, &v).expect("writing to memory");
    String::from_utf8(out).expect("JSON is UTF-8")
}

/// Writes a JSON value canonically, with a final newline.
pub fn write_canonical<W: Write>(w: &mut W, v: &Value) -> io::Result<()> {
    write_value(w, v, 0)?;
    w.write_all(b"\n")
}

/// Writes a JSON object canonically with one more member, `extra_key`, whose value is
/// streamed by `extra` (used for maps too large to build as a [`Value`]). `extra` receives
/// the writer and the indent of the member's value.
pub fn write_canonical_with<W: Write>(
    w: &mut W,
    object: &serde_json::Map<String, Value>,
    extra_key: &str,
    extra: impl FnOnce(&mut W, usize) -> io::Result<()>,
) -> io::Result<()> {
    let mut keys: Vec<&str> = object.keys().map(String::as_str).chain([extra_key]).collect();
    keys.sort_unstable();
    let mut extra = Some(extra);
    w.write_all(b"{")?;
    for (i, k) in keys.iter().enumerate() {
        w.write_all(if i == 0 { b"\n" } else { b",\n" })?;
        indent(w, 1)?;
        write_str(w, k)?;
        w.write_all(b": ")?;
        if *k == extra_key {
            (extra.take().expect("one extra member"))(w, 1)?;
        } else {
            write_value(w, &object[*k], 1)?;
        }
    }
    w.write_all(b"\n}\n")
}

fn indent<W: Write>(w: &mut W, n: usize) -> io::Result<()> {
    const SPACES: &[u8] = &[b' '; 64];
    let mut n = n;
    while n > 0 {
        let k = n.min(64);
        w.write_all(&SPACES[..k])?;
        n -= k;
    }
    Ok(())
}

/// Writes a float as the kit does (rounded to 9 decimals, Python's repr; non-finite: null).
pub fn write_float<W: Write>(w: &mut W, x: f64) -> io::Result<()> {
    match round9(x) {
        None => w.write_all(b"null"),
        Some(r) => w.write_all(py_repr(r).as_bytes()),
    }
}

fn write_value<W: Write>(w: &mut W, v: &Value, level: usize) -> io::Result<()> {
    match v {
        Value::Null => w.write_all(b"null"),
        Value::Bool(b) => w.write_all(if *b { b"true" } else { b"false" }),
        Value::Number(n) => {
            if n.is_f64() {
                write_float(w, n.as_f64().expect("f64"))
            } else {
                write!(w, "{n}")
            }
        }
        Value::String(s) => write_str(w, s),
        Value::Array(items) => {
            if items.is_empty() {
                return w.write_all(b"[]");
            }
            w.write_all(b"[")?;
            for (i, item) in items.iter().enumerate() {
                w.write_all(if i == 0 { b"\n" } else { b",\n" })?;
                indent(w, level + 1)?;
                write_value(w, item, level + 1)?;
            }
            w.write_all(b"\n")?;
            indent(w, level)?;
            w.write_all(b"]")
        }
        Value::Object(map) => {
            if map.is_empty() {
                return w.write_all(b"{}");
            }
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_unstable();
            w.write_all(b"{")?;
            for (i, k) in keys.iter().enumerate() {
                w.write_all(if i == 0 { b"\n" } else { b",\n" })?;
                indent(w, level + 1)?;
                write_str(w, k)?;
                w.write_all(b": ")?;
                write_value(w, &map[k.as_str()], level + 1)?;
            }
            w.write_all(b"\n")?;
            indent(w, level)?;
            w.write_all(b"}")
        }
    }
}

/// Writes a JSON string as Python's `json.dumps(..., ensure_ascii=False)` does.
pub fn write_str<W: Write>(w: &mut W, s: &str) -> io::Result<()> {
    w.write_all(b"\"")?;
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: Option<&[u8]> = match b {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            b'\n' => Some(b"\\n"),
            b'\r' => Some(b"\\r"),
            b'\t' => Some(b"\\t"),
            0x08 => Some(b"\\b"),
            0x0c => Some(b"\\f"),
            0..=0x1f => None,
            _ => continue,
        };
        w.write_all(&bytes[start..i])?;
        match esc {
            Some(e) => w.write_all(e)?,
            None => write!(w, "\\u{:04x}", b)?,
        }
        start = i + 1;
    }
    w.write_all(&bytes[start..])?;
    w.write_all(b"\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_layout() {
        let v = serde_json::json!({"b": [1, 2.5, {"y": null, "x": "a\"\n\u{1}é"}], "a": [], "c": {}, "d": 0.30000000000000004, "e": -0.0});
        let mut out = Vec::new();
        write_canonical(&mut out, &v).unwrap();
        let expected = "{\n \"a\": [],\n \"b\": [\n  1,\n  2.5,\n  {\n   \"x\": \"a\\\"\\n\\u0001é\",\n   \"y\": null\n  }\n ],\n \"c\": {},\n \"d\": 0.3,\n \"e\": 0.0\n}\n";
        assert_eq!(String::from_utf8(out).unwrap(), expected);
    }
}
