//! Actions and their explanations: what waypoints ask the host to do.
//!
//! The library never executes an action. Each firing of a waypoint puts one
//! [`ActionRecord`] per action into the store's outbox, in the same transaction as the
//! event that caused it; the host reads pending actions, executes them and acknowledges
//! them by id. Subscribers can also be called synchronously after the commit.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::profile::ProfileId;
use crate::time::Micros;
use crate::vocabulary::ActionKind;
use crate::waypoint::Condition;

/// Whether a waypoint was reached or missed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Its condition matched an event.
    Reached,
    /// Its deadline passed first.
    Missed,
}

impl Outcome {
    /// The outcome's name, as in action ids and JSON: `reached` or `missed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Reached => "reached",
            Outcome::Missed => "missed",
        }
    }
}

/// An action's id, `{event_seq}-{waypoint}-{outcome}-{index}` (`index`: the action's
/// position among the waypoint's actions for that outcome). Built by hand into one
/// allocation of the right size: it runs for every firing.
pub(crate) fn action_id(event_seq: u64, waypoint: &str, outcome: Outcome, index: usize) -> String {
    let tag = outcome.as_str();
    let mut id = String::with_capacity(20 + waypoint.len() + tag.len() + 23);
    push_decimal(&mut id, event_seq);
    id.push('-');
    id.push_str(waypoint);
    id.push('-');
    id.push_str(tag);
    id.push('-');
    push_decimal(&mut id, index as u64);
    id
}

/// Appends `n` in decimal.
fn push_decimal(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    digits[at..].iter().for_each(|&d| out.push(d as char));
}

/// Why a waypoint fired: which event, which condition, which deadline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    /// For `reached`: the event that matched. For `missed`: the event that armed the deadline.
    pub event_seq: u64,
    /// That event's raw name.
    pub event: Arc<str>,
    /// The condition that matched (`reached`) or the trigger that armed the deadline (`missed`).
    pub condition: Arc<Condition>,
    /// For deadlines: when it was armed and when it fell due.
    pub deadline: Option<(Micros, Micros)>,
}

/// One action in the outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionRecord {
    /// Unique id, `{event_seq}-{waypoint}-{outcome}-{index}`: the same firing always gets
    /// the same id, so a replayed or retried write delivers it once.
    pub id: String,
    /// The profile it concerns.
    pub profile: ProfileId,
    /// The waypoint that fired.
    pub waypoint: Arc<str>,
    /// Reached or missed.
    pub outcome: Outcome,
    /// The kind of action.
    pub kind: ActionKind,
    /// Data for the host, from the map (shared by every firing of the action).
    pub payload: Arc<Map<String, Value>>,
    /// Event time of the firing.
    pub ts: Micros,
    /// Why it fired.
    pub why: Explanation,
}

impl ActionRecord {
    /// A stable, human-readable line: `ts waypoint outcome kind profile`.
    pub fn summary(&self) -> String {
        format!("{} {} {:?} {} profile {}", self.ts, self.waypoint, self.outcome, self.kind, self.profile)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_ids_read_like_their_format() {
        for (seq, waypoint, outcome, index) in
            [(0, "w", Outcome::Reached, 0), (u64::MAX, "cart_abandoned", Outcome::Missed, 12), (1_000_000, "é-x", Outcome::Reached, usize::MAX)]
        {
            let expected = format!("{seq}-{waypoint}-{}-{index}", if outcome == Outcome::Reached { "reached" } else { "missed" });
            assert_eq!(action_id(seq, waypoint, outcome, index), expected);
        }
    }
}
