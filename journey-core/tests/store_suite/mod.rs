//! The store conformance suite: written once against the `Store`/`Tx` traits, run for
//! every store implementation. A new store passes it by adding one line to
//! `store_conformance.rs`:
//!
//! ```ignore
//! conformance!(postgres, Backend { name: "postgres", durable: true, open: Box::new(|| ...) });
//! ```
//!
//! `open` returns the store under test; for a durable backend, called again after every
//! handle was dropped, it must return the same store reopened (the reopen tests are
//! skipped for a store that is not durable).
#![allow(dead_code)]

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use journey_core::outbox::ActionRecord;
use journey_core::profile::{Conflict, EventRef, LinkEntry, ProfileState, TrackedEvent};
use journey_core::store::{self, Deadline, Store, Tx};
use journey_core::{Error, Event, IdentityKey, LinkOutcome, MapDocument, ProfileFilter, ProfileId, Rating, Tracker, TrackerConfig};
use serde_json::{Map, Value, json};

pub const MIN: i64 = 60_000_000;
pub const T0: i64 = 1_736_121_600_000_000;

/// A store implementation under test.
pub struct Backend {
    /// For messages.
    pub name: &'static str,
    /// Whether the store keeps its data across `open` calls.
    pub durable: bool,
    /// Opens the store (the same one again, for a durable store, once the previous handles are dropped).
    pub open: Box<dyn Fn() -> Arc<dyn Store>>,
}

impl Backend {
    pub fn store(&self) -> Arc<dyn Store> {
        (self.open)()
    }

    pub fn tracker(&self) -> Tracker {
        Tracker::with_store(&shop(), TrackerConfig::default(), self.store()).unwrap()
    }
}

pub fn shop() -> MapDocument {
    MapDocument::load(Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/maps/shop.json")).unwrap()
}

pub fn key(text: &str) -> IdentityKey {
    IdentityKey::parse(text).unwrap()
}

pub fn ev(ts: i64, keys: &[&str], name: &str, channel: &str) -> Event {
    let mut e = Event::new(ts, key(keys[0]), name, channel);
    for k in &keys[1..] {
        e = e.with_key(key(k));
    }
    e
}

/// The whole store as text (the JSON Lines export): equal text, equal stores.
pub fn snapshot(store: &dyn Store) -> String {
    let mut out = Vec::new();
    store::export_jsonl(store, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// A story that exercises every part of a store: profiles, merges, conflicts, deadlines,
/// caps, the outbox, personas and attributes.
pub fn populate(t: &Tracker) {
    t.track(ev(T0, &["session:s1"], "product_view", "web")).unwrap();
    t.track(ev(T0 + MIN, &["session:s1"], "add_to_cart", "web")).unwrap();
    t.track(ev(T0 + 2 * MIN, &["session:s1"], "remove_from_cart", "web")).unwrap();
    t.track(ev(T0 + 3 * MIN, &["session:s1", "phone:+34600000001"], "callback_requested", "web")).unwrap();
    t.track(ev(T0, &["device:tablet", "customer:0000001"], "account_login", "mobile_app")).unwrap();
    t.track(ev(T0 + MIN, &["device:tablet", "customer:0000002"], "account_login", "mobile_app")).unwrap();
    t.track(ev(T0 + MIN, &["email:a@x.com"], "email_open", "email").with_rating(Rating::Csat(2))).unwrap();
    t.link(&key("email:a@x.com"), &key("session:s1"), T0 + 4 * MIN).unwrap();
    t.set_attributes(&key("email:a@x.com"), json!({"segment": "professional"}).as_object().unwrap().clone()).unwrap();
    t.track_batch(vec![ev(T0 + 5 * MIN, &["session:b"], "add_to_cart", "web"), ev(T0 + 6 * MIN, &["session:b"], "product_view", "web")]).unwrap();
}

// ---------------------------------------------------------------------------------------
// A store decorator whose transactions fail on the n-th appended event: a failure in the
// middle of a batch, from inside the store.

pub struct FailingStore {
    pub inner: Arc<dyn Store>,
    pub fail_at: AtomicU64,
}

impl Store for FailingStore {
    fn write(&self, f: &mut dyn FnMut(&mut dyn Tx) -> journey_core::Result<()>) -> journey_core::Result<()> {
        let fail_at = self.fail_at.load(Ordering::SeqCst);
        self.inner.write(&mut |tx| f(&mut Failing { inner: tx, appended: 0, fail_at }))
    }
    fn read(&self, f: &mut dyn FnMut(&dyn Tx) -> journey_core::Result<()>) -> journey_core::Result<()> {
        self.inner.read(f)
    }
}

struct Failing<'a> {
    inner: &'a mut dyn Tx,
    appended: u64,
    fail_at: u64,
}

type R<T> = journey_core::Result<T>;

impl Tx for Failing<'_> {
    fn key_profile(&self, key: &IdentityKey) -> R<Option<ProfileId>> {
        self.inner.key_profile(key)
    }
    fn profile(&self, id: ProfileId) -> R<Option<ProfileState>> {
        self.inner.profile(id)
    }
    fn keys_of(&self, id: ProfileId) -> R<Vec<IdentityKey>> {
        self.inner.keys_of(id)
    }
    fn events_of(&self, id: ProfileId, last: Option<usize>) -> R<Vec<EventRef>> {
        self.inner.events_of(id, last)
    }
    fn profile_ids(&self) -> R<Vec<ProfileId>> {
        self.inner.profile_ids()
    }
    fn deadlines_of(&self, id: ProfileId) -> R<Vec<Deadline>> {
        self.inner.deadlines_of(id)
    }
    fn next_due(&self, now: i64) -> R<Option<Deadline>> {
        self.inner.next_due(now)
    }
    fn fired(&self, id: ProfileId, waypoint: &str) -> R<Option<i64>> {
        self.inner.fired(id, waypoint)
    }
    fn fired_of(&self, id: ProfileId) -> R<Vec<(String, i64)>> {
        self.inner.fired_of(id)
    }
    fn links_of(&self, keys: &[IdentityKey]) -> R<Vec<LinkEntry>> {
        self.inner.links_of(keys)
    }
    fn linked(&self, a: &IdentityKey, b: &IdentityKey) -> R<bool> {
        self.inner.linked(a, b)
    }
    fn neighbours(&self, key: &IdentityKey) -> R<Vec<IdentityKey>> {
        self.inner.neighbours(key)
    }
    fn conflicts(&self) -> R<Vec<Conflict>> {
        self.inner.conflicts()
    }
    fn conflicts_of(&self, keys: &[IdentityKey]) -> R<Vec<Conflict>> {
        self.inner.conflicts_of(keys)
    }
    fn pending_actions(&self, limit: usize) -> R<Vec<ActionRecord>> {
        self.inner.pending_actions(limit)
    }
    fn persona(&self, id: ProfileId) -> R<Option<String>> {
        self.inner.persona(id)
    }
    fn attributes(&self, id: ProfileId) -> R<Map<String, Value>> {
        self.inner.attributes(id)
    }
    fn scan(&self, from: i64, to: i64, f: &mut dyn FnMut(EventRef) -> R<bool>) -> R<()> {
        self.inner.scan(from, to, f)
    }
    fn links(&self, f: &mut dyn FnMut(LinkEntry) -> R<()>) -> R<()> {
        self.inner.links(f)
    }
    fn counters(&self) -> R<(u64, u64)> {
        self.inner.counters()
    }
    fn next_seq(&mut self) -> R<u64> {
        self.inner.next_seq()
    }
    fn new_profile_id(&mut self) -> R<ProfileId> {
        self.inner.new_profile_id()
    }
    fn put_profile(&mut self, state: &ProfileState) -> R<()> {
        self.inner.put_profile(state)
    }
    fn delete_profile(&mut self, id: ProfileId) -> R<()> {
        self.inner.delete_profile(id)
    }
    fn put_key(&mut self, key: &IdentityKey, id: ProfileId) -> R<()> {
        self.inner.put_key(key, id)
    }
    fn delete_key(&mut self, key: &IdentityKey) -> R<()> {
        self.inner.delete_key(key)
    }
    fn append_event(&mut self, event: TrackedEvent) -> R<()> {
        self.appended += 1;
        if self.appended == self.fail_at {
            return Err(Error::Storage { message: format!("injected failure at event {}", self.appended), source: None });
        }
        self.inner.append_event(event)
    }
    fn move_events(&mut self, from: ProfileId, to: ProfileId) -> R<()> {
        self.inner.move_events(from, to)
    }
    fn move_event(&mut self, seq: u64, from: ProfileId, to: ProfileId) -> R<()> {
        self.inner.move_event(seq, from, to)
    }
    fn delete_events_of(&mut self, id: ProfileId) -> R<()> {
        self.inner.delete_events_of(id)
    }
    fn append_link(&mut self, entry: &LinkEntry) -> R<()> {
        self.inner.append_link(entry)
    }
    fn delete_links_of(&mut self, keys: &[IdentityKey]) -> R<()> {
        self.inner.delete_links_of(keys)
    }
    fn add_conflict(&mut self, conflict: &Conflict) -> R<()> {
        self.inner.add_conflict(conflict)
    }
    fn delete_conflicts_of(&mut self, keys: &[IdentityKey]) -> R<()> {
        self.inner.delete_conflicts_of(keys)
    }
    fn put_deadline(&mut self, deadline: &Deadline) -> R<()> {
        self.inner.put_deadline(deadline)
    }
    fn delete_deadline(&mut self, id: ProfileId, waypoint: &str) -> R<()> {
        self.inner.delete_deadline(id, waypoint)
    }
    fn set_fired(&mut self, id: ProfileId, waypoint: &str, ts: i64) -> R<()> {
        self.inner.set_fired(id, waypoint, ts)
    }
    fn push_action(&mut self, action: &ActionRecord) -> R<()> {
        self.inner.push_action(action)
    }
    fn ack(&mut self, action_id: &str) -> R<bool> {
        self.inner.ack(action_id)
    }
    fn delete_actions_of(&mut self, id: ProfileId) -> R<()> {
        self.inner.delete_actions_of(id)
    }
    fn set_persona(&mut self, id: ProfileId, persona: Option<&str>) -> R<()> {
        self.inner.set_persona(id, persona)
    }
    fn set_attributes(&mut self, id: ProfileId, attributes: &Map<String, Value>) -> R<()> {
        self.inner.set_attributes(id, attributes)
    }
    fn delete_events_before(&mut self, before: i64) -> R<u64> {
        self.inner.delete_events_before(before)
    }
    fn strip_keys(&mut self, keys: &[IdentityKey]) -> R<u64> {
        self.inner.strip_keys(keys)
    }
    fn raise_counters(&mut self, next_seq: u64, next_profile: u64) -> R<()> {
        self.inner.raise_counters(next_seq, next_profile)
    }
}

// ---------------------------------------------------------------------------------------
// The suite.

/// A batch is all or nothing: a failure on its 7th event (after merges, deadlines, actions
/// and conflicts of the first six) leaves the store exactly as it was; so does an `Err`
/// or a panic of a raw write closure after writes of every kind.
pub fn batch_atomicity(b: &Backend) {
    let inner = b.store();
    let t = Tracker::with_store(&shop(), TrackerConfig::default(), inner.clone()).unwrap();
    populate(&t);
    let before = snapshot(&*inner);
    let failing = Arc::new(FailingStore { inner: inner.clone(), fail_at: AtomicU64::new(7) });
    let ft = Tracker::with_store(&shop(), TrackerConfig::default(), failing.clone()).unwrap();
    let batch = vec![
        ev(T0 + 10 * MIN, &["session:new"], "product_view", "web"),
        ev(T0 + 10 * MIN, &["session:s1"], "add_to_cart", "web"),
        ev(T0 + 11 * MIN, &["session:new", "email:a@x.com"], "newsletter_signup", "web"),
        ev(T0 + 11 * MIN, &["device:tablet", "customer:0000003"], "account_login", "web"),
        ev(T0 + 12 * MIN, &["session:b"], "remove_from_cart", "web"),
        ev(T0 + 200 * MIN, &["session:x"], "product_view", "web"),
        ev(T0 + 201 * MIN, &["session:y"], "product_view", "web"),
        ev(T0 + 202 * MIN, &["session:z"], "product_view", "web"),
    ];
    let err = ft.track_batch(batch.clone()).unwrap_err();
    assert!(err.to_string().contains("injected failure at event 7"), "{}: {err}", b.name);
    assert_eq!(snapshot(&*inner), before, "{}: a failed batch left something behind", b.name);
    // The same batch succeeds afterwards, and arrival numbers continue without gaps.
    failing.fail_at.store(0, Ordering::SeqCst);
    let done = ft.track_batch(batch).unwrap();
    let (seq, _) = counters(&*inner);
    assert_eq!(done.last().unwrap().seq + 1, seq, "{}", b.name);
    assert_ne!(snapshot(&*inner), before);

    // A raw write that touches everything, then fails.
    let before = snapshot(&*inner);
    let err = inner
        .write(&mut |tx| {
            everything(tx);
            Err(Error::Conflict { message: "changed my mind".into() })
        })
        .unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }));
    assert_eq!(snapshot(&*inner), before, "{}: an Err left something behind", b.name);
    // ... or panics.
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = inner.write(&mut |tx| {
            everything(tx);
            panic!("boom");
        });
    }));
    assert!(panicked.is_err());
    assert_eq!(snapshot(&*inner), before, "{}: a panic left something behind", b.name);
    // The store still works.
    t.track(ev(T0 + 300 * MIN, &["session:after"], "product_view", "web")).unwrap();
    assert_eq!(t.journey(&key("session:after")).unwrap().len(), 1);
}

fn counters(store: &dyn Store) -> (u64, u64) {
    let mut c = (0, 0);
    store
        .read(&mut |tx| {
            c = tx.counters()?;
            Ok(())
        })
        .unwrap();
    c
}

/// Writes of every kind, in one transaction.
fn everything(tx: &mut dyn Tx) {
    let id = tx.new_profile_id().unwrap();
    tx.put_profile(&ProfileState::new(id, journey_core::IdentityLevel::Anonymous)).unwrap();
    tx.put_key(&key("session:ghost"), id).unwrap();
    let old = tx.key_profile(&key("session:s1")).unwrap().unwrap();
    tx.put_key(&key("phone:+34600000001"), id).unwrap();
    let seq = tx.next_seq().unwrap();
    tx.append_event(TrackedEvent { seq, profile: id, event: ev(T0, &["session:ghost"], "product_view", "web") }).unwrap();
    tx.move_events(old, id).unwrap();
    tx.append_link(&LinkEntry {
        a: key("session:ghost"),
        b: key("phone:+34600000001"),
        ts: T0,
        event_seq: Some(seq),
        outcome: LinkOutcome::Joined,
        absorbed: None,
        profile: id,
    })
    .unwrap();
    tx.add_conflict(&Conflict {
        key: key("session:ghost"),
        other: key("customer:9"),
        ts: T0,
        event_seq: None,
        kind: "customer".into(),
        limit: 1,
        message: "no".into(),
    })
    .unwrap();
    let d =
        Deadline { profile: id, waypoint: Arc::from("cart_abandoned"), armed_at: T0, due: T0 + MIN, trigger_seq: seq, trigger_event: Arc::from("x") };
    tx.put_deadline(&d).unwrap();
    tx.set_fired(id, "cart_abandoned", T0).unwrap();
    if let Some(a) = tx.pending_actions(1).unwrap().first() {
        tx.ack(&a.id).unwrap();
    }
    tx.set_persona(id, Some("busy_professional")).unwrap();
    tx.set_attributes(id, json!({"a": 1}).as_object().unwrap()).unwrap();
    tx.delete_events_before(T0 + 2 * MIN).unwrap();
    tx.strip_keys(&[key("device:tablet")]).unwrap();
    let victim = tx.key_profile(&key("email:a@x.com")).unwrap().unwrap();
    store::forget(tx, &key("email:a@x.com")).unwrap();
    assert!(tx.profile(victim).unwrap().is_none());
    tx.raise_counters(1_000, 1_000).unwrap();
}

/// Journey order `(ts, seq)` per profile and in scans; the outbox oldest first; the link
/// log in log order.
pub fn ordering(b: &Backend) {
    let store = b.store();
    let t = Tracker::with_store(&shop(), TrackerConfig::default(), store.clone()).unwrap();
    t.track(ev(T0 + 10, &["session:o"], "checkout_start", "web")).unwrap();
    t.track(ev(T0, &["session:o"], "product_view", "web")).unwrap();
    t.track(ev(T0 + 10, &["session:o"], "payment", "web")).unwrap();
    t.track(ev(T0 + 5, &["session:p"], "product_view", "web")).unwrap();
    t.track(ev(T0 - 5, &["session:p"], "product_view", "web")).unwrap();
    let names: Vec<String> = t.journey(&key("session:o")).unwrap().iter().map(|e| e.event.name.clone()).collect();
    assert_eq!(names, ["product_view", "checkout_start", "payment"], "{}", b.name);
    let mut order = Vec::new();
    store
        .scan(i64::MIN, i64::MAX, &mut |e| {
            order.push((e.event.ts, e.seq));
            Ok(true)
        })
        .unwrap();
    assert_eq!(order, [(T0 - 5, 4), (T0, 1), (T0 + 5, 3), (T0 + 10, 0), (T0 + 10, 2)], "{}", b.name);
    // A range, and stopping early.
    let mut ranged = Vec::new();
    store
        .scan(T0, T0 + 10, &mut |e| {
            ranged.push(e.seq);
            Ok(true)
        })
        .unwrap();
    assert_eq!(ranged, [1, 3], "{}", b.name);
    let mut first = Vec::new();
    store
        .scan(i64::MIN, i64::MAX, &mut |e| {
            first.push(e.seq);
            Ok(first.len() < 2)
        })
        .unwrap();
    assert_eq!(first, [4, 1]);
    // The same through a read transaction.
    let mut in_tx = Vec::new();
    store
        .read(&mut |tx| {
            tx.scan(i64::MIN, i64::MAX, &mut |e| {
                in_tx.push((e.event.ts, e.seq));
                Ok(true)
            })
        })
        .unwrap();
    assert_eq!(in_tx, order);
    // Outbox, oldest first.
    t.track(ev(T0, &["session:q"], "product_view", "web")).unwrap();
    t.advance(T0 + 100 * MIN).unwrap();
    let pending = t.pending_actions(100).unwrap();
    assert!(pending.len() >= 2, "{}", b.name);
    let ts: Vec<i64> = pending.iter().map(|a| a.ts).collect();
    let mut sorted = ts.clone();
    sorted.sort();
    assert_eq!(ts, sorted, "{}", b.name);
    assert_eq!(t.pending_actions(1).unwrap(), pending[..1]);
    // The link log, in order.
    t.track(ev(T0, &["session:l", "email:l@x.com"], "newsletter_signup", "web")).unwrap();
    t.link(&key("email:l@x.com"), &key("phone:+34611111111"), T0 + 1).unwrap();
    let log = t.link_log(&key("session:l")).unwrap();
    let pairs: Vec<(String, String)> = log.iter().map(|l| (l.a.to_string(), l.b.to_string())).collect();
    let want = [("email:l@x.com", "session:l"), ("email:l@x.com", "phone:+34611111111")].map(|(a, b)| (a.to_string(), b.to_string()));
    assert_eq!(pairs, want, "{}", b.name);
    let mut all = Vec::new();
    store
        .read(&mut |tx| {
            tx.links(&mut |l| {
                all.push(l);
                Ok(())
            })
        })
        .unwrap();
    assert_eq!(all, log);
}

/// Merges move keys, events, deadlines (one per waypoint), caps and attributes; a wrong
/// link is removed and the profile splits back.
pub fn merges(b: &Backend) {
    let t = b.tracker();
    t.track(ev(T0, &["session:m"], "add_to_cart", "web")).unwrap();
    t.track(ev(T0 + MIN, &["device:phone1"], "add_to_cart", "mobile_app")).unwrap();
    t.track(ev(T0 + 2 * MIN, &["session:m", "customer:0000042"], "account_login", "web")).unwrap();
    t.track(ev(T0 + 3 * MIN, &["device:phone1", "customer:0000042"], "account_login", "mobile_app")).unwrap();
    let ctx = t.context(&key("customer:0000042")).unwrap().unwrap();
    assert_eq!(ctx.events, 4, "{}", b.name);
    assert_eq!(ctx.keys, [key("session:m"), key("customer:0000042"), key("device:phone1")], "{}", b.name);
    assert_eq!(ctx.open_waypoints.len(), 1, "{}: one deadline per waypoint after the merge", b.name);
    assert_eq!(t.journey(&key("device:phone1")).unwrap().iter().map(|e| e.profile).collect::<Vec<_>>(), [ctx.profile; 4]);
    let log = t.link_log(&key("customer:0000042")).unwrap();
    assert!(log.iter().any(|l| l.outcome == LinkOutcome::Merged), "{}", b.name);
    let fired: Vec<_> = t.advance(T0 + 100 * MIN).unwrap().into_iter().filter(|a| &*a.waypoint == "cart_abandoned").collect();
    assert_eq!(fired.len(), 1, "{}", b.name);
    assert_eq!(fired[0].profile, ctx.profile);

    // Split.
    t.track(ev(T0, &["session:s", "email:a@x.com"], "newsletter_signup", "web")).unwrap();
    t.track(ev(T0 + MIN, &["email:a@x.com"], "email_open", "email")).unwrap();
    t.track(ev(T0 + 3 * MIN, &["email:b@x.com"], "email_click", "email")).unwrap();
    assert_eq!(t.link(&key("email:a@x.com"), &key("email:b@x.com"), T0 + 4 * MIN).unwrap(), LinkOutcome::Merged);
    let split = t.unlink(&key("email:a@x.com"), &key("email:b@x.com"), T0 + 5 * MIN).unwrap().unwrap();
    let a = t.context(&key("email:a@x.com")).unwrap().unwrap();
    let bb = t.context(&key("email:b@x.com")).unwrap().unwrap();
    assert_eq!((a.events, bb.events, bb.profile), (2, 1, split), "{}", b.name);
    assert_eq!(bb.recent[0].profile, split);
}

/// Caps: once per profile and cooldowns hold, through merges.
pub fn caps(b: &Backend) {
    let t = b.tracker();
    t.track(ev(T0, &["session:c"], "add_to_cart", "web")).unwrap();
    let fired = t.advance(T0 + 100 * MIN).unwrap();
    assert_eq!(fired.iter().filter(|a| &*a.waypoint == "cart_abandoned").count(), 1, "{}", b.name);
    t.track(ev(T0 + 101 * MIN, &["session:c"], "add_to_cart", "web")).unwrap();
    assert_eq!(t.advance(T0 + 300 * MIN).unwrap().iter().filter(|a| &*a.waypoint == "cart_abandoned").count(), 0, "{}: once per profile", b.name);
    // Cooldown: the anonymous cart callback fires at most once a day.
    let fire = |who: &str, at: i64| {
        t.track(ev(at, &[who], "add_to_cart", "web")).unwrap();
        t.track(ev(at + 1, &[who], "remove_from_cart", "web")).unwrap().actions.iter().filter(|a| &*a.waypoint == "anonymous_cart_callback").count()
    };
    assert_eq!(fire("session:cd", T0), 1, "{}", b.name);
    assert_eq!(fire("session:cd", T0 + 10 * MIN), 0, "{}: within the cooldown", b.name);
    assert_eq!(fire("session:cd", T0 + 25 * 60 * MIN), 1, "{}: after the cooldown", b.name);
}

/// Deadlines arm, re-arm, fire once, and disarm on exit.
pub fn deadlines(b: &Backend) {
    let t = b.tracker();
    t.track(ev(T0, &["session:w"], "product_view", "web")).unwrap();
    assert!(t.advance(T0 + 2 * MIN).unwrap().is_empty(), "{}: the edge is inclusive", b.name);
    let fired = t.advance(T0 + 2 * MIN + 1).unwrap();
    assert_eq!(fired.len(), 1, "{}", b.name);
    assert_eq!(fired[0].why.deadline, Some((T0, T0 + 2 * MIN)));
    assert!(t.advance(T0 + 10 * MIN).unwrap().is_empty(), "{}: fires once", b.name);
    t.track(ev(T0, &["session:c"], "add_to_cart", "web")).unwrap();
    t.track(ev(T0 + 20 * MIN, &["session:c"], "add_to_cart", "web")).unwrap();
    assert!(t.advance(T0 + 45 * MIN).unwrap().iter().all(|a| &*a.waypoint != "cart_abandoned"), "{}: re-armed", b.name);
    assert_eq!(t.advance(T0 + 51 * MIN).unwrap().iter().filter(|a| &*a.waypoint == "cart_abandoned").count(), 1);
    t.track(ev(T0, &["session:e"], "add_to_cart", "web")).unwrap();
    t.track(ev(T0 + MIN, &["session:e"], "order_confirmed", "web")).unwrap();
    assert!(t.context(&key("session:e")).unwrap().unwrap().open_waypoints.iter().all(|d| &*d.waypoint != "cart_abandoned"), "{}", b.name);
}

/// The outbox: each action once, until acknowledged.
pub fn outbox(b: &Backend) {
    let t = b.tracker();
    t.track(ev(T0, &["session:c"], "add_to_cart", "web")).unwrap();
    t.advance(T0 + 100 * MIN).unwrap();
    let pending = t.pending_actions(100).unwrap();
    let coupon = pending.iter().find(|a| &*a.waypoint == "cart_abandoned").unwrap();
    assert!(t.ack(&coupon.id).unwrap(), "{}", b.name);
    assert!(!t.ack(&coupon.id).unwrap(), "{}: acknowledged once", b.name);
    assert!(!t.ack("no-such-action").unwrap());
    assert_eq!(t.pending_actions(100).unwrap().len(), pending.len() - 1, "{}", b.name);
}

/// Forgetting removes a customer everywhere, in one transaction.
pub fn forget(b: &Backend) {
    let store = b.store();
    let t = Tracker::with_store(&shop(), TrackerConfig::default(), store.clone()).unwrap();
    populate(&t);
    // The tablet is shared: its event with customer 2 stays on customer 2's profile.
    t.track(ev(T0 + 7 * MIN, &["session:s1"], "add_to_cart", "web")).unwrap();
    let victim = t.context(&key("phone:+34600000001")).unwrap().unwrap();
    assert!(!t.pending_actions(100).unwrap().iter().all(|a| a.profile != victim.profile), "{}: the victim has pending actions", b.name);
    assert!(!victim.open_waypoints.is_empty());
    let gone = t.forget(&key("phone:+34600000001")).unwrap().unwrap();
    assert_eq!(gone.profile, Some(victim.profile));
    assert_eq!(gone.events, victim.events);
    for k in &victim.keys {
        assert!(t.context(k).unwrap().is_none(), "{}: {k} still known", b.name);
        assert!(t.link_log(k).unwrap().is_empty());
    }
    assert!(t.pending_actions(100).unwrap().iter().all(|a| a.profile != victim.profile), "{}", b.name);
    let text = snapshot(&*store);
    for k in &victim.keys {
        assert!(!text.contains(&format!("\"{k}\"")), "{}: {k} is still in the store", b.name);
    }
    assert!(!text.contains(&format!("\"profile\":{},", victim.profile)), "{}: something of the profile is left", b.name);
    // Forgetting a customer also removes its keys from events of other profiles.
    t.forget(&key("customer:0000001")).unwrap().unwrap();
    let other = t.journey(&key("customer:0000002")).unwrap();
    assert_eq!(other.len(), 1);
    assert_eq!(other[0].event.keys, [key("customer:0000002")], "{}: the shared device key was removed", b.name);
    assert!(t.conflicts().unwrap().is_empty(), "{}", b.name);
    assert!(t.forget(&key("session:unknown")).unwrap().is_none());
    // The rest still works.
    assert_eq!(t.context(&key("session:b")).unwrap().unwrap().events, 2);
    t.track(ev(T0 + 8 * MIN, &["phone:+34600000001"], "product_view", "web")).unwrap();
    assert_eq!(t.journey(&key("phone:+34600000001")).unwrap().len(), 1, "{}: a forgotten key starts afresh", b.name);
}

/// Retention deletes old events only.
pub fn retention(b: &Backend) {
    let store = b.store();
    let t = Tracker::with_store(&shop(), TrackerConfig::default(), store.clone()).unwrap();
    populate(&t);
    let before: usize = t.journey(&key("session:s1")).unwrap().len();
    let deleted = t.delete_before(T0 + MIN).unwrap();
    assert!(deleted >= 2, "{}", b.name);
    let after = t.journey(&key("session:s1")).unwrap();
    assert!(after.len() < before);
    assert!(after.iter().all(|e| e.event.ts >= T0 + MIN), "{}", b.name);
    let mut n = 0;
    store
        .scan(i64::MIN, T0 + MIN, &mut |_| {
            n += 1;
            Ok(true)
        })
        .unwrap();
    assert_eq!(n, 0, "{}", b.name);
    assert!(t.context(&key("session:s1")).unwrap().is_some(), "{}: profiles stay", b.name);
    assert_eq!(t.delete_before(T0 + MIN).unwrap(), 0);
}

/// Readers run beside one writer and always see whole batches.
pub fn concurrent_readers(b: &Backend) {
    let store = b.store();
    let t = Arc::new(Tracker::with_store(&shop(), TrackerConfig::default(), store.clone()).unwrap());
    let done = Arc::new(AtomicBool::new(false));
    const BATCH: usize = 50;
    let writer = {
        let t = t.clone();
        let done = done.clone();
        std::thread::spawn(move || {
            for n in 0..40 {
                let batch: Vec<Event> =
                    (0..BATCH).map(|i| ev(T0 + (n * BATCH + i) as i64 * 1000, &[&format!("session:r{}", i % 7)], "product_view", "web")).collect();
                t.track_batch(batch).unwrap();
            }
            done.store(true, Ordering::SeqCst);
        })
    };
    let seen = Arc::new(Mutex::new(Vec::new()));
    let readers: Vec<_> = (0..3)
        .map(|r| {
            let store = store.clone();
            let done = done.clone();
            let seen = seen.clone();
            std::thread::spawn(move || {
                let mut reads = 0;
                while !done.load(Ordering::SeqCst) || reads < 3 {
                    reads += 1;
                    let mut total = 0u64;
                    store
                        .read(&mut |tx| {
                            total = 0;
                            for id in tx.profile_ids()? {
                                let state = tx.profile(id)?.unwrap();
                                let events = tx.events_of(id, None)?;
                                assert_eq!(events.len() as u64, state.events, "a profile's summary and events agree");
                                total += state.events;
                            }
                            Ok(())
                        })
                        .unwrap();
                    assert_eq!(total % BATCH as u64, 0, "reader {r} saw part of a batch ({total} events)");
                    let mut scanned = 0u64;
                    store
                        .scan(i64::MIN, i64::MAX, &mut |_| {
                            scanned += 1;
                            Ok(true)
                        })
                        .unwrap();
                    assert_eq!(scanned % BATCH as u64, 0, "reader {r} scanned part of a batch");
                    seen.lock().unwrap().push(total);
                }
            })
        })
        .collect();
    writer.join().unwrap();
    for r in readers {
        r.join().unwrap();
    }
    assert_eq!(t.count(&ProfileFilter::default()).unwrap(), 7, "{}", b.name);
    assert!(!seen.lock().unwrap().is_empty());
    let mut scanned = 0u64;
    store
        .scan(i64::MIN, i64::MAX, &mut |_| {
            scanned += 1;
            Ok(true)
        })
        .unwrap();
    assert_eq!(scanned, 40 * BATCH as u64, "{}", b.name);
}

/// Export and import reproduce a store exactly; a bad line imports nothing.
pub fn export_import(b: &Backend, fresh: &dyn Fn() -> Arc<dyn Store>) {
    let store = b.store();
    let t = Tracker::with_store(&shop(), TrackerConfig::default(), store.clone()).unwrap();
    populate(&t);
    t.advance(T0 + 10 * MIN).unwrap();
    let text = snapshot(&*store);
    assert!(text.lines().any(|l| l.starts_with(r#"{"type":"deadline""#)), "{}", b.name);
    assert!(text.lines().any(|l| l.starts_with(r#"{"type":"action""#)));
    assert!(text.lines().any(|l| l.starts_with(r#"{"type":"conflict""#)));
    let copy = fresh();
    let stats = store::import_jsonl(&*copy, &mut text.as_bytes()).unwrap();
    assert_eq!(stats.events, 9, "{}", b.name);
    assert_eq!(snapshot(&*copy), text, "{}: the copy differs", b.name);
    // The copy tracks on as the original does.
    let t2 = Tracker::with_store(&shop(), TrackerConfig::default(), copy.clone()).unwrap();
    let next = ev(T0 + 11 * MIN, &["session:b"], "remove_from_cart", "web");
    assert_eq!(t.track(next.clone()).unwrap(), t2.track(next).unwrap());
    assert_eq!(snapshot(&*copy), snapshot(&*store));
    // Into a store that is not empty: refused.
    assert!(matches!(store::import_jsonl(&*copy, &mut text.as_bytes()), Err(Error::Conflict { .. })));
    // A bad line: nothing imported, the line named.
    let empty = fresh();
    let bad = text.replacen(r#""type":"event","seq":0"#, r#""type":"event","seq":"zero""#, 1);
    match store::import_jsonl(&*empty, &mut bad.as_bytes()) {
        Err(Error::Parse { path, .. }) => assert!(path.starts_with("line "), "{path}"),
        other => panic!("{}: {other:?}", b.name),
    }
    assert_eq!(counters(&*empty).0, 0);
    assert!(snapshot(&*empty).lines().count() == 1, "{}: a failed import left something", b.name);
}

/// A durable store reopened resumes exactly: profiles, stitching, armed deadlines,
/// pending actions; deadlines that fell due while closed fire once, on the first advance.
pub fn reopen_resumes(b: &Backend) {
    if !b.durable {
        return;
    }
    let (text, ctx, pending) = {
        let t = b.tracker();
        populate(&t);
        t.track(ev(T0 + 7 * MIN, &["session:w"], "product_view", "web")).unwrap();
        let ctx = t.context(&key("email:a@x.com")).unwrap().unwrap();
        let refused = t.context(&key("customer:0000002")).unwrap().unwrap();
        assert_eq!(refused.conflicts.len(), 1, "{}: the refused link is a conflict of its keys", b.name);
        (snapshot(&**t.store()), (ctx, refused), t.pending_actions(100).unwrap())
    };
    let (ctx, refused) = ctx;
    let t = b.tracker();
    assert_eq!(snapshot(&**t.store()), text, "{}: the reopened store differs", b.name);
    assert_eq!(t.context(&key("email:a@x.com")).unwrap().unwrap(), ctx);
    assert_eq!(t.context(&key("customer:0000002")).unwrap().unwrap(), refused, "{}: conflicts after reopening", b.name);
    assert_eq!(t.context(&key("device:tablet")).unwrap().unwrap().conflicts, refused.conflicts, "{}", b.name);
    assert_eq!(t.pending_actions(100).unwrap(), pending);
    let armed = t.context(&key("session:w")).unwrap().unwrap().open_waypoints;
    assert_eq!(armed.len(), 1, "{}: still armed", b.name);
    // Stitching goes on as before.
    let linked = t.track(ev(T0 + 8 * MIN, &["session:w", "email:a@x.com"], "newsletter_signup", "web")).unwrap();
    assert_eq!(linked.profile, ctx.profile, "{}", b.name);
    drop(t);
    // Fell due while closed: fires once on the first advance, never again.
    let t = b.tracker();
    let fired = t.advance(T0 + 100 * MIN).unwrap();
    assert!(fired.iter().any(|a| &*a.waypoint == "waiting_on_product"), "{}: {fired:?}", b.name);
    drop(t);
    let t = b.tracker();
    assert!(t.advance(T0 + 200 * MIN).unwrap().iter().all(|a| &*a.waypoint != "waiting_on_product"), "{}: fired twice", b.name);
    // Arrival numbers continue.
    let next = t.track(ev(T0 + 9 * MIN, &["session:n"], "product_view", "web")).unwrap();
    assert_eq!(next.seq, 11, "{}", b.name);
}

/// Runs the whole suite for a backend: `conformance!(name, backend_expression)`.
#[macro_export]
macro_rules! conformance {
    ($name:ident, $backend:expr, $fresh:expr) => {
        mod $name {
            use super::store_suite as suite;
            fn backend() -> suite::Backend {
                $backend
            }
            #[test]
            fn batch_atomicity() {
                suite::batch_atomicity(&backend());
            }
            #[test]
            fn ordering() {
                suite::ordering(&backend());
            }
            #[test]
            fn merges() {
                suite::merges(&backend());
            }
            #[test]
            fn caps() {
                suite::caps(&backend());
            }
            #[test]
            fn deadlines() {
                suite::deadlines(&backend());
            }
            #[test]
            fn outbox() {
                suite::outbox(&backend());
            }
            #[test]
            fn forget() {
                suite::forget(&backend());
            }
            #[test]
            fn retention() {
                suite::retention(&backend());
            }
            #[test]
            fn concurrent_readers() {
                suite::concurrent_readers(&backend());
            }
            #[test]
            fn export_import() {
                suite::export_import(&backend(), &$fresh);
            }
            #[test]
            fn reopen_resumes() {
                suite::reopen_resumes(&backend());
            }
        }
    };
}

/// Kills a crash-test child: waits for its first `ACK <n>` line (a batch it saw committed),
/// lets it run `pause` more, kills it with SIGKILL, and returns the last `n` it printed.
pub fn kill_after_first_ack(mut child: std::process::Child, wait: std::time::Duration, pause: std::time::Duration) -> usize {
    use std::io::{BufRead, BufReader};
    let out = BufReader::new(child.stdout.take().expect("the child's stdout is piped"));
    let (send, recv) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in out.lines().map_while(Result::ok) {
            // The test harness may print "test crash_child ... " before the first line.
            if let Some((_, n)) = line.rsplit_once("ACK ") {
                let _ = send.send(n.parse::<usize>().unwrap());
            }
        }
    });
    let first = recv.recv_timeout(wait).expect("the child acknowledges a batch");
    std::thread::sleep(pause);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    reader.join().unwrap();
    recv.try_iter().last().unwrap_or(first)
}
