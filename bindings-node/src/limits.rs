//! Limits on untrusted input (the core's `limits` module), as tracker options.

use journey_core::Limits;
use napi_derive::napi;
use serde::Deserialize;

/// Limits on untrusted input; every field is optional and keeps journey-core's default.
/// A value equal to its limit is accepted. An event or batch over one is refused with
/// `E_LIMIT` (naming the limit in snake case, e.g. `event_name_len`, its `max`, the
/// `value` found and the `field`); a map over one with `E_VALIDATION` (a
/// `limit_exceeded` problem).
#[napi(object, js_name = "Limits", object_from_js = false, object_to_js = false)]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct JsLimits {
    /// Bytes of one identity key (default 256).
    #[napi(ts_type = "number")]
    pub key_len: Option<usize>,
    /// Bytes of an event's name, channel and department (default 256).
    #[napi(ts_type = "number")]
    pub event_name_len: Option<usize>,
    /// Identity keys per event (default 32).
    #[napi(ts_type = "number")]
    pub keys_per_event: Option<usize>,
    /// Top-level properties per event (default 256).
    #[napi(ts_type = "number")]
    pub properties_per_event: Option<usize>,
    /// Bytes of one top-level property name (default 256).
    #[napi(ts_type = "number")]
    pub property_name_len: Option<usize>,
    /// Bytes of one top-level property value, as compact JSON (default 65536).
    #[napi(ts_type = "number")]
    pub property_value_len: Option<usize>,
    /// Nesting depth of an event's properties; `{a: 1}` is 1 deep (default 32).
    #[napi(ts_type = "number")]
    pub property_depth: Option<usize>,
    /// Events per batch (default 10000).
    #[napi(ts_type = "number")]
    pub batch_size: Option<usize>,
    /// Identity keys per profile, all kinds together; a link past it is refused and
    /// recorded as a conflict of kind `*` (default 1000).
    #[napi(ts_type = "number")]
    pub keys_per_profile: Option<usize>,
    /// Phases per map (default 100).
    #[napi(ts_type = "number")]
    pub map_phases: Option<usize>,
    /// Touchpoints per map (default 2000).
    #[napi(ts_type = "number")]
    pub map_touchpoints: Option<usize>,
    /// Waypoints per map (default 500).
    #[napi(ts_type = "number")]
    pub map_waypoints: Option<usize>,
    /// Nesting depth of one condition (default 32).
    #[napi(ts_type = "number")]
    pub condition_depth: Option<usize>,
    /// Nodes of one condition (default 1000).
    #[napi(ts_type = "number")]
    pub condition_nodes: Option<usize>,
}

impl JsLimits {
    /// The core's limits: the given fields over the defaults.
    pub(crate) fn into_core(self) -> Limits {
        let d = Limits::default();
        Limits {
            key_len: self.key_len.unwrap_or(d.key_len),
            event_name_len: self.event_name_len.unwrap_or(d.event_name_len),
            keys_per_event: self.keys_per_event.unwrap_or(d.keys_per_event),
            properties_per_event: self.properties_per_event.unwrap_or(d.properties_per_event),
            property_name_len: self.property_name_len.unwrap_or(d.property_name_len),
            property_value_len: self.property_value_len.unwrap_or(d.property_value_len),
            property_depth: self.property_depth.unwrap_or(d.property_depth),
            batch_size: self.batch_size.unwrap_or(d.batch_size),
            keys_per_profile: self.keys_per_profile.unwrap_or(d.keys_per_profile),
            map_phases: self.map_phases.unwrap_or(d.map_phases),
            map_touchpoints: self.map_touchpoints.unwrap_or(d.map_touchpoints),
            map_waypoints: self.map_waypoints.unwrap_or(d.map_waypoints),
            condition_depth: self.condition_depth.unwrap_or(d.condition_depth),
            condition_nodes: self.condition_nodes.unwrap_or(d.condition_nodes),
        }
    }
}
