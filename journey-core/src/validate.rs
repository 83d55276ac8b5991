//! Validation of a map document: every problem at once, each with its path.
//!
//! Paths point into the JSON document, e.g. `maps[0].touchpoints[3].phase`. Problems come
//! in a stable order (per list: duplicate ids first, then each element in document order),
//! so the output can be compared in tests.

use std::collections::{HashMap, HashSet};
use std::fmt;

use serde::Serialize;

use crate::limits::{Limits, describe};
use crate::map::{JourneyMap, MapDocument};
use crate::waypoint::{Condition, Op, Waypoint};

/// The kinds of problem validation reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ProblemKind {
    /// Two personas, maps, phases, touchpoints or waypoints share an id.
    DuplicateId,
    /// A required text (an id, a name) is empty.
    EmptyField,
    /// A touchpoint names a phase the map does not have.
    UnknownPhase,
    /// A map names a persona the document does not have.
    UnknownPersona,
    /// One raw event name is listed by two touchpoints of one map.
    EventClaimedTwice,
    /// A waypoint condition names a touchpoint or phase the map does not have.
    UnknownReference,
    /// A phase has no touchpoints, or a map has no phases.
    EmptyPhase,
    /// A planned emotion is outside its scale.
    EmotionOutOfRange,
    /// A waypoint or condition is inconsistent (`within` without `trigger`, an empty `all`,
    /// a comparison without a value...).
    InvalidWaypoint,
    /// A map or a condition is larger than the [`Limits`] allow (too many phases,
    /// touchpoints or waypoints, a condition nested too deep or with too many nodes).
    LimitExceeded,
}

impl ProblemKind {
    /// The kind's stable name, as serialised (`duplicate_id`...).
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemKind::DuplicateId => "duplicate_id",
            ProblemKind::EmptyField => "empty_field",
            ProblemKind::UnknownPhase => "unknown_phase",
            ProblemKind::UnknownPersona => "unknown_persona",
            ProblemKind::EventClaimedTwice => "event_claimed_twice",
            ProblemKind::UnknownReference => "unknown_reference",
            ProblemKind::EmptyPhase => "empty_phase",
            ProblemKind::EmotionOutOfRange => "emotion_out_of_range",
            ProblemKind::InvalidWaypoint => "invalid_waypoint",
            ProblemKind::LimitExceeded => "limit_exceeded",
        }
    }
}

/// One problem found by validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// What kind of problem.
    pub kind: ProblemKind,
    /// Where, as a path into the document (`maps[0].phases[2]`).
    pub path: String,
    /// What is wrong, in words, naming the offending value.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Every problem of an invalid document, in a stable order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ValidationErrors {
    /// The problems, never empty.
    pub problems: Vec<Problem>,
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(f, "the map document has {n} problem{}:", if n == 1 { "" } else { "s" })?;
        for p in &self.problems {
            write!(f, "\n  - {p}")?;
        }
        Ok(())
    }
}

impl MapDocument {
    /// Checks the document's meaning, under the default [`Limits`], and returns every
    /// problem at once, or `Ok`.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        self.validate_with(&Limits::default())
    }

    /// Checks the document's meaning and its size under `limits` (phases, touchpoints and
    /// waypoints per map, the depth and size of conditions), and returns every problem at
    /// once, or `Ok`.
    pub fn validate_with(&self, limits: &Limits) -> Result<(), ValidationErrors> {
        let problems = self.problems_with(limits);
        if problems.is_empty() { Ok(()) } else { Err(ValidationErrors { problems }) }
    }

    /// Every problem of the document under the default [`Limits`], in a stable order;
    /// empty when valid.
    pub fn problems(&self) -> Vec<Problem> {
        self.problems_with(&Limits::default())
    }

    /// Every problem of the document under `limits`, in a stable order; empty when valid.
    /// A map over a size limit is reported with [`ProblemKind::LimitExceeded`] and its
    /// other checks are skipped; so is a condition over a limit.
    pub fn problems_with(&self, limits: &Limits) -> Vec<Problem> {
        let mut v = Validator { problems: Vec::new(), limits: *limits };
        v.unique("personas", self.personas.iter().map(|p| p.id.as_str()), "persona");
        for (i, persona) in self.personas.iter().enumerate() {
            let path = format!("personas[{i}]");
            v.non_empty(&path, "id", &persona.id);
            v.non_empty(&path, "name", &persona.name);
            if let Some(rule) = &persona.assign_when {
                v.condition(&format!("{path}.assign_when"), rule, None);
            }
        }
        v.unique("maps", self.maps.iter().map(|m| m.id.as_str()), "map");
        let personas: HashSet<&str> = self.personas.iter().map(|p| p.id.as_str()).collect();
        for (i, map) in self.maps.iter().enumerate() {
            let path = format!("maps[{i}]");
            v.non_empty(&path, "id", &map.id);
            v.non_empty(&path, "name", &map.name);
            if !personas.contains(map.persona.as_str()) {
                v.push(
                    ProblemKind::UnknownPersona,
                    format!("{path}.persona"),
                    format!("persona {:?} is not defined in `personas`", map.persona),
                );
            }
            v.map(&path, map);
        }
        v.problems
    }
}

struct Validator {
    problems: Vec<Problem>,
    limits: Limits,
}

impl Validator {
    fn push(&mut self, kind: ProblemKind, path: String, message: String) {
        self.problems.push(Problem { kind, path, message });
    }

    fn non_empty(&mut self, path: &str, field: &str, value: &str) {
        if value.trim().is_empty() {
            self.push(ProblemKind::EmptyField, format!("{path}.{field}"), format!("`{field}` must not be empty"));
        }
    }

    fn unique<'a>(&mut self, list: &str, ids: impl Iterator<Item = &'a str>, what: &str) {
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (i, id) in ids.enumerate() {
            if let Some(first) = seen.insert(id, i) {
                seen.insert(id, first);
                self.push(
                    ProblemKind::DuplicateId,
                    format!("{list}[{i}].id"),
                    format!("{what} id {id:?} is already used by {list}[{first}]"),
                );
            }
        }
    }

    fn map(&mut self, path: &str, map: &JourneyMap) {
        let limits = self.limits;
        let mut over = false;
        for (limit, max, n, field) in [
            ("map_phases", limits.map_phases, map.phases.len(), "phases"),
            ("map_touchpoints", limits.map_touchpoints, map.touchpoints.len(), "touchpoints"),
            ("map_waypoints", limits.map_waypoints, map.waypoints.len(), "waypoints"),
        ] {
            if n > max {
                self.push(ProblemKind::LimitExceeded, format!("{path}.{field}"), format!("the map has {}", describe(limit, max, n)));
                over = true;
            }
        }
        if over {
            return;
        }
        if map.phases.is_empty() {
            self.push(ProblemKind::EmptyPhase, format!("{path}.phases"), "a map needs at least one phase".into());
        }
        self.unique(&format!("{path}.phases"), map.phases.iter().map(|p| p.id.as_str()), "phase");
        for (i, phase) in map.phases.iter().enumerate() {
            let p = format!("{path}.phases[{i}]");
            self.non_empty(&p, "id", &phase.id);
            self.non_empty(&p, "name", &phase.name);
            if map.touchpoints_in(&phase.id).next().is_none() {
                self.push(ProblemKind::EmptyPhase, p, format!("phase {:?} has no touchpoints", phase.id));
            }
        }
        self.unique(&format!("{path}.touchpoints"), map.touchpoints.iter().map(|t| t.id.as_str()), "touchpoint");
        let mut claimed: HashMap<&str, usize> = HashMap::new();
        for (i, tp) in map.touchpoints.iter().enumerate() {
            let p = format!("{path}.touchpoints[{i}]");
            self.non_empty(&p, "id", &tp.id);
            self.non_empty(&p, "name", &tp.name);
            if map.phase(&tp.phase).is_none() {
                self.push(ProblemKind::UnknownPhase, format!("{p}.phase"), format!("phase {:?} is not a phase of map {:?}", tp.phase, map.id));
            }
            for (j, event) in tp.events.iter().enumerate() {
                if event.is_empty() {
                    self.push(ProblemKind::EmptyField, format!("{p}.events[{j}]"), "an event name must not be empty".into());
                } else if let Some(&first) = claimed.get(event.as_str()) {
                    if first != i {
                        self.push(
                            ProblemKind::EventClaimedTwice,
                            format!("{p}.events[{j}]"),
                            format!("event {event:?} is already claimed by touchpoint {:?} ({path}.touchpoints[{first}])", map.touchpoints[first].id),
                        );
                    }
                } else {
                    claimed.insert(event, i);
                }
            }
            if let Some(rating) = &tp.emotion
                && let Err(e) = rating.normalize()
            {
                self.push(ProblemKind::EmotionOutOfRange, format!("{p}.emotion"), e.to_string());
            }
        }
        self.unique(&format!("{path}.waypoints"), map.waypoints.iter().map(|w| w.id.as_str()), "waypoint");
        for (i, wp) in map.waypoints.iter().enumerate() {
            self.waypoint(&format!("{path}.waypoints[{i}]"), wp, map);
        }
        self.unique(&format!("{path}.routing"), map.routing.iter().map(|r| r.id.as_str()), "routing rule");
        for (i, rule) in map.routing.iter().enumerate() {
            let p = format!("{path}.routing[{i}]");
            self.non_empty(&p, "id", &rule.id);
            self.non_empty(&p, "queue", &rule.queue);
            if let Some(when) = &rule.when {
                self.condition(&format!("{p}.when"), when, Some(map));
            }
        }
    }

    fn waypoint(&mut self, path: &str, wp: &Waypoint, map: &JourneyMap) {
        self.non_empty(path, "id", &wp.id);
        self.condition(&format!("{path}.condition"), &wp.condition, Some(map));
        for (field, cond) in [("trigger", &wp.trigger), ("exit", &wp.exit)] {
            if let Some(cond) = cond {
                self.condition(&format!("{path}.{field}"), cond, Some(map));
            }
        }
        let invalid = |msg: &str| (ProblemKind::InvalidWaypoint, msg.to_string());
        let mut issues = Vec::new();
        match (&wp.trigger, &wp.within) {
            (Some(_), None) => issues.push(("trigger", invalid("a `trigger` needs `within`: the time the condition has to match"))),
            (None, Some(_)) => issues.push(("within", invalid("`within` needs a `trigger` that arms the deadline"))),
            _ => {}
        }
        if wp.within.is_none() && !wp.on_missed.is_empty() {
            issues.push(("on_missed", invalid("`on_missed` actions need `within`: without a deadline a waypoint cannot be missed")));
        }
        if wp.exit.is_some() && wp.within.is_none() {
            issues.push(("exit", invalid("`exit` disarms a deadline and needs `within`")));
        }
        if wp.on_reached.is_empty() && wp.on_missed.is_empty() {
            issues.push(("on_reached", invalid("the waypoint has no actions: give `on_reached` or `on_missed`")));
        }
        for (field, (kind, message)) in issues {
            self.push(kind, format!("{path}.{field}"), message);
        }
    }

    fn condition(&mut self, path: &str, cond: &Condition, map: Option<&JourneyMap>) {
        let (depth, nodes) = condition_size(cond);
        let limits = self.limits;
        let mut over = false;
        for (limit, max, n) in [("condition_depth", limits.condition_depth, depth), ("condition_nodes", limits.condition_nodes, nodes)] {
            if n > max {
                self.push(ProblemKind::LimitExceeded, path.to_string(), format!("the condition is {}", describe(limit, max, n)));
                over = true;
            }
        }
        if !over {
            self.problems.extend(condition_problems(path, cond, map));
        }
    }
}

/// The depth of a condition (`{"event": "x"}` is 1 deep, `{"not": {"event": "x"}}` 2) and
/// its number of nodes, counted without recursion.
pub(crate) fn condition_size(cond: &Condition) -> (usize, usize) {
    let (mut deepest, mut nodes) = (0, 0);
    let mut stack = vec![(cond, 1)];
    while let Some((c, depth)) = stack.pop() {
        deepest = deepest.max(depth);
        nodes += 1;
        match c {
            Condition::All(items) | Condition::Any(items) => stack.extend(items.iter().map(|i| (i, depth + 1))),
            Condition::Not(inner) => stack.push((inner, depth + 1)),
            _ => {}
        }
    }
    (deepest, nodes)
}

/// Every problem of one condition at `path`, in walk order: empty `all` / `any`, bad
/// property tests and, with a map, unknown touchpoint and phase ids. Shared by validation
/// and [`crate::condition::Compiled::compile`].
pub(crate) fn condition_problems(path: &str, cond: &Condition, map: Option<&JourneyMap>) -> Vec<Problem> {
    let mut found = Vec::new();
    cond.walk("", &mut |sub, node| {
        let at = format!("{path}{sub}");
        match node {
            Condition::Touchpoint(id) if map.is_some_and(|m| m.touchpoint(id).is_none()) => found.push((
                ProblemKind::UnknownReference,
                format!("{at}.touchpoint"),
                format!("touchpoint {id:?} is not in the map"),
            )),
            Condition::Phase(id) if map.is_some_and(|m| m.phase(id).is_none()) => {
                found.push((ProblemKind::UnknownReference, format!("{at}.phase"), format!("phase {id:?} is not in the map")))
            }
            Condition::All(items) | Condition::Any(items) if items.is_empty() => {
                found.push((ProblemKind::InvalidWaypoint, at, "`all` and `any` need at least one condition".into()))
            }
            Condition::Property(test) => {
                let at = format!("{at}.property");
                if test.name.is_empty() {
                    found.push((ProblemKind::EmptyField, format!("{at}.name"), "`name` must not be empty".into()));
                }
                let message = match (test.op, &test.value) {
                    (Op::Exists, Some(_)) => Some("`exists` takes no `value`".to_string()),
                    (Op::Exists, None) => None,
                    (op, None) => Some(format!("`{}` needs a `value`", op.as_str())),
                    (Op::In, Some(v)) if !v.is_array() => Some("`in` needs an array `value`".to_string()),
                    (Op::Lt | Op::Le | Op::Gt | Op::Ge, Some(v)) if !(v.is_number() || v.is_string()) => {
                        Some(format!("`{}` compares numbers or strings, not {v}", test.op.as_str()))
                    }
                    _ => None,
                };
                if let Some(message) = message {
                    found.push((ProblemKind::InvalidWaypoint, format!("{at}.value"), message));
                }
            }
            _ => {}
        }
    });
    found.into_iter().map(|(kind, path, message)| Problem { kind, path, message }).collect()
}
