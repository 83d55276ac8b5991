//! Phase presets from the articles.
//!
//! - [`Preset::Funnel`]: awareness, interest, consideration, action (purchase), usage,
//!   advocacy (seed 004).
//! - [`Preset::Relationship`]: connect/attract, orient, interact, expand/retain, refer (seed 002).

use crate::map::Phase;

/// A ready-made set of ordered phases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Preset {
    /// awareness, interest, consideration, action, usage, advocacy.
    Funnel,
    /// connect, orient, interact, expand, refer.
    Relationship,
}

impl Preset {
    /// Every preset.
    pub const ALL: [Preset; 2] = [Preset::Funnel, Preset::Relationship];

    /// The preset's name (`funnel`, `relationship`).
    pub fn name(self) -> &'static str {
        match self {
            Preset::Funnel => "funnel",
            Preset::Relationship => "relationship",
        }
    }

    /// Looks a preset up by name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The preset's phases, in order.
    pub fn phases(self) -> Vec<Phase> {
        let rows: &[(&str, &str, &str)] = match self {
            Preset::Funnel => &[
                ("awareness", "Awareness", "The customer learns the brand or product exists."),
                ("interest", "Interest", "The customer looks for more information."),
                ("consideration", "Consideration", "The customer compares options and prices."),
                ("action", "Action", "The customer buys or signs up."),
                ("usage", "Usage", "The customer uses the product and asks for help."),
                ("advocacy", "Advocacy", "The customer comes back and recommends the brand."),
            ],
            Preset::Relationship => &[
                ("connect", "Connect / attract", "First contact: the brand attracts the customer's attention."),
                ("orient", "Orient", "The customer finds their way and understands the offer."),
                ("interact", "Interact", "The customer buys, uses and deals with the brand."),
                ("expand", "Expand / retain", "The relationship grows: repeat purchases, upgrades, loyalty."),
                ("refer", "Refer", "The customer recommends the brand to others."),
            ],
        };
        rows.iter()
            .map(|(id, name, description)| Phase { id: id.to_string(), name: name.to_string(), description: description.to_string() })
            .collect()
    }
}
