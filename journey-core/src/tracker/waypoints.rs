//! Waypoints at run time: each event checked against them, deadlines armed and fired,
//! actions written to the outbox and handed to subscribers.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde_json::{Map, Value};

use super::Tracker;
use crate::condition::{Compiled, Subject};
use crate::error::Result;
use crate::outbox::{ActionRecord, Explanation, Outcome};
use crate::profile::ProfileId;
use crate::store::{Deadline, Tx};
use crate::time::Micros;
use crate::waypoint::{Cap, Condition, Waypoint};

/// The payloads of a list of actions.
pub(super) type Payloads = Vec<Arc<Map<String, Value>>>;

/// A waypoint compiled against the tracker's map.
pub(super) struct Armable {
    pub(super) def: Waypoint,
    pub(super) id: Arc<str>,
    /// The payloads of its `on_reached` and `on_missed` actions, shared by every firing.
    pub(super) payloads: (Payloads, Payloads),
    pub(super) shown_condition: Arc<Condition>,
    pub(super) shown_trigger: Arc<Condition>,
    pub(super) condition: Compiled,
    pub(super) trigger: Option<Compiled>,
    pub(super) exit: Option<Compiled>,
}

/// An event's raw name, with the map's shared copy of it when the map lists it.
pub(super) struct Name<'a> {
    pub(super) text: &'a str,
    pub(super) shared: Option<&'a Arc<str>>,
}

impl Name<'_> {
    /// The name as an `Arc`: the map's copy, else a new one (off-map events).
    pub(super) fn shared(&self) -> Arc<str> {
        self.shared.cloned().unwrap_or_else(|| Arc::from(self.text))
    }
}

impl Tracker {
    /// Checks one event against the waypoints its touchpoint can concern and those armed
    /// on its profile: fires the reached ones, arms, re-arms and disarms deadlines.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn run_waypoints(
        &self,
        tx: &mut dyn Tx,
        profile: ProfileId,
        subject: &Subject<'_>,
        name: &Name<'_>,
        ts: Micros,
        seq: u64,
        out: &mut Vec<ActionRecord>,
    ) -> Result<()> {
        let candidates = &self.candidates[subject.touchpoint.unwrap_or(self.candidates.len() - 1)];
        // `(armed_at, due)` of each waypoint's armed deadline, read once before any change
        // (each waypoint changes only its own), on the stack for maps of up to 32 waypoints.
        let (mut small, mut large) = ([None; 32], Vec::new());
        let armed: &mut [Option<(Micros, Micros)>] = if self.waypoints.len() <= small.len() {
            &mut small[..self.waypoints.len()]
        } else {
            large.resize(self.waypoints.len(), None);
            &mut large
        };
        tx.visit_deadlines(profile, &mut |d| {
            if let Some(i) = self.waypoint_index(&d.waypoint) {
                armed[i] = Some((d.armed_at, d.due));
            }
        })?;
        for ((w, &candidate), &armed) in self.waypoints.iter().zip(candidates).zip(armed.iter()) {
            if !candidate && armed.is_none() {
                continue;
            }
            let def = &w.def;
            let Some(within) = def.within else {
                if w.condition.matches(subject) && self.cap_allows(tx, profile, def, ts)? {
                    let why = Explanation { event_seq: seq, event: name.shared(), condition: w.shown_condition.clone(), deadline: None };
                    self.fire(tx, w, Outcome::Reached, profile, ts, why, out)?;
                }
                continue;
            };
            let arm = |tx: &mut dyn Tx| {
                tx.put_deadline(&Deadline {
                    profile,
                    waypoint: w.id.clone(),
                    armed_at: ts,
                    due: ts.saturating_add(within.as_micros()),
                    trigger_seq: seq,
                    trigger_event: name.shared(),
                })
            };
            let triggered = || w.trigger.as_ref().is_some_and(|t| t.matches(subject));
            match armed {
                Some((armed_at, due)) if ts >= armed_at => {
                    if w.exit.as_ref().is_some_and(|x| x.matches(subject)) {
                        tx.delete_deadline(profile, &def.id)?;
                    } else if w.condition.matches(subject) {
                        tx.delete_deadline(profile, &def.id)?;
                        if self.cap_allows(tx, profile, def, ts)? {
                            let why = Explanation {
                                event_seq: seq,
                                event: name.shared(),
                                condition: w.shown_condition.clone(),
                                deadline: Some((armed_at, due)),
                            };
                            self.fire(tx, w, Outcome::Reached, profile, ts, why, out)?;
                        }
                    } else if def.rearm && triggered() {
                        arm(tx)?;
                    }
                }
                Some(_) => {}
                None => {
                    if triggered() && self.cap_allows(tx, profile, def, ts)? {
                        arm(tx)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// The position of a waypoint by id: by pointer first (deadlines share the tracker's
    /// ids), by text for ids read back from a durable store.
    fn waypoint_index(&self, id: &Arc<str>) -> Option<usize> {
        self.waypoints.iter().position(|w| Arc::ptr_eq(&w.id, id)).or_else(|| self.waypoints.iter().position(|w| w.id == *id))
    }

    /// Whether the waypoint's frequency cap lets it fire (or arm) for this profile at `ts`.
    fn cap_allows(&self, tx: &dyn Tx, profile: ProfileId, def: &Waypoint, ts: Micros) -> Result<bool> {
        Ok(match def.cap {
            Cap::Unlimited => true,
            Cap::OncePerProfile => tx.fired(profile, &def.id)?.is_none(),
            Cap::Cooldown(d) => tx.fired(profile, &def.id)?.is_none_or(|last| ts.saturating_sub(last) >= d.as_micros()),
        })
    }

    /// Writes the waypoint's actions for this outcome to the outbox and to `out`, and
    /// records the firing for its cap.
    #[allow(clippy::too_many_arguments)]
    fn fire(&self, tx: &mut dyn Tx, w: &Armable, outcome: Outcome, profile: ProfileId, ts: Micros, why: Explanation, out: &mut Vec<ActionRecord>) -> Result<()> {
        let def = &w.def;
        let (actions, payloads) = match outcome {
            Outcome::Reached => (&def.on_reached, &w.payloads.0),
            Outcome::Missed => (&def.on_missed, &w.payloads.1),
        };
        for (i, action) in actions.iter().enumerate() {
            let record = ActionRecord {
                id: crate::outbox::action_id(why.event_seq, &def.id, outcome, i),
                profile,
                waypoint: w.id.clone(),
                outcome,
                kind: action.kind.clone(),
                payload: payloads[i].clone(),
                ts,
                why: why.clone(),
            };
            tx.push_action(&record)?;
            out.push(record);
        }
        tx.set_fired(profile, &def.id, ts)
    }

    /// Advances the clock to `now` and fires every deadline due strictly before it.
    pub(super) fn fire_due(&self, tx: &mut dyn Tx, now: Micros, out: &mut Vec<ActionRecord>) -> Result<()> {
        self.clock.fetch_max(now, Ordering::Relaxed);
        while let Some(d) = tx.next_due(now)? {
            tx.delete_deadline(d.profile, &d.waypoint)?;
            let Some(w) = self.waypoint_index(&d.waypoint).map(|i| &self.waypoints[i]) else { continue };
            if self.cap_allows(tx, d.profile, &w.def, d.due)? {
                let why = Explanation {
                    event_seq: d.trigger_seq,
                    event: d.trigger_event.clone(),
                    condition: w.shown_trigger.clone(),
                    deadline: Some((d.armed_at, d.due)),
                };
                self.fire(tx, w, Outcome::Missed, d.profile, d.due, why, out)?;
            }
        }
        Ok(())
    }

    /// Hands committed actions to the subscribers.
    pub(super) fn notify<'a>(&self, actions: impl Iterator<Item = &'a ActionRecord>) {
        let subscribers = self.subscribers.read().unwrap_or_else(|p| p.into_inner()).clone();
        if subscribers.is_empty() {
            return;
        }
        for action in actions {
            for (_, s) in &subscribers {
                s(action);
            }
        }
    }

    /// Advances the clock to `now` (event time) and fires every deadline due strictly before it.
    pub fn advance(&self, now: Micros) -> Result<Vec<ActionRecord>> {
        self.open()?;
        let mut actions = Vec::new();
        self.store.write(&mut |tx| {
            actions.clear();
            self.fire_due(tx, now, &mut actions)
        })?;
        self.notify(actions.iter());
        Ok(actions)
    }
}
