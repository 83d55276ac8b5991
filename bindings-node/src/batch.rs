//! Batches of events (`trackBatch`, `ingest`, `backtest`) read in one go: V8 serialises
//! the whole array with its own `JSON.stringify` (one call, native speed) and serde parses
//! the text, instead of a dozen Node-API calls per event ([`crate::event::from_js`]).
//!
//! The result is exactly what the event-by-event reader builds, or the batch falls back to
//! it: a replacer throws at the first value without a JSON form (a function, a symbol, a
//! bigint, a non-finite number), and whatever the strict parse below refuses (a `Date` as
//! `ts`, an unknown field, a bad key...) is read again event by event, whose errors name
//! the index and the field. Numbers keep the reader's form: integers within
//! ±(2^53 - 1) stay integers, larger ones become floats, as a JS number is.

use std::cell::Cell;
use std::ptr;

use journey_core::{Error, Event, Limits};
use napi::bindgen_prelude::{Array, Unknown};
use napi::sys;
use napi::{Env, JsValue};
use serde_json::{Number, Value};

use crate::convert::Js;

/// `serialise(batch)`: the batch as JSON text, or a throw at the first value that has no
/// JSON form (then the batch is read event by event).
const SERIALISER: &str = r#"(function () {
  function replacer(key, value) {
    switch (typeof value) {
      case 'number':
        if (value !== value || value === Infinity || value === -Infinity) throw 0;
        return value;
      case 'function': case 'symbol': case 'bigint': throw 0;
      default: return value;
    }
  }
  return function serialise(batch) { return JSON.stringify(batch, replacer); };
})()"#;

/// The largest integer a JS number holds exactly, `Number.MAX_SAFE_INTEGER`.
const MAX_SAFE_INTEGER: i64 = 9_007_199_254_740_991;

thread_local! {
    /// The serialiser compiled in this thread's environment (one environment per JS
    /// thread), as a reference that lives as long as the environment.
    static COMPILED: Cell<Option<(sys::napi_env, sys::napi_ref)>> = const { Cell::new(None) };
}

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
    let serialise = serialiser(env)?;
    let (mut this, mut text) = (ptr::null_mut(), ptr::null_mut());
    let args = [batch.raw()];
    // SAFETY: env, the function and the argument belong to the current call, on the main
    // thread. A throw leaves an exception pending, cleared below.
    let status = unsafe {
        sys::napi_get_undefined(env.raw(), &mut this);
        sys::napi_call_function(env.raw(), this, serialise, 1, args.as_ptr(), &mut text)
    };
    if status != sys::Status::napi_ok {
        let mut thrown = ptr::null_mut();
        // SAFETY: as above; clears the replacer's throw (or any other) before falling back.
        unsafe { sys::napi_get_and_clear_last_exception(env.raw(), &mut thrown) };
        return None;
    }
    // SAFETY: `text` is the value the call returned, in the current scope.
    let text = Js::of(&unsafe { Unknown::from_raw_unchecked(env.raw(), text) });
    let text = text.string().ok()?;
    let mut events: Vec<Event> = serde_json::from_str(&text).ok()?;
    for event in &mut events {
        if event.ts.unsigned_abs() > MAX_SAFE_INTEGER as u64 || event.check_with(&Limits::unlimited()).is_err() {
            return None;
        }
        for value in event.properties.values_mut() {
            as_js_number(value);
        }
    }
    Some(events)
}

/// Integers beyond ±(2^53 - 1) as the floats a JS number holds (JSON text keeps all their
/// digits; the event-by-event reader sees the number).
fn as_js_number(value: &mut Value) {
    match value {
        Value::Number(n) if !n.is_f64() && n.as_i64().is_none_or(|i| i.unsigned_abs() > MAX_SAFE_INTEGER as u64) => {
            if let Some(f) = n.as_f64().and_then(Number::from_f64) {
                *n = f;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(as_js_number),
        Value::Object(map) => map.values_mut().for_each(as_js_number),
        _ => {}
    }
}

/// The compiled serialiser of this environment, compiled on first use.
fn serialiser(env: &Env) -> Option<sys::napi_value> {
    let raw = env.raw();
    let reference = match COMPILED.get() {
        Some((e, r)) if e == raw => r,
        _ => {
            let f: Unknown = env.run_script(SERIALISER).ok()?;
            let mut r = ptr::null_mut();
            // SAFETY: the function was just created in this environment; the reference is
            // never deleted: the environment frees it when it ends.
            if unsafe { sys::napi_create_reference(raw, f.raw(), 1, &mut r) } != sys::Status::napi_ok {
                return None;
            }
            // Forgotten when the environment ends, so that a later one at the same
            // address compiles its own.
            env.add_env_cleanup_hook((), |()| COMPILED.set(None)).ok()?;
            COMPILED.set(Some((raw, r)));
            r
        }
    };
    let mut f = ptr::null_mut();
    // SAFETY: the reference was created in this environment, which is still alive (we are
    // in one of its calls).
    (unsafe { sys::napi_get_reference_value(raw, reference, &mut f) } == sys::Status::napi_ok && !f.is_null()).then_some(f)
}
