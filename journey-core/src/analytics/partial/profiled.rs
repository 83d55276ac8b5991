//! Events whose profile was computed elsewhere (pre-stitched input).
//!
//! On a cluster, stitching is done by the cluster (connected components of the key graph),
//! and each partition's events arrive with their profile, sorted by profile, then `(ts, seq)`.
//! journey-core then does no stitching: the profile is the event's only key, there are no
//! links, and every event lands on its profile's journey. When the given profiles are the ones
//! journey-core's stitching would build (the canonical key of each profile: its smallest key,
//! byte-wise), every measure equals the stitched analysis', provided `seq` is the event's
//! arrival position in the *whole* input.
//!
//! Differences to keep in mind: persona assignments and attributes are looked up by key, so
//! give them keyed by profile; a persona rule's identity level is that of the profile key; the
//! stitch summary counts profiles (one key each). For Arrow input, pass the profile as the
//! `key` column of [`Analysis::from_record_batches`](super::Analysis) with no link batches:
//! that is the same thing.

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::event::Event;
use crate::identity::IdentityKey;
use crate::map::MapDocument;

use super::super::session::{Analysis, AnalysisBuilder, AnalysisOptions};

/// An event and the profile it belongs to (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfiledEvent {
    /// The profile (its canonical key).
    pub profile: IdentityKey,
    /// The event's arrival position in the whole input (ties in time break by it).
    pub seq: u64,
    /// The event; its own keys are not used.
    pub event: Event,
}

impl AnalysisBuilder {
    /// Appends an event of a given profile, with no stitching: its keys are replaced by the
    /// profile (see [`ProfiledEvent`]). Do not mix with identity links.
    pub fn push_profiled(&mut self, e: &ProfiledEvent) -> Result<()> {
        let mut event = e.event.clone();
        event.keys = vec![e.profile.clone()];
        self.push_with_seq(&event, e.seq)
    }
}

impl Analysis {
    /// An analysis of events whose profiles are given (see [`ProfiledEvent`]); a bad event's
    /// error names its index.
    pub fn from_profiled<'e>(doc: &MapDocument, events: impl IntoIterator<Item = &'e ProfiledEvent>, options: AnalysisOptions) -> Result<Self> {
        let mut b = Analysis::builder(doc, options)?;
        for (i, e) in events.into_iter().enumerate() {
            b.push_profiled(e).map_err(|err| err.at_index(i))?;
        }
        Ok(b.finish())
    }
}
