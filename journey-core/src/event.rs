//! Events: interactions from any channel, as they are tracked.
//!
//! An event carries its time (microseconds since the Unix epoch, UTC), one or more
//! identity keys, the raw event name, the channel, optionally the department that handled
//! it and an emotion rating, and free-form properties. In JSON:
//!
//! ```json
//! {"ts": 1736121762854513, "keys": ["session:8f3a", "phone:+34600000000"],
//!  "event": "callback_requested", "channel": "web", "department": "sales",
//!  "rating": {"csat": 4}, "properties": {"cart_value": 129.9}}
//! ```
//!
//! A bad event is rejected with [`Error::BadEvent`], naming the field; in a batch, also the
//! index of the bad event. An event larger than the [`Limits`] allow is rejected with
//! [`Error::Limit`], naming the limit, its maximum, the value found and the field.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::emotion::Rating;
use crate::error::{Error, Result};
use crate::identity::IdentityKey;
use crate::limits::{Limits, json_depth, json_len, json_measure};
use crate::time::Micros;
use crate::vocabulary::{Channel, Department};

/// The longest raw event name accepted by default, in bytes (the default of
/// [`Limits::event_name_len`]).
pub const MAX_NAME_LEN: usize = 256;

/// One interaction, as reported by a channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// When it happened: microseconds since the Unix epoch, UTC.
    pub ts: Micros,
    /// Every identity key the interaction carried; several keys link them.
    pub keys: Vec<IdentityKey>,
    /// The raw event name (`add_to_cart`, `support_call`...).
    #[serde(rename = "event")]
    pub name: String,
    /// The channel it happened on.
    pub channel: Channel,
    /// The department that handled it, if known (else its touchpoint's owner applies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<Department>,
    /// How the customer felt, in any accepted scale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<Rating>,
    /// Free-form data (a JSON object).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub properties: Map<String, Value>,
}

impl Event {
    /// A new event with one key and no department, rating or properties.
    pub fn new(ts: Micros, key: IdentityKey, name: impl Into<String>, channel: impl Into<Channel>) -> Self {
        Event { ts, keys: vec![key], name: name.into(), channel: channel.into(), department: None, rating: None, properties: Map::new() }
    }

    /// Adds another identity key (linking it with the others).
    pub fn with_key(mut self, key: IdentityKey) -> Self {
        self.keys.push(key);
        self
    }

    /// Sets the handling department.
    pub fn with_department(mut self, department: impl Into<Department>) -> Self {
        self.department = Some(department.into());
        self
    }

    /// Sets the emotion rating.
    pub fn with_rating(mut self, rating: Rating) -> Self {
        self.rating = Some(rating);
        self
    }

    /// Sets a property.
    pub fn with_property(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.properties.insert(name.into(), value.into());
        self
    }

    /// Parses one event from JSON; errors name the field. Checks what
    /// [`Event::check_with`] checks except the size [`Limits`], which are the consumer's
    /// (a tracker applies its own); call [`Event::check_with`] for them.
    pub fn from_json(text: &str) -> Result<Self> {
        let de = &mut serde_json::Deserializer::from_str(text);
        let event: Event = serde_path_to_error::deserialize(de).map_err(malformed)?;
        event.check_with(&Limits::unlimited())?;
        Ok(event)
    }

    /// Parses an event from a JSON value; errors name the field. Like [`Event::from_json`],
    /// the size [`Limits`] are left to the consumer.
    pub fn from_value(value: Value) -> Result<Self> {
        let event: Event = serde_path_to_error::deserialize(value).map_err(malformed)?;
        event.check_with(&Limits::unlimited())?;
        Ok(event)
    }

    /// The event as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("an event always serialises")
    }

    /// Checks what the types cannot, under the default [`Limits`]: see [`Event::check_with`].
    pub fn check(&self) -> Result<()> {
        self.check_with(&Limits::default())
    }

    /// Checks what the types cannot: at least one key, a non-empty name and channel, a
    /// rating within its scale ([`Error::BadEvent`]); and the sizes the `limits` bound:
    /// keys per event and their length, the length of the name, channel and department,
    /// the number of properties, the length of their names, the size and nesting depth of
    /// their values ([`Error::Limit`]).
    pub fn check_with(&self, limits: &Limits) -> Result<()> {
        if self.keys.is_empty() {
            return Err(bad(None, "keys", "an event needs at least one identity key".into()));
        }
        if self.keys.len() > limits.keys_per_event {
            return Err(Error::limit("keys_per_event", limits.keys_per_event, self.keys.len(), "keys"));
        }
        for (i, key) in self.keys.iter().enumerate() {
            if key.as_str().len() > limits.key_len {
                return Err(Error::limit("key_len", limits.key_len, key.as_str().len(), format!("keys[{i}]")));
            }
        }
        if self.name.len() > limits.event_name_len {
            return Err(Error::limit("event_name_len", limits.event_name_len, self.name.len(), "event"));
        }
        if self.name.trim().is_empty() {
            return Err(bad(None, "event", "the event name must not be empty".into()));
        }
        let channel = self.channel.as_str();
        if channel.len() > limits.event_name_len {
            return Err(Error::limit("event_name_len", limits.event_name_len, channel.len(), "channel"));
        }
        if channel.is_empty() {
            return Err(bad(None, "channel", "the channel must not be empty".into()));
        }
        if let Some(department) = &self.department
            && department.as_str().len() > limits.event_name_len
        {
            return Err(Error::limit("event_name_len", limits.event_name_len, department.as_str().len(), "department"));
        }
        if let Some(rating) = &self.rating {
            rating.normalize().map_err(|e| bad(None, "rating", e.to_string()))?;
        }
        check_properties(&self.properties, limits)
    }

    /// The normalised emotion of its rating, if rated.
    pub fn emotion(&self) -> Option<f64> {
        self.rating.and_then(|r| r.normalize().ok()).map(|e| e.value())
    }
}

/// The property checks of [`Event::check_with`]: how many, how long their names, how
/// deep and how large their values.
fn check_properties(properties: &Map<String, Value>, limits: &Limits) -> Result<()> {
    if properties.len() > limits.properties_per_event {
        return Err(Error::limit("properties_per_event", limits.properties_per_event, properties.len(), "properties"));
    }
    let unbounded = limits.property_depth == usize::MAX && limits.property_value_len == usize::MAX;
    for (name, value) in properties {
        if name.len() > limits.property_name_len {
            return Err(Error::limit("property_name_len", limits.property_name_len, name.len(), "properties"));
        }
        // `properties` itself is the first level; depth and size are measured in one
        // pass, which stops below the depth limit (the exact depth is counted only then).
        let field = || format!("properties.{name}");
        if unbounded {
            continue;
        }
        if limits.property_depth == 0 {
            return Err(Error::limit("property_depth", 0, 1 + json_depth(value, usize::MAX), field()));
        }
        match json_measure(value, limits.property_depth.saturating_sub(1)) {
            // The bound may count numbers long: measure exactly before refusing.
            Some((_, bound)) if bound > limits.property_value_len => {
                let len = json_len(value);
                if len > limits.property_value_len {
                    return Err(Error::limit("property_value_len", limits.property_value_len, len, field()));
                }
            }
            Some(_) => {}
            None => return Err(Error::limit("property_depth", limits.property_depth, 1 + json_depth(value, usize::MAX), field())),
        }
    }
    Ok(())
}

/// Checks a whole batch under the default [`Limits`]: see [`check_batch_with`].
pub fn check_batch(events: &[Event]) -> Result<()> {
    check_batch_with(events, &Limits::default())
}

/// Checks a whole batch before anything of it is applied: its size, then each event
/// ([`Event::check_with`]); an event's error names its index.
pub fn check_batch_with(events: &[Event], limits: &Limits) -> Result<()> {
    if events.len() > limits.batch_size {
        return Err(Error::limit("batch_size", limits.batch_size, events.len(), "events"));
    }
    check_each_with(events, limits)
}

/// Checks every event of a sequence of any length (a log, not a batch): the first bad one
/// is named by its index.
pub(crate) fn check_each_with(events: &[Event], limits: &Limits) -> Result<()> {
    for (i, event) in events.iter().enumerate() {
        event.check_with(limits).map_err(|e| e.at_index(i))?;
    }
    Ok(())
}

/// Parses a JSON array of events, or one event per line (JSON Lines); errors name the index.
pub fn parse_batch(text: &str) -> Result<Vec<Event>> {
    let trimmed = text.trim_start();
    let values: Vec<Value> = if trimmed.starts_with('[') {
        serde_json::from_str(trimmed).map_err(|e| bad(None, "", format!("not a JSON array of events: {e}")))?
    } else {
        let mut values = Vec::new();
        for (i, line) in text.lines().filter(|l| !l.trim().is_empty()).enumerate() {
            values.push(serde_json::from_str(line).map_err(|e| bad(Some(i), "", format!("not JSON: {e}")))?);
        }
        values
    };
    values.into_iter().enumerate().map(|(i, v)| Event::from_value(v).map_err(|e| e.at_index(i))).collect()
}

/// A JSON event that does not parse: the field at fault, or the whole event.
fn malformed(e: serde_path_to_error::Error<serde_json::Error>) -> Error {
    bad(None, &crate::error::json_path(e.path()).unwrap_or_default(), e.inner().to_string())
}

fn bad(index: Option<usize>, field: &str, message: String) -> Error {
    // serde_path_to_error names the root `.`: a missing field is a problem of the whole event.
    let field = if field == "." { "" } else { field };
    Error::BadEvent { index, field: field.to_string(), message }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(text: &str) -> String {
        match Event::from_json(text) {
            Err(Error::BadEvent { field, .. }) => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_events_name_their_field() {
        let ok = r#"{"ts": 1, "keys": ["session:a"], "event": "view", "channel": "web"}"#;
        assert!(Event::from_json(ok).is_ok());
        assert_eq!(field_of(r#"{"ts": 1, "keys": [], "event": "view", "channel": "web"}"#), "keys");
        assert_eq!(field_of(r#"{"ts": 1, "keys": ["session:a"], "event": " ", "channel": "web"}"#), "event");
        assert_eq!(field_of(r#"{"ts": 1, "keys": ["nocolon"], "event": "v", "channel": "web"}"#), "keys[0]");
        assert_eq!(field_of(r#"{"ts": 1, "keys": ["session:a"], "event": "v", "channel": "web", "rating": {"csat": 9}}"#), "rating");
        assert_eq!(field_of(r#"{"ts": 1, "keys": ["session:a"], "event": "v", "channel": "web", "properties": [1]}"#), "properties");
        assert_eq!(field_of(r#"{"ts": 1, "keys": ["session:a"], "event": "v", "channel": "web", "colour": 1}"#), "colour");
        assert_eq!(field_of(r#"{"ts": "x", "keys": ["session:a"], "event": "v", "channel": "web"}"#), "ts");
        assert_eq!(field_of(r#"{"keys": ["session:a"], "event": "v", "channel": "web"}"#), "", "a missing field names the whole event");
        assert_eq!(field_of("{not json"), "", "text that is not JSON names the whole event");
    }

    #[test]
    fn batches_name_the_bad_index() {
        let text = "{\"ts\": 1, \"keys\": [\"session:a\"], \"event\": \"v\", \"channel\": \"web\"}\n{\"ts\": 2, \"keys\": [], \"event\": \"v\", \"channel\": \"web\"}\n";
        match parse_batch(text) {
            Err(Error::BadEvent { index: Some(1), field, .. }) => assert_eq!(field, "keys"),
            other => panic!("{other:?}"),
        }
        let events = parse_batch("[{\"ts\": 1, \"keys\": [\"session:a\"], \"event\": \"v\", \"channel\": \"web\"}]").unwrap();
        assert_eq!(events.len(), 1);
        let round = Event::from_json(&events[0].to_json()).unwrap();
        assert_eq!(round, events[0]);
    }
}
