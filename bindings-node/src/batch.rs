//! Batches of events (`trackBatch`, `ingest`, `backtest`) read in one go: V8 serialises
//! the whole array ([`json::serialise`]) and serde parses the text, instead of a dozen
//! Node-API calls per event ([`crate::event::from_js`]).
//!
//! The result is exactly what the event-by-event reader builds, or the batch falls back to
//! it: serialising throws at the first value without a JSON form (a function, a symbol, a
//! bigint, a non-finite number, a cycle), and whatever the strict parse below refuses (a
//! `Date` as `ts`, an unknown field, a bad key...) is read again event by event, whose
//! errors name the index and the field. Numbers keep the reader's form
//! ([`convert::number`]). What the types cannot check (an empty name, a rating out of its
//! scale, the size limits) the tracker checks, for every batch from any language.

use journey_core::{Error, Event};
use napi::bindgen_prelude::{Array, Unknown};
use napi::{Env, JsValue};
use serde_json::Value;

use crate::convert::{self, Js, MAX_SAFE_INTEGER};
use crate::json;

/// The events of a batch, in order. Errors are `E_BAD_EVENT` with the index and field of
/// the first bad event, as [`crate::event::from_js`] reports them.
pub(crate) fn events(env: &Env, batch: &Array<'_>) -> Result<Vec<Event>, Error> {
    if let Some(events) = Js::of(&batch.to_unknown()).scoped(|| fast(env, batch)) {
        return Ok(events);
    }
    (0..batch.len())
        .map(|i| {
            let item = batch.get::<Unknown>(i).ok().flatten().ok_or_else(|| Error::BadEvent {
                index: Some(i as usize),
                field: String::new(),
                message: "cannot read the event".into(),
            })?;
            crate::event::from_js(item, Some(i as usize))
        })
        .collect()
}

/// The batch through `JSON.stringify` and serde; `None` for anything unusual.
fn fast(env: &Env, batch: &Array<'_>) -> Option<Vec<Event>> {
    let text = json::serialise(env, batch.raw()).ok()?;
    // SAFETY: `text` is the value the call returned, in the current scope.
    let text = Js::of(&unsafe { Unknown::from_raw_unchecked(env.raw(), text) }).string().ok()?;
    let mut events: Vec<Event> = serde_json::from_str(&text).ok()?;
    for event in &mut events {
        // a time the reader refuses (beyond ±(2^53 - 1)): let it say so
        if event.ts.unsigned_abs() as f64 > MAX_SAFE_INTEGER {
            return None;
        }
        for value in event.properties.values_mut() {
            as_js_number(value);
        }
    }
    Some(events)
}

/// Numbers in the form the event-by-event reader gives them: JSON text keeps every digit
/// of an integer beyond ±(2^53 - 1), which a JS number held only as a float.
fn as_js_number(value: &mut Value) {
    match value {
        Value::Number(n) => {
            if let Some(js) = n.as_f64().and_then(convert::number) {
                *n = js;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(as_js_number),
        Value::Object(map) => map.values_mut().for_each(as_js_number),
        _ => {}
    }
}
