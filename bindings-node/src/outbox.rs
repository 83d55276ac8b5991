//! Actions: what waypoints ask the host to do, and why.

use journey_core::{ActionRecord, Explanation, Outcome};
use napi_derive::napi;
use serde::Serialize;
use serde_json::{Map, Value};

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
    pub condition: Value,
    /// For deadlines: `[armedAt, due]` in microseconds since the Unix epoch (UTC).
    #[napi(ts_type = "[number, number]")]
    pub deadline: Option<Vec<i64>>,
}

impl From<&Explanation> for JsExplanation {
    fn from(w: &Explanation) -> Self {
        JsExplanation {
            event_seq: w.event_seq as i64,
            event: w.event.to_string(),
            condition: serde_json::to_value(&*w.condition).unwrap_or(Value::Null),
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
    pub payload: Map<String, Value>,
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
            payload: (*a.payload).clone(),
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
