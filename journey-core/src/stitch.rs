//! Stitching: linking identity keys into profiles, safely and reversibly.
//!
//! An event carrying several keys links them. The event lands on the profile of its
//! *anchor*: the key with the highest identity level (ties: a key already known, then
//! the first given). Every other key is linked to that profile: a new key joins it; a key
//! of another profile merges the two (the lower profile id survives, with all events,
//! deadlines and caps). A link that would break an identity limit (by default, two
//! `customer:` keys in one profile) is refused and recorded as a [`Conflict`]; the event
//! still lands on the anchor's profile. So a shared device or session never merges two
//! authenticated customers. The same holds for [`Limits::keys_per_profile`], the most keys
//! of all kinds one profile may hold (1 000 by default), so one shared device cannot pull
//! thousands of customers into one profile: its conflict has the kind `*`.
//!
//! Every link in effect is kept as an edge, and [`Tracker::unlink`](crate::Tracker::unlink) removes one and splits the
//! profile back along the remaining links.

use std::collections::{BTreeSet, VecDeque};

use crate::error::{Error, Result};
use crate::identity::{IdentityKey, IdentityRules};
use crate::limits::Limits;
use crate::profile::{Conflict, LinkEntry, LinkOutcome, ProfileId, ProfileState, TrackedEvent};
use crate::store::Tx;
use crate::time::Micros;

/// Where a link came from: its time and, if it came from an event, the event's seq.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Origin {
    pub ts: Micros,
    pub event_seq: Option<u64>,
}

/// Finds (or creates) the profile the keys land on, linking the others to it.
pub(crate) fn resolve(tx: &mut dyn Tx, rules: &IdentityRules, limits: &Limits, keys: &[IdentityKey], origin: Origin) -> Result<ProfileId> {
    let anchor = anchor_of(tx, rules, keys)?;
    let mut profile = match tx.key_profile(&keys[anchor])? {
        Some(id) => id,
        None => create(tx, rules, &keys[anchor])?,
    };
    for (i, key) in keys.iter().enumerate() {
        if i != anchor && !keys[..i].contains(key) {
            profile = link_into(tx, rules, limits, &keys[anchor], profile, key, origin)?.1;
        }
    }
    Ok(profile)
}

/// Links two keys explicitly (a login, a CRM match); returns what happened and the profile.
/// A key longer than [`Limits::key_len`] is refused with [`Error::Limit`] (field `a` or `b`).
pub(crate) fn link(
    tx: &mut dyn Tx,
    rules: &IdentityRules,
    limits: &Limits,
    a: &IdentityKey,
    b: &IdentityKey,
    origin: Origin,
) -> Result<(LinkOutcome, ProfileId)> {
    for (field, key) in [("a", a), ("b", b)] {
        if key.as_str().len() > limits.key_len {
            return Err(Error::limit("key_len", limits.key_len, key.as_str().len(), field));
        }
    }
    let profile = match tx.key_profile(a)? {
        Some(id) => id,
        None => create(tx, rules, a)?,
    };
    if a == b {
        return Ok((LinkOutcome::Already, profile));
    }
    link_into(tx, rules, limits, a, profile, b, origin)
}

fn anchor_of(tx: &dyn Tx, rules: &IdentityRules, keys: &[IdentityKey]) -> Result<usize> {
    if keys.len() == 1 {
        return Ok(0);
    }
    let mut best = (rules.level_of(&keys[0]), tx.key_profile(&keys[0])?.is_some());
    let mut at = 0;
    for (i, key) in keys.iter().enumerate().skip(1) {
        let score = (rules.level_of(key), tx.key_profile(key)?.is_some());
        if score > best {
            best = score;
            at = i;
        }
    }
    Ok(at)
}

fn create(tx: &mut dyn Tx, rules: &IdentityRules, key: &IdentityKey) -> Result<ProfileId> {
    let id = tx.new_profile_id()?;
    tx.put_profile(&ProfileState::new(id, rules.level_of(key)))?;
    tx.put_key(key, id)?;
    Ok(id)
}

fn link_into(
    tx: &mut dyn Tx,
    rules: &IdentityRules,
    limits: &Limits,
    anchor: &IdentityKey,
    profile: ProfileId,
    key: &IdentityKey,
    origin: Origin,
) -> Result<(LinkOutcome, ProfileId)> {
    let entry = |outcome, absorbed, profile| LinkEntry {
        a: anchor.clone(),
        b: key.clone(),
        ts: origin.ts,
        event_seq: origin.event_seq,
        outcome,
        absorbed,
        profile,
    };
    match tx.key_profile(key)? {
        Some(other) if other == profile => {
            if !tx.linked(anchor, key)? {
                tx.append_link(&entry(LinkOutcome::Already, None, profile))?;
            }
            Ok((LinkOutcome::Already, profile))
        }
        Some(other) => {
            let mut union = tx.keys_of(profile)?;
            union.extend(tx.keys_of(other)?);
            if let Some(v) = violation(rules, limits, &union) {
                refuse(tx, anchor, key, origin, v)?;
                return Ok((LinkOutcome::Refused, profile));
            }
            let (survivor, absorbed) = (profile.min(other), profile.max(other));
            merge(tx, survivor, absorbed)?;
            tx.append_link(&entry(LinkOutcome::Merged, Some(absorbed), survivor))?;
            Ok((LinkOutcome::Merged, survivor))
        }
        None => {
            let mut union = tx.keys_of(profile)?;
            union.push(key.clone());
            if let Some(v) = violation(rules, limits, &union) {
                refuse(tx, anchor, key, origin, v)?;
                return Ok((LinkOutcome::Refused, profile));
            }
            tx.put_key(key, profile)?;
            let mut state = tx.profile(profile)?.ok_or_else(|| gone(profile))?;
            state.level = state.level.max(rules.level_of(key));
            tx.put_profile(&state)?;
            tx.append_link(&entry(LinkOutcome::Joined, None, profile))?;
            Ok((LinkOutcome::Joined, profile))
        }
    }
}

/// The first limit the keys of a would-be profile break: an identity rule's
/// `(kind, limit, count)`, else `("*", keys_per_profile, count)`.
fn violation(rules: &IdentityRules, limits: &Limits, union: &[IdentityKey]) -> Option<(String, usize, usize)> {
    rules.violation(union).or_else(|| (union.len() > limits.keys_per_profile).then(|| ("*".to_string(), limits.keys_per_profile, union.len())))
}

fn refuse(tx: &mut dyn Tx, anchor: &IdentityKey, key: &IdentityKey, origin: Origin, (kind, limit, n): (String, usize, usize)) -> Result<()> {
    let message = if kind == "*" {
        format!("linking {key} to the profile of {anchor} would give it {n} keys (limit `keys_per_profile` {limit})")
    } else {
        format!("linking {key} to the profile of {anchor} would give it {n} `{kind}` keys (limit {limit})")
    };
    tx.add_conflict(&Conflict { key: anchor.clone(), other: key.clone(), ts: origin.ts, event_seq: origin.event_seq, kind, limit, message })
}

fn gone(id: ProfileId) -> Error {
    Error::Storage { message: format!("profile {id} vanished during a transaction"), source: None }
}

/// Folds profile `absorbed` into `survivor`: keys, events, summary, deadlines, caps, persona.
fn merge(tx: &mut dyn Tx, survivor: ProfileId, absorbed: ProfileId) -> Result<()> {
    let mut state = tx.profile(survivor)?.ok_or_else(|| gone(survivor))?;
    let other = tx.profile(absorbed)?.ok_or_else(|| gone(absorbed))?;
    state.absorb(&other);
    tx.put_profile(&state)?;
    for key in tx.keys_of(absorbed)? {
        tx.put_key(&key, survivor)?;
    }
    tx.move_events(absorbed, survivor)?;
    let mine = tx.deadlines_of(survivor)?;
    for mut d in tx.deadlines_of(absorbed)? {
        tx.delete_deadline(absorbed, &d.waypoint)?;
        // One deadline per waypoint survives a merge: the one falling due first.
        if mine.iter().all(|m| m.waypoint != d.waypoint || m.due > d.due) {
            d.profile = survivor;
            tx.put_deadline(&d)?;
        }
    }
    for (waypoint, ts) in tx.fired_of(absorbed)? {
        tx.set_fired(survivor, &waypoint, ts)?;
    }
    if tx.persona(survivor)?.is_none()
        && let Some(p) = tx.persona(absorbed)?
    {
        tx.set_persona(survivor, Some(&p))?;
    }
    let mut attributes = tx.attributes(absorbed)?;
    if !attributes.is_empty() {
        attributes.extend(tx.attributes(survivor)?);
        tx.set_attributes(survivor, &attributes)?;
    }
    tx.delete_profile(absorbed)
}

/// Recomputes a profile's summary from its events and identity level.
pub(crate) type Summarise<'a> = dyn Fn(ProfileId, &[std::sync::Arc<TrackedEvent>], crate::identity::IdentityLevel) -> ProfileState + 'a;

/// Removes the link between two keys of one profile and, if nothing else connects them,
/// splits the profile: the part holding the profile's first key keeps its id, the other
/// part becomes a new profile. Events follow their anchor key, deadlines their trigger
/// event; caps, persona and attributes are copied to both. `summarise` recomputes a
/// profile summary from its events. Returns the new profile, if the profile split.
pub(crate) fn unlink(
    tx: &mut dyn Tx,
    rules: &IdentityRules,
    a: &IdentityKey,
    b: &IdentityKey,
    ts: Micros,
    summarise: &Summarise<'_>,
) -> Result<Option<ProfileId>> {
    let (Some(pa), Some(pb)) = (tx.key_profile(a)?, tx.key_profile(b)?) else {
        return Err(Error::NotFound { what: "identity key", id: if tx.key_profile(a)?.is_none() { a.to_string() } else { b.to_string() } });
    };
    if pa != pb {
        return Err(Error::Conflict { message: format!("{a} and {b} are not in the same profile, so there is no link to remove") });
    }
    if !tx.linked(a, b)? {
        return Err(Error::Conflict { message: format!("{a} and {b} are not linked directly; remove one of the links that connects them") });
    }
    tx.append_link(&LinkEntry { a: a.clone(), b: b.clone(), ts, event_seq: None, outcome: LinkOutcome::Removed, absorbed: None, profile: pa })?;
    let keys = tx.keys_of(pa)?;
    let first = keys.first().cloned().unwrap_or_else(|| a.clone());
    let kept = component(tx, &first)?;
    if kept.contains(b) == kept.contains(a) {
        return Ok(None);
    }
    let split_id = tx.new_profile_id()?;
    tx.put_profile(&ProfileState::new(split_id, crate::identity::IdentityLevel::Anonymous))?;
    for key in keys.iter().filter(|k| !kept.contains(*k)) {
        tx.put_key(key, split_id)?;
    }
    let events = tx.events_of(pa, None)?;
    let mut moved = BTreeSet::new();
    for e in &events {
        // The anchor rule of `resolve`: the highest level, the first given among equals.
        let anchor = e.event.keys.iter().filter(|k| keys.contains(k)).rev().max_by_key(|k| rules.level_of(k));
        if anchor.is_some_and(|k| !kept.contains(k)) {
            tx.move_event(e.seq, pa, split_id)?;
            moved.insert(e.seq);
        }
    }
    for d in tx.deadlines_of(pa)? {
        if moved.contains(&d.trigger_seq) {
            tx.delete_deadline(pa, &d.waypoint)?;
            tx.put_deadline(&crate::store::Deadline { profile: split_id, ..d })?;
        }
    }
    for (waypoint, at) in tx.fired_of(pa)? {
        tx.set_fired(split_id, &waypoint, at)?;
    }
    if let Some(p) = tx.persona(pa)? {
        tx.set_persona(split_id, Some(&p))?;
    }
    tx.set_attributes(split_id, &tx.attributes(pa)?)?;
    for id in [pa, split_id] {
        let level = rules.level_of_keys(&tx.keys_of(id)?);
        let state = summarise(id, &tx.events_of(id, None)?, level);
        tx.put_profile(&state)?;
    }
    Ok(Some(split_id))
}

/// The keys connected to `start` by links in effect.
fn component(tx: &dyn Tx, start: &IdentityKey) -> Result<BTreeSet<IdentityKey>> {
    let mut seen = BTreeSet::from([start.clone()]);
    let mut queue = VecDeque::from([start.clone()]);
    while let Some(key) = queue.pop_front() {
        for next in tx.neighbours(&key)? {
            if seen.insert(next.clone()) {
                queue.push_back(next);
            }
        }
    }
    Ok(seen)
}
