//! Personas of journeys, and phase reach and emotion per persona.
//!
//! A journey's persona comes, in this order of precedence (decisions; ANALYTICS.md only
//! says "per persona"):
//! 1. an **explicit assignment** of one of its profile's keys
//!    ([`Analysis::assign_personas`](super::session::Analysis::assign_personas), or the
//!    personas a store holds, read by
//!    [`Analysis::from_store`](super::session::Analysis::from_store)); when several keys of
//!    one profile are assigned, the smallest key (byte-wise) wins;
//! 2. else the first persona of the document, in document order, whose `assign_when` rule
//!    matches the profile's **attributes**
//!    ([`Analysis::set_attributes`](super::session::Analysis::set_attributes)), as the
//!    tracker assigns it. The attributes of a profile are the union of its keys'; when two
//!    keys give one attribute, the smallest key wins. The rule sees the attributes as
//!    properties and the profile's identity level (the highest level of its keys); like
//!    the tracker, rules are tried only for profiles that have attributes;
//! 3. else none: such journeys form the group with persona `null`.
//!
//! Groups are listed in document order of the personas, then any other assigned id
//! (sorted), then `null`; every group is listed, even an empty one.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::condition::{Compiled, Subject};
use crate::error::Result;
use crate::identity::{IdentityLevel, IdentityRules};
use crate::map::JourneyMap;
use crate::vocabulary::Channel;

use super::emotion::{EmotionCounts, EmotionOptions, EmotionReport};
use super::intern::NONE;
use super::journeys::Journeys;
use super::partial::merge::bad;
use super::reach::{Reach, ReachCounts};

/// A partial state per persona group: `(persona, state)`, in the order of
/// [`PersonaOptions::personas`], then the `null` group.
pub type PersonaGroups<T> = Vec<(Option<String>, T)>;

impl PersonaOptions {
    /// Merges how personas were assigned in another part of the data: the setup (persona
    /// groups, explicit and attribute keys, rules) must be the same, the journey counts add.
    pub fn merge(&mut self, o: &PersonaOptions) -> Result<()> {
        let setup = |p: &PersonaOptions| (p.personas.clone(), p.explicit_keys, p.attribute_keys, p.rules.clone(), p.precedence.clone());
        if setup(self) != setup(o) {
            return Err(bad(
                "personas",
                "cannot merge parts whose personas were set up differently (give every part the same persona assignments and attributes)",
            ));
        }
        self.journeys_explicit += o.journeys_explicit;
        self.journeys_by_rule += o.journeys_by_rule;
        self.journeys_without_persona += o.journeys_without_persona;
        Ok(())
    }

    /// Checks that per-persona states have one group per persona, then the `null` group.
    fn check_groups<T>(&self, groups: &PersonaGroups<T>, path: &str) -> Result<()> {
        let want = self.personas.iter().cloned().map(Some).chain([None]);
        if groups.len() != self.personas.len() + 1 || !groups.iter().map(|(l, _)| l.clone()).eq(want) {
            return Err(bad(path, "the groups are not the personas, in order, then the null group"));
        }
        Ok(())
    }
}

/// Phase reach per persona from each group's counts.
pub(crate) fn finish_reach(options: &PersonaOptions, groups: &PersonaGroups<ReachCounts>, map: &JourneyMap) -> Result<ReachByPersona> {
    options.check_groups(groups, "reach_by_persona")?;
    let personas = groups.iter().map(|(p, c)| Ok(PersonaReach { persona: p.clone(), reach: c.finish(map)? })).collect::<Result<_>>()?;
    Ok(ReachByPersona { options: options.clone(), personas })
}

/// Emotion per persona from each group's sums.
pub(crate) fn finish_emotion(
    options: &PersonaOptions,
    groups: &PersonaGroups<EmotionCounts>,
    map: &JourneyMap,
    emotion: &EmotionOptions,
) -> Result<EmotionByPersona> {
    options.check_groups(groups, "emotion_by_persona")?;
    let personas = groups.iter().map(|(p, c)| Ok(PersonaEmotion { persona: p.clone(), emotion: c.finish(map, emotion)? })).collect::<Result<_>>()?;
    Ok(EmotionByPersona { options: options.clone(), personas })
}

/// How journeys got their personas, as published with every per-persona result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersonaOptions {
    /// The persona groups, in order (the `null` group is last and not listed).
    pub personas: Vec<String>,
    /// Keys with an explicit persona.
    pub explicit_keys: usize,
    /// Keys with attributes.
    pub attribute_keys: usize,
    /// The personas with an `assign_when` rule, in the order they are tried.
    pub rules: Vec<String>,
    /// The precedence used (descriptive).
    pub precedence: String,
    /// Journeys whose persona came from an explicit assignment.
    pub journeys_explicit: u64,
    /// Journeys whose persona came from a rule.
    pub journeys_by_rule: u64,
    /// Journeys without a persona.
    pub journeys_without_persona: u64,
}

/// The persona of every journey.
#[derive(Debug, Clone)]
pub struct PersonaIndex {
    /// Group labels (persona ids); group `labels.len()` is "no persona".
    pub labels: Vec<String>,
    /// The group of each journey (`labels.len()` = no persona).
    pub of_journey: Vec<u32>,
    /// How it was assigned.
    pub options: PersonaOptions,
}

impl PersonaIndex {
    /// The number of groups (personas plus the `null` group).
    pub fn groups(&self) -> usize {
        self.labels.len() + 1
    }

    /// The label of a group (`None` for the `null` group).
    pub fn label(&self, g: usize) -> Option<String> {
        self.labels.get(g).cloned()
    }
}

/// The journey of each key's profile, if its profile has events.
pub(crate) fn journey_of_key(j: &Journeys<'_>, canonical: &[u32], key: u32) -> Option<usize> {
    let root = canonical[key as usize];
    j.profiles().binary_search(&root).ok()
}

/// Assigns personas to journeys (see the module docs).
#[allow(clippy::too_many_arguments)]
pub(crate) fn assign(
    j: &Journeys<'_>,
    canonical: &[u32],
    document_personas: &[String],
    rules: &[(String, Compiled)],
    explicit: &BTreeMap<String, String>,
    attributes: &BTreeMap<String, Map<String, Value>>,
    identity: &IdentityRules,
) -> PersonaIndex {
    let keys = j.table().keys();
    let mut labels: Vec<String> = document_personas.to_vec();
    let extra: BTreeSet<&String> = explicit.values().filter(|p| !labels.contains(p)).collect();
    labels.extend(extra.into_iter().cloned());
    let none = labels.len() as u32;
    let mut of_journey = vec![NONE; j.len()];
    let mut journeys_explicit = 0;
    // explicit: keys ascending byte-wise, so the first assignment met per journey wins
    for (key, persona) in explicit {
        let Some(jx) = keys.lookup(key).and_then(|k| journey_of_key(j, canonical, k)) else { continue };
        if of_journey[jx] == NONE {
            of_journey[jx] = labels.iter().position(|l| l == persona).expect("every assigned persona is a label") as u32;
            journeys_explicit += 1;
        }
    }
    // attributes: merged per journey, the smallest key winning per attribute name
    let mut merged: BTreeMap<usize, Map<String, Value>> = BTreeMap::new();
    if !rules.is_empty() {
        for (key, attrs) in attributes {
            let Some(jx) = keys.lookup(key).and_then(|k| journey_of_key(j, canonical, k)) else { continue };
            if of_journey[jx] != NONE {
                continue;
            }
            let m = merged.entry(jx).or_default();
            for (name, v) in attrs {
                m.entry(name.clone()).or_insert_with(|| v.clone());
            }
        }
    }
    let mut journeys_by_rule = 0;
    if !merged.is_empty() {
        // the identity level of each of those journeys: the highest level of its keys
        let mut level: BTreeMap<usize, IdentityLevel> = merged.keys().map(|&jx| (jx, IdentityLevel::Anonymous)).collect();
        for k in 0..keys.len() as u32 {
            if let Some(jx) = journey_of_key(j, canonical, k)
                && let Some(l) = level.get_mut(&jx)
            {
                let key = keys.get(k);
                let kind = key.split_once(':').map_or("", |(kind, _)| kind);
                *l = (*l).max(identity.levels.get(kind).copied().unwrap_or(identity.default_level));
            }
        }
        let channel = Channel::Custom(String::new());
        for (jx, attrs) in &merged {
            let subject =
                Subject { name: "", touchpoint: None, phase: None, channel: &channel, department: None, level: level[jx], properties: attrs };
            if let Some((persona, _)) = rules.iter().find(|(_, rule)| rule.matches(&subject)) {
                of_journey[*jx] = labels.iter().position(|l| l == persona).expect("rule personas are labels") as u32;
                journeys_by_rule += 1;
            }
        }
    }
    let mut without = 0;
    for g in &mut of_journey {
        if *g == NONE {
            *g = none;
            without += 1;
        }
    }
    PersonaIndex {
        options: PersonaOptions {
            personas: labels.clone(),
            explicit_keys: explicit.len(),
            attribute_keys: attributes.len(),
            rules: rules.iter().map(|(p, _)| p.clone()).collect(),
            precedence: "explicit assignment of a key of the profile (the smallest key wins), else the first persona in document order whose assign_when matches the profile's attributes, else none".into(),
            journeys_explicit,
            journeys_by_rule,
            journeys_without_persona: without,
        },
        labels,
        of_journey,
    }
}

/// Phase reach of one persona's journeys.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PersonaReach {
    /// The persona (`null`: journeys without one).
    pub persona: Option<String>,
    /// Reach over that persona's journeys (shares over them).
    pub reach: Reach,
}

/// Phase reach per persona.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReachByPersona {
    /// How personas were assigned.
    pub options: PersonaOptions,
    /// One entry per persona group (see the module docs for the order).
    pub personas: Vec<PersonaReach>,
}

/// Emotion of one persona's journeys.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PersonaEmotion {
    /// The persona (`null`: journeys without one).
    pub persona: Option<String>,
    /// The emotion measure over that persona's journeys.
    pub emotion: EmotionReport,
}

/// Emotion per persona.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmotionByPersona {
    /// How personas were assigned.
    pub options: PersonaOptions,
    /// One entry per persona group (see the module docs for the order).
    pub personas: Vec<PersonaEmotion>,
}
