//! The stories of DOMAIN.md, each with its events and the exact actions and context expected.

use std::path::Path;
use std::sync::{Arc, Mutex};

use journey_core::{
    ActionKind, Error, Event, IdentityKey, IdentityLevel, LinkOutcome, MapDocument, Outcome, ProfileFilter, Rating, Tracker, TrackerConfig,
    backtest,
};
use serde_json::json;

const MIN: i64 = 60_000_000;
const T0: i64 = 1_736_121_600_000_000; // 2025-01-06T00:00:00Z

fn shop() -> MapDocument {
    MapDocument::load(Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/maps/shop.json")).unwrap()
}

fn key(text: &str) -> IdentityKey {
    IdentityKey::parse(text).unwrap()
}

fn ev(ts: i64, keys: &[&str], name: &str, channel: &str) -> Event {
    let mut e = Event::new(ts, key(keys[0]), name, channel);
    for k in &keys[1..] {
        e = e.with_key(key(k));
    }
    e
}

fn tracker() -> Tracker {
    Tracker::new(&shop(), TrackerConfig::default()).unwrap()
}

fn kinds(actions: &[journey_core::ActionRecord]) -> Vec<(String, Outcome, String)> {
    actions.iter().map(|a| (a.waypoint.to_string(), a.outcome, a.kind.to_string())).collect()
}

#[test]
fn anonymous_cart_revived() {
    let t = tracker();
    t.track(ev(T0, &["session:s1"], "product_view", "web")).unwrap();
    t.track(ev(T0 + MIN, &["session:s1"], "add_to_cart", "web")).unwrap();
    let removed = t.track(ev(T0 + 2 * MIN, &["session:s1"], "remove_from_cart", "web")).unwrap();
    assert_eq!(kinds(&removed.actions), [("anonymous_cart_callback".to_string(), Outcome::Reached, "callback_offer".to_string())]);
    assert_eq!(removed.actions[0].payload["script"], json!("cart_help"));
    assert_eq!(&*removed.actions[0].why.event, "remove_from_cart");
    // An earlier contact on another channel, then the phone number left in the callback form.
    t.track(ev(T0 - 86_400_000_000, &["session:s1"], "email_open", "email")).unwrap();
    let left = t.track(ev(T0 + 3 * MIN, &["session:s1", "phone:+34600000001"], "callback_requested", "web")).unwrap();
    assert_eq!(left.touchpoint, None, "an off-map event is kept and flagged");
    let ctx = t.context(&key("phone:+34600000001")).unwrap().unwrap();
    assert_eq!(ctx.level, IdentityLevel::Identified);
    assert_eq!(ctx.keys, [key("session:s1"), key("phone:+34600000001")]);
    let names: Vec<&str> = ctx.recent.iter().map(|e| e.event.name.as_str()).collect();
    assert_eq!(names, ["email_open", "product_view", "add_to_cart", "remove_from_cart", "callback_requested"]);
    assert_eq!(ctx.current_phase.as_deref(), Some("consideration"));
    assert_eq!(ctx.phases_reached.iter().map(|p| &**p).collect::<Vec<_>>(), ["awareness", "consideration"]);
    assert_eq!(&*ctx.interests[0].what, "cart");
    assert_eq!(ctx.interests[0].count, 2);
    // The cooldown of one day keeps the offer from repeating.
    t.track(ev(T0 + 4 * MIN, &["session:s1"], "add_to_cart", "web")).unwrap();
    let again = t.track(ev(T0 + 5 * MIN, &["session:s1"], "remove_from_cart", "web")).unwrap();
    assert!(again.actions.iter().all(|a| &*a.waypoint != "anonymous_cart_callback"));
}

#[test]
fn waiting_too_long_on_a_product_page() {
    let t = tracker();
    t.track(ev(T0, &["session:w"], "product_view", "web")).unwrap();
    assert!(t.advance(T0 + 2 * MIN).unwrap().is_empty(), "the deadline edge is inclusive");
    let fired = t.advance(T0 + 2 * MIN + 1).unwrap();
    assert_eq!(kinds(&fired), [("waiting_on_product".to_string(), Outcome::Missed, "chat_offer".to_string())]);
    assert_eq!(fired[0].ts, T0 + 2 * MIN);
    assert_eq!(fired[0].why.deadline, Some((T0, T0 + 2 * MIN)));
    assert!(t.advance(T0 + 10 * MIN).unwrap().is_empty(), "fires once");

    // Acting exactly at the edge counts as reached: nothing is missed.
    let t = tracker();
    t.track(ev(T0, &["session:x"], "product_view", "web")).unwrap();
    t.track(ev(T0 + 2 * MIN, &["session:x"], "review_read", "web")).unwrap();
    assert!(t.advance(T0 + 60 * MIN).unwrap().iter().all(|a| &*a.waypoint != "waiting_on_product"));
}

#[test]
fn contextual_ivr() {
    let t = tracker();
    let yesterday = T0 - 86_400_000_000;
    t.track(ev(yesterday - 1000, &["session:web1", "email:luis@example.com"], "account_login", "web")).unwrap();
    t.track(ev(yesterday, &["session:web1"], "blog_read", "web").with_property("topic", "refinancing")).unwrap();
    t.link(&key("email:luis@example.com"), &key("phone:+34911111111"), yesterday + 1).unwrap();
    let call = t.track(ev(T0, &["phone:+34911111111"], "ivr_menu", "ivr")).unwrap();
    assert_eq!(call.touchpoint.as_deref(), Some("support"));
    let ctx = t.context(&key("phone:+34911111111")).unwrap().unwrap();
    assert!(ctx.interests.iter().any(|i| &*i.what == "topic=refinancing"), "{:?}", ctx.interests);
    assert_eq!(ctx.recent.len(), 3);
    assert_eq!(ctx.keys.len(), 3);
}

/// The IVR's "recent interests", exactly: touchpoints and interest-property values of the
/// recent events, most recently seen first, ties in the order the latest event lists them
/// (its touchpoint, then `topic`, `product`, `category`); only string values count, and an
/// off-map event adds its properties but no touchpoint.
#[test]
fn recent_interests_newest_first_with_counts() {
    let t = tracker();
    let s = &["session:i1"];
    t.track(ev(T0, s, "product_view", "web").with_property("product", "p1").with_property("category", "shoes")).unwrap();
    t.track(ev(T0 + MIN, s, "add_to_cart", "web").with_property("product", "p1")).unwrap();
    t.track(ev(T0 + 2 * MIN, s, "blog_read", "web").with_property("topic", "running").with_property("product", 7)).unwrap();
    t.track(ev(T0 + 3 * MIN, s, "product_view", "web").with_property("category", "shoes").with_property("topic", "running")).unwrap();
    t.track(ev(T0 + 4 * MIN, s, "not_on_the_map", "web").with_property("product", "p2")).unwrap();
    let ctx = t.context(&key("session:i1")).unwrap().unwrap();
    let got: Vec<(&str, u32, i64)> = ctx.interests.iter().map(|i| (&*i.what, i.count, (i.last_ts - T0) / MIN)).collect();
    assert_eq!(
        got,
        [
            ("product=p2", 1, 4),
            ("product_page", 2, 3),
            ("topic=running", 2, 3),
            ("category=shoes", 2, 3),
            ("content", 1, 2),
            ("cart", 1, 1),
            ("product=p1", 2, 1),
        ]
    );
}

#[test]
fn social_detractor_joins_the_profile() {
    let t = tracker();
    let complaint = ev(T0, &["social:@angry"], "support_ticket", "social").with_rating(Rating::Csat(1));
    t.track(complaint).unwrap();
    assert_eq!(t.context(&key("social:@angry")).unwrap().unwrap().level, IdentityLevel::Anonymous);
    t.track(ev(T0 + MIN, &["email:ana@example.com"], "order_confirmed", "web")).unwrap();
    t.track(ev(T0 + 2 * MIN, &["social:@angry", "email:ana@example.com"], "support_chat", "chat")).unwrap();
    let ctx = t.context(&key("email:ana@example.com")).unwrap().unwrap();
    assert_eq!(ctx.events, 3);
    assert_eq!(ctx.emotion.lowest, Some(-1.0));
    assert_eq!(ctx.level, IdentityLevel::Identified);
}

#[test]
fn campaigns_exclude_customers_past_purchase() {
    let t = tracker();
    t.track(ev(T0, &["session:a"], "ad_click", "social")).unwrap();
    t.track(ev(T0, &["session:b"], "ad_click", "social")).unwrap();
    t.track(ev(T0 + MIN, &["session:b"], "order_confirmed", "web")).unwrap();
    let prospects = t.profiles(&ProfileFilter { not_reached: Some("purchase".into()), ..Default::default() }).unwrap();
    assert_eq!(prospects.iter().map(|p| p.key.clone().unwrap()).collect::<Vec<_>>(), [key("session:a")]);
    assert_eq!(t.count(&ProfileFilter { reached: Some("purchase".into()), ..Default::default() }).unwrap(), 1);
    assert!(matches!(t.profiles(&ProfileFilter { reached: Some("nope".into()), ..Default::default() }), Err(Error::NotFound { .. })));
}

#[test]
fn a_shared_device_never_merges_two_customers() {
    let t = tracker();
    t.track(ev(T0, &["device:tablet", "customer:0000001"], "account_login", "mobile_app")).unwrap();
    let second = t.track(ev(T0 + MIN, &["device:tablet", "customer:0000002"], "account_login", "mobile_app")).unwrap();
    let one = t.context(&key("customer:0000001")).unwrap().unwrap();
    let two = t.context(&key("customer:0000002")).unwrap().unwrap();
    assert_ne!(one.profile, two.profile);
    assert_eq!(second.profile, two.profile, "the event lands on the best-matching profile");
    assert_eq!(two.keys, [key("customer:0000002")]);
    let conflicts = t.conflicts().unwrap();
    assert_eq!(conflicts.len(), 1);
    assert_eq!((conflicts[0].kind.as_str(), conflicts[0].limit), ("customer", 1));
    assert_eq!(two.conflicts.len(), 1);
    assert_eq!(t.link(&key("customer:0000001"), &key("customer:0000002"), T0).unwrap(), LinkOutcome::Refused);
}

#[test]
fn a_wrong_link_is_removed_and_the_profile_splits() {
    let t = tracker();
    t.track(ev(T0, &["session:s", "email:a@x.com"], "newsletter_signup", "web")).unwrap();
    t.track(ev(T0 + MIN, &["email:a@x.com"], "email_open", "email")).unwrap();
    t.track(ev(T0 + 2 * MIN, &["session:s"], "add_to_cart", "web")).unwrap();
    t.track(ev(T0 + 3 * MIN, &["email:b@x.com"], "email_click", "email")).unwrap();
    assert_eq!(t.link(&key("email:a@x.com"), &key("email:b@x.com"), T0 + 4 * MIN).unwrap(), LinkOutcome::Merged);
    assert_eq!(t.context(&key("email:b@x.com")).unwrap().unwrap().events, 4);
    let split = t.unlink(&key("email:a@x.com"), &key("email:b@x.com"), T0 + 5 * MIN).unwrap();
    assert!(split.is_some());
    let a = t.context(&key("email:a@x.com")).unwrap().unwrap();
    let b = t.context(&key("email:b@x.com")).unwrap().unwrap();
    assert_eq!((a.events, b.events), (3, 1));
    assert_eq!(b.recent[0].event.name, "email_click");
    assert_eq!(b.recent[0].profile, b.profile);
    let log = t.link_log(&key("email:a@x.com")).unwrap();
    assert!(log.iter().any(|l| l.outcome == LinkOutcome::Removed));
    assert!(matches!(t.unlink(&key("email:a@x.com"), &key("email:b@x.com"), T0), Err(Error::Conflict { .. })));
}

#[test]
fn abandoned_cart_rearms_and_fires_once_per_profile() {
    let t = tracker();
    t.track(ev(T0, &["session:c"], "add_to_cart", "web")).unwrap();
    t.track(ev(T0 + 20 * MIN, &["session:c"], "add_to_cart", "web")).unwrap();
    assert!(t.advance(T0 + 45 * MIN).unwrap().iter().all(|a| &*a.waypoint != "cart_abandoned"), "re-armed at +20m");
    let fired = t.advance(T0 + 50 * MIN + 1).unwrap();
    let cart: Vec<_> = fired.iter().filter(|a| &*a.waypoint == "cart_abandoned").collect();
    assert_eq!(cart.len(), 1);
    assert_eq!(cart[0].kind, ActionKind::Coupon);
    assert_eq!(cart[0].why.deadline, Some((T0 + 20 * MIN, T0 + 50 * MIN)));
    t.track(ev(T0 + 60 * MIN, &["session:c"], "add_to_cart", "web")).unwrap();
    assert!(t.advance(T0 + 200 * MIN).unwrap().iter().all(|a| &*a.waypoint != "cart_abandoned"), "once per profile");
    // The outbox holds each action once, until acknowledged.
    let pending = t.pending_actions(100).unwrap();
    let coupon = pending.iter().find(|a| &*a.waypoint == "cart_abandoned").unwrap();
    assert!(t.ack(&coupon.id).unwrap());
    assert!(!t.ack(&coupon.id).unwrap());
    assert_eq!(t.pending_actions(100).unwrap().len(), pending.len() - 1);
}

#[test]
fn checkout_in_time_and_exit_disarm() {
    let t = tracker();
    t.track(ev(T0, &["session:d"], "add_to_cart", "web")).unwrap();
    t.track(ev(T0 + 30 * MIN, &["session:d"], "checkout_start", "web")).unwrap();
    t.track(ev(T0, &["session:e"], "add_to_cart", "web")).unwrap();
    t.track(ev(T0 + MIN, &["session:e"], "order_confirmed", "web")).unwrap();
    assert!(t.advance(T0 + 500 * MIN).unwrap().iter().all(|a| &*a.waypoint != "cart_abandoned"));
}

#[test]
fn deadlines_survive_merges_and_fire_once() {
    let t = tracker();
    t.track(ev(T0, &["session:m"], "add_to_cart", "web")).unwrap();
    t.track(ev(T0 + MIN, &["device:phone1"], "add_to_cart", "mobile_app")).unwrap();
    t.track(ev(T0 + 2 * MIN, &["session:m", "customer:0000042"], "account_login", "web")).unwrap();
    t.track(ev(T0 + 3 * MIN, &["device:phone1", "customer:0000042"], "account_login", "mobile_app")).unwrap();
    let ctx = t.context(&key("customer:0000042")).unwrap().unwrap();
    assert_eq!(ctx.open_waypoints.len(), 1, "one deadline per waypoint after the merge");
    let fired: Vec<_> = t.advance(T0 + 100 * MIN).unwrap().into_iter().filter(|a| &*a.waypoint == "cart_abandoned").collect();
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].profile, ctx.profile);
}

#[test]
fn a_bad_event_rejects_the_whole_batch() {
    let t = tracker();
    let mut bad = ev(T0 + 1, &["session:z"], "product_view", "web");
    bad.rating = Some(Rating::Nps(11));
    let err = t.track_batch(vec![ev(T0, &["session:z"], "product_view", "web"), bad]).unwrap_err();
    match &err {
        Error::BadEvent { index, field, .. } => assert_eq!((*index, field.as_str()), (Some(1), "rating")),
        other => panic!("{other}"),
    }
    assert!(t.context(&key("session:z")).unwrap().is_none(), "nothing of the batch was applied");
    let mut keyless = ev(T0, &["session:z"], "x", "web");
    keyless.keys.clear();
    assert!(matches!(t.track(keyless), Err(Error::BadEvent { index: None, .. })));
}

#[test]
fn out_of_order_events_are_ordered_by_time_then_arrival() {
    let t = tracker();
    t.track(ev(T0 + 10, &["session:o"], "checkout_start", "web")).unwrap();
    t.track(ev(T0, &["session:o"], "product_view", "web")).unwrap();
    t.track(ev(T0 + 10, &["session:o"], "payment", "web")).unwrap();
    let names: Vec<String> = t.journey(&key("session:o")).unwrap().iter().map(|e| e.event.name.clone()).collect();
    assert_eq!(names, ["product_view", "checkout_start", "payment"]);
    assert_eq!(t.context(&key("session:o")).unwrap().unwrap().current_phase.as_deref(), Some("purchase"));
}

#[test]
fn backtest_fires_exactly_what_live_tracking_fires() {
    let log: Vec<Event> = (0..200)
        .map(|i| {
            let who = format!("session:b{}", i % 17);
            let name = ["product_view", "add_to_cart", "remove_from_cart", "checkout_start", "survey"][i % 5];
            let mut e = ev(T0 + (i as i64) * 7 * MIN / 3, &[&who], name, "web");
            if name == "survey" {
                e = e.with_property("csat", (i % 5) as i64);
            }
            if i % 23 == 0 {
                e = e.with_key(key(&format!("customer:{:07}", i % 3)));
            }
            e
        })
        .collect();
    let end = T0 + 10_000 * MIN;
    let replayed = backtest(&shop(), TrackerConfig::default(), log.clone(), Some(end)).unwrap();
    let live = tracker();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    live.subscribe(move |a| sink.lock().unwrap().push(a.clone()));
    for e in log {
        live.track(e).unwrap();
    }
    live.advance(end).unwrap();
    let seen = seen.lock().unwrap().clone();
    assert!(!seen.is_empty());
    assert_eq!(replayed, seen);
}

/// Subscribers get each committed action in the order they subscribed, until they
/// unsubscribe; ending a subscription twice says so.
#[test]
fn subscribers_are_called_until_they_unsubscribe() {
    let t = tracker();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (first, second) = (seen.clone(), seen.clone());
    let a = t.subscribe(move |action| first.lock().unwrap().push(("a", action.profile)));
    let b = t.subscribe(move |action| second.lock().unwrap().push(("b", action.profile)));
    assert_ne!(a, b);
    let cart = |t: &Tracker, session: &str| {
        t.track(ev(T0, &[session], "product_view", "web")).unwrap();
        t.track(ev(T0 + MIN, &[session], "add_to_cart", "web")).unwrap();
        t.track(ev(T0 + 2 * MIN, &[session], "remove_from_cart", "web")).unwrap().profile
    };
    let p1 = cart(&t, "session:u1");
    assert_eq!(*seen.lock().unwrap(), [("a", p1), ("b", p1)]);
    assert!(t.unsubscribe(a));
    assert!(!t.unsubscribe(a), "already ended");
    let p2 = cart(&t, "session:u2");
    assert_eq!(*seen.lock().unwrap(), [("a", p1), ("b", p1), ("b", p2)]);
    assert!(t.unsubscribe(b));
    cart(&t, "session:u3");
    assert_eq!(seen.lock().unwrap().len(), 3);
}

/// A bad event anywhere in a long log refuses the backtest, named by its position in the
/// whole log (the log is replayed in batches), before anything is replayed.
#[test]
fn a_backtest_names_a_bad_event_by_its_position_in_the_log() {
    let mut log: Vec<Event> = (0..3000).map(|i| ev(T0 + i, &["session:long"], "product_view", "web")).collect();
    log[2500].keys.clear();
    match backtest(&shop(), TrackerConfig::default(), log.clone(), None) {
        Err(journey_core::Error::BadEvent { index: Some(2500), field, .. }) => assert_eq!(field, "keys"),
        other => panic!("{other:?}"),
    }
    log[2500] = ev(T0, &["session:long"], &"n".repeat(300), "web");
    match backtest(&shop(), TrackerConfig::default(), log, None) {
        Err(journey_core::Error::Limit { index: Some(2500), limit, .. }) => assert_eq!(limit, "event_name_len"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_tracker_is_shared_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Tracker>();
    let t = Arc::new(tracker());
    let handles: Vec<_> = (0..4)
        .map(|n| {
            let t = t.clone();
            std::thread::spawn(move || {
                for i in 0..250 {
                    t.track(ev(T0 + i, &[&format!("session:t{n}-{}", i % 10)], "product_view", "web")).unwrap();
                    t.context(&key(&format!("session:t{n}-0"))).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(t.count(&ProfileFilter::default()).unwrap(), 40);
    t.close();
    assert!(matches!(t.track(ev(T0, &["session:q"], "x", "web")), Err(Error::Closed { .. })));
}

#[test]
fn personas_are_assigned_by_rule_or_explicitly() {
    let t = tracker();
    t.track(ev(T0, &["email:p@x.com"], "product_view", "web")).unwrap();
    let assigned = t.set_attributes(&key("email:p@x.com"), json!({"segment": "professional"}).as_object().unwrap().clone()).unwrap();
    assert_eq!(assigned.as_deref(), Some("busy_professional"));
    assert_eq!(t.count(&ProfileFilter { persona: Some("busy_professional".into()), ..Default::default() }).unwrap(), 1);
    t.assign_persona(&key("email:p@x.com"), None).unwrap();
    assert_eq!(t.context(&key("email:p@x.com")).unwrap().unwrap().persona, None);
    assert!(matches!(t.assign_persona(&key("email:nobody@x.com"), Some("x")), Err(Error::NotFound { .. })));
}

#[test]
fn routing_by_phase_and_priority() {
    let t = tracker();
    let route = |k: &str| t.route(&key(k)).unwrap().map(|r| (r.queue, r.priority));
    t.track(ev(T0, &["session:r1"], "product_view", "web")).unwrap();
    assert_eq!(route("session:r1"), Some(("sales".into(), 9)));
    t.track(ev(T0 + 1, &["session:r1"], "add_to_cart", "web").with_property("cart_value", 1499)).unwrap();
    assert_eq!(route("session:r1"), Some(("premium_sales".into(), 2)));
    t.track(ev(T0, &["email:r2@x.com"], "delivered", "email")).unwrap();
    assert_eq!(route("email:r2@x.com"), Some(("customer_care".into(), 5)));
    t.track(ev(T0 + 1, &["email:r2@x.com"], "support_call", "phone").with_rating(Rating::Csat(1))).unwrap();
    let unhappy = t.route(&key("email:r2@x.com")).unwrap().unwrap();
    assert_eq!((unhappy.rule.as_str(), unhappy.queue.as_str(), unhappy.department.unwrap().as_str()), ("unhappy_after_purchase", "retention", "support"));
    assert_eq!(t.route(&key("email:nobody@x.com")).unwrap(), None);
}
