//! The tracker as a Python object: `Tracker` (tracking, customer context, identity, the
//! outbox, subscribers and the wall clock) and `backtest`.
//!
//! Results cross as plain Python data in the core's serde form (typed as `TypedDict`s in
//! `journey_core.types`). The interpreter is released (`py.detach`) while the core works
//! and re-entered (`Python::try_attach`) only to call a subscriber, after the core has
//! committed and released its locks.

use std::cell::Cell;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use std::io::Write;
use std::path::PathBuf;

use journey_core::store::{export_jsonl, import_jsonl};
use journey_core::tracker::{ProfileFilter, Subscription, Ticker, Tracker, TrackerConfig};
use journey_core::{Error, MapDocument};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use serde_json::{Map, Value};

use crate::convert::{self, repr_str};
use crate::error::{py_err, to_py_err};
use crate::map::PyMapDocument;
use crate::store::{Backend, StoreArgs};
use crate::{event, identity, time};

thread_local! {
    /// How deep the current thread is in subscriber calls.
    static IN_SUBSCRIBER: Cell<u32> = const { Cell::new(0) };
}

/// Marks the current thread as running a subscriber, for as long as it lives.
struct SubscriberScope;

impl SubscriberScope {
    fn enter() -> Self {
        IN_SUBSCRIBER.with(|depth| depth.set(depth.get() + 1));
        SubscriberScope
    }

    fn active() -> bool {
        IN_SUBSCRIBER.with(|depth| depth.get() > 0)
    }
}

impl Drop for SubscriberScope {
    fn drop(&mut self) {
        IN_SUBSCRIBER.with(|depth| depth.set(depth.get().saturating_sub(1)));
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The wall clocks (the core's `Ticker`s) of every tracker, so that they can be stopped
/// before the interpreter shuts down: a clock thread calling a subscriber while Python
/// finalises would crash the process.
mod clocks {
    use std::collections::BTreeMap;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::thread::JoinHandle;

    use journey_core::tracker::Ticker;
    use pyo3::prelude::*;

    use super::{SubscriberScope, lock};

    struct Clocks {
        /// The running clocks, by tracker id.
        running: BTreeMap<u64, Ticker>,
        /// Threads stopping clocks without waiting (see [`stop`]).
        stopping: Vec<JoinHandle<()>>,
    }

    static CLOCKS: Mutex<Clocks> = Mutex::new(Clocks { running: BTreeMap::new(), stopping: Vec::new() });
    static NEXT_ID: AtomicU64 = AtomicU64::new(0);

    /// A new tracker id.
    pub fn new_id() -> u64 {
        NEXT_ID.fetch_add(1, Ordering::Relaxed)
    }

    /// Registers a tracker's clock; returns the one it replaces.
    pub fn insert(id: u64, ticker: Ticker) -> Option<Ticker> {
        lock(&CLOCKS).running.insert(id, ticker)
    }

    /// Unregisters a tracker's clock.
    pub fn remove(id: u64) -> Option<Ticker> {
        lock(&CLOCKS).running.remove(&id)
    }

    /// Whether a tracker's clock is running.
    pub fn running(id: u64) -> bool {
        lock(&CLOCKS).running.contains_key(&id)
    }

    /// Stops a clock and waits for its thread, with the interpreter released (its last
    /// tick may be calling a subscriber). Without `py` (from `Drop`, where waiting for a
    /// tick that waits for the interpreter would never end) or from inside a subscriber
    /// (whose thread may be the clock's own, which cannot wait for itself), the clock is
    /// stopped by a helper thread instead, which [`stop_all`] waits for.
    pub fn stop(py: Option<Python<'_>>, ticker: Ticker) {
        match py {
            Some(py) if !SubscriberScope::active() => py.detach(move || ticker.stop()),
            _ => {
                let helper = std::thread::spawn(move || ticker.stop());
                let mut clocks = lock(&CLOCKS);
                clocks.stopping.retain(|h| !h.is_finished());
                clocks.stopping.push(helper);
            }
        }
    }

    guarded! {
    /// Stops every clock and waits for them; registered with `atexit`.
    #[pyfunction]
    pub fn stop_all(py: Python<'_>) {
        let (running, stopping) = {
            let mut clocks = lock(&CLOCKS);
            (std::mem::take(&mut clocks.running), std::mem::take(&mut clocks.stopping))
        };
        py.detach(move || {
            for ticker in running.into_values() {
                ticker.stop();
            }
            for helper in stopping {
                let _ = helper.join();
            }
        });
    }
    }
}

/// Registers the stopping of every wall clock at interpreter exit.
pub fn register_atexit(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let stop_all = wrap_pyfunction!(clocks::stop_all, m)?;
    m.py().import("atexit")?.call_method1("register", (stop_all,))?;
    Ok(())
}

/// The core's configuration from the keyword arguments shared by `Tracker` and
/// `backtest`; what is not given keeps the core's default.
fn config(
    map: Option<String>,
    recent_events: usize,
    interest_properties: Option<Vec<String>>,
    identity: Option<&Bound<'_, PyAny>>,
    limits: Option<&Bound<'_, PyAny>>,
) -> PyResult<TrackerConfig> {
    let mut config = TrackerConfig { map, recent_events, ..TrackerConfig::default() };
    if let Some(properties) = interest_properties {
        config.interest_properties = properties;
    }
    if let Some(rules) = identity {
        config.identity = identity::rules(rules)?;
    }
    if let Some(limits) = limits {
        config.limits = convert::deserialize(Value::Object(convert::dict_from_py(limits, "limits")?), "limits")?;
    }
    Ok(config)
}

/// A profile filter from a dict and keyword arguments (each criterion given once).
fn filter(filter: Option<&Bound<'_, PyAny>>, criteria: Option<&Bound<'_, PyDict>>) -> PyResult<ProfileFilter> {
    let mut map = match filter {
        Some(f) => convert::dict_from_py(f, "filter")?,
        None => Map::new(),
    };
    if let Some(criteria) = criteria {
        for (name, value) in convert::dict_from_py(criteria, "filter")? {
            if map.contains_key(&name) {
                return Err(PyTypeError::new_err(format!("filter criterion {name:?} given twice: in the dict and as a keyword")));
            }
            map.insert(name, value);
        }
    }
    convert::deserialize(Value::Object(map), "filter")
}

/// Tracks interactions against one journey map: one journey per customer across
/// channels and identity keys, waypoints fired as actions, customer context out.
///
/// Events are dicts in the core's JSON form:
///
/// >>> tracker.track({"ts": 1736121762854513, "keys": ["session:8f3a"],
/// ...                "event": "add_to_cart", "channel": "web"})
///
/// ``ts`` is an ``int`` of microseconds since the Unix epoch, UTC, or an aware
/// ``datetime``; a naive ``datetime`` is refused (:class:`BadEventError`), since it
/// could be local time or UTC. Optional fields: ``department``, ``rating`` (any form the
/// core accepts: ``"positive"``, ``0.5``, ``{"csat": 4}``, ``{"nps": 9}``) and
/// ``properties`` (a dict). Times in results are ``int`` microseconds, UTC. The
/// shapes of events and results are typed in :mod:`journey_core.types`.
///
/// Time is event time: each event first advances the tracker's clock to its ``ts``,
/// firing the deadlines that fell due before it; :meth:`advance` (or :meth:`start_clock`,
/// from the wall clock) does the same without an event.
///
/// The tracker keeps its journeys in memory, for its lifetime, with ``path`` in a
/// SQLite file (WAL; an acknowledged event or batch survives the process being killed;
/// one writing tracker per file), or with ``postgres`` on a PostgreSQL server (12 or
/// newer), in the tables of ``schema``, shared by every tracker (in any process or on
/// any machine) opened on the same server and schema: their writes are serialised by
/// the server, so a customer tracked by one is seen by all, and a due deadline fires
/// once across them. :attr:`store` says which. It can be shared between threads; the
/// interpreter is released while the core works. Close it with :meth:`close` (or use
/// it as a context manager): the store is brought up to date and released, and every
/// later call raises :class:`ClosedError`.
///
/// Args:
///     doc: The map document; it is validated first.
///     path: A SQLite file to keep the journeys in (created if missing, migrated on
///         open); in memory when ``None`` (and no ``postgres``).
///     postgres: A PostgreSQL connection URL, ``postgres://user:password@host:port/db``
///         (or ``key=value`` pairs), to keep the journeys on that server; not with
///         ``path``. The URL is not kept, and errors name the server without it.
///     durability: SQLite only: ``process`` (a commit survives the process being
///         killed; the default) or ``os`` (also an OS crash or power cut: the log is
///         synced on every commit).
///     key_secret: Store identity values only as keyed hashes (HMAC-SHA-256 with this
///         secret, ``bytes``, at least 16 of them); lookups by raw key still work. SQLite
///         or PostgreSQL.
///     hash_kinds: Hash only these key kinds (e.g. ``["email", "phone"]``); every kind
///         when ``None``.
///     read_only: SQLite only: open the file for reading only, beside a writer.
///     max_size: SQLite only: the most bytes the file may grow to; a write that would
///         pass it raises :class:`StorageError` and changes nothing. No limit when
///         ``None``.
///     busy_timeout: SQLite only: seconds to wait for a lock held by another
///         connection before failing (0: fail at once); 5 when ``None``.
///     checkpoint_bytes: SQLite only: journal bytes after which the state tables are
///         brought up to date (smaller: faster reopening, more writing); 64 MiB when
///         ``None``.
///     cache_mib: SQLite only: the page cache per connection, in MiB; 64 when ``None``.
///     schema: PostgreSQL only: the schema holding the tables (created if missing;
///         lowercase letters, digits and ``_``, at most 63 bytes); ``journey_core`` when
///         ``None``.
///     pool_size: PostgreSQL only: the most connections the tracker opens (at least 1);
///         4 when ``None``.
///     connect_timeout: PostgreSQL only: seconds connecting may take, unless the URL
///         sets ``connect_timeout``; 5 when ``None``.
///     pool_wait: PostgreSQL only: seconds a call waits for a free connection when all
///         are busy; 30 when ``None``.
///     attempts: PostgreSQL only: how many times a write is tried when it meets a
///         serialization failure, a deadlock or a lost connection (at least 1); 5 when
///         ``None``.
///     fetch_size: PostgreSQL only: rows fetched at a time by scans (``export_jsonl``,
///         :meth:`Analysis.from_tracker`); 1000 when ``None``.
///     cache_entries: PostgreSQL only: keys and profiles remembered between writes,
///         reused while no other instance commits in between (0: none); 200000 when
///         ``None``.
///     map: The id of the map to track against; the document's first map when ``None``.
///     recent_events: How many recent events customer context returns.
///     interest_properties: Event properties whose values count as interests in
///         customer context; ``None`` for the default ``topic``, ``product`` and
///         ``category``.
///     identity: Identity rules, ``{"levels": {kind: level}, "default_level": level,
///         "limits": {kind: n}}``; a field left out keeps its default (``session``,
///         ``device``, ``cookie``, ``social`` anonymous; ``email``, ``phone``,
///         ``loyalty`` identified; ``customer`` authenticated and at most one per
///         profile). ``None`` for the defaults.
///     limits: Limits on untrusted input, ``{"event_name_len": 256, "batch_size":
///         10000, ...}``; a limit left out keeps its default. Each is described in the
///         Rust docs of ``journey_core::limits``; an event or batch over one raises
///         :class:`LimitError`, a map over one :class:`ValidationError`. ``None`` for the
///         defaults.
///
/// Raises:
///     ValidationError: The document has problems, or is larger than ``limits`` allow.
///     StorageError: The file cannot be opened as a store (another tracker writes it,
///         it is not a journey-core database, or it is of a newer version); the
///         PostgreSQL server cannot be reached (the message names it), or ``schema``
///         holds other tables.
///     ParseError: The URL is malformed (``path`` ``url``), ``schema`` is not a valid
///         name (``schema``).
///     JourneyIOError: The file cannot be opened.
///     ValueError: ``durability`` is unknown; ``path`` and ``postgres`` together;
///         ``key_secret`` / ``hash_kinds`` without a store; ``key_secret`` shorter than
///         16 bytes; ``hash_kinds`` without it; a SQLite-only option (``durability`` to
///         ``cache_mib``) without ``path``; ``schema`` / ``pool_size`` /
///         ``connect_timeout`` (to ``cache_entries``) without ``postgres``;
///         ``pool_size``, ``attempts``, ``max_size``, ``checkpoint_bytes`` or
///         ``cache_mib`` 0; ``fetch_size`` outside 1 to 2147483647; ``connect_timeout``
///         or ``pool_wait`` not positive; ``busy_timeout`` negative. The message names
///         the option.
///     NotFoundError: No map has the id ``map``.
///     ParseError: ``identity`` or ``limits`` is malformed; ``path`` names the bad
///         element, e.g. ``identity.levels.email`` or ``limits.batch_size``.
#[pyclass(name = "Tracker", module = "journey_core", frozen)]
pub struct PyTracker {
    /// `None` once closed.
    inner: Mutex<Option<Arc<Tracker>>>,
    /// The key of its wall clock in [`clocks`].
    id: u64,
    /// The tracked map's id.
    map_id: String,
    /// The document, for analyses of the tracker's store.
    doc: Arc<MapDocument>,
    /// Where the journeys are kept.
    backend: Backend,
    /// The subscribed callbacks with their subscriptions, for :meth:`unsubscribe`.
    subscriptions: Mutex<Vec<(Py<PyAny>, Subscription)>>,
}

impl PyTracker {
    /// The core tracker, or the closed error.
    fn get(&self) -> PyResult<Arc<Tracker>> {
        lock(&self.inner).clone().ok_or_else(|| py_err(Error::Closed { what: "tracker" }))
    }

    /// The core tracker and its document (for `Analysis.from_tracker`).
    pub fn core(&self) -> PyResult<(Arc<Tracker>, Arc<MapDocument>)> {
        Ok((self.get()?, self.doc.clone()))
    }
}

impl Drop for PyTracker {
    fn drop(&mut self) {
        let tracker = self.inner.get_mut().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(tracker) = &tracker {
            tracker.close();
        }
        if let Some(ticker) = clocks::remove(self.id) {
            clocks::stop(None, ticker);
        }
    }
}

guarded! {
#[pymethods]
impl PyTracker {
    #[new]
    #[pyo3(signature = (doc, *, path = None, postgres = None, durability = None, key_secret = None, hash_kinds = None, read_only = false, max_size = None, busy_timeout = None, checkpoint_bytes = None, cache_mib = None, schema = None, pool_size = None, connect_timeout = None, pool_wait = None, attempts = None, fetch_size = None, cache_entries = None, map = None, recent_events = 20, interest_properties = None, identity = None, limits = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        doc: &Bound<'_, PyMapDocument>,
        path: Option<PathBuf>,
        postgres: Option<String>,
        durability: Option<String>,
        key_secret: Option<Vec<u8>>,
        hash_kinds: Option<Vec<String>>,
        read_only: bool,
        max_size: Option<u64>,
        busy_timeout: Option<f64>,
        checkpoint_bytes: Option<u64>,
        cache_mib: Option<u32>,
        schema: Option<String>,
        pool_size: Option<usize>,
        connect_timeout: Option<f64>,
        pool_wait: Option<f64>,
        attempts: Option<u32>,
        fetch_size: Option<u32>,
        cache_entries: Option<usize>,
        map: Option<String>,
        recent_events: usize,
        interest_properties: Option<Vec<String>>,
        identity: Option<&Bound<'_, PyAny>>,
        limits: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let config = config(map, recent_events, interest_properties, identity, limits)?;
        let store = StoreArgs { path, postgres, durability, key_secret, hash_kinds, read_only, max_size, busy_timeout, checkpoint_bytes, cache_mib, schema, pool_size, connect_timeout, pool_wait, attempts, fetch_size, cache_entries };
        let doc: MapDocument = doc.get().inner.clone();
        let (tracker, backend) = store.open(py, &doc, config)?;
        let map_id = tracker.resolver().map().id.clone();
        Ok(PyTracker { inner: Mutex::new(Some(Arc::new(tracker))), id: clocks::new_id(), map_id, doc: Arc::new(doc), backend, subscriptions: Mutex::new(Vec::new()) })
    }

    /// The right to be forgotten: removes the profile of ``key`` with its events, keys,
    /// links, conflicts, deadlines, caps, persona, attributes and pending actions, and
    /// removes its keys from events of other profiles, in one transaction.
    ///
    /// Returns:
    ///     What was removed (``profile``, ``keys``, ``events``, ``scrubbed``), or ``None``
    ///     for a key never seen.
    ///
    /// Raises:
    ///     ParseError: ``key`` is not of the form ``kind:value``.
    ///     StorageError: The store failed (nothing was removed).
    ///     ClosedError: The tracker is closed.
    fn forget<'py>(&self, py: Python<'py>, key: &str) -> PyResult<Bound<'py, PyAny>> {
        let tracker = self.get()?;
        let key = identity::key(key, "key")?;
        let forgotten = py.detach(|| tracker.forget(&key)).map_err(py_err)?;
        convert::serialize_to_py(py, &forgotten)
    }

    /// Retention: deletes every event older than ``before`` (event time), in one
    /// transaction. Profile summaries, keys and links stay.
    ///
    /// Args:
    ///     before: An ``int`` of microseconds since the epoch, UTC, or an aware ``datetime``.
    ///
    /// Returns:
    ///     How many events were deleted.
    ///
    /// Raises:
    ///     ValueError: ``before`` is a naive ``datetime``.
    ///     StorageError: The store failed (nothing was deleted).
    ///     ClosedError: The tracker is closed.
    fn delete_before(&self, py: Python<'_>, before: &Bound<'_, PyAny>) -> PyResult<u64> {
        let tracker = self.get()?;
        let before = time::micros_from_py(before, "before")?;
        py.detach(|| tracker.delete_before(before)).map_err(py_err)
    }

    /// Writes the whole store as JSON Lines (profiles, keys, events in journey order,
    /// links, conflicts, deadlines, pending actions).
    ///
    /// Args:
    ///     path: The file to write (replaced if it exists).
    ///
    /// Returns:
    ///     How many records of each kind were written.
    ///
    /// Raises:
    ///     JourneyIOError: The file cannot be written.
    ///     ClosedError: The tracker is closed.
    fn export_jsonl<'py>(&self, py: Python<'py>, path: PathBuf) -> PyResult<Bound<'py, PyAny>> {
        let tracker = self.get()?;
        let stats = py
            .detach(|| -> journey_core::Result<_> {
                let io = |source| Error::Io { path: path.display().to_string(), source };
                let mut out = std::io::BufWriter::new(std::fs::File::create(&path).map_err(io)?);
                let stats = export_jsonl(tracker.store().as_ref(), &mut out)?;
                out.flush().map_err(io)?;
                Ok(stats)
            })
            .map_err(py_err)?;
        convert::serialize_to_py(py, &stats)
    }

    /// Reads a JSON Lines export into this tracker's store, which must be empty, in one
    /// transaction (ids, arrival numbers, link log, deadlines and pending actions are
    /// kept). Open a new tracker on the store afterwards to see the imported state.
    ///
    /// Args:
    ///     path: The file to read.
    ///
    /// Returns:
    ///     How many records of each kind were read.
    ///
    /// Raises:
    ///     JourneyIOError: The file cannot be read.
    ///     ParseError: A line is malformed.
    ///     ConflictError: The store is not empty.
    ///     StorageError: The store failed (nothing was imported).
    ///     ClosedError: The tracker is closed.
    fn import_jsonl<'py>(&self, py: Python<'py>, path: PathBuf) -> PyResult<Bound<'py, PyAny>> {
        let tracker = self.get()?;
        let stats = py
            .detach(|| -> journey_core::Result<_> {
                let file = std::fs::File::open(&path).map_err(|source| Error::Io { path: path.display().to_string(), source })?;
                import_jsonl(tracker.store().as_ref(), &mut std::io::BufReader::new(file))
            })
            .map_err(py_err)?;
        convert::serialize_to_py(py, &stats)
    }

    /// The SQLite file, or ``None`` for a tracker in memory or on PostgreSQL.
    #[getter]
    fn path(&self) -> Option<String> {
        self.backend.path.as_ref().map(|p| p.display().to_string())
    }

    /// Which store keeps the journeys: ``"memory"``, ``"sqlite"`` (``path``) or
    /// ``"postgres"``. The PostgreSQL URL is not kept (it may hold a password).
    #[getter]
    fn store(&self) -> &'static str {
        self.backend.kind
    }

    /// Brings a SQLite file's state tables (profiles, keys, armed deadlines, pending
    /// actions) up to date, so that other tools reading the file (the ``sqlite3`` shell,
    /// DuckDB, pandas) see the current state; events, through the view ``journey_events``,
    /// are always current. Done automatically every ``checkpoint_bytes`` of journal and on
    /// :meth:`close`. Does nothing in memory or on PostgreSQL.
    ///
    /// Raises:
    ///     StorageError: The file could not be written (the journal still holds
    ///         everything).
    ///     ClosedError: The tracker is closed.
    fn checkpoint(&self, py: Python<'_>) -> PyResult<()> {
        self.get()?;
        let held = lock(&self.backend.held).clone();
        py.detach(|| held.map_or(Ok(()), |h| h.checkpoint())).map_err(py_err)
    }

    /// Checks a SQLite file and the store's invariants: SQLite's ``integrity_check``, every
    /// event on an existing profile, every key on exactly one profile, and the state in
    /// memory equal to the state rebuilt from the file.
    ///
    /// Returns:
    ///     ``{"profiles", "events", "keys", "problems"}``, with no problem for a sound
    ///     store; ``None`` in memory or on PostgreSQL, which have no such check.
    ///
    /// Raises:
    ///     StorageError: The file could not be read.
    ///     ClosedError: The tracker is closed.
    fn check<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.get()?;
        let held = lock(&self.backend.held).clone();
        let report = py.detach(|| held.map(|h| h.check()).transpose().map(Option::flatten)).map_err(py_err)?;
        convert::serialize_to_py(py, &report)
    }

    /// Tracks one event.
    ///
    /// Args:
    ///     event: The event, a dict (see :class:`Tracker`).
    ///
    /// Returns:
    ///     What tracking it did: ``seq`` (its arrival number), ``profile`` (the profile
    ///     it landed on), ``touchpoint`` and ``phase`` (``None`` off-map) and
    ///     ``actions`` (fired while tracking it: due deadlines first, then its
    ///     waypoints).
    ///
    /// Raises:
    ///     LimitError: The event is larger than the tracker's ``limits`` allow;
    ///         ``limit``, ``value`` and ``field`` say how. Nothing is stored.
    ///     BadEventError: The event is malformed (a missing or unknown field, a bad key,
    ///         an empty name, a rating out of range, a naive datetime); ``field`` names
    ///         it. Nothing is stored.
    ///     TypeError: ``event`` is not a dict, or holds a value with no JSON form.
    ///     ValueError: It holds a NaN or infinite float, or a too large integer.
    ///     ClosedError: The tracker is closed.
    fn track<'py>(&self, py: Python<'py>, event: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let tracker = self.get()?;
        let event = event::event_from_py(event, None)?;
        let tracked = py.detach(|| tracker.track(event)).map_err(py_err)?;
        convert::serialize_to_py(py, &tracked)
    }

    /// Tracks a batch of events in one transaction: all of it or, if any event is bad,
    /// none of it.
    ///
    /// Args:
    ///     events: The events, any iterable of dicts.
    ///
    /// Returns:
    ///     What tracking each event did, in order (see :meth:`track`).
    ///
    /// Raises:
    ///     LimitError: The batch, or an event of it, is larger than ``limits`` allow;
    ///         ``index`` is the event's position. Nothing of the batch is applied.
    ///     BadEventError: An event is malformed; ``index`` is its position and ``field``
    ///         the field at fault. Nothing of the batch is applied.
    ///     TypeError: An event is not a dict, or holds a value with no JSON form (the
    ///         message names ``events[i]``).
    ///     ValueError: An event holds a NaN or infinite float, or a too large integer.
    ///     ClosedError: The tracker is closed.
    fn track_batch<'py>(&self, py: Python<'py>, events: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let tracker = self.get()?;
        let events = event::events_from_py(events)?;
        let tracked = py.detach(|| tracker.track_batch(events)).map_err(py_err)?;
        convert::serialize_to_py(py, &tracked)
    }

    /// Advances the clock to ``now`` (event time) and fires every deadline due strictly
    /// before it, as ``missed`` actions.
    ///
    /// Args:
    ///     now: An ``int`` of microseconds since the epoch, UTC, or an aware
    ///         ``datetime``.
    ///
    /// Returns:
    ///     The actions fired, in order.
    ///
    /// Raises:
    ///     ValueError: ``now`` is a naive ``datetime``.
    ///     TypeError: ``now`` is neither an ``int`` nor a ``datetime``.
    ///     ClosedError: The tracker is closed.
    fn advance<'py>(&self, py: Python<'py>, now: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let tracker = self.get()?;
        let now = time::micros_from_py(now, "now")?;
        let actions = py.detach(|| tracker.advance(now)).map_err(py_err)?;
        convert::serialize_to_py(py, &actions)
    }

    /// Customer context for any key of a profile: everything an agent or an IVR needs at
    /// once (keys and level, persona, phases, recent events across channels, interests,
    /// emotion, open waypoints, identity conflicts).
    ///
    /// Args:
    ///     key: An identity key, ``kind:value`` (e.g. ``phone:+34600000000``).
    ///
    /// Returns:
    ///     The context, or ``None`` for a key never seen.
    ///
    /// Raises:
    ///     ParseError: ``key`` is not of the form ``kind:value``.
    ///     ClosedError: The tracker is closed.
    fn context<'py>(&self, py: Python<'py>, key: &str) -> PyResult<Bound<'py, PyAny>> {
        let tracker = self.get()?;
        let key = identity::key(key, "key")?;
        let context = py.detach(|| tracker.context(&key)).map_err(py_err)?;
        convert::serialize_to_py(py, &context)
    }

    /// Where a customer's next interaction should go: the first of the map's routing rules
    /// whose condition matches the profile (its latest event, with ``phase`` meaning the
    /// profile's current phase and its facts as ``profile.*`` properties:
    /// ``profile.emotion_last``, ``profile.emotion_mean``, ``profile.emotion_lowest``,
    /// ``profile.events``, ``profile.furthest_phase``).
    ///
    /// Args:
    ///     key: Any identity key of the profile, ``kind:value``.
    ///
    /// Returns:
    ///     The rule, queue, owning department and priority (lower is served first), or
    ///     ``None`` for a key never seen or when no rule matches.
    ///
    /// Raises:
    ///     ParseError: ``key`` is not of the form ``kind:value``.
    ///     ClosedError: The tracker is closed.
    fn route<'py>(&self, py: Python<'py>, key: &str) -> PyResult<Bound<'py, PyAny>> {
        let tracker = self.get()?;
        let key = identity::key(key, "key")?;
        let route = py.detach(|| tracker.route(&key)).map_err(py_err)?;
        convert::serialize_to_py(py, &route)
    }

    /// A profile's whole journey: its events in ``(ts, seq)`` order, with their ``seq``
    /// and ``profile``.
    ///
    /// Args:
    ///     key: Any identity key of the profile.
    ///
    /// Returns:
    ///     The events; empty for a key never seen.
    ///
    /// Raises:
    ///     ParseError: ``key`` is not of the form ``kind:value``.
    ///     ClosedError: The tracker is closed.
    fn journey<'py>(&self, py: Python<'py>, key: &str) -> PyResult<Bound<'py, PyAny>> {
        let tracker = self.get()?;
        let key = identity::key(key, "key")?;
        let events = py.detach(|| tracker.journey(&key)).map_err(py_err)?;
        convert::serialize_to_py(py, &events)
    }

    /// Links two keys explicitly (a login, a CRM match), under the same identity rules as
    /// the keys of an event.
    ///
    /// Args:
    ///     a: One key.
    ///     b: The other key.
    ///     ts: When, as an ``int`` of microseconds since the epoch, UTC, or an aware
    ///         ``datetime``.
    ///
    /// Returns:
    ///     What happened: ``"joined"`` (a new key joined a profile), ``"merged"`` (two
    ///     profiles became one), ``"already"`` (already linked) or ``"refused"`` (it would
    ///     break an identity limit; recorded in :meth:`conflicts`).
    ///
    /// Raises:
    ///     ParseError: A key is not of the form ``kind:value``.
    ///     ValueError: ``ts`` is a naive ``datetime``.
    ///     TypeError: ``ts`` is neither an ``int`` nor a ``datetime``.
    ///     ClosedError: The tracker is closed.
    fn link<'py>(&self, py: Python<'py>, a: &str, b: &str, ts: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let tracker = self.get()?;
        let (a, b) = (identity::key(a, "a")?, identity::key(b, "b")?);
        let ts = time::micros_from_py(ts, "ts")?;
        let outcome = py.detach(|| tracker.link(&a, &b, ts)).map_err(py_err)?;
        convert::serialize_to_py(py, &outcome)
    }

    /// Removes a wrong link (a shared device, a mistyped e-mail) and splits the profile
    /// back along the remaining links, moving events, deadlines and state.
    ///
    /// Args:
    ///     a: One key.
    ///     b: The other key.
    ///     ts: When, as for :meth:`link`.
    ///
    /// Returns:
    ///     The id of the new profile if the profile split, else ``None``.
    ///
    /// Raises:
    ///     ConflictError: The keys are not linked.
    ///     ParseError: A key is not of the form ``kind:value``.
    ///     ValueError: ``ts`` is a naive ``datetime``.
    ///     TypeError: ``ts`` is neither an ``int`` nor a ``datetime``.
    ///     ClosedError: The tracker is closed.
    fn unlink(&self, py: Python<'_>, a: &str, b: &str, ts: &Bound<'_, PyAny>) -> PyResult<Option<u64>> {
        let tracker = self.get()?;
        let (a, b) = (identity::key(a, "a")?, identity::key(b, "b")?);
        let ts = time::micros_from_py(ts, "ts")?;
        let split = py.detach(|| tracker.unlink(&a, &b, ts)).map_err(py_err)?;
        Ok(split.map(|id| id.0))
    }

    /// The append-only log of the links and merges that made a key's profile.
    ///
    /// Args:
    ///     key: Any identity key of the profile.
    ///
    /// Returns:
    ///     The entries, in log order; empty for a key never seen.
    ///
    /// Raises:
    ///     ParseError: ``key`` is not of the form ``kind:value``.
    ///     ClosedError: The tracker is closed.
    fn link_log<'py>(&self, py: Python<'py>, key: &str) -> PyResult<Bound<'py, PyAny>> {
        let tracker = self.get()?;
        let key = identity::key(key, "key")?;
        let log = py.detach(|| tracker.link_log(&key)).map_err(py_err)?;
        convert::serialize_to_py(py, &log)
    }

    /// Every identity conflict recorded: links refused because they would break an
    /// identity limit (by default, two ``customer`` keys in one profile).
    ///
    /// Raises:
    ///     ClosedError: The tracker is closed.
    fn conflicts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let tracker = self.get()?;
        let conflicts = py.detach(|| tracker.conflicts()).map_err(py_err)?;
        convert::serialize_to_py(py, &conflicts)
    }

    /// The profiles matching a filter, by id. Criteria come as a dict, as keywords, or
    /// both (each once); every criterion must hold.
    ///
    /// Args:
    ///     filter: ``{"reached": phase, "not_reached": phase, "current_phase": phase,
    ///         "persona": id, "level": level}``, every key optional.
    ///     **criteria: The same criteria as keywords, e.g. ``not_reached="purchase"``.
    ///
    /// Returns:
    ///     A summary of each matching profile.
    ///
    /// Raises:
    ///     NotFoundError: A phase criterion names no phase of the map.
    ///     ParseError: An unknown criterion or a bad value; ``path`` names it.
    ///     TypeError: ``filter`` is not a dict, or a criterion is given twice.
    ///     ClosedError: The tracker is closed.
    #[pyo3(signature = (filter = None, /, **criteria))]
    fn profiles<'py>(&self, py: Python<'py>, filter: Option<&Bound<'py, PyAny>>, criteria: Option<&Bound<'py, PyDict>>) -> PyResult<Bound<'py, PyAny>> {
        let tracker = self.get()?;
        let filter = self::filter(filter, criteria)?;
        let profiles = py.detach(|| tracker.profiles(&filter)).map_err(py_err)?;
        convert::serialize_to_py(py, &profiles)
    }

    /// How many profiles match a filter (see :meth:`profiles`).
    ///
    /// Raises:
    ///     NotFoundError: A phase criterion names no phase of the map.
    ///     ParseError: An unknown criterion or a bad value; ``path`` names it.
    ///     TypeError: ``filter`` is not a dict, or a criterion is given twice.
    ///     ClosedError: The tracker is closed.
    #[pyo3(signature = (filter = None, /, **criteria))]
    fn count(&self, py: Python<'_>, filter: Option<&Bound<'_, PyAny>>, criteria: Option<&Bound<'_, PyDict>>) -> PyResult<usize> {
        let tracker = self.get()?;
        let filter = self::filter(filter, criteria)?;
        py.detach(|| tracker.count(&filter)).map_err(py_err)
    }

    /// The outbox: actions not yet acknowledged, oldest first. The library never executes
    /// an action; the host executes each and acknowledges it with :meth:`ack`.
    ///
    /// Args:
    ///     limit: The most actions returned.
    ///
    /// Raises:
    ///     ClosedError: The tracker is closed.
    #[pyo3(signature = (limit = 100))]
    fn pending_actions<'py>(&self, py: Python<'py>, limit: usize) -> PyResult<Bound<'py, PyAny>> {
        let tracker = self.get()?;
        let actions = py.detach(|| tracker.pending_actions(limit)).map_err(py_err)?;
        convert::serialize_to_py(py, &actions)
    }

    /// Acknowledges an executed action, removing it from the outbox.
    ///
    /// Args:
    ///     action_id: The action's ``id``.
    ///
    /// Returns:
    ///     ``True`` if it was pending, ``False`` if not (unknown or already acknowledged).
    ///
    /// Raises:
    ///     ClosedError: The tracker is closed.
    fn ack(&self, py: Python<'_>, action_id: &str) -> PyResult<bool> {
        let tracker = self.get()?;
        py.detach(|| tracker.ack(action_id)).map_err(py_err)
    }

    /// Assigns a persona to a key's profile explicitly, or clears it.
    ///
    /// Args:
    ///     key: Any identity key of the profile.
    ///     persona: The persona's id, or ``None`` to clear it.
    ///
    /// Raises:
    ///     NotFoundError: The key was never seen.
    ///     ParseError: ``key`` is not of the form ``kind:value``.
    ///     ClosedError: The tracker is closed.
    fn assign_persona(&self, py: Python<'_>, key: &str, persona: Option<&str>) -> PyResult<()> {
        let tracker = self.get()?;
        let key = identity::key(key, "key")?;
        py.detach(|| tracker.assign_persona(&key, persona)).map_err(py_err)
    }

    /// Sets profile attributes (merged into the existing ones) and assigns the first
    /// persona whose ``assign_when`` rule matches them.
    ///
    /// Args:
    ///     key: Any identity key of the profile.
    ///     attributes: The attributes, a dict of JSON-like values.
    ///
    /// Returns:
    ///     The persona now assigned, or ``None``.
    ///
    /// Raises:
    ///     NotFoundError: The key was never seen.
    ///     ParseError: ``key`` is not of the form ``kind:value``.
    ///     TypeError: ``attributes`` is not a dict, or holds a value with no JSON form.
    ///     ClosedError: The tracker is closed.
    fn set_attributes(&self, py: Python<'_>, key: &str, attributes: &Bound<'_, PyAny>) -> PyResult<Option<String>> {
        let tracker = self.get()?;
        let key = identity::key(key, "key")?;
        let attributes = convert::dict_from_py(attributes, "attributes")?;
        py.detach(|| tracker.set_attributes(&key, attributes)).map_err(py_err)
    }

    /// Calls ``callback(action)`` with every action fired from now on, after it is
    /// committed, on the thread that fired it: the caller of :meth:`track`,
    /// :meth:`track_batch` or :meth:`advance`, or the clock's thread (see
    /// :meth:`start_clock`). Subscribers are called in the order they subscribed.
    ///
    /// An exception raised by ``callback`` does not reach the tracker or the caller of
    /// :meth:`track`: it is reported through :func:`sys.unraisablehook` (as exceptions in
    /// ``__del__`` are), and the remaining subscribers are still called. Subscribers are
    /// released by :meth:`unsubscribe` and :meth:`close`.
    ///
    /// Args:
    ///     callback: Any callable taking one action.
    ///
    /// Raises:
    ///     TypeError: ``callback`` is not callable.
    ///     ClosedError: The tracker is closed.
    fn subscribe(&self, callback: &Bound<'_, PyAny>) -> PyResult<()> {
        if !callback.is_callable() {
            return Err(PyTypeError::new_err(format!("callback must be callable, not {}", callback.get_type().name()?)));
        }
        let tracker = self.get()?;
        let kept = callback.clone().unbind();
        let callback = callback.clone().unbind();
        let subscription = tracker.subscribe(move |action| {
            // Skipped when the interpreter is shutting down.
            Python::try_attach(|py| {
                let _scope = SubscriberScope::enter();
                let callback = callback.bind(py);
                if let Err(err) = convert::serialize_to_py(py, action).and_then(|a| callback.call1((a,))) {
                    err.write_unraisable(py, Some(callback));
                }
            });
        });
        lock(&self.subscriptions).push((kept, subscription));
        Ok(())
    }

    /// Stops calling ``callback`` (the earliest of its subscriptions, if it subscribed
    /// more than once) for actions committed from now on; a call already under way on
    /// another thread finishes.
    ///
    /// Args:
    ///     callback: A callable given to :meth:`subscribe` (compared with ``==``, so a
    ///         bound method works).
    ///
    /// Returns:
    ///     Whether it was subscribed.
    ///
    /// Raises:
    ///     ClosedError: The tracker is closed.
    fn unsubscribe(&self, py: Python<'_>, callback: &Bound<'_, PyAny>) -> PyResult<bool> {
        let tracker = self.get()?;
        // Compared outside the lock: `==` runs Python code, which may call this tracker.
        let subscribed: Vec<(Py<PyAny>, Subscription)> = lock(&self.subscriptions).iter().map(|(c, s)| (c.clone_ref(py), *s)).collect();
        let mut found = None;
        for (c, s) in subscribed {
            if c.bind(py).is(callback) || c.bind(py).eq(callback)? {
                found = Some(s);
                break;
            }
        }
        let Some(subscription) = found else { return Ok(false) };
        lock(&self.subscriptions).retain(|(_, s)| *s != subscription);
        Ok(tracker.unsubscribe(subscription))
    }

    /// Starts driving :meth:`advance` from the wall clock, on a background thread: every
    /// ``interval_seconds`` the clock advances to the current time, so deadlines fire in
    /// real time (to subscribers and the outbox) without events. Starting it again
    /// replaces the running clock. Stopped by :meth:`stop_clock` and :meth:`close`.
    ///
    /// An error while advancing (e.g. of the store) is reported through
    /// :func:`sys.unraisablehook`, and the clock keeps going.
    ///
    /// Args:
    ///     interval_seconds: Seconds between two ticks, more than 0.
    ///
    /// Raises:
    ///     ValueError: ``interval_seconds`` is not a positive, finite number.
    ///     ClosedError: The tracker is closed.
    #[pyo3(signature = (interval_seconds = 1.0))]
    fn start_clock(&self, py: Python<'_>, interval_seconds: f64) -> PyResult<()> {
        let every = Duration::try_from_secs_f64(interval_seconds)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| PyValueError::new_err(format!("interval_seconds must be a positive, finite number of seconds, not {interval_seconds}")))?;
        let tracker = self.get()?;
        let ticker = Ticker::start(tracker, every, |err| {
            Python::try_attach(|py| {
                let context = PyString::new(py, "the clock of a journey_core.Tracker");
                to_py_err(err).write_unraisable(py, Some(context.as_any()));
            });
        });
        if let Some(previous) = clocks::insert(self.id, ticker) {
            clocks::stop(Some(py), previous);
        }
        Ok(())
    }

    /// Stops the wall clock started by :meth:`start_clock`, waiting for its last tick to
    /// finish. Does nothing if it is not running. Called from a subscriber, it does not
    /// wait: the clock stops once the running tick (and its subscribers) finish.
    fn stop_clock(&self, py: Python<'_>) {
        if let Some(ticker) = clocks::remove(self.id) {
            clocks::stop(Some(py), ticker);
        }
    }

    /// Whether the wall clock started by :meth:`start_clock` is running.
    #[getter]
    fn clock_running(&self) -> bool {
        clocks::running(self.id)
    }

    /// The tracker's clock: the latest event time or :meth:`advance` reading seen, in
    /// microseconds since the epoch, UTC; ``None`` before any.
    ///
    /// Raises:
    ///     ClosedError: The tracker is closed.
    #[getter]
    fn clock(&self) -> PyResult<Option<i64>> {
        Ok(self.get()?.clock())
    }

    /// The id of the tracked map.
    #[getter]
    fn map_id(&self) -> &str {
        &self.map_id
    }

    /// The configuration in effect, as a dict: ``map``, ``identity``, ``recent_events``,
    /// ``interest_properties`` and ``limits``.
    ///
    /// Raises:
    ///     ClosedError: The tracker is closed.
    #[getter]
    fn config<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::serialize_to_py(py, self.get()?.config())
    }

    /// Whether :meth:`close` was called.
    #[getter]
    fn closed(&self) -> bool {
        lock(&self.inner).is_none()
    }

    /// Closes the tracker: stops the wall clock, releases the subscribers and the
    /// in-memory journeys. Every later call raises :class:`ClosedError`. Closing twice
    /// does nothing.
    fn close(&self, py: Python<'_>) {
        let tracker = lock(&self.inner).take();
        if let Some(tracker) = &tracker {
            // First, so that a clock stopped without waiting ticks no more.
            tracker.close();
        }
        let subscribed = std::mem::take(&mut *lock(&self.subscriptions));
        drop(subscribed);
        let held = lock(&self.backend.held).take();
        if let Some(ticker) = clocks::remove(self.id) {
            clocks::stop(Some(py), ticker);
        }
        // The last references free the store (a SQLite file checkpoints), without holding
        // the interpreter.
        py.detach(move || {
            drop(tracker);
            drop(held);
        });
    }

    /// Returns the tracker itself: ``with Tracker(doc) as tracker: ...`` closes it at the
    /// end of the block.
    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// Closes the tracker; an exception raised in the block propagates.
    #[pyo3(signature = (_exc_type, _exc_value, _traceback, /))]
    fn __exit__(&self, py: Python<'_>, _exc_type: &Bound<'_, PyAny>, _exc_value: &Bound<'_, PyAny>, _traceback: &Bound<'_, PyAny>) {
        self.close(py)?;
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let closed = if self.closed()? { ", closed" } else { "" };
        let store = match self.backend.kind {
            "memory" => String::new(),
            kind => format!(", store={}", repr_str(py, kind)),
        };
        format!("Tracker(map={}{store}{closed})", repr_str(py, &self.map_id))
    }
}
}

guarded! {
/// Replays a historical log through a map's waypoints in event time, in arrival order,
/// on a fresh in-memory tracker, and returns every action that would have fired. It is
/// the code path of live tracking, so the result is exactly what a :class:`Tracker`
/// given the same events (and :meth:`Tracker.advance` to ``until``) fires.
///
/// Args:
///     doc: The map document; it is validated first.
///     events: The log, any iterable of event dicts (see :class:`Tracker`).
///     until: If given, the clock is finally advanced to this time (an ``int`` of
///         microseconds since the epoch, UTC, or an aware ``datetime``), firing the
///         deadlines still armed before it.
///     map: As for :class:`Tracker`.
///     recent_events: As for :class:`Tracker`.
///     interest_properties: As for :class:`Tracker`.
///     identity: As for :class:`Tracker`.
///     limits: As for :class:`Tracker`.
///
/// Returns:
///     The actions, in the order they fired.
///
/// Raises:
///     LimitError: The batch, or an event of it, is larger than ``limits`` allow;
///         ``index`` is the event's position. Nothing of the batch is applied.
///     BadEventError: An event is malformed; ``index`` is its position in ``events``.
///         Nothing is replayed.
///     ValidationError: The document has problems.
///     NotFoundError: No map has the id ``map``.
///     ParseError: ``identity`` is malformed.
///     TypeError: An event is not a dict, or ``until`` is neither an ``int`` nor a
///         ``datetime``.
///     ValueError: ``until`` is a naive ``datetime``.
#[pyfunction]
#[pyo3(signature = (doc, events, until = None, *, map = None, recent_events = 20, interest_properties = None, identity = None, limits = None))]
#[allow(clippy::too_many_arguments)]
pub fn backtest<'py>(
    py: Python<'py>,
    doc: &Bound<'py, PyMapDocument>,
    events: &Bound<'py, PyAny>,
    until: Option<&Bound<'py, PyAny>>,
    map: Option<String>,
    recent_events: usize,
    interest_properties: Option<Vec<String>>,
    identity: Option<&Bound<'py, PyAny>>,
    limits: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let config = config(map, recent_events, interest_properties, identity, limits)?;
    let events = event::events_from_py(events)?;
    let until = until.map(|u| time::micros_from_py(u, "until")).transpose()?;
    let doc: &MapDocument = &doc.get().inner;
    let actions = py.detach(|| journey_core::backtest(doc, config, events, until)).map_err(py_err)?;
    convert::serialize_to_py(py, &actions)
}
}

#[cfg(test)]
mod tests {
    use journey_core::TrackerConfig;

    /// The defaults written in the Python signatures are the core's.
    #[test]
    fn signature_defaults_are_the_cores() {
        assert_eq!(TrackerConfig::default().recent_events, 20);
    }
}
