//! Standalone SVG of a journey map (placeholder until the renderer lands).
use crate::map::JourneyMap;

/// The map as a standalone SVG document.
pub fn svg(map: &JourneyMap) -> String {
    format!("<svg xmlns=\"http://www.w3.org/2000/svg\"><title>{}</title></svg>\n", map.name.replace('&', "&amp;").replace('<', "&lt;"))
}
