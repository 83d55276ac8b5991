//! Events: the plain objects `track` takes, and the stored events context returns.

use journey_core::profile::TrackedEvent;
use journey_core::{Error, Event};
use napi::bindgen_prelude::Unknown;
use napi::sys::ValueType as T;
use napi_derive::napi;
use serde_json::{Map, Value};

use crate::convert::{self, Bad, Js};

/// One interaction to track, from any channel.
///
/// `ts` is when it happened: microseconds since the Unix epoch, UTC, as an integer
/// number (exact up to ±2^53 µs, about the year 2255) or a `bigint`, or a `Date`
/// (millisecond precision). From a `Date`: `date.getTime() * 1000`.
///
/// Unknown fields are refused (`E_BAD_EVENT` naming the field), so a typo never goes
/// unnoticed. `properties` hold JSON data, converted as `JSON.stringify` would.
#[napi(object, js_name = "JourneyEvent", object_from_js = false, object_to_js = false)]
#[allow(dead_code)] // Only its TypeScript declaration is used: events are read by `from_js`.
pub struct JsJourneyEvent {
    /// When it happened: microseconds since the Unix epoch (UTC), or a `Date`.
    #[napi(ts_type = "number | bigint | Date")]
    pub ts: Value,
    /// Every identity key the interaction carried, `kind:value` (`session:8f3a`,
    /// `email:ana@example.com`, `customer:0012345`); several keys link them.
    pub keys: Vec<String>,
    /// The raw event name (`add_to_cart`, `support_call`...).
    pub event: String,
    /// The channel it happened on (`web`, `mobile_app`, `phone`, or any custom name).
    pub channel: String,
    /// The department that handled it, if known (else its touchpoint's owner applies).
    pub department: Option<String>,
    /// How the customer felt: a label (`"positive"`), a score in [-1, 1] (`0.5`), or a
    /// scale (`{csat: 4}` 1..5, `{nps: 9}` 0..10, `{score: -0.5}`).
    #[napi(ts_type = "'negative' | 'neutral' | 'positive' | number | { csat: number } | { nps: number } | { score: number }")]
    pub rating: Option<Value>,
    /// Free-form JSON data, e.g. `{cart_value: 129.9}`; waypoint conditions test them.
    #[napi(ts_type = "Record<string, unknown>")]
    pub properties: Option<Value>,
}

/// An event as stored: its arrival number, its profile and the event as received
/// (timestamps in microseconds since the Unix epoch, UTC).
#[napi(object, js_name = "StoredEvent", object_from_js = false, use_nullable = true)]
#[derive(Debug, Clone)]
pub struct JsStoredEvent {
    /// Arrival order, strictly increasing across the store.
    pub seq: i64,
    /// The profile it belongs to.
    pub profile: i64,
    /// When it happened, in microseconds since the Unix epoch (UTC).
    pub ts: i64,
    /// Its identity keys.
    pub keys: Vec<String>,
    /// The raw event name.
    pub event: String,
    /// The channel.
    pub channel: String,
    /// The handling department, or `null`.
    pub department: Option<String>,
    /// The rating as given (`"positive"`, `0.5`, `{csat: 4}`...), or `null`.
    #[napi(ts_type = "'negative' | 'neutral' | 'positive' | number | { csat: number } | { nps: number } | { score: number }")]
    pub rating: Option<Value>,
    /// The event's properties (an empty object when none).
    #[napi(ts_type = "Record<string, unknown>")]
    pub properties: Map<String, Value>,
}

impl From<&TrackedEvent> for JsStoredEvent {
    fn from(t: &TrackedEvent) -> Self {
        let e = &t.event;
        JsStoredEvent {
            seq: t.seq as i64,
            profile: t.profile.0 as i64,
            ts: e.ts,
            keys: e.keys.iter().map(|k| k.as_str().to_string()).collect(),
            event: e.name.clone(),
            channel: e.channel.as_str().to_string(),
            department: e.department.as_ref().map(|d| d.as_str().to_string()),
            rating: e.rating.as_ref().and_then(|r| serde_json::to_value(r).ok()),
            properties: e.properties.clone(),
        }
    }
}

/// Converts a JavaScript event object: [`fast`] for a well-formed event, else through
/// the core's serde types, so that the validation and its messages are the core's.
/// `index` is its position in a batch.
pub(crate) fn from_js(value: Unknown<'_>, index: Option<usize>) -> Result<Event, Error> {
    // A handle scope per event: the handles read from it are freed at once, instead of
    // piling up (and slowing the garbage collector) for the whole batch.
    let js = Js::of(&value);
    js.scoped(|| match fast(js) {
        Some(event) => Ok(event),
        None => from_js_checked(value, index),
    })
}

/// A well-formed event read field by field without building JSON first (the hot path of
/// `trackBatch`); `None` as soon as anything is unusual (a missing or unknown field, a
/// wrong type, a bad key or rating), so that [`from_js_checked`] reports it. It accepts
/// only what that accepts and builds the same `Event`.
fn fast(value: Js) -> Option<Event> {
    if value.kind().ok()? != T::napi_object || value.is_array().ok()? {
        return None;
    }
    let names = value.own_keys().ok()?;
    let (mut ts, mut keys, mut name, mut channel) = (None, None, None, None);
    let mut event_keys = Vec::new();
    let (mut department, mut rating, mut properties) = (None, None, Map::new());
    for i in 0..names.len().ok()? {
        let key = names.at(i).ok()?;
        let field = key.string().ok()?;
        let item = value.get(key).ok()?;
        let kind = item.kind().ok()?;
        if kind == T::napi_undefined {
            continue; // left out, as JSON.stringify does
        }
        match field.as_str() {
            "ts" => ts = Some(convert::micros_of(item).ok()?),
            "keys" => {
                if !item.is_array().ok()? {
                    return None;
                }
                for k in 0..item.len().ok()? {
                    let text = item.at(k).ok()?;
                    if text.kind().ok()? != T::napi_string {
                        return None;
                    }
                    event_keys.push(journey_core::IdentityKey::parse(&text.string().ok()?).ok()?);
                }
                keys = Some(());
            }
            "event" if kind == T::napi_string => name = Some(item.string().ok()?),
            "channel" if kind == T::napi_string => channel = Some(item.string().ok()?),
            "department" if kind == T::napi_string => department = Some(item.string().ok()?),
            "department" if kind == T::napi_null => {}
            "rating" if kind == T::napi_null => {}
            "rating" => rating = Some(serde_json::from_value(convert::convert(item, "rating", 1).ok()??).ok()?),
            "properties" => match convert::convert(item, "properties", 1).ok()?? {
                Value::Object(map) => properties = map,
                _ => return None,
            },
            _ => return None,
        }
    }
    keys?;
    let channel: String = channel?;
    let event = Event { ts: ts?, keys: event_keys, name: name?, channel: channel.into(), department: department.map(Into::into), rating, properties };
    event.check_with(&journey_core::Limits::unlimited()).ok()?;
    Some(event)
}

/// Converts a JavaScript event object through the core's serde types, so that the
/// validation and its messages are the core's. `index` is its position in a batch.
///
/// Only own enumerable properties count, as for `JSON.stringify`; `ts` may also be a
/// `Date` or a `bigint`.
fn from_js_checked(value: Unknown<'_>, index: Option<usize>) -> Result<Event, Error> {
    let value = Js::of(&value);
    let bad = |b: Bad| Error::BadEvent { index, field: b.path, message: b.message };
    let fail = |message: String| bad(Bad::new("", message));
    if value.kind().map_err(fail)? != T::napi_object || value.is_array().map_err(fail)? {
        let shown = match convert::convert(value, "", 0) {
            Ok(Some(v @ (Value::Array(_) | Value::Object(_)))) => convert::json_type(&v).to_string(),
            Ok(Some(v)) => v.to_string(),
            _ => "undefined".to_string(),
        };
        return Err(fail(format!("an event is an object, got {shown}")));
    }
    let keys = value.own_keys().map_err(fail)?;
    let mut fields = Map::new();
    for i in 0..keys.len().map_err(fail)? {
        let key = keys.at(i).map_err(fail)?;
        let name = key.string().map_err(fail)?;
        let item = value.get(key).map_err(|m| bad(Bad::new(&name, m)))?;
        if name == "ts" {
            // `ts` may be a Date or a bigint, which JSON has no form for.
            if item.kind().map_err(fail)? != T::napi_undefined {
                let ts = convert::micros_of(item).map_err(|b| bad(b.within("ts")))?;
                fields.insert(name, Value::from(ts));
            }
        } else if let Some(v) = convert::convert(item, &name, 1).map_err(bad)? {
            fields.insert(name, v);
        }
    }
    Event::from_value(Value::Object(fields)).map_err(|e| match e {
        Error::BadEvent { field, message, .. } => Error::BadEvent { index, field, message },
        other => other,
    })
}
