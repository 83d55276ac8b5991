//! Actions: what waypoints ask the host to do, and why.

use std::sync::Arc;

use journey_core::waypoint::Condition;
use journey_core::{ActionRecord, Explanation, Outcome};
use napi::bindgen_prelude::{ToNapiValue, TypeName, ValueType};
use napi::sys;
use napi_derive::napi;
use serde::Serialize;
use serde_json::{Map, Value};

/// Data of the map an action carries (its condition, its payload), shared with the
/// tracker: converted to a JavaScript object only when handed over (serialised straight
/// to JSON on the JSON paths), not copied once per action on the thread pool.
#[derive(Debug, Clone)]
pub struct JsShared<T>(Arc<T>);

impl<T: Serialize> Serialize for JsShared<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<T: Serialize> ToNapiValue for JsShared<T> {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        let value = serde_json::to_value(&*val.0).map_err(|e| napi::Error::from_reason(e.to_string()))?;
        // SAFETY: the caller's env, on the main thread.
        unsafe { Value::to_napi_value(env, value) }
    }
}

impl<T> TypeName for JsShared<T> {
    fn type_name() -> &'static str {
        "Object"
    }

    fn value_type() -> ValueType {
        ValueType::Object
    }
}

/// Why a waypoint fired: which event, which condition, which deadline.
#[napi(object, js_name = "Explanation", object_from_js = false, use_nullable = true)]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JsExplanation {
    /// For `reached`: the event that matched. For `missed`: the event that armed the
    /// deadline (its `seq`).
    pub event_seq: i64,
    /// That event's raw name.
    pub event: String,
    /// The condition that matched (`reached`) or the trigger that armed the deadline
    /// (`missed`), as written in the map.
    #[napi(ts_type = "Record<string, unknown>")]
    pub condition: JsShared<Condition>,
    /// For deadlines: `[armedAt, due]` in microseconds since the Unix epoch (UTC).
    #[napi(ts_type = "[number, number]")]
    pub deadline: Option<Vec<i64>>,
}

impl From<&Explanation> for JsExplanation {
    fn from(w: &Explanation) -> Self {
        JsExplanation {
            event_seq: w.event_seq as i64,
            event: w.event.to_string(),
            condition: JsShared(w.condition.clone()),
            deadline: w.deadline.map(|(armed_at, due)| vec![armed_at, due]),
        }
    }
}

/// One action of the outbox: a waypoint was reached or missed and asks the host to act.
/// journey-core never executes actions: the host does, then acknowledges them with
/// `tracker.ack(id)`.
#[napi(object, js_name = "Action", object_from_js = false)]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JsAction {
    /// Unique id, for `ack`.
    pub id: String,
    /// The profile it concerns.
    pub profile: i64,
    /// The waypoint that fired.
    pub waypoint: String,
    /// `reached` (its condition matched an event) or `missed` (its deadline passed first).
    #[napi(ts_type = "'reached' | 'missed'")]
    pub outcome: String,
    /// The kind of action: `callback_offer`, `sms`, `coupon`, `chat_offer`... or any
    /// custom kind named in the map.
    pub kind: String,
    /// Data for the host, from the map.
    #[napi(ts_type = "Record<string, unknown>")]
    pub payload: JsShared<Map<String, Value>>,
    /// Event time of the firing, in microseconds since the Unix epoch (UTC); for a missed
    /// deadline, the deadline itself.
    pub ts: i64,
    /// Why it fired.
    pub why: JsExplanation,
}

impl From<&ActionRecord> for JsAction {
    fn from(a: &ActionRecord) -> Self {
        JsAction {
            id: a.id.clone(),
            profile: a.profile.0 as i64,
            waypoint: a.waypoint.to_string(),
            outcome: outcome(a.outcome).to_string(),
            kind: a.kind.as_str().to_string(),
            payload: JsShared(a.payload.clone()),
            ts: a.ts,
            why: JsExplanation::from(&a.why),
        }
    }
}

/// An outcome's name.
pub(crate) fn outcome(o: Outcome) -> &'static str {
    match o {
        Outcome::Reached => "reached",
        Outcome::Missed => "missed",
    }
}

/// Converts a list of actions.
pub(crate) fn actions(list: &[ActionRecord]) -> Vec<JsAction> {
    list.iter().map(JsAction::from).collect()
}

/// An action written as the JSON of its [`JsAction`], straight from the core's record:
/// the JSON paths skip building a `JsAction` and its strings per action. A test holds the
/// two to the same JSON.
struct ActionJson<'a>(&'a ActionRecord);

impl Serialize for ActionJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let a = self.0;
        let mut out = s.serialize_struct("Action", 8)?;
        out.serialize_field("id", &a.id)?;
        out.serialize_field("profile", &(a.profile.0 as i64))?;
        out.serialize_field("waypoint", &*a.waypoint)?;
        out.serialize_field("outcome", outcome(a.outcome))?;
        out.serialize_field("kind", a.kind.as_str())?;
        out.serialize_field("payload", &*a.payload)?;
        out.serialize_field("ts", &a.ts)?;
        out.serialize_field("why", &ExplanationJson(&a.why))?;
        out.end()
    }
}

/// Actions written as the JSON list of their [`JsAction`]s, with no list built.
pub(crate) struct ActionsJson<I>(pub I);

impl<'a, I: Iterator<Item = &'a ActionRecord> + Clone> Serialize for ActionsJson<I> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.clone().map(ActionJson))
    }
}

/// An explanation written as the JSON of its [`JsExplanation`].
struct ExplanationJson<'a>(&'a Explanation);

impl Serialize for ExplanationJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let w = self.0;
        let mut out = s.serialize_struct("Explanation", 4)?;
        out.serialize_field("eventSeq", &(w.event_seq as i64))?;
        out.serialize_field("event", &*w.event)?;
        out.serialize_field("condition", &*w.condition)?;
        out.serialize_field("deadline", &w.deadline.map(|(armed_at, due)| [armed_at, due]))?;
        out.end()
    }
}
