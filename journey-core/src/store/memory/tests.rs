use super::*;
use crate::outbox::ActionRecord;

fn deadline(profile: ProfileId, waypoint: &Arc<str>, due: Micros) -> Deadline {
    Deadline { profile, waypoint: waypoint.clone(), armed_at: 0, due, trigger_seq: 0, trigger_event: "e".into() }
}

fn profile(store: &MemoryStore) -> ProfileId {
    let mut id = None;
    store
        .write(&mut |tx| {
            let p = tx.new_profile_id()?;
            tx.put_profile(&ProfileState::new(p, crate::identity::IdentityLevel::Anonymous))?;
            id = Some(p);
            Ok(())
        })
        .unwrap();
    id.unwrap()
}

fn next_due(store: &MemoryStore, now: Micros) -> Option<(ProfileId, Micros)> {
    let mut due = None;
    store
        .read(&mut |tx| {
            due = tx.next_due(now)?.map(|d| (d.profile, d.due));
            Ok(())
        })
        .unwrap();
    due
}

/// Re-arming leaves stale entries behind in the due heap: they never come out of
/// `next_due`, and the heap is compacted before they pile up.
#[test]
fn rearmed_deadlines_leave_no_trace() {
    let store = MemoryStore::new();
    let (a, b) = (profile(&store), profile(&store));
    let w: Arc<str> = "cart".into();
    for due in (1..=10_000).rev() {
        store.write(&mut |tx| tx.put_deadline(&deadline(a, &w, 100 + due))).unwrap();
    }
    store.write(&mut |tx| tx.put_deadline(&deadline(b, &w, 50_000))).unwrap();
    assert!(store.state.read().unwrap().due.len() <= 2 * 2 + 1024, "compacted");
    assert_eq!(next_due(&store, 101), None);
    assert_eq!(next_due(&store, 102), Some((a, 101)), "only the last arming counts");
    store.write(&mut |tx| tx.delete_deadline(a, "cart")).unwrap();
    assert_eq!(next_due(&store, i64::MAX), Some((b, 50_000)));
}

/// A deadline removed in a transaction that fails is armed again, and still falls due.
#[test]
fn a_rolled_back_removal_rearms_the_deadline() {
    let store = MemoryStore::new();
    let a = profile(&store);
    let w: Arc<str> = "cart".into();
    store.write(&mut |tx| tx.put_deadline(&deadline(a, &w, 10))).unwrap();
    let failed = store.write(&mut |tx| {
        tx.delete_deadline(a, "cart")?;
        tx.put_deadline(&deadline(a, &w, 20))?;
        tx.delete_deadline(a, "cart")?;
        Err(Error::Storage { message: "injected".into(), source: None })
    });
    assert!(failed.is_err());
    assert_eq!(next_due(&store, 11), Some((a, 10)));
    let failed_delete = store.write(&mut |tx| {
        tx.delete_profile(a)?;
        Err(Error::Storage { message: "injected".into(), source: None })
    });
    assert!(failed_delete.is_err());
    assert_eq!(next_due(&store, 11), Some((a, 10)), "a rolled-back profile deletion keeps its deadlines");
}

/// Removing or re-arming a deadline behind the front leaves a stale entry there; the
/// front stays right, and the stale entry is skipped once it comes to the front.
#[test]
fn deadlines_removed_behind_the_front_are_skipped_later() {
    let store = MemoryStore::new();
    let (a, b, c) = (profile(&store), profile(&store), profile(&store));
    let w: Arc<str> = "cart".into();
    for (p, due) in [(a, 10), (b, 20), (c, 30)] {
        store.write(&mut |tx| tx.put_deadline(&deadline(p, &w, due))).unwrap();
    }
    store.write(&mut |tx| tx.delete_deadline(b, "cart")).unwrap();
    store.write(&mut |tx| tx.put_deadline(&deadline(c, &w, 40))).unwrap();
    assert_eq!(next_due(&store, i64::MAX), Some((a, 10)));
    store.write(&mut |tx| tx.delete_deadline(a, "cart")).unwrap();
    assert_eq!(next_due(&store, 40), None, "b's removed and c's re-armed entries are gone");
    assert_eq!(next_due(&store, 41), Some((c, 40)));
}

/// Arming, re-arming, removing and deleting profiles, in transactions that commit or
/// fail (and so roll back), keep the due heap right: after every write its front is
/// the earliest armed deadline, every armed deadline has an entry, and it stays compact.
#[test]
fn the_due_heap_follows_every_write_and_rollback() {
    let store = MemoryStore::new();
    let profiles: Vec<ProfileId> = (0..4).map(|_| profile(&store)).collect();
    let names: [Arc<str>; 2] = ["cart".into(), "wait".into()];
    let mut seed = 11u64;
    let mut next = move |n: u64| {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (seed >> 33) % n
    };
    for _ in 0..3000 {
        let ops: Vec<(u64, usize, usize, Micros)> = (0..1 + next(4)).map(|_| (next(10), next(4) as usize, next(2) as usize, 1 + next(50) as Micros)).collect();
        let fail = next(4) == 0;
        let result = store.write(&mut |tx| {
            for &(op, p, w, due) in &ops {
                match op {
                    // (a profile deleted earlier in the transaction has nothing to arm)
                    0..=5 if tx.profile(profiles[p])?.is_some() => tx.put_deadline(&deadline(profiles[p], &names[w], due))?,
                    0..=5 => {}
                    6..=8 => tx.delete_deadline(profiles[p], &names[w])?,
                    _ => tx.delete_profile(profiles[p])?,
                }
            }
            if fail { Err(Error::Storage { message: "injected".into(), source: None }) } else { Ok(()) }
        });
        assert_eq!(result.is_err(), fail);
        let state = store.state.read().unwrap();
        let armed: Vec<(Micros, ProfileId, Arc<str>)> = state.profiles.iter().flat_map(|(id, r)| r.deadlines.iter().map(move |d| (d.due, id, d.waypoint.clone()))).collect();
        assert_eq!(armed.len(), state.armed);
        assert!(armed.iter().all(|a| state.due.iter().any(|e| e == a)), "every armed deadline has an entry");
        assert_eq!(state.due.peek().cloned(), armed.iter().min().cloned(), "the front is the earliest armed deadline");
        assert!(state.due.len() <= 2 * state.armed + 1024 + 1, "compacted");
        drop(state);
        // Deleted profiles come back, empty, for the next rounds.
        store
            .write(&mut |tx| {
                for &p in &profiles {
                    if tx.profile(p)?.is_none() {
                        tx.put_profile(&ProfileState::new(p, crate::identity::IdentityLevel::Anonymous))?;
                    }
                }
                Ok(())
            })
            .unwrap();
    }
}

fn action(id: &str, profile: ProfileId) -> ActionRecord {
    ActionRecord {
        id: id.into(),
        profile,
        waypoint: "w".into(),
        outcome: crate::outbox::Outcome::Reached,
        kind: crate::vocabulary::ActionKind::Sms,
        payload: Default::default(),
        ts: 0,
        why: crate::outbox::Explanation { event_seq: 0, event: "e".into(), condition: Arc::new(crate::waypoint::Condition::Event("e".into())), deadline: None },
    }
}

fn pending(store: &MemoryStore) -> Vec<String> {
    let mut ids = vec![];
    store
        .read(&mut |tx| {
            ids = tx.pending_actions(usize::MAX)?.into_iter().map(|a| a.id).collect();
            Ok(())
        })
        .unwrap();
    ids
}

/// The outbox keeps push order through acks in any order and rolled-back acks, and
/// finds every pending action by id.
#[test]
fn the_outbox_keeps_push_order_through_acks_and_rollbacks() {
    let store = MemoryStore::new();
    let p = profile(&store);
    store.write(&mut |tx| ["a", "b", "c", "a"].iter().try_for_each(|id| tx.push_action(&action(id, p)))).unwrap();
    assert_eq!(pending(&store), ["a", "b", "c"], "a repeated id is delivered once");
    let mut acked = vec![];
    store
        .write(&mut |tx| {
            acked = vec![tx.ack("b")?, tx.ack("x")?];
            Ok(())
        })
        .unwrap();
    assert_eq!(acked, [true, false]);
    store.write(&mut |tx| tx.ack("a").map(drop)).unwrap();
    assert_eq!(pending(&store), ["c"]);
    let failed = store.write(&mut |tx| {
        tx.push_action(&action("d", p))?;
        tx.ack("c")?;
        Err(Error::Storage { message: "injected".into(), source: None })
    });
    assert!(failed.is_err());
    assert_eq!(pending(&store), ["c"], "the failed write left nothing behind");
    store.write(&mut |tx| tx.push_action(&action("d", p))).unwrap();
    let failed = store.write(&mut |tx| {
        tx.ack("c")?;
        tx.ack("d")?;
        Err(Error::Storage { message: "injected".into(), source: None })
    });
    assert!(failed.is_err());
    assert_eq!(pending(&store), ["c", "d"]);
    store.write(&mut |tx| tx.ack("d").map(drop)).unwrap();
    store.write(&mut |tx| tx.ack("c").map(drop)).unwrap();
    assert!(pending(&store).is_empty());
    store.write(&mut |tx| tx.push_action(&action("e", p))).unwrap();
    assert_eq!(pending(&store), ["e"]);
}
