//! Profiles: stitched customers and what the tracker knows about them.
//!
//! A profile's [`ProfileState`] is a small summary kept up to date on every event (level,
//! phases, emotion), so that customer context is cheap; its keys, events, deadlines and
//! caps are kept beside it by the store.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::event::Event;
use crate::identity::{IdentityKey, IdentityLevel};
use crate::time::Micros;

/// A profile's id, allocated by the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProfileId(pub u64);

impl std::fmt::Display for ProfileId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The position of an event in journey order: `(ts, seq)`.
pub type Order = (Micros, u64);

/// An event as stored: its arrival number, its profile and the event itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackedEvent {
    /// Arrival order, strictly increasing across the store.
    pub seq: u64,
    /// The profile it belongs to.
    pub profile: ProfileId,
    /// The event as received.
    #[serde(flatten)]
    pub event: Event,
}

impl TrackedEvent {
    /// Its position in journey order.
    pub fn order(&self) -> Order {
        (self.event.ts, self.seq)
    }
}

/// A shared, immutable stored event (cheap to hand out in customer context).
pub type EventRef = Arc<TrackedEvent>;

/// The running summary of one profile. Phases are indexes into the tracker's map.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ProfileState {
    /// The profile's id.
    pub id: ProfileId,
    /// The highest level among its keys.
    pub level: IdentityLevel,
    /// Number of events.
    pub events: u64,
    /// Earliest event time.
    pub first_ts: Micros,
    /// Latest event in journey order.
    pub latest: Order,
    /// The phase of the latest on-map event, in journey order.
    pub current_phase: Option<u32>,
    /// Journey order of the event that set `current_phase`.
    pub current_order: Order,
    /// The furthest phase ever reached.
    pub furthest_phase: Option<u32>,
    /// Phases reached, as a bit set (phase index < 64).
    pub phases: u64,
    /// Number of rated events.
    pub ratings: u32,
    /// Sum of normalised ratings.
    pub rating_sum: f64,
    /// Lowest normalised rating (meaningful when `ratings > 0`).
    pub rating_min: f64,
    /// The latest rating in journey order, with its order.
    pub last_rating: Option<(Order, f64)>,
}

impl ProfileState {
    /// An empty profile at a level.
    pub fn new(id: ProfileId, level: IdentityLevel) -> Self {
        ProfileState {
            id,
            level,
            events: 0,
            first_ts: Micros::MAX,
            latest: (Micros::MIN, 0),
            current_phase: None,
            current_order: (Micros::MIN, 0),
            furthest_phase: None,
            phases: 0,
            ratings: 0,
            rating_sum: 0.0,
            rating_min: f64::INFINITY,
            last_rating: None,
        }
    }

    /// Adds one event, resolved to `phase`, with its normalised `emotion`.
    pub fn add(&mut self, order: Order, phase: Option<u32>, emotion: Option<f64>) {
        self.events += 1;
        self.first_ts = self.first_ts.min(order.0);
        self.latest = self.latest.max(order);
        if let Some(p) = phase {
            if order >= self.current_order {
                self.current_phase = Some(p);
                self.current_order = order;
            }
            self.furthest_phase = Some(self.furthest_phase.map_or(p, |f| f.max(p)));
            if p < 64 {
                self.phases |= 1 << p;
            }
        }
        if let Some(x) = emotion {
            self.ratings += 1;
            self.rating_sum += x;
            self.rating_min = self.rating_min.min(x);
            if self.last_rating.is_none_or(|(o, _)| order >= o) {
                self.last_rating = Some((order, x));
            }
        }
    }

    /// Folds another profile's summary into this one (a merge); keeps this id.
    pub fn absorb(&mut self, other: &ProfileState) {
        self.level = self.level.max(other.level);
        self.events += other.events;
        self.first_ts = self.first_ts.min(other.first_ts);
        self.latest = self.latest.max(other.latest);
        if other.current_phase.is_some() && other.current_order >= self.current_order {
            self.current_phase = other.current_phase;
            self.current_order = other.current_order;
        }
        self.furthest_phase = self.furthest_phase.max(other.furthest_phase);
        self.phases |= other.phases;
        self.ratings += other.ratings;
        self.rating_sum += other.rating_sum;
        self.rating_min = self.rating_min.min(other.rating_min);
        if let Some((o, x)) = other.last_rating
            && self.last_rating.is_none_or(|(mine, _)| o >= mine)
        {
            self.last_rating = Some((o, x));
        }
    }

    /// Whether phase `index` was reached.
    pub fn reached(&self, index: u32) -> bool {
        index < 64 && self.phases & (1 << index) != 0
    }

    /// Mean normalised rating, if rated.
    pub fn rating_mean(&self) -> Option<f64> {
        (self.ratings > 0).then(|| self.rating_sum / self.ratings as f64)
    }
}

/// What happened to one identity link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkOutcome {
    /// A new key joined an existing profile.
    Joined,
    /// Two profiles were merged into one.
    Merged,
    /// The keys were already in one profile.
    Already,
    /// Refused: it would break an identity limit (see the conflicts).
    Refused,
    /// A link removed by `unlink`.
    Removed,
}

/// One entry of the append-only log of links and merges.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkEntry {
    /// One key.
    pub a: IdentityKey,
    /// The other key.
    pub b: IdentityKey,
    /// Event time of the link.
    pub ts: Micros,
    /// The event that carried both keys, if it came from an event.
    pub event_seq: Option<u64>,
    /// What happened.
    pub outcome: LinkOutcome,
    /// For a merge: the profile that was absorbed.
    pub absorbed: Option<ProfileId>,
    /// The profile that kept the keys (for a removal: the profile of `a` afterwards).
    pub profile: ProfileId,
}

/// A link refused because it would break an identity limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conflict {
    /// The key whose profile the link would have extended.
    pub key: IdentityKey,
    /// The key that could not be linked.
    pub other: IdentityKey,
    /// Event time.
    pub ts: Micros,
    /// The event that carried both keys, if any.
    pub event_seq: Option<u64>,
    /// The key kind whose limit would be broken; `*` for
    /// [`Limits::keys_per_profile`](crate::Limits::keys_per_profile), which counts keys of all kinds.
    pub kind: String,
    /// The limit.
    pub limit: usize,
    /// Why, in words.
    pub message: String,
}
