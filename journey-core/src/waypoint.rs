//! Waypoints as data: moments of opportunity in a journey and what to do about them.
//!
//! A waypoint is *reached* when an event matches its `condition`. With `within`, it is
//! armed by a `trigger` event and *missed* when its condition has not matched by the
//! deadline: the "no checkout 30 minutes after a cart change" case. Either outcome asks
//! the host for [`Action`]s; the library records them, the host executes them.
//!
//! ```json
//! {"id": "cart-abandoned",
//!  "trigger": {"any": [{"event": "cart_add"}, {"event": "cart_remove"}]},
//!  "condition": {"touchpoint": "checkout"},
//!  "within": "30m", "rearm": true,
//!  "on_missed": [{"kind": "callback_offer", "payload": {"script": "cart"}}],
//!  "cap": "once_per_profile"}
//! ```

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::identity::IdentityLevel;
use crate::time::Duration;
use crate::vocabulary::{ActionKind, Channel, Department};

/// A test on an event and the profile it belongs to, combined with `all` / `any` / `not`.
///
/// In JSON each node is an object with one key: `{"touchpoint": "checkout"}`,
/// `{"property": {"name": "cart_value", "op": ">", "value": 100}}`, `{"all": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Condition {
    /// The event resolves to this touchpoint (by id).
    Touchpoint(String),
    /// The event's raw name is exactly this.
    Event(String),
    /// The event's touchpoint is in this phase (by id).
    Phase(String),
    /// The event happened on this channel.
    Channel(Channel),
    /// The event was handled by this department (its own, else its touchpoint's owner).
    Department(Department),
    /// The profile's identity level is exactly this.
    Level(IdentityLevel),
    /// A comparison on one of the event's properties.
    Property(PropertyTest),
    /// Every sub-condition holds (true when empty is refused by validation).
    All(Vec<Condition>),
    /// At least one sub-condition holds.
    Any(Vec<Condition>),
    /// The sub-condition does not hold.
    Not(Box<Condition>),
}

/// A comparison of an event property with a value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PropertyTest {
    /// The property's name; dots reach into nested objects (`cart.total`).
    pub name: String,
    /// The comparison.
    pub op: Op,
    /// The value compared with; absent only for `exists`. For `in`, an array. A JSON
    /// `null` is a value (`{"name": "x", "op": "=", "value": null}` tests for null), not
    /// an absent one.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "present")]
    pub value: Option<Value>,
}

/// A field that is present is `Some`, even when it is `null`; an absent one is `None`
/// (through `#[serde(default)]`).
fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

/// The comparison operators of [`PropertyTest`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum Op {
    /// Equal (`=`).
    #[serde(rename = "=")]
    Eq,
    /// Not equal (`!=`).
    #[serde(rename = "!=")]
    Ne,
    /// Less than (`<`), numbers or strings.
    #[serde(rename = "<")]
    Lt,
    /// Less than or equal (`<=`).
    #[serde(rename = "<=")]
    Le,
    /// Greater than (`>`).
    #[serde(rename = ">")]
    Gt,
    /// Greater than or equal (`>=`).
    #[serde(rename = ">=")]
    Ge,
    /// The property equals one of the values of an array (`in`).
    #[serde(rename = "in")]
    In,
    /// The property is present (`exists`), whatever its value.
    #[serde(rename = "exists")]
    Exists,
    /// A string property contains a substring, or an array property contains a value (`contains`).
    #[serde(rename = "contains")]
    Contains,
}

impl Op {
    /// The operator as written in maps.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::In => "in",
            Op::Exists => "exists",
            Op::Contains => "contains",
        }
    }
}

/// What the host is asked to do when a waypoint is reached or missed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Action {
    /// The kind of action: a well-known kind (`callback_offer`, `sms`, `popup`, `coupon`,
    /// `agent_connect`, `crm_update`, `route_to_queue`...) or a custom one.
    pub kind: ActionKind,
    /// Free-form data for the host (a script, a coupon code, a queue name), a JSON object.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub payload: serde_json::Map<String, Value>,
}

/// How often a waypoint may fire for one profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Cap {
    /// Every time it is reached or missed.
    #[default]
    Unlimited,
    /// At most once per profile, ever.
    OncePerProfile,
    /// At most once per profile within this period.
    Cooldown(Duration),
}

/// A waypoint definition, part of a journey map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Waypoint {
    /// Unique id within the map.
    pub id: String,
    /// A readable name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// What the moment means for the business.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Reached when an event matches this condition.
    pub condition: Condition,
    /// Arms the deadline (required with `within`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<Condition>,
    /// After the trigger, the condition must match within this time, or the waypoint is missed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within: Option<Duration>,
    /// Whether a repeat of the trigger restarts an armed deadline (default true).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub rearm: bool,
    /// Disarms an armed deadline without firing anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit: Option<Condition>,
    /// Actions when the condition matches.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub on_reached: Vec<Action>,
    /// Actions when the deadline passes first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub on_missed: Vec<Action>,
    /// How often it may fire per profile.
    #[serde(default, skip_serializing_if = "is_default_cap")]
    pub cap: Cap,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

fn is_default_cap(cap: &Cap) -> bool {
    *cap == Cap::Unlimited
}

impl Condition {
    /// Visits this node and every node below it, with its path relative to this node
    /// (`""`, `.all[1]`, `.all[1].not`).
    pub fn walk(&self, path: &str, visit: &mut dyn FnMut(&str, &Condition)) {
        visit(path, self);
        match self {
            Condition::All(items) | Condition::Any(items) => {
                let key = if matches!(self, Condition::All(_)) { "all" } else { "any" };
                for (i, item) in items.iter().enumerate() {
                    item.walk(&format!("{path}.{key}[{i}]"), visit);
                }
            }
            Condition::Not(inner) => inner.walk(&format!("{path}.not"), visit),
            _ => {}
        }
    }
}
