//! The tracker: interactions in, one journey per customer, waypoints fired, context out.
//!
//! ```
//! use journey_core::{Event, IdentityKey, MapDocument, Tracker, TrackerConfig};
//! let doc = MapDocument::load(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/maps/shop.json")).unwrap();
//! let tracker = Tracker::new(&doc, TrackerConfig::default()).unwrap();
//! let session = IdentityKey::parse("session:abc").unwrap();
//! tracker.track(Event::new(1_000_000, session.clone(), "product_view", "web")).unwrap();
//! tracker.track(Event::new(2_000_000, session.clone(), "add_to_cart", "web")).unwrap();
//! let context = tracker.context(&session).unwrap().unwrap();
//! assert_eq!(context.current_phase.as_deref(), Some("consideration"));
//! ```
//!
//! Time is event time: every event first advances the tracker's clock to its timestamp,
//! firing the deadlines that fell due strictly before it; [`Tracker::advance`] does the
//! same for a clock reading (use [`Ticker`] to drive it from the wall clock). So replaying
//! a log fires exactly what live traffic fired ([`backtest`]).

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::condition::{Compiled, Subject};
use crate::error::{Error, Result};
use crate::event::{Event, check_batch_with, check_each_with};
use crate::identity::{IdentityKey, IdentityLevel, IdentityRules};
use crate::limits::Limits;
use crate::map::MapDocument;
use crate::outbox::ActionRecord;
use crate::profile::{Conflict, EventRef, LinkEntry, LinkOutcome, ProfileId, ProfileState, TrackedEvent};
use crate::resolve::Resolver;
use crate::stitch::{self, Origin};
use crate::store::{MemoryStore, Store, Tx};
use crate::time::Micros;

mod clock;
mod context;
mod waypoints;

pub use clock::{Clock, ManualClock, SystemClock, Ticker, now_micros};
pub use context::{Context, EmotionTrend, Interest, Route};
use waypoints::{Armable, Name};

/// How a tracker behaves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrackerConfig {
    /// The map to track against (by id); the document's first map when `None`.
    pub map: Option<String>,
    /// Identity levels and merge limits.
    pub identity: IdentityRules,
    /// How many recent events customer context returns.
    pub recent_events: usize,
    /// Event properties whose values count as interests in customer context (e.g. the
    /// topic a customer read about).
    pub interest_properties: Vec<String>,
    /// Limits on the size of events, batches, profiles and the map (see [`Limits`]).
    pub limits: Limits,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        TrackerConfig {
            map: None,
            identity: IdentityRules::default(),
            recent_events: 20,
            interest_properties: vec!["topic".into(), "product".into(), "category".into()],
            limits: Limits::default(),
        }
    }
}

/// What tracking one event did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tracked {
    /// The event's arrival number.
    pub seq: u64,
    /// The profile it landed on.
    pub profile: ProfileId,
    /// Its touchpoint id, or `None` if off-map.
    pub touchpoint: Option<Arc<str>>,
    /// Its phase id.
    pub phase: Option<Arc<str>>,
    /// Actions fired while tracking it (due deadlines first, then this event's waypoints).
    pub actions: Vec<ActionRecord>,
}

/// A filter for listing profiles (all conditions must hold).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProfileFilter {
    /// Reached this phase (by id).
    pub reached: Option<String>,
    /// Has not reached this phase.
    pub not_reached: Option<String>,
    /// Is currently in this phase.
    pub current_phase: Option<String>,
    /// Has this persona.
    pub persona: Option<String>,
    /// Has this identity level.
    pub level: Option<IdentityLevel>,
}

/// A listed profile.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProfileSummary {
    /// The profile.
    pub profile: ProfileId,
    /// Its first key.
    pub key: Option<IdentityKey>,
    /// Its level.
    pub level: IdentityLevel,
    /// Its persona.
    pub persona: Option<String>,
    /// Its current phase.
    pub current_phase: Option<Arc<str>>,
    /// Its furthest phase.
    pub furthest_phase: Option<Arc<str>>,
    /// Number of events.
    pub events: u64,
}

/// What a write closure consumes: moved in on the first run; on a rerun (by a store that
/// retries transactions, see [`Store::reruns_writes`]) a copy of the spare kept for it, so
/// a store that never reruns pays for no copy.
struct WriteInput<T> {
    first: Option<T>,
    spare: Option<T>,
}

impl<T: Clone> WriteInput<T> {
    fn new(store: &dyn Store, value: T) -> Self {
        let spare = store.reruns_writes().then(|| value.clone());
        WriteInput { first: Some(value), spare }
    }

    fn take(&mut self) -> Result<T> {
        match self.first.take() {
            Some(value) => Ok(value),
            None => self.spare.clone().ok_or_else(|| Error::Storage { message: "the store ran a write twice, yet says it never reruns writes".into(), source: None }),
        }
    }
}

/// Runs `work` with `placed` to call once the write's place is fixed, and calls it after
/// `work` if `work` did not (a refused input, an error, a store that reruns writes).
fn placing<T, P: FnOnce()>(placed: P, work: impl FnOnce(&mut Option<P>) -> Result<T>) -> Result<T> {
    let mut placed = Some(placed);
    let result = work(&mut placed);
    if let Some(placed) = placed.take() {
        placed();
    }
    result
}

/// Called with each action after it is committed.
pub type Subscriber = Arc<dyn Fn(&ActionRecord) + Send + Sync>;

/// A subscription made by [`Tracker::subscribe`], to end with [`Tracker::unsubscribe`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Subscription(u64);

/// Tracks interactions against one journey map. `Send + Sync`: share it with an `Arc`.
pub struct Tracker {
    store: Arc<dyn Store>,
    resolver: Resolver,
    waypoints: Vec<Armable>,
    /// For each touchpoint index (and, last, off-map events), per waypoint: whether such an
    /// event might reach it (no deadline) or arm it (with a deadline). Other waypoints are
    /// only evaluated when the profile has their deadline armed.
    candidates: Vec<Vec<bool>>,
    personas: Vec<(String, Compiled)>,
    routing: Vec<(crate::map::RoutingRule, Option<Compiled>)>,
    config: TrackerConfig,
    /// In the order they subscribed, with the number of their subscription.
    subscribers: RwLock<Vec<(u64, Subscriber)>>,
    next_subscription: AtomicU64,
    clock: AtomicI64,
    closed: AtomicBool,
}

impl std::fmt::Debug for Tracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracker").field("map", &self.resolver.map().id).field("config", &self.config).finish_non_exhaustive()
    }
}

impl Tracker {
    /// A tracker over a fresh in-memory store.
    pub fn new(doc: &MapDocument, config: TrackerConfig) -> Result<Self> {
        Self::with_store(doc, config, Arc::new(MemoryStore::new()))
    }

    /// A tracker over any store. The document is validated and its waypoints compiled
    /// first: an invalid map is refused with every problem and its path.
    pub fn with_store(doc: &MapDocument, config: TrackerConfig, store: Arc<dyn Store>) -> Result<Self> {
        doc.validate_with(&config.limits)?;
        let map = doc.select(config.map.as_deref())?;
        let index = doc.maps.iter().position(|m| std::ptr::eq(m, map)).unwrap_or(0);
        let at = |i: usize, field: &str| format!("maps[{index}].waypoints[{i}].{field}");
        let mut waypoints = Vec::new();
        for (i, w) in map.waypoints.iter().enumerate() {
            let compile = |c: &Option<crate::waypoint::Condition>, field: &str| c.as_ref().map(|c| Compiled::compile(c, map, &at(i, field))).transpose();
            waypoints.push(Armable {
                def: w.clone(),
                id: Arc::from(w.id.as_str()),
                payloads: (
                    w.on_reached.iter().map(|a| Arc::new(a.payload.clone())).collect(),
                    w.on_missed.iter().map(|a| Arc::new(a.payload.clone())).collect(),
                ),
                shown_condition: Arc::new(w.condition.clone()),
                shown_trigger: Arc::new(w.trigger.clone().unwrap_or_else(|| w.condition.clone())),
                condition: Compiled::compile(&w.condition, map, &at(i, "condition"))?,
                trigger: compile(&w.trigger, "trigger")?,
                exit: compile(&w.exit, "exit")?,
            });
        }
        let mut personas = Vec::new();
        for (i, p) in doc.personas.iter().enumerate() {
            if let Some(rule) = &p.assign_when {
                personas.push((p.id.clone(), Compiled::compile(rule, map, &format!("personas[{i}].assign_when"))?));
            }
        }
        let slots = map.touchpoints.len() + 1;
        let mut candidates = vec![Vec::new(); slots];
        for w in &map.waypoints {
            let starts = if w.within.is_some() { w.trigger.as_ref() } else { Some(&w.condition) };
            let filter = starts.and_then(|c| crate::condition::touchpoint_filter(c, map));
            for (slot, list) in candidates.iter_mut().enumerate() {
                let tp = (slot < slots - 1).then_some(slot);
                list.push(starts.is_some() && filter.as_ref().is_none_or(|set| set.contains(&tp)));
            }
        }
        let mut routing = Vec::new();
        for (i, rule) in map.routing.iter().enumerate() {
            let when = rule.when.as_ref().map(|c| Compiled::compile(c, map, &format!("maps[{index}].routing[{i}].when"))).transpose()?;
            routing.push((rule.clone(), when));
        }
        Ok(Tracker {
            store,
            resolver: Resolver::new(map),
            waypoints,
            candidates,
            personas,
            routing,
            config,
            subscribers: RwLock::new(Vec::new()),
            next_subscription: AtomicU64::new(0),
            clock: AtomicI64::new(Micros::MIN),
            closed: AtomicBool::new(false),
        })
    }

    /// The resolver of the tracked map (shared with analytics).
    pub fn resolver(&self) -> &Resolver {
        &self.resolver
    }

    /// The configuration.
    pub fn config(&self) -> &TrackerConfig {
        &self.config
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The tracker's clock: the latest event time or `advance` reading seen.
    pub fn clock(&self) -> Option<Micros> {
        let now = self.clock.load(Ordering::Relaxed);
        (now != Micros::MIN).then_some(now)
    }

    /// Calls `f` with every action after it is committed, on the thread that committed it
    /// (subscribers in the order they subscribed), until [`Tracker::unsubscribe`].
    pub fn subscribe(&self, f: impl Fn(&ActionRecord) + Send + Sync + 'static) -> Subscription {
        let n = self.next_subscription.fetch_add(1, Ordering::Relaxed);
        self.subscribers.write().unwrap_or_else(|p| p.into_inner()).push((n, Arc::new(f)));
        Subscription(n)
    }

    /// Ends a subscription: its subscriber is not called for actions committed from now on
    /// (a call already under way on another thread finishes). `false` if it had ended.
    pub fn unsubscribe(&self, subscription: Subscription) -> bool {
        let mut list = self.subscribers.write().unwrap_or_else(|p| p.into_inner());
        let before = list.len();
        list.retain(|(n, _)| *n != subscription.0);
        list.len() < before
    }

    /// Closes the tracker; every later call fails with [`Error::Closed`].
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
    }

    fn open(&self) -> Result<()> {
        if self.closed.load(Ordering::SeqCst) { Err(Error::Closed { what: "tracker" }) } else { Ok(()) }
    }

    /// Tracks one event. A bad event is refused ([`Error::BadEvent`]) and nothing is stored.
    pub fn track(&self, event: Event) -> Result<Tracked> {
        self.track_placed(event, || {})
    }

    /// [`Tracker::track`], calling `placed` as soon as the event's place among the writes
    /// is fixed (see [`Tracker::track_batch_placed`]).
    pub fn track_placed(&self, event: Event, placed: impl FnOnce()) -> Result<Tracked> {
        placing(placed, |placed| {
            event.check_with(&self.config.limits)?;
            self.open()?;
            let mut result = None;
            // A store may run the closure again after a rollback (a retried transaction).
            let mut event = WriteInput::new(&*self.store, event);
            self.write_placed(placed, &mut |tx| {
                result = Some(self.track_in(tx, event.take()?)?);
                Ok(())
            })?;
            let result = result.expect("the write ran");
            self.notify(result.actions.iter());
            Ok(result)
        })
    }

    /// Tracks a batch in one transaction. If any event is bad the whole batch is refused
    /// with the index of the bad one, and nothing of it is applied.
    pub fn track_batch(&self, events: Vec<Event>) -> Result<Vec<Tracked>> {
        self.track_batch_placed(events, || {})
    }

    /// [`Tracker::track_batch`], calling `placed` as soon as the batch's place among the
    /// writes is fixed: when its transaction starts, on a store that applies writes in the
    /// order they start (memory, SQLite); else (PostgreSQL) once it is committed; at the
    /// latest when this returns. A caller that keeps batches in call order (a queue of calls
    /// in flight, as the Node binding's) can let the next one start then: with SQLite its
    /// work in memory overlaps this batch's commit.
    ///
    /// A bulk load on two threads, the batches applied in order (into SQLite it ran 1.2–1.5×
    /// one thread's rate on the benchmark machine):
    ///
    /// ```
    /// use std::sync::Mutex;
    /// use journey_core::{Event, IdentityKey, MapDocument, Tracker, TrackerConfig};
    /// let doc = MapDocument::load(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/maps/shop.json")).unwrap();
    /// let tracker = Tracker::new(&doc, TrackerConfig::default()).unwrap();
    /// let session = |i: i64| IdentityKey::parse(&format!("session:{}", i % 10)).unwrap();
    /// let batches = (0..8i64).map(|b| (0..100i64).map(|i| Event::new(b * 100 + i, session(i), "product_view", "web")).collect());
    /// let queue = Mutex::new(batches);
    /// std::thread::scope(|s| {
    ///     for _ in 0..2 {
    ///         // Each thread takes the next batch and lets go of the queue once its batch has its place.
    ///         s.spawn(|| loop {
    ///             let mut next = queue.lock().unwrap();
    ///             let Some(batch) = next.next() else { return };
    ///             tracker.track_batch_placed(batch, move || drop(next)).unwrap();
    ///         });
    ///     }
    /// });
    /// let journey = tracker.journey(&session(3)).unwrap();
    /// assert_eq!(journey.len(), 80);
    /// assert!(journey.windows(2).all(|w| w[0].seq < w[1].seq));
    /// ```
    pub fn track_batch_placed(&self, events: Vec<Event>, placed: impl FnOnce()) -> Result<Vec<Tracked>> {
        placing(placed, |placed| {
            check_batch_with(&events, &self.config.limits)?;
            self.apply(events, placed)
        })
    }

    fn apply(&self, events: Vec<Event>, placed: &mut Option<impl FnOnce()>) -> Result<Vec<Tracked>> {
        self.open()?;
        let mut results = Vec::with_capacity(events.len());
        // A store may run the closure again after a rollback (a retried transaction): each
        // run starts from the whole batch and empty results.
        let mut events = WriteInput::new(&*self.store, events);
        self.write_placed(placed, &mut |tx| {
            results.clear();
            let mut batch = events.take()?.into_iter();
            let window = tx.prefetch_window().max(1);
            while !batch.as_slice().is_empty() {
                let ahead = window.min(batch.len());
                tx.prefetch(&mut batch.as_slice()[..ahead].iter().flat_map(|e| e.keys.iter()))?;
                for event in batch.by_ref().take(ahead) {
                    results.push(self.track_in(tx, event)?);
                }
            }
            Ok(())
        })?;
        self.notify(results.iter().flat_map(|r| &r.actions));
        Ok(results)
    }

    /// Runs `f` in one write transaction, calling `placed` (if not called yet) when the
    /// transaction starts on a store that applies writes in the order they start.
    fn write_placed(&self, placed: &mut Option<impl FnOnce()>, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()> {
        let in_start_order = !self.store.reruns_writes();
        self.store.write(&mut |tx| {
            if in_start_order && let Some(placed) = placed.take() {
                placed();
            }
            f(tx)
        })
    }

    fn track_in(&self, tx: &mut dyn Tx, event: Event) -> Result<Tracked> {
        let mut actions = Vec::new();
        self.fire_due(tx, event.ts, &mut actions)?;
        let seq = tx.next_seq()?;
        let profile = stitch::resolve(tx, &self.config.identity, &self.config.limits, &event.keys, Origin { ts: event.ts, event_seq: Some(seq) })?;
        let (resolved, shared_name) = self.resolver.resolve_shared(&event.name);
        let mut state = tx.profile(profile)?.ok_or_else(|| Error::Storage { message: format!("profile {profile} vanished"), source: None })?;
        state.add((event.ts, seq), resolved.phase, event.emotion());
        tx.put_profile(&state)?;
        if !self.waypoints.is_empty() {
            let subject = Subject {
                name: &event.name,
                touchpoint: resolved.touchpoint.map(|t| t as usize),
                phase: resolved.phase.map(|p| p as usize),
                channel: &event.channel,
                department: self.resolver.department(event.department.as_ref(), resolved.touchpoint),
                level: state.level,
                properties: &event.properties,
            };
            let name = Name { text: &event.name, shared: shared_name };
            self.run_waypoints(tx, profile, &subject, &name, event.ts, seq, &mut actions)?;
        }
        tx.append_event(TrackedEvent { seq, profile, event })?;
        Ok(Tracked {
            seq,
            profile,
            touchpoint: resolved.touchpoint.map(|t| self.resolver.touchpoint_id(t).clone()),
            phase: resolved.phase.map(|p| self.resolver.phase_id(p).clone()),
            actions,
        })
    }

    /// Links two keys explicitly (a login, a CRM match), under the same rules as events.
    pub fn link(&self, a: &IdentityKey, b: &IdentityKey, ts: Micros) -> Result<LinkOutcome> {
        self.open()?;
        let mut outcome = LinkOutcome::Already;
        self.store.write(&mut |tx| {
            outcome = stitch::link(tx, &self.config.identity, &self.config.limits, a, b, Origin { ts, event_seq: None })?.0;
            Ok(())
        })?;
        Ok(outcome)
    }

    /// Removes a wrong link (a shared device, a mistyped e-mail) and splits the profile
    /// back along the remaining links, reassigning events, deadlines and state. Returns
    /// the id of the new profile if it split.
    pub fn unlink(&self, a: &IdentityKey, b: &IdentityKey, ts: Micros) -> Result<Option<ProfileId>> {
        self.open()?;
        let mut split = None;
        let summarise = |id: ProfileId, events: &[EventRef], level: IdentityLevel| {
            let mut state = ProfileState::new(id, level);
            for e in events {
                state.add(e.order(), self.resolver.resolve(&e.event.name).phase, e.event.emotion());
            }
            state
        };
        self.store.write(&mut |tx| {
            split = stitch::unlink(tx, &self.config.identity, a, b, ts, &summarise)?;
            Ok(())
        })?;
        Ok(split)
    }

    fn read<T>(&self, f: impl FnOnce(&dyn Tx) -> Result<T>) -> Result<T> {
        self.open()?;
        let mut f = Some(f);
        let mut out = None;
        self.store.read(&mut |tx| {
            out = Some((f.take().expect("read runs once"))(tx)?);
            Ok(())
        })?;
        Ok(out.expect("read ran"))
    }

    /// A profile's whole journey, in `(ts, seq)` order.
    pub fn journey(&self, key: &IdentityKey) -> Result<Vec<EventRef>> {
        self.read(|tx| match tx.key_profile(key)? {
            Some(id) => tx.events_of(id, None),
            None => Ok(vec![]),
        })
    }

    /// The append-only log of links and merges that made the profile of `key`.
    pub fn link_log(&self, key: &IdentityKey) -> Result<Vec<LinkEntry>> {
        self.read(|tx| match tx.key_profile(key)? {
            Some(id) => tx.links_of(&tx.keys_of(id)?),
            None => Ok(vec![]),
        })
    }

    /// Every identity conflict recorded.
    pub fn conflicts(&self) -> Result<Vec<Conflict>> {
        self.read(|tx| tx.conflicts())
    }

    /// Profiles matching a filter, by id.
    pub fn profiles(&self, filter: &ProfileFilter) -> Result<Vec<ProfileSummary>> {
        let phase = |id: &Option<String>| -> Result<Option<u32>> {
            id.as_ref()
                .map(|p| self.resolver.map().phase_index(p).map(|i| i as u32).ok_or_else(|| Error::NotFound { what: "phase", id: p.clone() }))
                .transpose()
        };
        let (reached, not_reached, current) = (phase(&filter.reached)?, phase(&filter.not_reached)?, phase(&filter.current_phase)?);
        self.read(|tx| {
            let mut out = Vec::new();
            for id in tx.profile_ids()? {
                let Some(s) = tx.profile(id)? else { continue };
                if reached.is_some_and(|p| !s.reached(p))
                    || not_reached.is_some_and(|p| s.reached(p))
                    || current.is_some_and(|p| s.current_phase != Some(p))
                    || filter.level.is_some_and(|l| s.level != l)
                {
                    continue;
                }
                let persona = tx.persona(id)?;
                if filter.persona.is_some() && persona != filter.persona {
                    continue;
                }
                out.push(ProfileSummary {
                    profile: id,
                    key: tx.keys_of(id)?.into_iter().next(),
                    level: s.level,
                    persona,
                    current_phase: s.current_phase.map(|p| self.resolver.phase_id(p).clone()),
                    furthest_phase: s.furthest_phase.map(|p| self.resolver.phase_id(p).clone()),
                    events: s.events,
                });
            }
            Ok(out)
        })
    }

    /// How many profiles match a filter.
    pub fn count(&self, filter: &ProfileFilter) -> Result<usize> {
        Ok(self.profiles(filter)?.len())
    }

    /// Unacknowledged actions, oldest first.
    pub fn pending_actions(&self, limit: usize) -> Result<Vec<ActionRecord>> {
        self.read(|tx| tx.pending_actions(limit))
    }

    /// Acknowledges an executed action; false if it was not pending.
    pub fn ack(&self, action_id: &str) -> Result<bool> {
        self.open()?;
        let mut done = false;
        self.store.write(&mut |tx| {
            done = tx.ack(action_id)?;
            Ok(())
        })?;
        Ok(done)
    }

    /// Assigns a persona explicitly (or clears it with `None`).
    pub fn assign_persona(&self, key: &IdentityKey, persona: Option<&str>) -> Result<()> {
        self.open()?;
        self.store.write(&mut |tx| {
            let id = tx.key_profile(key)?.ok_or_else(|| Error::NotFound { what: "identity key", id: key.to_string() })?;
            tx.set_persona(id, persona)
        })
    }

    /// Sets profile attributes (merged into the existing ones) and assigns the first
    /// persona whose `assign_when` rule matches them; returns the persona now assigned.
    pub fn set_attributes(&self, key: &IdentityKey, attributes: Map<String, Value>) -> Result<Option<String>> {
        self.open()?;
        let mut assigned = None;
        self.store.write(&mut |tx| {
            let id = tx.key_profile(key)?.ok_or_else(|| Error::NotFound { what: "identity key", id: key.to_string() })?;
            let mut all = tx.attributes(id)?;
            all.extend(attributes.clone());
            tx.set_attributes(id, &all)?;
            let state = tx.profile(id)?.map_or(IdentityLevel::Anonymous, |s| s.level);
            let subject = Subject {
                name: "",
                touchpoint: None,
                phase: None,
                channel: &crate::vocabulary::Channel::Custom(String::new()),
                department: None,
                level: state,
                properties: &all,
            };
            if let Some((persona, _)) = self.personas.iter().find(|(_, rule)| rule.matches(&subject)) {
                tx.set_persona(id, Some(persona))?;
            }
            assigned = tx.persona(id)?;
            Ok(())
        })?;
        Ok(assigned)
    }
}

/// Replays a historical log through a map's waypoints in event time, in arrival order,
/// on a fresh in-memory tracker, and returns every action that would have fired
/// (including deadlines still armed at `until`, if given). The same code path as live
/// tracking, so the result is identical to what live tracking of the same events produces.
/// A bad event anywhere refuses the whole log before anything is replayed
/// ([`Error::BadEvent`] or [`Error::Limit`] with its index in `events`).
pub fn backtest(doc: &MapDocument, config: TrackerConfig, events: Vec<Event>, until: Option<Micros>) -> Result<Vec<ActionRecord>> {
    let tracker = Tracker::new(doc, config)?;
    // The whole log first: a bad event is named by its place in the log, not in its chunk,
    // and nothing is replayed. The chunks are then applied without checking again.
    check_each_with(&events, &tracker.config().limits)?;
    let chunk = tracker.config().limits.batch_size.clamp(1, 1024);
    let mut actions = Vec::new();
    let mut rest = events.into_iter();
    loop {
        let batch: Vec<Event> = rest.by_ref().take(chunk).collect();
        if batch.is_empty() {
            break;
        }
        for t in tracker.apply(batch, &mut None::<fn()>)? {
            actions.extend(t.actions);
        }
    }
    if let Some(now) = until {
        actions.extend(tracker.advance(now)?);
    }
    Ok(actions)
}

/// Privacy and retention, over any store.
impl Tracker {
    /// The right to be forgotten: removes the profile of `key` with its events, keys,
    /// links, conflicts, deadlines, caps, persona, attributes and pending actions, and
    /// removes its keys from events of other profiles, in one transaction. `None` when
    /// the key is unknown.
    pub fn forget(&self, key: &IdentityKey) -> Result<Option<crate::store::Forgotten>> {
        self.open()?;
        let mut forgotten = None;
        self.store.write(&mut |tx| {
            forgotten = crate::store::forget(tx, key)?;
            Ok(())
        })?;
        Ok(forgotten)
    }

    /// Retention: deletes every event older than `before` (event time), in one
    /// transaction; returns how many. Profile summaries, keys and links stay.
    pub fn delete_before(&self, before: Micros) -> Result<u64> {
        self.open()?;
        let mut deleted = 0;
        self.store.write(&mut |tx| {
            deleted = tx.delete_events_before(before)?;
            Ok(())
        })?;
        Ok(deleted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A memory store that runs every write twice, rolling the first run back (as the
    /// PostgreSQL store does when it retries a transaction).
    struct Rerunning(MemoryStore);

    impl Store for Rerunning {
        fn write(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()> {
            let first = self.0.write(&mut |tx| {
                f(tx)?;
                Err(Error::Conflict { message: "retry".into() })
            });
            assert!(matches!(first, Err(Error::Conflict { .. })), "{first:?}");
            self.0.write(f)
        }

        fn read(&self, f: &mut dyn FnMut(&dyn Tx) -> Result<()>) -> Result<()> {
            self.0.read(f)
        }
    }

    /// A batch longer than the memory store's prefetch window is tracked window by window:
    /// every event once, in order, exactly as tracking the events one by one.
    #[test]
    fn a_batch_over_several_prefetch_windows_tracks_as_events_one_by_one() {
        let doc = MapDocument::load(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/maps/shop.json")).unwrap();
        let (batched, single) = (Tracker::new(&doc, TrackerConfig::default()).unwrap(), Tracker::new(&doc, TrackerConfig::default()).unwrap());
        let window = batched.read(|tx| Ok(tx.prefetch_window())).unwrap();
        let names = ["product_view", "add_to_cart", "checkout_start", "newsletter_signup", "remove_from_cart"];
        let events: Vec<Event> = (0..2 * window + 7)
            .map(|i| {
                let e = Event::new(1_000_000 * i as Micros, IdentityKey::parse(&format!("session:s{}", i % 23)).unwrap(), names[i % names.len()], "web");
                if i % 5 == 0 { e.with_key(IdentityKey::parse(&format!("email:c{}@x.com", i % 4)).unwrap()) } else { e }
            })
            .collect();
        let expected: Vec<Tracked> = events.iter().map(|e| single.track(e.clone()).unwrap()).collect();
        assert_eq!(batched.track_batch(events).unwrap(), expected);
        assert_eq!(batched.pending_actions(usize::MAX).unwrap(), single.pending_actions(usize::MAX).unwrap());
        assert!(!expected.iter().all(|t| t.actions.is_empty()), "waypoints fired along the way");
    }

    #[test]
    fn a_rerun_write_tracks_the_same_events_as_one_run() {
        let doc = MapDocument::load(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/maps/shop.json")).unwrap();
        let once = Tracker::new(&doc, TrackerConfig::default()).unwrap();
        assert!(!once.store().reruns_writes());
        let twice = Tracker::with_store(&doc, TrackerConfig::default(), Arc::new(Rerunning(MemoryStore::new()))).unwrap();
        let key = |k: &str| IdentityKey::parse(k).unwrap();
        let event = |ts: Micros, keys: &[&str], name: &str| {
            keys[1..].iter().fold(Event::new(ts, key(keys[0]), name, "web"), |e, k| e.with_key(key(k)))
        };
        let single = event(1_000_000, &["session:a"], "add_to_cart");
        let batch = vec![
            event(2_000_000, &["session:b"], "remove_from_cart"),
            event(3_000_000, &["session:a", "email:a@x.com"], "newsletter_signup"),
            event(4_000_000, &["session:b", "email:a@x.com"], "product_view"),
        ];
        assert_eq!(twice.track(single.clone()).unwrap(), once.track(single).unwrap());
        assert_eq!(twice.track_batch(batch.clone()).unwrap(), once.track_batch(batch).unwrap());
        let later = 10_000_000_000;
        assert_eq!(twice.advance(later).unwrap(), once.advance(later).unwrap());
        assert_eq!(twice.journey(&key("email:a@x.com")).unwrap(), once.journey(&key("email:a@x.com")).unwrap());
        assert_eq!(twice.journey(&key("session:a")).unwrap().len(), 4);
    }
}
