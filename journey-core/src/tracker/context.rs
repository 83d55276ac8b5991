//! What the tracker answers about one customer: context for an agent or an IVR, and
//! where their next interaction should go.

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use super::Tracker;
use crate::condition::Subject;
use crate::error::{Error, Result};
use crate::identity::{IdentityKey, IdentityLevel};
use crate::profile::{Conflict, EventRef, ProfileId, ProfileState};
use crate::store::Deadline;
use crate::time::Micros;

/// Everything an agent or an IVR needs about a customer, at once.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Context {
    /// The profile.
    pub profile: ProfileId,
    /// All its keys.
    pub keys: Vec<IdentityKey>,
    /// How well it is known.
    pub level: IdentityLevel,
    /// The assigned persona.
    pub persona: Option<String>,
    /// The phase of the latest on-map event.
    pub current_phase: Option<Arc<str>>,
    /// The furthest phase reached.
    pub furthest_phase: Option<Arc<str>>,
    /// Every phase reached, in map order.
    pub phases_reached: Vec<Arc<str>>,
    /// Number of events.
    pub events: u64,
    /// Time of the first event.
    pub first_ts: Option<Micros>,
    /// Time of the latest event.
    pub last_ts: Option<Micros>,
    /// The latest events across all channels, oldest first.
    pub recent: Vec<EventRef>,
    /// Touchpoints and property values seen recently, most recent first.
    pub interests: Vec<Interest>,
    /// How the customer has felt.
    pub emotion: EmotionTrend,
    /// Armed waypoint deadlines.
    pub open_waypoints: Vec<Deadline>,
    /// Identity conflicts involving its keys.
    pub conflicts: Vec<Conflict>,
}

/// Something a customer showed interest in recently.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Interest {
    /// A touchpoint id, or `property=value` for an interest property.
    pub what: Arc<str>,
    /// How many of the recent events show it.
    pub count: u32,
    /// When it was last seen.
    pub last_ts: Micros,
}

/// The emotion of a profile over time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmotionTrend {
    /// Number of rated events.
    pub ratings: u32,
    /// Mean normalised rating.
    pub mean: Option<f64>,
    /// Lowest rating.
    pub lowest: Option<f64>,
    /// Latest rating.
    pub last: Option<f64>,
    /// The ratings among the recent events, oldest first: `(ts, emotion)`.
    pub recent: Vec<(Micros, f64)>,
}

/// Where an interaction should go, from the map's routing rules.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Route {
    /// The rule that matched.
    pub rule: String,
    /// The queue.
    pub queue: String,
    /// The department owning the queue.
    pub department: Option<crate::vocabulary::Department>,
    /// The priority in the queue (lower first).
    pub priority: i64,
}

impl Tracker {
    /// Customer context for any key of a profile; `None` for an unknown key.
    pub fn context(&self, key: &IdentityKey) -> Result<Option<Context>> {
        self.read(|tx| {
            let Some(id) = tx.key_profile(key)? else { return Ok(None) };
            let state = tx.profile(id)?.ok_or_else(|| Error::Storage { message: format!("profile {id} vanished"), source: None })?;
            let keys = tx.keys_of(id)?;
            let recent = tx.events_of(id, Some(self.config.recent_events))?;
            let conflicts = tx.conflicts_of(&keys)?;
            Ok(Some(Context {
                profile: id,
                level: state.level,
                persona: tx.persona(id)?,
                current_phase: state.current_phase.map(|p| self.resolver.phase_id(p).clone()),
                furthest_phase: state.furthest_phase.map(|p| self.resolver.phase_id(p).clone()),
                phases_reached: self.phases_reached(&state),
                events: state.events,
                first_ts: (state.events > 0).then_some(state.first_ts),
                last_ts: (state.events > 0).then_some(state.latest.0),
                interests: self.interests(&recent),
                emotion: EmotionTrend {
                    ratings: state.ratings,
                    mean: state.rating_mean(),
                    lowest: (state.ratings > 0).then_some(state.rating_min),
                    last: state.last_rating.map(|(_, x)| x),
                    recent: recent.iter().filter_map(|e| e.event.emotion().map(|x| (e.event.ts, x))).collect(),
                },
                open_waypoints: tx.deadlines_of(id)?,
                recent,
                keys,
                conflicts,
            }))
        })
    }

    fn phases_reached(&self, state: &ProfileState) -> Vec<Arc<str>> {
        let mut reached = Vec::with_capacity(state.phases.count_ones() as usize);
        reached.extend((0..self.resolver.map().phases.len() as u32).filter(|&p| state.reached(p)).map(|p| self.resolver.phase_id(p).clone()));
        reached
    }

    /// Touchpoints and interest-property values of the recent events, most recently seen
    /// first (ties: in the order the latest event lists them). A short list, so a linear
    /// search over touchpoint indexes beats a map, and walking newest-first needs no sort.
    /// Both lists are sized up front: `context` runs on every call or page view.
    fn interests(&self, recent: &[EventRef]) -> Vec<Interest> {
        let mut list: Vec<Interest> = Vec::with_capacity(recent.len());
        // The touchpoint of each interest in `list` (`None`: a property value), beside it.
        let mut touchpoints: Vec<Option<u32>> = Vec::with_capacity(recent.len());
        for e in recent.iter().rev() {
            let ts = e.event.ts;
            if let Some(t) = self.resolver.resolve(&e.event.name).touchpoint {
                match touchpoints.iter().position(|k| *k == Some(t)) {
                    Some(at) => list[at].count += 1,
                    None => {
                        touchpoints.push(Some(t));
                        list.push(Interest { what: self.resolver.touchpoint_id(t).clone(), count: 1, last_ts: ts });
                    }
                }
            }
            if e.event.properties.is_empty() {
                continue;
            }
            for name in &self.config.interest_properties {
                if let Some(Value::String(v)) = e.event.properties.get(name) {
                    let same = |i: &Interest| i.what.len() == name.len() + 1 + v.len() && i.what.starts_with(name.as_str()) && i.what.as_bytes()[name.len()] == b'=' && i.what.ends_with(v.as_str());
                    match touchpoints.iter().zip(&list).position(|(k, i)| k.is_none() && same(i)) {
                        Some(at) => list[at].count += 1,
                        None => {
                            touchpoints.push(None);
                            list.push(Interest { what: Arc::from(format!("{name}={v}")), count: 1, last_ts: ts });
                        }
                    }
                }
            }
        }
        list
    }

    /// Routes a customer's next interaction: the first routing rule of the map that matches
    /// the profile (see [`crate::map::RoutingRule`] for what a rule sees). `None` for an
    /// unknown key or when no rule matches.
    pub fn route(&self, key: &IdentityKey) -> Result<Option<Route>> {
        self.read(|tx| {
            let Some(id) = tx.key_profile(key)? else { return Ok(None) };
            let Some(state) = tx.profile(id)? else { return Ok(None) };
            let latest = tx.events_of(id, Some(1))?;
            let empty = crate::event::Event::new(0, key.clone(), "", crate::vocabulary::Channel::Custom(String::new()));
            let event = latest.first().map_or(&empty, |e| &e.event);
            let mut properties = event.properties.clone();
            properties.insert(
                "profile".into(),
                serde_json::json!({
                    "emotion_last": state.last_rating.map(|(_, x)| x),
                    "emotion_mean": state.rating_mean(),
                    "emotion_lowest": (state.ratings > 0).then_some(state.rating_min),
                    "events": state.events,
                    "furthest_phase": state.furthest_phase,
                }),
            );
            let resolved = self.resolver.resolve(&event.name);
            let subject = Subject {
                name: &event.name,
                touchpoint: resolved.touchpoint.map(|t| t as usize),
                phase: state.current_phase.map(|p| p as usize),
                channel: &event.channel,
                department: self.resolver.department(event.department.as_ref(), resolved.touchpoint),
                level: state.level,
                properties: &properties,
            };
            Ok(self.routing.iter().find(|(_, when)| when.as_ref().is_none_or(|c| c.matches(&subject))).map(|(rule, _)| Route {
                rule: rule.id.clone(),
                queue: rule.queue.clone(),
                department: rule.department.clone(),
                priority: rule.priority,
            }))
        })
    }
}
