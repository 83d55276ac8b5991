//! `Tracker`: interactions in, one journey per customer, waypoints fired, context out.
//!
//! Calls that touch the store return Promises and run on the libuv thread pool
//! ([`Job`]); `trackSync` and `contextSync` run on the calling thread. Action listeners
//! are weak thread-safe functions, called on the event loop after each commit, whichever
//! thread committed; the wall clock is the core's [`Ticker`], stopped by `stopClock`,
//! `close`, garbage collection or the environment's teardown.

use std::cell::{Cell, RefCell};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use journey_core::store::{OpenStore, StoreChoice};
use journey_core::tracker::{Context, EmotionTrend, Interest, ProfileSummary, Route, Ticker};
use journey_core::{ActionRecord, Error, MapDocument, ProfileFilter, Tracked, Tracker, TrackerConfig};
use napi::bindgen_prelude::{Array, AsyncTask, Function, FunctionRef, Unknown};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{CleanupEnvHook, Env, JsValue, Result, Status, Task};
use napi_derive::napi;
use serde::{Deserialize, Serialize};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::batch;
use crate::json;
use crate::convert::{self, Bad};
use crate::error::{Failure, caught, guard, to_js_error};
use crate::event::{self, JsStoredEvent};
use crate::identity::{self, JsIdentityRules};
use crate::limits::JsLimits;
use crate::map::JsMapDocument;
use crate::order::Order;
use crate::outbox::{self, JsAction};
use crate::profile::{self, JsConflict, JsLinkEntry};
use crate::store::backend::backend;
use crate::store::{self, JsOpenWaypoint};
use crate::task::Job;

/// How a tracker behaves. Every field is optional.
///
/// Without `path` or `postgres` the tracker keeps its data in memory. With `path` it
/// opens (or creates) that SQLite file: durable (WAL; see `durability`), one writing
/// process per file, reopened with every profile, armed deadline and pending action.
/// With `postgres` it keeps its data in a schema of a PostgreSQL server (>= 12), shared
/// by every tracker, in any process, that opens the same URL and `schema`; open it with
/// `Tracker.open`, which connects off the event loop. `hashSecret` and `hashKinds` need
/// `path` or `postgres`; `durability` to `cacheMib` need `path`; `schema`, `poolSize`,
/// `connectTimeoutMs`, `poolWaitMs`, `attempts`, `fetchSize` and `cacheEntries` need
/// `postgres`.
#[napi(object, js_name = "TrackerOptions", object_from_js = false, object_to_js = false)]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct JsTrackerOptions {
    /// The map to track against, by id; the document's first map when omitted.
    pub map: Option<String>,
    /// How many recent events `context` returns (default 20).
    #[napi(ts_type = "number")]
    pub recent_events: Option<usize>,
    /// Event properties whose values count as interests in customer context (default
    /// `['topic', 'product', 'category']`).
    pub interest_properties: Option<Vec<String>>,
    /// Identity levels and merge limits.
    #[napi(ts_type = "IdentityRules")]
    pub identity: Option<JsIdentityRules>,
    /// Limits on the size of events, batches, profiles and the map.
    #[napi(ts_type = "Limits")]
    pub limits: Option<JsLimits>,
    /// The SQLite file to keep the data in (created if missing); in memory without it.
    pub path: Option<String>,
    /// The PostgreSQL server to keep the data in, as a URL
    /// (`postgres://user:password@host:port/database`); not with `path`. Needs
    /// `Tracker.open`: the constructor refuses it, since connecting would block.
    pub postgres: Option<String>,
    /// The schema of the server holding the tables (created if missing; default
    /// `journey_core`): lowercase letters, digits and `_`, starting with a letter or `_`,
    /// at most 63 bytes. Trackers on the same URL and schema share their customers.
    pub schema: Option<String>,
    /// The most connections to the server this tracker opens (default 4): one per
    /// concurrent write, read or scan.
    pub pool_size: Option<f64>,
    /// How long connecting to the server may take, in milliseconds (default 5000), unless
    /// the URL sets `connect_timeout`.
    pub connect_timeout_ms: Option<f64>,
    /// How long a call waits for a free connection when all are busy, in milliseconds
    /// (default 30000).
    pub pool_wait_ms: Option<f64>,
    /// How many times a write is tried when it meets a serialization failure, a deadlock
    /// or a lost connection (default 5, at least 1).
    pub attempts: Option<f64>,
    /// Rows fetched at a time by scans such as `exportJsonl` and `Analysis.fromTracker`
    /// (default 1000).
    pub fetch_size: Option<f64>,
    /// Keys and profiles remembered between writes of this tracker (default 200000; 0:
    /// none), reused while no other instance commits in between.
    pub cache_entries: Option<f64>,
    /// When a commit is safe: `'process'` (default: survives the process being killed)
    /// or `'os'` (also an OS crash or power cut: the WAL is synced on every commit).
    #[napi(ts_type = "'process' | 'os'")]
    pub durability: Option<String>,
    /// Store identity values only as keyed hashes (HMAC-SHA-256) under this secret (at
    /// least 16 bytes): `email:hmac:<64 hex digits>`. Lookups by the raw key still work;
    /// keep the secret, without it nothing can be found by raw key any more.
    pub hash_secret: Option<String>,
    /// Hash only these key kinds (e.g. `['email', 'phone']`); every kind by default.
    pub hash_kinds: Option<Vec<String>>,
    /// The most bytes the file may grow to; a write that would pass it fails with
    /// `E_STORAGE` and changes nothing.
    pub max_size: Option<f64>,
    /// Open for reading only: no writes, no lock, follows a writer in another process.
    pub read_only: Option<bool>,
    /// How long to wait for a lock held by another connection (default 5000 ms).
    pub busy_timeout_ms: Option<f64>,
    /// Journal bytes after which the state tables are brought up to date (default 64 MiB).
    pub checkpoint_bytes: Option<f64>,
    /// SQLite page cache per connection, in MiB (default 64).
    pub cache_mib: Option<f64>,
}

impl JsTrackerOptions {
    pub(crate) fn into_core(self) -> TrackerConfig {
        let mut config = TrackerConfig::default();
        if self.map.is_some() {
            config.map = self.map;
        }
        if let Some(n) = self.recent_events {
            config.recent_events = n;
        }
        if let Some(names) = self.interest_properties {
            config.interest_properties = names;
        }
        if let Some(identity) = self.identity {
            config.identity = identity.into_core();
        }
        if let Some(limits) = self.limits {
            config.limits = limits.into_core();
        }
        config
    }
}

/// Reads an options-like argument through serde: unknown fields and wrong types are
/// `E_PARSE` errors whose `path` names the field (e.g. `identity.levels.email`).
/// `argument` names the argument when it is not an object at all.
pub(crate) fn read_options<T: DeserializeOwned + Default>(argument: &str, value: Option<Unknown<'_>>) -> std::result::Result<T, Error> {
    let Some(value) = value else { return Ok(T::default()) };
    let json = match convert::to_json(value).map_err(Bad::into_parse)? {
        None | Some(Value::Null) => return Ok(T::default()),
        Some(json @ Value::Object(_)) => json,
        Some(other) => return Err(Error::parse(argument, format!("expected an object, got {other}"))),
    };
    serde_path_to_error::deserialize(json).map_err(|e| Error::parse(e.path().to_string(), e.inner().to_string()))
}

/// What tracking one event did.
// `trackBatch` builds the same objects from parts (`batch::TrackedList`); a Node test
// holds the two equal.
#[napi(object, js_name = "Tracked", object_from_js = false, use_nullable = true)]
#[derive(Debug, Clone)]
pub struct JsTracked {
    /// The event's arrival number.
    pub seq: i64,
    /// The profile it landed on.
    pub profile: i64,
    /// Its touchpoint id, or `null` if the event is not on the map (it is kept anyway).
    pub touchpoint: Option<String>,
    /// Its phase id, or `null`.
    pub phase: Option<String>,
    /// Actions fired while tracking it: deadlines that fell due before it first, then its
    /// own waypoints.
    pub actions: Vec<JsAction>,
}

impl From<Tracked> for JsTracked {
    fn from(t: Tracked) -> Self {
        JsTracked {
            seq: t.seq as i64,
            profile: t.profile.0 as i64,
            touchpoint: t.touchpoint.map(|s| s.to_string()),
            phase: t.phase.map(|s| s.to_string()),
            actions: outbox::actions(&t.actions),
        }
    }
}

/// What tracking a batch did, in brief (`ingest`).
// Handed over through JSON (`json::Parsed`): the serde names are the JavaScript ones.
#[napi(object, js_name = "BatchSummary", object_from_js = false, use_nullable = true)]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JsBatchSummary {
    /// How many events were tracked.
    pub events: u32,
    /// The arrival number of the first event, or `null` for an empty batch.
    pub first_seq: Option<i64>,
    /// The arrival number of the last event, or `null`.
    pub last_seq: Option<i64>,
    /// How many events matched no touchpoint of the map (they are kept anyway).
    pub off_map: u32,
    /// The actions fired, in order (deadlines that fell due, then waypoints reached).
    pub actions: Vec<JsAction>,
}

impl JsBatchSummary {
    fn of(tracked: &[Tracked]) -> Self {
        JsBatchSummary {
            events: tracked.len() as u32,
            first_seq: tracked.first().map(|t| t.seq as i64),
            last_seq: tracked.last().map(|t| t.seq as i64),
            off_map: tracked.iter().filter(|t| t.touchpoint.is_none()).count() as u32,
            actions: tracked.iter().flat_map(|t| outbox::actions(&t.actions)).collect(),
        }
    }
}

/// Something a customer showed interest in recently.
#[napi(object, js_name = "Interest", object_from_js = false)]
#[derive(Debug, Clone)]
pub struct JsInterest {
    /// A touchpoint id, or `property=value` for an interest property (`topic=refinancing`).
    pub what: String,
    /// How many of the recent events show it.
    pub count: u32,
    /// When it was last seen, in microseconds since the Unix epoch (UTC).
    pub last_ts: i64,
}

impl From<&Interest> for JsInterest {
    fn from(i: &Interest) -> Self {
        JsInterest { what: i.what.to_string(), count: i.count, last_ts: i.last_ts }
    }
}

/// How a customer has felt, on the normalised scale [-1, 1].
#[napi(object, js_name = "EmotionTrend", object_from_js = false, use_nullable = true)]
#[derive(Debug, Clone)]
pub struct JsEmotionTrend {
    /// Number of rated events.
    pub ratings: u32,
    /// Mean rating, or `null` when none.
    pub mean: Option<f64>,
    /// Lowest rating, or `null`.
    pub lowest: Option<f64>,
    /// Latest rating (in journey order), or `null`.
    pub last: Option<f64>,
    /// The ratings among the recent events, oldest first: `[ts, rating]`.
    #[napi(ts_type = "Array<[number, number]>")]
    pub recent: Vec<Vec<f64>>,
}

impl From<&EmotionTrend> for JsEmotionTrend {
    fn from(e: &EmotionTrend) -> Self {
        JsEmotionTrend {
            ratings: e.ratings,
            mean: e.mean,
            lowest: e.lowest,
            last: e.last,
            recent: e.recent.iter().map(|&(ts, x)| vec![ts as f64, x]).collect(),
        }
    }
}

/// Everything an agent or an IVR needs about a customer, at once. Timestamps are in
/// microseconds since the Unix epoch (UTC).
#[napi(object, js_name = "Context", object_from_js = false, use_nullable = true)]
#[derive(Debug, Clone)]
pub struct JsContext {
    /// The profile.
    pub profile: i64,
    /// All its identity keys, in the order they joined.
    pub keys: Vec<String>,
    /// How well it is known.
    #[napi(ts_type = "'anonymous' | 'identified' | 'authenticated'")]
    pub level: String,
    /// The assigned persona, or `null`.
    pub persona: Option<String>,
    /// The phase of the latest on-map event, or `null`.
    pub current_phase: Option<String>,
    /// The furthest phase reached, or `null`.
    pub furthest_phase: Option<String>,
    /// Every phase reached, in map order.
    pub phases_reached: Vec<String>,
    /// Number of events.
    pub events: i64,
    /// Time of the first event, or `null`.
    pub first_ts: Option<i64>,
    /// Time of the latest event, or `null`.
    pub last_ts: Option<i64>,
    /// The latest events across all channels, oldest first (at most `recentEvents`).
    pub recent: Vec<JsStoredEvent>,
    /// Touchpoints and interest-property values of the recent events, most recent first.
    pub interests: Vec<JsInterest>,
    /// How the customer has felt.
    pub emotion: JsEmotionTrend,
    /// Armed waypoint deadlines.
    pub open_waypoints: Vec<JsOpenWaypoint>,
    /// Identity conflicts involving its keys.
    pub conflicts: Vec<JsConflict>,
}

/// Where an interaction should go, from the map's routing rules.
#[napi(object, js_name = "Route", object_from_js = false, use_nullable = true)]
#[derive(Debug, Clone)]
pub struct JsRoute {
    /// The id of the rule that matched.
    pub rule: String,
    /// The queue.
    pub queue: String,
    /// The department that owns the queue, or `null`.
    pub department: Option<String>,
    /// The priority in the queue: lower is served first.
    pub priority: i64,
}

impl From<Route> for JsRoute {
    fn from(r: Route) -> Self {
        JsRoute { rule: r.rule, queue: r.queue, department: r.department.map(|d| d.as_str().to_string()), priority: r.priority }
    }
}

impl From<Context> for JsContext {
    fn from(c: Context) -> Self {
        JsContext {
            profile: c.profile.0 as i64,
            keys: c.keys.iter().map(|k| k.to_string()).collect(),
            level: identity::level_name(c.level),
            persona: c.persona,
            current_phase: c.current_phase.map(|p| p.to_string()),
            furthest_phase: c.furthest_phase.map(|p| p.to_string()),
            phases_reached: c.phases_reached.iter().map(|p| p.to_string()).collect(),
            events: c.events as i64,
            first_ts: c.first_ts,
            last_ts: c.last_ts,
            recent: c.recent.iter().map(|e| JsStoredEvent::from(&**e)).collect(),
            interests: c.interests.iter().map(JsInterest::from).collect(),
            emotion: JsEmotionTrend::from(&c.emotion),
            open_waypoints: c.open_waypoints.iter().map(JsOpenWaypoint::from).collect(),
            conflicts: c.conflicts.iter().map(JsConflict::from).collect(),
        }
    }
}

/// Which profiles to list or count: every given condition must hold.
#[napi(object, js_name = "ProfileFilter", object_from_js = false, object_to_js = false)]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct JsProfileFilter {
    /// Reached this phase (by id).
    pub reached: Option<String>,
    /// Has not reached this phase.
    pub not_reached: Option<String>,
    /// Is currently in this phase.
    pub current_phase: Option<String>,
    /// Has this persona.
    pub persona: Option<String>,
    /// Has this identity level.
    #[napi(ts_type = "'anonymous' | 'identified' | 'authenticated'")]
    pub level: Option<journey_core::IdentityLevel>,
}

impl From<JsProfileFilter> for ProfileFilter {
    fn from(f: JsProfileFilter) -> Self {
        ProfileFilter { reached: f.reached, not_reached: f.not_reached, current_phase: f.current_phase, persona: f.persona, level: f.level }
    }
}

/// A listed profile.
#[napi(object, js_name = "ProfileSummary", object_from_js = false, use_nullable = true)]
#[derive(Debug, Clone)]
pub struct JsProfileSummary {
    /// The profile.
    pub profile: i64,
    /// Its first identity key.
    pub key: Option<String>,
    /// Its identity level.
    #[napi(ts_type = "'anonymous' | 'identified' | 'authenticated'")]
    pub level: String,
    /// Its persona, or `null`.
    pub persona: Option<String>,
    /// Its current phase, or `null`.
    pub current_phase: Option<String>,
    /// Its furthest phase, or `null`.
    pub furthest_phase: Option<String>,
    /// Number of events.
    pub events: i64,
}

impl From<&ProfileSummary> for JsProfileSummary {
    fn from(p: &ProfileSummary) -> Self {
        JsProfileSummary {
            profile: p.profile.0 as i64,
            key: p.key.as_ref().map(|k| k.to_string()),
            level: identity::level_name(p.level),
            persona: p.persona.clone(),
            current_phase: p.current_phase.as_ref().map(|s| s.to_string()),
            furthest_phase: p.furthest_phase.as_ref().map(|s| s.to_string()),
            events: p.events as i64,
        }
    }
}

/// A weak thread-safe function calling an action listener on the event loop.
type ActionTsfn = ThreadsafeFunction<JsAction, (), JsAction, Status, false, true>;

/// A weak thread-safe function calling the clock's error callback with a journey-core `Error`.
type ErrorTsfn = ThreadsafeFunction<Arc<Error>, (), napi::Error, Status, false, true>;

/// The action listeners, shared with the core's subscriber (which runs on whatever thread
/// committed: the thread pool, the clock's thread or the main thread).
#[derive(Default)]
struct Listeners {
    list: RwLock<Vec<(u64, Arc<ActionTsfn>)>>,
}

impl Listeners {
    /// Queues a call of every listener with the action; never blocks and never runs
    /// JavaScript here (the calls run on the event loop).
    fn dispatch(&self, action: &ActionRecord) {
        // A snapshot, so that no lock is held while queueing.
        let list: Vec<Arc<ActionTsfn>> = self.list.read().unwrap_or_else(PoisonError::into_inner).iter().map(|(_, f)| f.clone()).collect();
        if list.is_empty() {
            return;
        }
        let js = JsAction::from(action);
        for f in list {
            // `Closing` while the environment shuts down: nothing is left to notify.
            let _ = f.call(js.clone(), ThreadsafeFunctionCallMode::NonBlocking);
        }
    }

    fn remove(&self, id: u64) {
        self.list.write().unwrap_or_else(PoisonError::into_inner).retain(|(i, _)| *i != id);
    }

    fn clear(&self) {
        self.list.write().unwrap_or_else(PoisonError::into_inner).clear();
    }
}

/// The running clock, shared with the environment's cleanup hook.
type Clock = Arc<Mutex<Option<Ticker>>>;

fn halt(clock: &Clock) {
    // Taken out first, so the lock is not held while the ticker's thread is joined.
    let ticker = clock.lock().unwrap_or_else(PoisonError::into_inner).take();
    if let Some(ticker) = ticker {
        ticker.stop();
    }
}

/// Tracks interactions against one journey map: stitches identity keys into profiles,
/// fires waypoints (reached and missed) as actions, and answers customer context.
///
/// Time is event time: each event first advances the tracker's clock to its `ts`, firing
/// the deadlines that fell due strictly before it; `advance(now)` does the same for a
/// clock reading, and `startClock()` calls it from the wall clock. Timestamps are
/// microseconds since the Unix epoch (UTC): integer numbers, bigints or `Date`s in, numbers
/// out.
///
/// Methods that touch the store return Promises and run on the libuv thread pool. Event
/// writes (`track`, `trackBatch`, `ingest`) apply in call order even when not awaited
/// one by one (so the next batch can be converted while the previous one is tracked);
/// other calls that are not awaited run concurrently, in any order. `trackSync` and
/// `contextSync` block the event loop (fine for the in-memory store; with PostgreSQL they
/// wait for the server: use the Promise methods there) and do not wait for
/// writes still queued. A Promise rejects with the same `Error`s (with a
/// `code`) the synchronous calls throw.
///
/// `close()` ends it: the clock stops, listeners are dropped, and every later call throws
/// or rejects with `E_CLOSED`.
///
/// Every method takes `&self`: napi keeps a method's borrow of the object while the Promise
/// it returned is pending, so `&mut self` would make `close()` or `on()` fail while a call
/// is in flight. The state that changes lives in cells, used on the main thread only.
#[napi(js_name = "Tracker")]
pub struct JsTracker {
    inner: RefCell<Option<Arc<Tracker>>>,
    listeners: Arc<Listeners>,
    /// The listener functions, by id, so that `off` can find them.
    refs: RefCell<Vec<(u64, FunctionRef<JsAction, ()>)>>,
    next_listener: Cell<u64>,
    clock: Clock,
    clock_hook: RefCell<Option<CleanupEnvHook<Clock>>>,
    /// The durable store, when the tracker has one: `close()` releases its file or its
    /// connections.
    held: RefCell<Option<OpenStore>>,
    /// The document tracked against (analyses of the tracker's store need it).
    doc: Arc<MapDocument>,
    /// The id of the tracked map.
    map_id: String,
    /// Event writes (`track`, `trackBatch`, `ingest`) apply in call order.
    order: Arc<Order>,
}

/// A tracker's options, read: the store they ask for and the tracker's configuration.
type Prepared = std::result::Result<(StoreChoice, TrackerConfig), Error>;

/// Reads a tracker's options: the store they ask for and the tracker's configuration.
fn prepare(options: Option<Unknown<'_>>) -> Prepared {
    let options = read_options::<JsTrackerOptions>("options", options)?;
    Ok((backend(&options)?, options.into_core()))
}

/// Opens the store and a core tracker over it.
fn open_tracker(doc: &MapDocument, backend: StoreChoice, config: TrackerConfig) -> std::result::Result<(Tracker, Option<OpenStore>), Error> {
    let held = backend.open()?;
    let tracker = match &held {
        Some(h) => Tracker::with_store(doc, config, h.store())?,
        None => Tracker::new(doc, config)?,
    };
    Ok((tracker, held))
}

/// `Tracker.open` on the thread pool: opens the store and the core tracker there, then
/// makes the `Tracker` object on the event loop.
pub struct OpenTracker {
    work: Option<(MapDocument, Prepared)>,
}

impl Task for OpenTracker {
    type Output = std::result::Result<(Tracker, Option<OpenStore>, MapDocument), Failure>;
    type JsValue = JsTracker;

    fn compute(&mut self) -> Result<Self::Output> {
        Ok(match self.work.take() {
            Some((doc, prepared)) => caught(move || {
                let (backend, config) = prepared?;
                let (tracker, held) = open_tracker(&doc, backend, config)?;
                Ok((tracker, held, doc))
            }),
            None => Err(Failure::Panic("Tracker.open ran twice".into())),
        })
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> Result<JsTracker> {
        let (tracker, held, doc) = output.map_err(|failure| failure.to_js(&env))?;
        Ok(JsTracker::wrap(tracker, held, doc))
    }
}

fn closed() -> Error {
    Error::Closed { what: "tracker" }
}

fn keys(a: &str, b: &str) -> std::result::Result<(journey_core::IdentityKey, journey_core::IdentityKey), Error> {
    Ok((identity::key("a", a)?, identity::key("b", b)?))
}

pub(crate) fn at(argument: &str, value: Unknown<'_>) -> std::result::Result<i64, Error> {
    convert::micros(value).map_err(|b| b.within(argument).into_parse())
}


#[napi]
impl JsTracker {
    /// A tracker of `doc` over a fresh in-memory store, or over the SQLite file
    /// `options.path` (opened, or created, on the calling thread: reopening a large file
    /// blocks while its state loads; `Tracker.open` does it on the thread pool). The
    /// document is validated and its waypoints compiled first. A PostgreSQL store
    /// (`options.postgres`) is refused here, since connecting would block the event loop:
    /// use `Tracker.open`.
    ///
    /// @throws {Error} `E_VALIDATION` with every problem of an invalid map, `E_NOT_FOUND`
    /// when `options.map` names no map, `E_PARSE` with `path` for an unknown option or a
    /// wrong value (e.g. `identity.levels.email`, `durability`; `postgres` for a
    /// PostgreSQL store, which needs `Tracker.open`), `E_STORAGE` when the file
    /// cannot be opened (already open for writing, not a journey-core store, newer
    /// version), `E_IO` (`path`).
    #[napi(constructor, catch_unwind)]
    pub fn new(env: &Env, doc: &JsMapDocument, #[napi(ts_arg_type = "TrackerOptions")] options: Option<Unknown<'_>>) -> Result<Self> {
        let (tracker, held) = guard(env, || {
            let (backend, config) = prepare(options)?;
            if matches!(backend, StoreChoice::Postgres(..)) {
                return Err(Error::parse("postgres", "opening a PostgreSQL store connects to the server: use `await Tracker.open(doc, options)`, which connects off the event loop"));
            }
            open_tracker(doc.inner(), backend, config)
        })?;
        Ok(JsTracker::wrap(tracker, held, doc.inner().clone()))
    }

    /// Opens a tracker of `doc` like the constructor, on the libuv thread pool: the store
    /// (a SQLite file, or a PostgreSQL schema with `options.postgres`) is opened, or
    /// created, without blocking the event loop. The way to open a PostgreSQL tracker:
    ///
    /// ```js
    /// const tracker = await Tracker.open(doc, { postgres: process.env.JOURNEY_CORE_PG_URL, schema: 'shop' });
    /// ```
    ///
    /// Rejects with the constructor's errors, `E_PARSE` with `path` `schema`, `url` or
    /// `poolSize` for a bad schema name, a malformed URL or pool size, and `E_STORAGE`
    /// naming the server when it cannot be reached, refuses the login, or the schema is not
    /// a journey-core store.
    #[napi(catch_unwind, ts_return_type = "Promise<Tracker>")]
    pub fn open(doc: &JsMapDocument, #[napi(ts_arg_type = "TrackerOptions")] options: Option<Unknown<'_>>) -> AsyncTask<OpenTracker> {
        let doc = doc.inner().clone();
        let prepared = prepare(options);
        AsyncTask::new(OpenTracker { work: Some((doc, prepared)) })
    }

    /// A tracker object over an open core tracker, with its listeners wired.
    fn wrap(tracker: Tracker, held: Option<OpenStore>, doc: MapDocument) -> Self {
        let listeners = Arc::new(Listeners::default());
        let sink = listeners.clone();
        let map_id = tracker.resolver().map().id.clone();
        tracker.subscribe(move |action| sink.dispatch(action));
        JsTracker {
            inner: RefCell::new(Some(Arc::new(tracker))),
            listeners,
            refs: RefCell::new(Vec::new()),
            next_listener: Cell::new(0),
            clock: Arc::new(Mutex::new(None)),
            clock_hook: RefCell::new(None),
            held: RefCell::new(held),
            doc: Arc::new(doc),
            map_id,
            order: Arc::new(Order::default()),
        }
    }

    /// The document tracked against.
    pub(crate) fn document(&self) -> Arc<MapDocument> {
        self.doc.clone()
    }

    /// The durable store (a clone sharing it), `None` in memory; `E_CLOSED` once closed.
    pub(crate) fn held(&self) -> std::result::Result<Option<OpenStore>, Error> {
        self.tracker()?;
        Ok(self.held.borrow().clone())
    }

    /// The core tracker, or `E_CLOSED`.
    pub(crate) fn core(&self) -> std::result::Result<Arc<Tracker>, Error> {
        self.tracker()
    }

    fn tracker(&self) -> std::result::Result<Arc<Tracker>, Error> {
        self.inner.borrow().clone().ok_or_else(closed)
    }

    /// Whether `close()` was called.
    #[napi(getter, catch_unwind)]
    pub fn closed(&self) -> bool {
        self.inner.borrow().is_none()
    }

    /// The id of the tracked map.
    #[napi(getter, catch_unwind)]
    pub fn map_id(&self) -> String {
        self.map_id.clone()
    }

    /// The tracker's clock: the latest event time or `advance` reading seen, in
    /// microseconds since the Unix epoch (UTC); `null` before any.
    ///
    /// @throws {Error} `E_CLOSED`.
    #[napi(getter, catch_unwind)]
    pub fn clock(&self, env: &Env) -> Result<Option<i64>> {
        guard(env, || Ok(self.tracker()?.clock()))
    }

    /// Whether the wall clock started by `startClock` is running.
    #[napi(getter, catch_unwind)]
    pub fn clock_running(&self) -> bool {
        self.clock.lock().unwrap_or_else(PoisonError::into_inner).is_some()
    }

    /// Tracks one event on the thread pool. A bad event is refused and nothing is stored.
    ///
    /// Rejects with `E_BAD_EVENT` (`field` names the bad field, e.g. `keys[0]`, `rating`,
    /// `ts`), `E_CLOSED` after `close()`.
    #[napi(catch_unwind, ts_return_type = "Promise<Tracked>")]
    pub fn track(&self, #[napi(ts_arg_type = "JourneyEvent")] event: Unknown<'_>) -> AsyncTask<Job<JsTracked>> {
        let prepared = self.tracker().and_then(|t| Ok((t, event::from_js(event, None)?)));
        let turn = self.order.turn();
        Job::spawn(move || {
            turn.run(|placed| {
                let (tracker, event) = prepared?;
                tracker.track_placed(event, placed).map(JsTracked::from)
            })
        })
    }

    /// Tracks one event on the calling thread: blocks the event loop while the store
    /// works (fine for the in-memory store; with PostgreSQL it waits for the server's
    /// round trips: prefer `track`). Otherwise the same as `track`.
    ///
    /// @throws {Error} `E_BAD_EVENT` with `field`, `E_CLOSED`.
    #[napi(catch_unwind)]
    pub fn track_sync(&self, env: &Env, #[napi(ts_arg_type = "JourneyEvent")] event: Unknown<'_>) -> Result<JsTracked> {
        let prepared = self.tracker().and_then(|t| Ok((t, event::from_js(event, None)?)));
        guard(env, || {
            let (tracker, event) = prepared?;
            tracker.track(event).map(JsTracked::from)
        })
    }

    /// Tracks a batch in one transaction, on the thread pool, in array order. If any event
    /// is bad the whole batch is refused and nothing of it is applied.
    ///
    /// Rejects with `E_BAD_EVENT` whose `index` is the position of the bad event and
    /// `field` the bad field, `E_CLOSED`.
    #[napi(catch_unwind, ts_return_type = "Promise<Array<Tracked>>")]
    pub fn track_batch(&self, env: &Env, #[napi(ts_arg_type = "Array<JourneyEvent>")] events: Array<'_>) -> AsyncTask<Job<batch::TrackedList>> {
        let prepared = self.tracker().and_then(|t| Ok((t, batch::events(env, &events)?)));
        let turn = self.order.turn();
        Job::spawn(move || {
            turn.run(|placed| {
                let (tracker, events) = prepared?;
                Ok(batch::TrackedList(tracker.track_batch_placed(events, placed)?))
            })
        })
    }

    /// Tracks a batch like `trackBatch` (one transaction, array order, all or nothing)
    /// but resolves to a summary instead of one result per event: the fast way to load
    /// many events (building and collecting 1,000 result objects costs more than tracking
    /// them).
    ///
    /// Rejects like `trackBatch`.
    #[napi(catch_unwind, ts_return_type = "Promise<BatchSummary>")]
    pub fn ingest(&self, env: &Env, #[napi(ts_arg_type = "Array<JourneyEvent>")] events: Array<'_>) -> AsyncTask<Job<json::Parsed<JsBatchSummary>>> {
        let prepared = self.tracker().and_then(|t| Ok((t, batch::events(env, &events)?)));
        let turn = self.order.turn();
        Job::spawn(move || {
            turn.run(|placed| {
                let (tracker, events) = prepared?;
                json::Parsed::of(&JsBatchSummary::of(&tracker.track_batch_placed(events, placed)?))
            })
        })
    }

    /// Advances the clock to `now` (event time: microseconds since the Unix epoch as a
    /// number or bigint, or a `Date`) and fires every deadline due strictly before it.
    /// Resolves to the actions fired (listeners get them too).
    ///
    /// Rejects with `E_PARSE` (`path` `now`) for a bad time, `E_CLOSED`.
    #[napi(catch_unwind, ts_return_type = "Promise<Array<Action>>")]
    pub fn advance(&self, #[napi(ts_arg_type = "number | bigint | Date")] now: Unknown<'_>) -> AsyncTask<Job<Vec<JsAction>>> {
        let prepared = self.tracker().and_then(|t| Ok((t, at("now", now)?)));
        Job::spawn(move || {
            let (tracker, now) = prepared?;
            Ok(outbox::actions(&tracker.advance(now)?))
        })
    }

    /// Customer context for any identity key of a profile (`kind:value`); `null` for an
    /// unknown key.
    ///
    /// Rejects with `E_PARSE` (`path` `key`) for a malformed key, `E_CLOSED`.
    #[napi(catch_unwind, ts_return_type = "Promise<Context | null>")]
    pub fn context(&self, key: String) -> AsyncTask<Job<Option<JsContext>>> {
        let prepared = self.tracker().and_then(|t| Ok((t, identity::key("key", &key)?)));
        Job::spawn(move || {
            let (tracker, key) = prepared?;
            Ok(tracker.context(&key)?.map(JsContext::from))
        })
    }

    /// Customer context on the calling thread: blocks the event loop while the store
    /// works (fine for the in-memory store; with PostgreSQL it waits for the server:
    /// prefer `context`). Otherwise the same as `context`.
    ///
    /// @throws {Error} `E_PARSE` (`path` `key`), `E_CLOSED`.
    #[napi(catch_unwind)]
    pub fn context_sync(&self, env: &Env, key: String) -> Result<Option<JsContext>> {
        guard(env, || {
            let tracker = self.tracker()?;
            Ok(tracker.context(&identity::key("key", &key)?)?.map(JsContext::from))
        })
    }

    /// Where a customer's next interaction should go: the first of the map's routing rules
    /// whose condition matches the profile (its latest event, with `phase` meaning the
    /// profile's current phase and its facts as `profile.*` properties:
    /// `profile.emotion_last`, `profile.emotion_mean`, `profile.emotion_lowest`,
    /// `profile.events`, `profile.furthest_phase`). `null` for an unknown key or when no
    /// rule matches.
    ///
    /// Rejects with `E_PARSE` (`path` `key`) for a malformed key, `E_CLOSED`.
    #[napi(catch_unwind, ts_return_type = "Promise<Route | null>")]
    pub fn route(&self, key: String) -> AsyncTask<Job<Option<JsRoute>>> {
        let prepared = self.tracker().and_then(|t| Ok((t, identity::key("key", &key)?)));
        Job::spawn(move || {
            let (tracker, key) = prepared?;
            Ok(tracker.route(&key)?.map(JsRoute::from))
        })
    }

    /// Routing on the calling thread, for an IVR or a chat router answering at once:
    /// blocks the event loop while the store works (fine for the in-memory store; with
    /// PostgreSQL prefer `route`). Otherwise the same as `route`.
    ///
    /// @throws {Error} `E_PARSE` (`path` `key`), `E_CLOSED`.
    #[napi(catch_unwind)]
    pub fn route_sync(&self, env: &Env, key: String) -> Result<Option<JsRoute>> {
        guard(env, || {
            let tracker = self.tracker()?;
            Ok(tracker.route(&identity::key("key", &key)?)?.map(JsRoute::from))
        })
    }

    /// A profile's whole journey, in time order (then arrival order); empty for an unknown
    /// key.
    ///
    /// Rejects with `E_PARSE` (`path` `key`), `E_CLOSED`.
    #[napi(catch_unwind, ts_return_type = "Promise<Array<StoredEvent>>")]
    pub fn journey(&self, key: String) -> AsyncTask<Job<Vec<JsStoredEvent>>> {
        let prepared = self.tracker().and_then(|t| Ok((t, identity::key("key", &key)?)));
        Job::spawn(move || {
            let (tracker, key) = prepared?;
            Ok(tracker.journey(&key)?.iter().map(|e| JsStoredEvent::from(&**e)).collect())
        })
    }

    /// Links two identity keys explicitly (a login, a CRM match) at `ts`, under the same
    /// rules as keys that come together in an event. Resolves to what happened:
    /// `joined`, `merged`, `already` or `refused` (it would break an identity limit; see
    /// `conflicts()`).
    ///
    /// Rejects with `E_PARSE` (`path` `a`, `b` or `ts`), `E_CLOSED`.
    #[napi(catch_unwind, ts_return_type = "Promise<'joined' | 'merged' | 'already' | 'refused'>")]
    pub fn link(&self, a: String, b: String, #[napi(ts_arg_type = "number | bigint | Date")] ts: Unknown<'_>) -> AsyncTask<Job<String>> {
        let prepared = self.tracker().and_then(|t| Ok((t, keys(&a, &b)?, at("ts", ts)?)));
        Job::spawn(move || {
            let (tracker, (a, b), ts) = prepared?;
            Ok(profile::link_outcome(tracker.link(&a, &b, ts)?).to_string())
        })
    }

    /// Removes a wrong link (a shared device, a mistyped e-mail) at `ts` and splits the
    /// profile back along the remaining links, reassigning events, deadlines and state.
    /// Resolves to the id of the new profile if it split, else `null`.
    ///
    /// Rejects with `E_CONFLICT` when the keys are not linked, `E_PARSE`, `E_CLOSED`.
    #[napi(catch_unwind, ts_return_type = "Promise<number | null>")]
    pub fn unlink(&self, a: String, b: String, #[napi(ts_arg_type = "number | bigint | Date")] ts: Unknown<'_>) -> AsyncTask<Job<Option<i64>>> {
        let prepared = self.tracker().and_then(|t| Ok((t, keys(&a, &b)?, at("ts", ts)?)));
        Job::spawn(move || {
            let (tracker, (a, b), ts) = prepared?;
            Ok(tracker.unlink(&a, &b, ts)?.map(|p| p.0 as i64))
        })
    }

    /// The append-only log of links and merges that made the profile of `key`; empty for
    /// an unknown key.
    ///
    /// Rejects with `E_PARSE` (`path` `key`), `E_CLOSED`.
    #[napi(catch_unwind, ts_return_type = "Promise<Array<LinkEntry>>")]
    pub fn link_log(&self, key: String) -> AsyncTask<Job<Vec<JsLinkEntry>>> {
        let prepared = self.tracker().and_then(|t| Ok((t, identity::key("key", &key)?)));
        Job::spawn(move || {
            let (tracker, key) = prepared?;
            Ok(tracker.link_log(&key)?.iter().map(JsLinkEntry::from).collect())
        })
    }

    /// Every identity conflict recorded (links refused because they would break a limit).
    ///
    /// Rejects with `E_CLOSED`.
    #[napi(catch_unwind, ts_return_type = "Promise<Array<Conflict>>")]
    pub fn conflicts(&self) -> AsyncTask<Job<Vec<JsConflict>>> {
        let prepared = self.tracker();
        Job::spawn(move || Ok(prepared?.conflicts()?.iter().map(JsConflict::from).collect()))
    }

    /// The profiles matching a filter (all of them without one), by id.
    ///
    /// Rejects with `E_NOT_FOUND` for an unknown phase, `E_PARSE` with `path` for an
    /// unknown filter field or level, `E_CLOSED`.
    #[napi(catch_unwind, ts_return_type = "Promise<Array<ProfileSummary>>")]
    pub fn profiles(&self, #[napi(ts_arg_type = "ProfileFilter")] filter: Option<Unknown<'_>>) -> AsyncTask<Job<Vec<JsProfileSummary>>> {
        let prepared = self.tracker().and_then(|t| Ok((t, ProfileFilter::from(read_options::<JsProfileFilter>("filter", filter)?))));
        Job::spawn(move || {
            let (tracker, filter) = prepared?;
            Ok(tracker.profiles(&filter)?.iter().map(JsProfileSummary::from).collect())
        })
    }

    /// How many profiles match a filter (all of them without one).
    ///
    /// Rejects like `profiles`.
    #[napi(catch_unwind, ts_return_type = "Promise<number>")]
    pub fn count(&self, #[napi(ts_arg_type = "ProfileFilter")] filter: Option<Unknown<'_>>) -> AsyncTask<Job<i64>> {
        let prepared = self.tracker().and_then(|t| Ok((t, ProfileFilter::from(read_options::<JsProfileFilter>("filter", filter)?))));
        Job::spawn(move || {
            let (tracker, filter) = prepared?;
            Ok(tracker.count(&filter)? as i64)
        })
    }

    /// Unacknowledged actions of the outbox, oldest first, at most `limit` (default 100).
    ///
    /// Rejects with `E_CLOSED`.
    #[napi(catch_unwind, ts_return_type = "Promise<Array<Action>>")]
    pub fn pending_actions(&self, limit: Option<u32>) -> AsyncTask<Job<Vec<JsAction>>> {
        let prepared = self.tracker();
        let limit = limit.unwrap_or(100) as usize;
        Job::spawn(move || Ok(outbox::actions(&prepared?.pending_actions(limit)?)))
    }

    /// Acknowledges an executed action by id; resolves to `false` if it was not pending.
    ///
    /// Rejects with `E_CLOSED`.
    #[napi(catch_unwind, ts_return_type = "Promise<boolean>")]
    pub fn ack(&self, action_id: String) -> AsyncTask<Job<bool>> {
        let prepared = self.tracker();
        Job::spawn(move || prepared?.ack(&action_id))
    }

    /// Assigns a persona to the profile of `key` explicitly, or clears it with `null`.
    ///
    /// Rejects with `E_NOT_FOUND` for an unknown key, `E_PARSE` (`path` `key`), `E_CLOSED`.
    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn assign_persona(&self, key: String, persona: Option<String>) -> AsyncTask<Job<()>> {
        let prepared = self.tracker().and_then(|t| Ok((t, identity::key("key", &key)?)));
        Job::spawn(move || {
            let (tracker, key) = prepared?;
            tracker.assign_persona(&key, persona.as_deref())
        })
    }

    /// Sets attributes of the profile of `key` (merged into its existing ones) and
    /// assigns the first persona whose `assign_when` rule matches them. Resolves to the
    /// persona now assigned, or `null`.
    ///
    /// Rejects with `E_NOT_FOUND` for an unknown key, `E_PARSE` with `path` for a key or
    /// an attribute that has no JSON form, `E_CLOSED`.
    #[napi(catch_unwind, ts_return_type = "Promise<string | null>")]
    pub fn set_attributes(
        &self,
        key: String,
        #[napi(ts_arg_type = "Record<string, unknown>")] attributes: Unknown<'_>,
    ) -> AsyncTask<Job<Option<String>>> {
        let prepared = self.tracker().and_then(|t| {
            let key = identity::key("key", &key)?;
            let attributes: Map<String, Value> = convert::object_to_json(attributes).map_err(|b| b.within("attributes").into_parse())?;
            Ok((t, key, attributes))
        });
        Job::spawn(move || {
            let (tracker, key, attributes) = prepared?;
            tracker.set_attributes(&key, attributes)
        })
    }

    /// Calls `listener` with every action fired from now on (by `track`, `trackBatch`,
    /// `advance` or the clock), after it is committed, on the event loop. Listeners never
    /// keep the process alive. A listener that throws raises an uncaught exception, as an
    /// `EventEmitter` listener does; the action stays committed and in the outbox.
    ///
    /// @throws {Error} `E_PARSE` (`path` `event`) for an event other than `'action'`,
    /// `E_CLOSED`.
    #[napi(catch_unwind)]
    pub fn on(
        &self,
        env: &Env,
        #[napi(ts_arg_type = "'action'")] event: String,
        #[napi(ts_arg_type = "(action: Action) => void")] listener: Function<'_, JsAction, ()>,
    ) -> Result<()> {
        guard(env, || check_event(&event).and_then(|()| self.tracker().map(|_| ())))?;
        let tsfn: ActionTsfn = listener.build_threadsafe_function::<JsAction>().weak::<true>().callee_handled::<false>().build()?;
        let id = self.next_listener.get();
        self.next_listener.set(id + 1);
        self.refs.borrow_mut().push((id, listener.create_ref()?));
        self.listeners.list.write().unwrap_or_else(PoisonError::into_inner).push((id, Arc::new(tsfn)));
        Ok(())
    }

    /// Stops calling `listener` (added with `on`); does nothing if it was not added.
    ///
    /// @throws {Error} `E_PARSE` (`path` `event`) for an event other than `'action'`.
    #[napi(catch_unwind)]
    pub fn off(
        &self,
        env: &Env,
        #[napi(ts_arg_type = "'action'")] event: String,
        #[napi(ts_arg_type = "(action: Action) => void")] listener: Function<'_, JsAction, ()>,
    ) -> Result<()> {
        guard(env, || check_event(&event))?;
        let wanted = listener.raw();
        let mut found = None;
        let mut refs = self.refs.borrow_mut();
        for (i, (id, r)) in refs.iter().enumerate() {
            let mut same = false;
            // SAFETY: both values belong to this environment and are alive in this call.
            let status = unsafe { napi::sys::napi_strict_equals(env.raw(), r.borrow_back(env)?.raw(), wanted, &mut same) };
            if status != napi::sys::Status::napi_ok {
                return Err(napi::Error::new(Status::GenericFailure, "cannot compare listeners"));
            }
            if same {
                found = Some((i, *id));
                break;
            }
        }
        if let Some((i, id)) = found {
            refs.remove(i);
            self.listeners.remove(id);
        }
        Ok(())
    }

    /// Drives `advance` from the wall clock: every `intervalMs` milliseconds (default
    /// 1000) the tracker advances to the system time, firing missed deadlines (listeners
    /// get the actions). Runs on a background thread that never keeps the process alive;
    /// a running clock is restarted with the new interval. Errors of `advance` go to
    /// `onError`, or to standard error without one; the clock keeps going.
    ///
    /// @throws {Error} `E_PARSE` (`path` `intervalMs`) for an interval that is not a
    /// positive number, `E_CLOSED`.
    #[napi(catch_unwind)]
    pub fn start_clock(&self, env: &Env, interval_ms: Option<f64>, #[napi(ts_arg_type = "(error: Error) => void")] on_error: Option<Function<'_, napi::Error, ()>>) -> Result<()> {
        let interval_ms = interval_ms.unwrap_or(1000.0);
        let tracker = guard(env, || {
            if !(interval_ms.is_finite() && interval_ms > 0.0) {
                return Err(Error::parse("intervalMs", format!("{interval_ms} is not a positive number of milliseconds")));
            }
            self.tracker()
        })?;
        let on_error: Option<ErrorTsfn> = match on_error {
            Some(f) => Some(
                f.build_threadsafe_function::<Arc<Error>>()
                    .weak::<true>()
                    .callee_handled::<false>()
                    .build_callback(|ctx| Ok(to_js_error(&ctx.env, &ctx.value)))?,
            ),
            None => None,
        };
        self.stop_clock(env)?;
        let every = Duration::from_secs_f64(interval_ms / 1000.0).max(Duration::from_micros(1));
        let ticker = Ticker::start(tracker, every, move |err| match &on_error {
            Some(f) => {
                let _ = f.call(Arc::new(err), ThreadsafeFunctionCallMode::NonBlocking);
            }
            None => eprintln!("journey-core: the tracker's clock failed to advance: {err}"),
        });
        *self.clock.lock().unwrap_or_else(PoisonError::into_inner) = Some(ticker);
        // Stops the clock's thread when the environment goes away (process exit, a worker
        // ending) while it still runs.
        *self.clock_hook.borrow_mut() = Some(env.add_env_cleanup_hook(self.clock.clone(), |clock| halt(&clock))?);
        Ok(())
    }

    /// Stops the clock started by `startClock`, waiting for its thread; does nothing if it
    /// is not running.
    #[napi(catch_unwind)]
    pub fn stop_clock(&self, env: &Env) -> Result<()> {
        halt(&self.clock);
        let hook = self.clock_hook.borrow_mut().take();
        if let Some(hook) = hook {
            env.remove_env_cleanup_hook(hook)?;
        }
        Ok(())
    }

    /// Closes the tracker at once: stops the clock and drops the listeners; every later
    /// call throws, or rejects, with `E_CLOSED`. The returned Promise resolves once the
    /// operations already running have finished and the store is released: a SQLite
    /// file's state is flushed to its tables and the file unlocked, so it can be opened
    /// again. Closing twice does nothing (and resolves at once).
    ///
    /// Rejects with `E_STORAGE` if the final flush of a SQLite file fails (every
    /// committed transaction is in the file anyway).
    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn close(&self, env: &Env) -> Result<AsyncTask<Job<()>>> {
        self.stop_clock(env)?;
        self.listeners.clear();
        self.refs.borrow_mut().clear();
        let tracker = self.inner.borrow_mut().take();
        if let Some(tracker) = &tracker {
            tracker.close();
        }
        let held = self.held.borrow_mut().take();
        Ok(Job::spawn(move || store::release(tracker, held)))
    }
}

impl Drop for JsTracker {
    fn drop(&mut self) {
        // Garbage collected without `close()`: the clock's thread must not outlive it.
        halt(&self.clock);
    }
}

fn check_event(event: &str) -> std::result::Result<(), Error> {
    if event == "action" {
        Ok(())
    } else {
        Err(Error::parse("event", format!("unknown event {event:?}: a tracker emits 'action'")))
    }
}

/// Replays a historical log through a map's waypoints in event time, in array order, on
/// a fresh in-memory tracker, on the thread pool, and resolves to every action that would
/// have fired (including deadlines still armed at `until`, if given). It is the same code
/// as live tracking, so the result is what live tracking of the same events fires.
///
/// Rejects with `E_BAD_EVENT` (`index`, `field`) if any event is bad, `E_VALIDATION` for
/// an invalid map, `E_PARSE` with `path` for a bad `until` or option.
#[napi(catch_unwind, ts_return_type = "Promise<Array<Action>>")]
pub fn backtest(
    env: &Env,
    doc: &JsMapDocument,
    #[napi(ts_arg_type = "Array<JourneyEvent>")] events: Array<'_>,
    #[napi(ts_arg_type = "number | bigint | Date | null")] until: Option<Unknown<'_>>,
    #[napi(ts_arg_type = "TrackerOptions")] options: Option<Unknown<'_>>,
) -> AsyncTask<Job<Vec<JsAction>>> {
    let doc: MapDocument = doc.inner().clone();
    let prepared = (|| -> std::result::Result<_, Error> {
        let until = match until {
            Some(v) if !convert::is_nullish(&v) => Some(at("until", v)?),
            _ => None,
        };
        let options = read_options::<JsTrackerOptions>("options", options)?;
        let why = "a backtest runs on a fresh in-memory tracker: leave out the store options";
        match backend(&options)? {
            StoreChoice::Memory => {}
            StoreChoice::Sqlite(..) => return Err(Error::parse("path", why)),
            StoreChoice::Postgres(..) => return Err(Error::parse("postgres", why)),
        }
        let config = options.into_core();
        Ok((batch::events(env, &events)?, until, config))
    })();
    Job::spawn(move || {
        let (events, until, config) = prepared?;
        Ok(outbox::actions(&journey_core::backtest(&doc, config, events, until)?))
    })
}

#[cfg(test)]
mod tests {
    use journey_core::{Event, IdentityKey, Outcome};

    use super::*;

    /// `trackBatch` writes its actions' JSON straight from the core's values: the same
    /// JSON as the `Action` objects `track` converts, for reached and missed actions.
    #[test]
    fn actions_json_is_the_json_of_js_actions() {
        let doc = MapDocument::load(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/maps/shop.json")).expect("the shop map loads");
        let tracker = Tracker::new(&doc, TrackerConfig::default()).expect("a tracker");
        let (t0, minute) = (1_700_000_000_000_000i64, 60_000_000i64);
        let key = |k: &str| IdentityKey::parse(k).expect("a key");
        let events = vec![
            Event::new(t0, key("session:a"), "product_view", "web"),
            Event::new(t0 + 1, key("session:a"), "add_to_cart", "web"),
            Event::new(t0 + 2, key("session:a"), "remove_from_cart", "web"),
            Event::new(t0 + 60 * minute, key("session:b"), "not_on_the_map", "phone"),
        ];
        let tracked = tracker.track_batch(events).expect("tracked");
        let actions: Vec<&ActionRecord> = tracked.iter().flat_map(|t| &t.actions).collect();
        let outcomes: Vec<(Outcome, bool)> = actions.iter().map(|a| (a.outcome, a.why.deadline.is_some())).collect();
        assert!(outcomes.contains(&(Outcome::Reached, false)) && outcomes.contains(&(Outcome::Missed, true)), "{outcomes:?}");
        let js: Vec<JsAction> = tracked.iter().flat_map(|t| outbox::actions(&t.actions)).collect();
        let written = serde_json::to_string(&outbox::ActionsJson(actions.into_iter())).expect("json");
        assert_eq!(written, serde_json::to_string(&js).expect("json"));
    }
}

// Last: their `impl JsTracker` blocks must be expanded after the struct (see the docs of
// `privacy`).
mod maintenance;
mod privacy;
