//! Batches of events (`trackBatch`, `ingest`, `backtest`) read in one go: V8 serialises
//! the whole array ([`json::serialise`]) and serde parses the text, instead of a dozen
//! Node-API calls per event ([`crate::event::from_js`]); and `trackBatch`'s results
//! handed back in one go ([`TrackedList`]).
//!
//! The result is exactly what the event-by-event reader builds, or the batch falls back to
//! it: serialising throws at the first value without a JSON form (a function, a symbol, a
//! bigint, a non-finite number, a cycle), and whatever the strict parse below refuses (a
//! `Date` as `ts`, an unknown field, a bad key...) is read again event by event, whose
//! errors name the index and the field. Numbers keep the reader's form
//! ([`convert::number`]). What the types cannot check (an empty name, a rating out of its
//! scale, the size limits) the tracker checks, for every batch from any language.

use std::ptr;
use std::sync::Arc;

use journey_core::{Error, Event, Tracked};
use napi::bindgen_prelude::{Array, ToNapiValue, TypeName, Unknown, ValueType};
use napi::{Env, JsValue, sys};
use serde_json::Value;

use crate::convert::{self, Js, MAX_SAFE_INTEGER};
use crate::error::to_js_error;
use crate::{json, outbox};

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

/// What tracking a batch did, one `Tracked` object per event (`trackBatch`), handed to
/// JavaScript in three parts that a compiled helper ([`json::tracked`]) puts together:
/// the numbers of every event in one `Float64Array`, the few touchpoint and phase ids
/// once each, and every action in one JSON text. Building the per-event objects from
/// these in JavaScript costs a fraction of parsing them from JSON (most events fire no
/// action). The objects are the ones `track` converts (a test holds the two equal).
///
/// The parts are made on the main thread, when the Promise settles: the thread pool,
/// which tracks the batches one after the other, is the busier side.
pub struct TrackedList(pub Vec<Tracked>);

/// The parts of a [`TrackedList`].
struct Parts {
    /// Per event: seq, profile, touchpoint and phase (positions in `names`, 0 for
    /// `null`), number of actions.
    rows: Vec<f64>,
    /// The touchpoint and phase ids `rows` refer to, from position 1.
    names: Vec<Arc<str>>,
    /// Every event's actions in order, as one JSON list of `Action`s.
    actions: String,
}

/// Numbers per event in [`Parts::rows`] (the helper in [`json`] reads them so).
const ROW: usize = 5;

impl TrackedList {
    fn parts(&self) -> journey_core::Result<Parts> {
        let tracked = &self.0;
        let mut names: Vec<Arc<str>> = Vec::new();
        let mut position = |id: &Option<Arc<str>>| -> f64 {
            let Some(id) = id else { return 0.0 };
            // ids come from the tracker's map, shared: found by pointer but for a few
            let at = names.iter().position(|n| Arc::ptr_eq(n, id)).or_else(|| names.iter().position(|n| n == id)).unwrap_or_else(|| {
                names.push(id.clone());
                names.len() - 1
            });
            (at + 1) as f64
        };
        let mut rows = Vec::with_capacity(tracked.len() * ROW);
        for t in tracked {
            // as the `i64`s of `JsTracked` become JavaScript numbers
            rows.extend([t.seq as i64 as f64, t.profile.0 as i64 as f64, position(&t.touchpoint), position(&t.phase), t.actions.len() as f64]);
        }
        let all = tracked.iter().flat_map(|t| t.actions.iter());
        let actions = serde_json::to_string(&outbox::ActionsJson(all)).map_err(|e| Error::storage("cannot serialise the actions for JavaScript", e))?;
        Ok(Parts { rows, names, actions })
    }
}

impl TypeName for TrackedList {
    fn type_name() -> &'static str {
        "Array<Tracked>"
    }

    fn value_type() -> ValueType {
        ValueType::Object
    }
}

impl ToNapiValue for TrackedList {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        // as a failure on the thread pool would reject: an `Error` with its code
        let val = val.parts().map_err(|e| to_js_error(&Env::from_raw(env), &e))?;
        let (mut buffer, mut data, mut rows) = (ptr::null_mut(), ptr::null_mut(), ptr::null_mut());
        let bytes = std::mem::size_of_val(val.rows.as_slice());
        // SAFETY: env is the current call's, on the main thread; the buffer just created
        // holds `bytes` bytes, which the copy fills; the typed array covers exactly them.
        unsafe {
            json::status(sys::napi_create_arraybuffer(env, bytes, &mut data, &mut buffer), "creating an ArrayBuffer")?;
            ptr::copy_nonoverlapping(val.rows.as_ptr().cast::<u8>(), data.cast::<u8>(), bytes);
            json::status(sys::napi_create_typedarray(env, sys::TypedarrayType::float64_array, val.rows.len(), buffer, 0, &mut rows), "creating a Float64Array")?;
        }
        let mut names = ptr::null_mut();
        // SAFETY: as above; every element set is a value of this call.
        unsafe {
            json::status(sys::napi_create_array_with_length(env, val.names.len() + 1, &mut names), "creating an array")?;
            let mut null = ptr::null_mut();
            json::status(sys::napi_get_null(env, &mut null), "reading null")?;
            json::status(sys::napi_set_element(env, names, 0, null), "setting an element")?;
            for (i, name) in val.names.iter().enumerate() {
                json::status(sys::napi_set_element(env, names, i as u32 + 1, json::string(env, name)?), "setting an element")?;
            }
        }
        json::tracked(env, rows, names, json::string(env, &val.actions)?)
    }
}
