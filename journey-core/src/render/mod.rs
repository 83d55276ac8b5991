//! Drawing a journey map: Mermaid `journey` text and a standalone SVG.

mod mermaid;
mod svg;

pub use mermaid::mermaid;
pub use svg::svg;
