//! The bundled example events (`examples/data/` in the repository): a month-like log of an
//! online electronics shop, to try the analytics on, as the quickstart does.
//!
//! The folder holds `events.csv` and `links.csv`: the benchmark kit's small data set
//! (20,000 events of about 2,900 journeys, identity links, CSAT ratings on about 5% of the
//! events; see `../shared/bench/README.md` for what it contains), in the CSV layout of
//! [`super::csv`]. Its event names are those of `examples/maps/shop.json`, whose design it
//! partly contradicts on purpose (shipping options and tracking are felt negative, support
//! is reached over WhatsApp, shipping options decide conversion without being flagged).
//!
//! ```no_run
//! use journey_core::MapDocument;
//! use journey_core::analytics::sample;
//! let doc = MapDocument::load("examples/maps/shop.json")?;
//! println!("{}", sample::report(&doc, "examples/data")?);
//! # Ok::<(), journey_core::Error>(())
//! ```

use std::path::Path;

use crate::error::Result;
use crate::event::Event;
use crate::map::MapDocument;

use super::funnel::FunnelOptions;
use super::hypothesis::HypothesisOptions;
use super::key_moments::Outcome;
use super::report::ReportOptions;
use super::session::{Analysis, AnalysisOptions, IdentityLink};

/// The example events and links.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The events, in arrival order.
    pub events: Vec<Event>,
    /// The identity links.
    pub links: Vec<IdentityLink>,
}

impl Sample {
    /// Reads `events.csv` and `links.csv` (if present) from a folder.
    pub fn load(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let events = super::csv::read_events(dir.join("events.csv"))?;
        let links_path = dir.join("links.csv");
        let links = if links_path.exists() { super::csv::read_links(links_path)? } else { Vec::new() };
        Ok(Sample { events, links })
    }

    /// An analysis of the sample against a document's first map, with the tracker's default
    /// identity rules.
    pub fn analysis(&self, doc: &MapDocument) -> Result<Analysis> {
        Analysis::from_events_and_links(doc, &self.events, &self.links, AnalysisOptions::default())
    }
}

/// The report options suited to the sample: the purchase funnel (product page, cart,
/// checkout, payment, order confirmed; one week), key moments measured against reaching the
/// order confirmation.
pub fn report_options() -> ReportOptions {
    ReportOptions {
        funnel: Some(FunnelOptions::events(&["product_view", "add_to_cart", "checkout_start", "payment", "order_confirmed"])),
        hypotheses: HypothesisOptions { key_moment_outcome: Some(Outcome::Touchpoint("order_confirmation".into())), ..HypothesisOptions::default() },
        ..ReportOptions::default()
    }
}

/// Loads the sample from `dir`, analyses it against `doc` (the shop map) and returns the
/// short text report ([`report_options`]).
pub fn report(doc: &MapDocument, dir: impl AsRef<Path>) -> Result<String> {
    let analysis = Sample::load(dir)?.analysis(doc)?;
    Ok(analysis.report(&report_options())?.to_text())
}
