//! Identity: how well a profile is known.
//!
//! (The identity graph and stitching arrive with the tracker; the map already needs the
//! levels, because waypoint conditions and persona rules can test them.)

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How well a profile is known, from least to most. Ordered: `Anonymous < Identified < Authenticated`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IdentityLevel {
    /// Only transient keys: a browser session, a device, an IVR session.
    Anonymous,
    /// A contact key such as an e-mail address or a phone number.
    Identified,
    /// A logged-in or verified customer id.
    Authenticated,
}

impl IdentityLevel {
    /// The level's name as written in maps and results.
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityLevel::Anonymous => "anonymous",
            IdentityLevel::Identified => "identified",
            IdentityLevel::Authenticated => "authenticated",
        }
    }
}
