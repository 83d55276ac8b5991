//! Resolution of raw events against a journey map: touchpoint, phase, department.
//!
//! Built once per map and shared by the tracker and the analytics, so live and offline
//! views of a journey agree. An event's touchpoint is the one that lists its raw name;
//! otherwise it is off-map. Its department is its own, else its touchpoint's owner.

use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::map::JourneyMap;
use crate::vocabulary::{Channel, Department};

/// A journey map indexed for fast lookups.
#[derive(Debug, Clone)]
pub struct Resolver {
    map: JourneyMap,
    by_event: FxHashMap<Arc<str>, u32>,
    phase_of: Vec<u32>,
    touchpoint_ids: Vec<Arc<str>>,
    phase_ids: Vec<Arc<str>>,
}

/// Where one event falls on the map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Resolved {
    /// Index into the map's touchpoints; `None` = off-map.
    pub touchpoint: Option<u32>,
    /// Index into the map's phases.
    pub phase: Option<u32>,
}

impl Resolver {
    /// Indexes a (valid) map. When two touchpoints claim one event (validation reports
    /// it), the first claim wins.
    pub fn new(map: &JourneyMap) -> Self {
        let mut by_event = FxHashMap::default();
        let mut phase_of = Vec::with_capacity(map.touchpoints.len());
        for (i, tp) in map.touchpoints.iter().enumerate() {
            phase_of.push(map.phase_index(&tp.phase).map_or(u32::MAX, |p| p as u32));
            for e in &tp.events {
                by_event.entry(Arc::from(e.as_str())).or_insert(i as u32);
            }
        }
        Resolver {
            map: map.clone(),
            by_event,
            phase_of,
            touchpoint_ids: map.touchpoints.iter().map(|t| Arc::from(t.id.as_str())).collect(),
            phase_ids: map.phases.iter().map(|p| Arc::from(p.id.as_str())).collect(),
        }
    }

    /// The map this resolver indexes.
    pub fn map(&self) -> &JourneyMap {
        &self.map
    }

    /// Resolves a raw event name.
    pub fn resolve(&self, event_name: &str) -> Resolved {
        self.resolve_shared(event_name).0
    }

    /// Resolves a raw event name, also returning the map's shared copy of the name when
    /// the map lists it (so what keeps the name, such as an action's explanation, need not
    /// allocate its own); `None` for an off-map name.
    pub fn resolve_shared(&self, event_name: &str) -> (Resolved, Option<&Arc<str>>) {
        match self.by_event.get_key_value(event_name) {
            Some((name, &tp)) => {
                let phase = self.phase_of[tp as usize];
                (Resolved { touchpoint: Some(tp), phase: (phase != u32::MAX).then_some(phase) }, Some(name))
            }
            None => (Resolved::default(), None),
        }
    }

    /// The touchpoint's id.
    pub fn touchpoint_id(&self, index: u32) -> &Arc<str> {
        &self.touchpoint_ids[index as usize]
    }

    /// The phase's id.
    pub fn phase_id(&self, index: u32) -> &Arc<str> {
        &self.phase_ids[index as usize]
    }

    /// The effective department of an event: its own, else its touchpoint's owner.
    pub fn department<'a>(&'a self, own: Option<&'a Department>, touchpoint: Option<u32>) -> Option<&'a Department> {
        own.or_else(|| touchpoint.and_then(|t| self.map.touchpoints[t as usize].department.as_ref()))
    }

    /// Whether the map plans this channel for the touchpoint (an empty list plans every channel).
    pub fn plans_channel(&self, touchpoint: u32, channel: &Channel) -> bool {
        let planned = &self.map.touchpoints[touchpoint as usize].channels;
        planned.is_empty() || planned.contains(channel)
    }
}
