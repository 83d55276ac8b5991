//! V8's own JSON for bulk data: a batch of events goes in as the text `JSON.stringify`
//! makes of it, and bulk results come out as the objects `JSON.parse` makes of serde's
//! text. Both run at native speed in one call, instead of a dozen Node-API calls per
//! object; both are used only where they give exactly what the value-by-value conversions
//! give ([`crate::batch`], [`Parsed`]).

use std::cell::Cell;
use std::marker::PhantomData;
use std::ptr;

use napi::bindgen_prelude::{ToNapiValue, TypeName, ValueType};
use napi::sys;
use napi::{Env, Error, Result, Status};
use serde::Serialize;

/// `[serialise, parse, tracked]`: `serialise(batch)` is the batch as JSON text, or a throw
/// at the first value that has no JSON form (a function, a symbol, a bigint, a non-finite
/// number); `parse` is `JSON.parse`; `tracked` assembles `trackBatch`'s results
/// ([`crate::batch::TrackedList`]). A batch of plain values (checked by a walk the JIT
/// compiles) takes `JSON.stringify`'s fast path; one with anything else (a `toJSON`
/// object such as a `Date`, a value with no JSON form, nesting past 64 levels or a cycle)
/// takes the path with a replacer, which throws at a value with no JSON form.
const HELPERS: &str = r#"(function () {
  function replacer(key, value) {
    switch (typeof value) {
      case 'number':
        if (value !== value || value === Infinity || value === -Infinity) throw 0;
        return value;
      case 'function': case 'symbol': case 'bigint': throw 0;
      default: return value;
    }
  }
  function plain(value, depth) {
    switch (typeof value) {
      case 'number': return value === value && value !== Infinity && value !== -Infinity;
      case 'string': case 'boolean': case 'undefined': return true;
      case 'object': {
        if (value === null) return true;
        if (depth > 64 || typeof value.toJSON === 'function') return false;
        if (Array.isArray(value)) {
          for (let i = 0; i < value.length; i++) if (!plain(value[i], depth + 1)) return false;
          return true;
        }
        const keys = Object.keys(value);
        for (let i = 0; i < keys.length; i++) if (!plain(value[keys[i]], depth + 1)) return false;
        return true;
      }
      default: return false;
    }
  }
  function serialise(batch) {
    return plain(batch, 0) ? JSON.stringify(batch) : JSON.stringify(batch, replacer);
  }
  // rows: 5 numbers per event (seq, profile, touchpoint, phase, number of actions; see
  // TrackedList), names[0] === null
  function tracked(rows, names, actions) {
    const all = JSON.parse(actions);
    const out = [];
    for (let j = 0, a = 0; j < rows.length; j += 5) {
      const n = rows[j + 4];
      out.push({ seq: rows[j], profile: rows[j + 1], touchpoint: names[rows[j + 2]], phase: names[rows[j + 3]], actions: n === 0 ? [] : all.slice(a, (a += n)) });
    }
    return out;
  }
  return [serialise, JSON.parse, tracked];
})()"#;

/// One of the compiled helpers.
#[derive(Clone, Copy)]
enum Helper {
    Serialise = 0,
    Parse = 1,
    Tracked = 2,
}

thread_local! {
    /// The helpers compiled in this thread's environment (one environment per JS thread),
    /// as a reference that lives as long as the environment.
    static COMPILED: Cell<Option<(sys::napi_env, sys::napi_ref)>> = const { Cell::new(None) };
}

pub(crate) fn status(s: sys::napi_status, what: &str) -> Result<()> {
    if s == sys::Status::napi_ok { Ok(()) } else { Err(Error::new(Status::from(s), format!("{what} failed"))) }
}

/// A compiled helper of this environment, compiling them on first use.
fn helper(env: sys::napi_env, which: Helper) -> Result<sys::napi_value> {
    let reference = match COMPILED.get() {
        Some((e, r)) if e == env => r,
        _ => {
            let helpers: napi::bindgen_prelude::Unknown = Env::from_raw(env).run_script(HELPERS)?;
            let mut r = ptr::null_mut();
            // SAFETY: the array was just created in this environment; the reference is never
            // deleted: the environment frees it when it ends.
            status(unsafe { sys::napi_create_reference(env, napi::JsValue::raw(&helpers), 1, &mut r) }, "keeping the JSON helpers")?;
            // Forgotten when the environment ends, so that a later one at the same address
            // compiles its own.
            Env::from_raw(env).add_env_cleanup_hook((), |()| COMPILED.set(None))?;
            COMPILED.set(Some((env, r)));
            r
        }
    };
    let (mut helpers, mut f) = (ptr::null_mut(), ptr::null_mut());
    // SAFETY: the reference was created in this environment, which is alive (we are in one
    // of its calls); the array holds the two functions.
    unsafe {
        status(sys::napi_get_reference_value(env, reference, &mut helpers), "reading the JSON helpers")?;
        status(sys::napi_get_element(env, helpers, which as u32, &mut f), "reading a JSON helper")?;
    }
    Ok(f)
}

/// Calls a helper; `Err` if it throws (the exception is cleared).
fn call(env: sys::napi_env, which: Helper, args: &[sys::napi_value]) -> Result<sys::napi_value> {
    let f = helper(env, which)?;
    let (mut this, mut out) = (ptr::null_mut(), ptr::null_mut());
    // SAFETY: env, the function and the arguments belong to the current call, on the main
    // thread.
    let called = unsafe {
        sys::napi_get_undefined(env, &mut this);
        sys::napi_call_function(env, this, f, args.len(), args.as_ptr(), &mut out)
    };
    if called != sys::Status::napi_ok {
        let mut thrown = ptr::null_mut();
        // SAFETY: as above; clears what the helper threw.
        unsafe { sys::napi_get_and_clear_last_exception(env, &mut thrown) };
        return Err(Error::new(Status::from(called), "a JSON helper threw"));
    }
    Ok(out)
}

/// `JSON.stringify(value)` with every value checked to have a JSON form; `Err` if one has
/// none (or the value has a cycle).
pub(crate) fn serialise(env: &Env, value: sys::napi_value) -> Result<sys::napi_value> {
    call(env.raw(), Helper::Serialise, &[value])
}

/// `tracked(rows, names, actions)`: `trackBatch`'s result objects, assembled by the
/// helper from their parts ([`crate::batch::TrackedList`]).
pub(crate) fn tracked(env: sys::napi_env, rows: sys::napi_value, names: sys::napi_value, actions: sys::napi_value) -> Result<sys::napi_value> {
    call(env, Helper::Tracked, &[rows, names, actions])
}

/// `text` as a JavaScript string.
pub(crate) fn string(env: sys::napi_env, text: &str) -> Result<sys::napi_value> {
    let mut js = ptr::null_mut();
    // SAFETY: env is the current call's; the text is valid UTF-8 of the given length.
    status(unsafe { sys::napi_create_string_utf8(env, text.as_ptr().cast(), text.len() as isize, &mut js) }, "creating a string")?;
    Ok(js)
}

/// A result handed to JavaScript as the objects `JSON.parse` makes of its serde JSON: the
/// same objects the `#[napi(object)]` conversion builds when the serde names are the
/// JavaScript ones (camelCase, `null` for `None`), built much faster. The text is made
/// where the value is ([`Parsed::of`], on the thread pool), so that the event loop only
/// parses it, and the value is freed by the thread that allocated it.
pub struct Parsed<T> {
    text: String,
    of: PhantomData<fn() -> T>,
}

impl<T: Serialize> Parsed<T> {
    /// `value` as the JSON text JavaScript will parse.
    pub fn of(value: &T) -> journey_core::Result<Self> {
        let text = serde_json::to_string(value).map_err(|e| journey_core::Error::storage("cannot serialise a result for JavaScript", e))?;
        Ok(Parsed { text, of: PhantomData })
    }
}

impl<T> ToNapiValue for Parsed<T> {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        let js = string(env, &val.text)?;
        call(env, Helper::Parse, &[js])
    }
}

impl<T> TypeName for Parsed<T> {
    fn type_name() -> &'static str {
        "Object"
    }

    fn value_type() -> ValueType {
        ValueType::Object
    }
}
