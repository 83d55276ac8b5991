//! JavaScript values as JSON (what the core deserialises its types from) and timestamps.
//!
//! Plain data is converted the way `JSON.stringify` would: only own enumerable string
//! keys, `undefined` properties left out (`null` in arrays), objects with a `toJSON`
//! method (such as `Date`) converted through it. Unlike `JSON.stringify`, whatever has no
//! JSON form is refused with the path where it is: a function, a symbol, a non-finite
//! number, a bigint outside 64 bits, a cycle (as too deep a nesting). Integral numbers
//! within ±(2^53 - 1) become JSON integers, other numbers floats.
//!
//! Timestamps ([`micros`]) are integers of microseconds since the Unix epoch, UTC: a JS
//! number (a safe integer: exact up to ±2^53 µs, about the year 2255), a `bigint`, or a
//! `Date` (millisecond precision, converted to microseconds).
//!
//! Events are converted on the main thread for every `track` call, so this reads values
//! through raw Node-API calls ([`Js`]): property keys are reused as they come from the
//! object and short strings are read without a length query.

use std::ffi::CStr;
use std::ptr;

use napi::bindgen_prelude::{BigInt, FromNapiValue, Unknown};
use napi::sys::{self, ValueType as T};
use napi::JsValue;
use serde_json::{Map, Number, Value};

/// The deepest nesting accepted (a cycle ends here too).
const MAX_DEPTH: usize = 64;

/// The largest integer a JS number holds exactly, `Number.MAX_SAFE_INTEGER`.
pub(crate) const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// Where a value could not be converted, and why.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Bad {
    /// The path of the value, e.g. `properties.items[2]`; empty for the value itself.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl Bad {
    pub(crate) fn new(path: &str, message: impl Into<String>) -> Self {
        Bad { path: path.to_string(), message: message.into() }
    }

    /// The same problem, inside `parent` (a property name).
    pub(crate) fn within(mut self, parent: &str) -> Self {
        self.path = join(parent, &self.path);
        self
    }

    /// The problem as a core parse error (options, filters, attributes).
    pub(crate) fn into_parse(self) -> journey_core::Error {
        journey_core::Error::parse(self.path, self.message)
    }
}

/// `parent.child`, or `parent[i]` when the child is an index.
pub(crate) fn join(parent: &str, child: &str) -> String {
    match (parent.is_empty(), child.is_empty()) {
        (true, _) => child.to_string(),
        (false, true) => parent.to_string(),
        (false, false) if child.starts_with('[') => format!("{parent}{child}"),
        (false, false) => format!("{parent}.{child}"),
    }
}

/// A JavaScript value of the current call, read through raw Node-API calls. Only valid
/// during the call that received it (on the main thread).
#[derive(Clone, Copy)]
pub(crate) struct Js {
    env: sys::napi_env,
    value: sys::napi_value,
}

/// A failed Node-API call, as a message.
type Failed = String;

fn ok(status: sys::napi_status, what: &str) -> Result<(), Failed> {
    if status == sys::Status::napi_ok { Ok(()) } else { Err(format!("cannot read the value ({what} failed with status {status})")) }
}

impl Js {
    pub(crate) fn of(value: &Unknown<'_>) -> Js {
        let v = value.value();
        Js { env: v.env, value: v.value }
    }

    fn with(self, value: sys::napi_value) -> Js {
        Js { env: self.env, value }
    }

    /// Runs `f` inside a Node-API handle scope: the handles it creates are freed when it
    /// returns (also when it panics). `f` must not return a value read inside it.
    pub(crate) fn scoped<T>(self, f: impl FnOnce() -> T) -> T {
        struct Scope(sys::napi_env, sys::napi_handle_scope);
        impl Drop for Scope {
            fn drop(&mut self) {
                // SAFETY: the scope was opened on this environment and is the innermost one.
                unsafe { sys::napi_close_handle_scope(self.0, self.1) };
            }
        }
        let mut scope = ptr::null_mut();
        // SAFETY: env comes from the current call, on the main thread.
        if unsafe { sys::napi_open_handle_scope(self.env, &mut scope) } != sys::Status::napi_ok {
            return f();
        }
        let _scope = Scope(self.env, scope);
        f()
    }

    /// The value's `typeof`, as a Node-API value type.
    pub(crate) fn kind(self) -> Result<i32, Failed> {
        let mut kind = 0;
        // SAFETY: env and value come from the current call.
        ok(unsafe { sys::napi_typeof(self.env, self.value, &mut kind) }, "typeof")?;
        Ok(kind)
    }

    fn number(self) -> Result<f64, Failed> {
        let mut x = 0.0;
        // SAFETY: as above; the value is a number.
        ok(unsafe { sys::napi_get_value_double(self.env, self.value, &mut x) }, "reading a number")?;
        Ok(x)
    }

    fn boolean(self) -> Result<bool, Failed> {
        let mut b = false;
        // SAFETY: as above; the value is a boolean.
        ok(unsafe { sys::napi_get_value_bool(self.env, self.value, &mut b) }, "reading a boolean")?;
        Ok(b)
    }

    /// A string's text. Short strings are read in one call into a stack buffer.
    pub(crate) fn string(self) -> Result<String, Failed> {
        const SHORT: usize = 128;
        let mut buf = [0u8; SHORT];
        let mut len = 0;
        // SAFETY: as above; the buffer is SHORT bytes long, and Node-API writes at most
        // SHORT - 1 bytes plus a terminating NUL.
        ok(unsafe { sys::napi_get_value_string_utf8(self.env, self.value, buf.as_mut_ptr().cast(), SHORT, &mut len) }, "reading a string")?;
        // Node-API stops before a character that does not fit (at most 4 bytes of UTF-8),
        // so a shorter result is the whole string.
        if len + 4 < SHORT - 1 {
            return String::from_utf8(buf[..len].to_vec()).map_err(|e| e.to_string());
        }
        // SAFETY: as above; a null buffer asks for the length.
        ok(unsafe { sys::napi_get_value_string_utf8(self.env, self.value, ptr::null_mut(), 0, &mut len) }, "measuring a string")?;
        let mut bytes = vec![0u8; len + 1];
        // SAFETY: as above; the buffer holds len bytes and the NUL.
        ok(unsafe { sys::napi_get_value_string_utf8(self.env, self.value, bytes.as_mut_ptr().cast(), len + 1, &mut len) }, "reading a string")?;
        bytes.truncate(len);
        String::from_utf8(bytes).map_err(|e| e.to_string())
    }

    pub(crate) fn is_array(self) -> Result<bool, Failed> {
        let mut b = false;
        // SAFETY: as above.
        ok(unsafe { sys::napi_is_array(self.env, self.value, &mut b) }, "checking for an array")?;
        Ok(b)
    }

    fn is_date(self) -> Result<bool, Failed> {
        let mut b = false;
        // SAFETY: as above.
        ok(unsafe { sys::napi_is_date(self.env, self.value, &mut b) }, "checking for a Date")?;
        Ok(b)
    }

    fn date(self) -> Result<f64, Failed> {
        let mut ms = 0.0;
        // SAFETY: as above; the value is a Date.
        ok(unsafe { sys::napi_get_date_value(self.env, self.value, &mut ms) }, "reading a Date")?;
        Ok(ms)
    }

    /// An array's length.
    pub(crate) fn len(self) -> Result<u32, Failed> {
        let mut n = 0;
        // SAFETY: as above; the value is an array.
        ok(unsafe { sys::napi_get_array_length(self.env, self.value, &mut n) }, "reading an array's length")?;
        Ok(n)
    }

    /// An array's element.
    pub(crate) fn at(self, i: u32) -> Result<Js, Failed> {
        let mut v = ptr::null_mut();
        // SAFETY: as above.
        ok(unsafe { sys::napi_get_element(self.env, self.value, i, &mut v) }, "reading an element")?;
        Ok(self.with(v))
    }

    /// An object's own enumerable string keys, as an array.
    pub(crate) fn own_keys(self) -> Result<Js, Failed> {
        let mut keys = ptr::null_mut();
        // SAFETY: as above; the value is an object.
        let status = unsafe {
            sys::napi_get_all_property_names(
                self.env,
                self.value,
                sys::KeyCollectionMode::own_only,
                sys::KeyFilter::enumerable | sys::KeyFilter::skip_symbols,
                sys::KeyConversion::numbers_to_strings,
                &mut keys,
            )
        };
        ok(status, "listing the keys")?;
        Ok(self.with(keys))
    }

    /// The property of an object under a key value.
    pub(crate) fn get(self, key: Js) -> Result<Js, Failed> {
        let mut v = ptr::null_mut();
        // SAFETY: as above.
        ok(unsafe { sys::napi_get_property(self.env, self.value, key.value, &mut v) }, "reading a property")?;
        Ok(self.with(v))
    }

    /// The property of an object under a name.
    pub(crate) fn named(self, name: &CStr) -> Result<Js, Failed> {
        let mut v = ptr::null_mut();
        // SAFETY: as above; the name is NUL-terminated.
        ok(unsafe { sys::napi_get_named_property(self.env, self.value, name.as_ptr(), &mut v) }, "reading a property")?;
        Ok(self.with(v))
    }

    /// Calls `method` with this value as `this` and no arguments; a thrown exception is
    /// caught and returned as its message.
    fn call(self, method: Js) -> Result<Js, Failed> {
        let mut v = ptr::null_mut();
        // SAFETY: as above; the method is a function.
        let status = unsafe { sys::napi_call_function(self.env, self.value, method.value, 0, ptr::null(), &mut v) };
        if status == sys::Status::napi_ok {
            return Ok(self.with(v));
        }
        let mut thrown = ptr::null_mut();
        // SAFETY: clears the pending exception, if any, so that it does not escape.
        unsafe { sys::napi_get_and_clear_last_exception(self.env, &mut thrown) };
        let mut text = ptr::null_mut();
        // SAFETY: as above.
        let message = if !thrown.is_null() && unsafe { sys::napi_coerce_to_string(self.env, thrown, &mut text) } == sys::Status::napi_ok {
            self.with(text).string().unwrap_or_default()
        } else {
            String::new()
        };
        Err(message)
    }

    fn bigint(self) -> Result<BigInt, Failed> {
        // SAFETY: as above; the value is a bigint.
        unsafe { BigInt::from_napi_value(self.env, self.value) }.map_err(|e| e.reason.clone())
    }
}

/// A JavaScript value as JSON; `None` for `undefined` (and for a `toJSON` that returns it).
pub(crate) fn to_json(value: Unknown<'_>) -> Result<Option<Value>, Bad> {
    convert(Js::of(&value), "", 0)
}

/// A JavaScript object's own enumerable properties as JSON, keeping their order;
/// `undefined` properties are left out.
pub(crate) fn object_to_json(value: Unknown<'_>) -> Result<Map<String, Value>, Bad> {
    match to_json(value)? {
        Some(Value::Object(map)) => Ok(map),
        Some(other) => Err(Bad::new("", format!("expected an object, got {}", json_type(&other)))),
        None => Err(Bad::new("", "expected an object, got undefined")),
    }
}

pub(crate) fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A JS number as JSON: integral within the safe range as an integer, else a float.
pub(crate) fn number(x: f64) -> Option<Number> {
    if x.fract() == 0.0 && x.abs() <= MAX_SAFE_INTEGER { Some(Number::from(x as i64)) } else { Number::from_f64(x) }
}

/// Converts any value; `path` names it in errors.
pub(crate) fn convert(value: Js, path: &str, depth: usize) -> Result<Option<Value>, Bad> {
    let bad = |message: Failed| Bad::new(path, message);
    Ok(Some(match value.kind().map_err(bad)? {
        T::napi_undefined => return Ok(None),
        T::napi_null => Value::Null,
        T::napi_boolean => Value::Bool(value.boolean().map_err(bad)?),
        T::napi_number => {
            let x = value.number().map_err(bad)?;
            Value::Number(number(x).ok_or_else(|| Bad::new(path, format!("{x} is not a finite number, which JSON cannot hold")))?)
        }
        T::napi_string => Value::String(value.string().map_err(bad)?),
        T::napi_bigint => {
            let big = value.bigint().map_err(bad)?;
            Value::Number(bigint(&big).ok_or_else(|| Bad::new(path, "the bigint does not fit in 64 bits"))?)
        }
        T::napi_object => {
            if depth >= MAX_DEPTH {
                return Err(Bad::new(path, format!("nested more than {MAX_DEPTH} levels deep (a cycle?)")));
            }
            if value.is_array().map_err(bad)? {
                let len = value.len().map_err(bad)?;
                let mut items = Vec::with_capacity(len as usize);
                for i in 0..len {
                    let at = format!("{path}[{i}]");
                    let item = value.at(i).map_err(|m| Bad::new(&at, m))?;
                    items.push(convert(item, &at, depth + 1)?.unwrap_or(Value::Null));
                }
                Value::Array(items)
            } else {
                let to_json = value.named(c"toJSON").map_err(bad)?;
                if to_json.kind().map_err(bad)? == T::napi_function {
                    let plain = value.call(to_json).map_err(|m| Bad::new(path, format!("its toJSON() failed: {m}")))?;
                    return convert(plain, path, depth + 1);
                }
                Value::Object(object(value, path, depth)?)
            }
        }
        T::napi_function => return Err(Bad::new(path, "a function has no JSON form")),
        T::napi_symbol => return Err(Bad::new(path, "a symbol has no JSON form")),
        _ => return Err(Bad::new(path, "this value has no JSON form")),
    }))
}

/// An object's own enumerable properties, converted; `undefined` ones left out.
fn object(value: Js, path: &str, depth: usize) -> Result<Map<String, Value>, Bad> {
    let bad = |message: Failed| Bad::new(path, message);
    let keys = value.own_keys().map_err(bad)?;
    let len = keys.len().map_err(bad)?;
    let mut map = Map::new();
    for i in 0..len {
        let key = keys.at(i).map_err(bad)?;
        let name = key.string().map_err(bad)?;
        let at = join(path, &name);
        let item = value.get(key).map_err(|m| Bad::new(&at, m))?;
        if let Some(v) = convert(item, &at, depth + 1)? {
            map.insert(name, v);
        }
    }
    Ok(map)
}

fn bigint(big: &BigInt) -> Option<Number> {
    let (value, lossless) = big.get_i64();
    if lossless {
        return Some(Number::from(value));
    }
    let (negative, value, lossless) = big.get_u64();
    (lossless && !negative).then(|| Number::from(value))
}

/// A timestamp in microseconds since the Unix epoch (UTC) from a safe-integer number, a
/// `bigint` or a `Date`.
pub(crate) fn micros(value: Unknown<'_>) -> Result<i64, Bad> {
    micros_of(Js::of(&value))
}

/// [`micros`] of a raw value.
pub(crate) fn micros_of(value: Js) -> Result<i64, Bad> {
    const EXPECTED: &str = "expected microseconds since the Unix epoch (UTC) as an integer number or a bigint, or a Date";
    let bad = |message: Failed| Bad::new("", message);
    match value.kind().map_err(bad)? {
        T::napi_number => {
            let x = value.number().map_err(bad)?;
            if x.fract() == 0.0 && x.abs() <= MAX_SAFE_INTEGER {
                Ok(x as i64)
            } else if x.is_finite() && x.fract() == 0.0 {
                Err(Bad::new("", format!("{x} is beyond Number.MAX_SAFE_INTEGER, so it may not be exact: pass a bigint")))
            } else {
                Err(Bad::new("", format!("{x} is not an integer: {EXPECTED}")))
            }
        }
        T::napi_bigint => match value.bigint().map_err(bad)?.get_i64() {
            (x, true) => Ok(x),
            _ => Err(Bad::new("", "the bigint does not fit in 64 bits")),
        },
        T::napi_object if value.is_date().map_err(bad)? => {
            let ms = value.date().map_err(bad)?;
            if ms.is_finite() { Ok(ms as i64 * 1000) } else { Err(Bad::new("", "the Date is invalid")) }
        }
        T::napi_undefined => Err(Bad::new("", format!("missing: {EXPECTED}"))),
        _ => {
            let shown = convert(value, "", 0).ok().flatten().map_or_else(|| "this value".to_string(), |v| v.to_string());
            Err(Bad::new("", format!("{shown}: {EXPECTED}")))
        }
    }
}

/// Whether a value is `undefined` or `null`.
pub(crate) fn is_nullish(value: &Unknown<'_>) -> bool {
    matches!(Js::of(value).kind(), Ok(T::napi_undefined | T::napi_null))
}
