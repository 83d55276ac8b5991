//! Events and identity links from CSV text (the benchmark kit's layout), without a CSV
//! dependency: comma-separated fields, optionally double-quoted (`""` is a quote inside
//! quotes), one record per line, a header line naming the columns.
//!
//! Event columns, by header name: `ts` (integer microseconds since the Unix epoch, UTC),
//! `seq` (optional: the arrival order; events are returned sorted by it), `customer_key` or
//! `key` (one identity key; several separated by `|` are linked), `event`, `channel`,
//! `department` (optional), a rating as `csat` (1..5), `nps` (0..10) or `rating` (a raw
//! score in [-1, 1]) (optional). An empty unquoted field is null. Every other column is an
//! event property, kept as text. Link columns: `key_a`, `key_b`, `ts` (optional, default 0).

use std::path::Path;

use serde_json::{Map, Value};

use crate::emotion::{Rating, Scale};
use crate::error::{Error, Result};
use crate::event::Event;
use crate::identity::IdentityKey;

use super::session::IdentityLink;

/// Splits one CSV line into fields; an empty unquoted field is `None`.
pub fn fields(line: &str) -> Vec<Option<String>> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        let mut field = String::new();
        let mut quoted = false;
        if chars.peek() == Some(&'"') {
            quoted = true;
            chars.next();
            while let Some(c) = chars.next() {
                if c == '"' {
                    if chars.peek() == Some(&'"') {
                        field.push('"');
                        chars.next();
                    } else {
                        break;
                    }
                } else {
                    field.push(c);
                }
            }
        }
        while let Some(&c) = chars.peek() {
            if c == ',' {
                break;
            }
            field.push(c);
            chars.next();
        }
        out.push(if field.is_empty() && !quoted { None } else { Some(field) });
        if chars.next().is_none() {
            return out;
        }
    }
}

fn bad(line: usize, message: impl Into<String>) -> Error {
    Error::parse(format!("line {line}"), message)
}

struct Header {
    names: Vec<String>,
}

impl Header {
    fn find(&self, names: &[&str]) -> Option<usize> {
        names.iter().find_map(|n| self.names.iter().position(|h| h == n))
    }
}

/// One record: its line number (1-based) and its fields.
type Record = (usize, Vec<Option<String>>);

fn records(text: &str) -> Option<(Header, impl Iterator<Item = Record> + '_)> {
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let (_, head) = lines.next()?;
    let names = fields(head).into_iter().map(|f| f.unwrap_or_default()).collect();
    Some((Header { names }, lines.map(|(i, l)| (i + 1, fields(l)))))
}

/// Parses events from CSV text (see the module docs).
pub fn parse_events(text: &str) -> Result<Vec<Event>> {
    let Some((h, rows)) = records(text) else { return Ok(Vec::new()) };
    let need = |names: &[&str]| h.find(names).ok_or_else(|| bad(1, format!("no column {}", names.join(" or "))));
    let (ts, key, event, channel) = (need(&["ts"])?, need(&["customer_key", "key"])?, need(&["event"])?, need(&["channel"])?);
    let seq = h.find(&["seq"]);
    let department = h.find(&["department"]);
    let rating = [("csat", Scale::Csat), ("nps", Scale::Nps), ("rating", Scale::Score)].into_iter().find_map(|(n, s)| h.find(&[n]).map(|i| (i, s)));
    let known: Vec<usize> = [Some(ts), seq, Some(key), Some(event), Some(channel), department, rating.map(|r| r.0)].into_iter().flatten().collect();
    let mut out: Vec<(u64, Event)> = Vec::new();
    for (n, f) in rows {
        let get = |i: usize| f.get(i).and_then(|v| v.as_deref());
        let text = |i: usize, what: &str| get(i).ok_or_else(|| bad(n, format!("{what} is empty")));
        let int = |i: usize, what: &str| -> Result<i64> { text(i, what)?.trim().parse().map_err(|e| bad(n, format!("{what}: {e}"))) };
        let mut keys = Vec::new();
        for k in text(key, "the key")?.split('|') {
            keys.push(IdentityKey::parse(k).map_err(|e| bad(n, e))?);
        }
        let mut e = Event::new(int(ts, "ts")?, keys[0].clone(), text(event, "the event")?, text(channel, "the channel")?);
        e.keys = keys;
        if let Some(d) = department.and_then(get) {
            e = e.with_department(d);
        }
        if let Some((i, scale)) = rating
            && let Some(v) = get(i)
        {
            let x: f64 = v.trim().parse().map_err(|err| bad(n, format!("rating: {err}")))?;
            e = e.with_rating(Rating::from_scale(scale, x).map_err(|err| bad(n, err.to_string()))?);
        }
        let mut props = Map::new();
        for (i, name) in h.names.iter().enumerate() {
            if !known.contains(&i)
                && let Some(v) = get(i)
            {
                props.insert(name.clone(), Value::String(v.to_string()));
            }
        }
        e.properties = props;
        e.check().map_err(|err| bad(n, err.to_string()))?;
        let s = match seq {
            Some(i) => int(i, "seq")? as u64,
            None => out.len() as u64,
        };
        out.push((s, e));
    }
    if seq.is_some() {
        out.sort_by_key(|(s, _)| *s);
    }
    Ok(out.into_iter().map(|(_, e)| e).collect())
}

/// Parses identity links from CSV text (see the module docs).
pub fn parse_links(text: &str) -> Result<Vec<IdentityLink>> {
    let Some((h, rows)) = records(text) else { return Ok(Vec::new()) };
    let need = |name: &str| h.find(&[name]).ok_or_else(|| bad(1, format!("no column {name}")));
    let (a, b, ts) = (need("key_a")?, need("key_b")?, h.find(&["ts"]));
    let mut out = Vec::new();
    for (n, f) in rows {
        let get = |i: usize| f.get(i).and_then(|v| v.as_deref()).ok_or_else(|| bad(n, "empty key"));
        let key = |i: usize| IdentityKey::parse(get(i)?).map_err(|e| bad(n, e));
        let t = match ts.and_then(|i| f.get(i).and_then(|v| v.as_deref())) {
            Some(v) => v.trim().parse().map_err(|e| bad(n, format!("ts: {e}")))?,
            None => 0,
        };
        out.push(IdentityLink { a: key(a)?, b: key(b)?, ts: t });
    }
    Ok(out)
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| Error::Io { path: path.display().to_string(), source })
}

/// Reads events from a CSV file (see the module docs).
pub fn read_events(path: impl AsRef<Path>) -> Result<Vec<Event>> {
    let path = path.as_ref();
    parse_events(&read(path)?).map_err(|e| e.in_file(path))
}

/// Reads identity links from a CSV file (see the module docs).
pub fn read_links(path: impl AsRef<Path>) -> Result<Vec<IdentityLink>> {
    let path = path.as_ref();
    parse_links(&read(path)?).map_err(|e| e.in_file(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_events_and_links() {
        let text = "\"ts\",\"seq\",\"customer_key\",\"event\",\"channel\",\"department\",\"csat\",\"coupon\"\n\
                    20,1,\"session:a\",\"view\",\"web\",,5,\n\
                    10,0,\"session:a|email:x@y\",\"buy\",\"web\",\"sales\",,\"SPRING, 10%\"\n";
        let events = parse_events(text).unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!((events[0].ts, events[0].keys.len(), events[0].properties["coupon"].as_str()), (10, 2, Some("SPRING, 10%")));
        assert_eq!(events[1].rating, Some(Rating::Csat(5)));
        assert!(events[1].properties.is_empty());
        assert!(parse_events("ts,key,event,channel\nx,session:a,v,web\n").unwrap_err().to_string().contains("line 2"));
        let links = parse_links("key_a,key_b,ts\nsession:a,email:x@y,7\n").unwrap();
        assert_eq!(links[0].ts, 7);
    }
}
