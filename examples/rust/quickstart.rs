//! journey-core quickstart: load the example maps, validate them, print a summary and
//! draw each map as SVG and Mermaid.
//!
//! Run from the repository root: `cargo run --example quickstart` (files land in `out/`,
//! or in the folder given as the first argument).

use std::path::{Path, PathBuf};

use journey_core::{MapDocument, render};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").canonicalize()?;
    let out = std::env::args().nth(1).map(PathBuf::from).unwrap_or_else(|| root.join("out"));
    std::fs::create_dir_all(&out)?;

    let mut files: Vec<PathBuf> =
        std::fs::read_dir(root.join("examples/maps"))?.map(|e| e.map(|e| e.path())).collect::<Result<_, _>>()?;
    files.retain(|p| p.extension().is_some_and(|e| e == "json"));
    files.sort();

    for file in files {
        let doc = MapDocument::load(&file)?;
        doc.validate()?;
        println!("{} ({}): valid, {} persona(s)", doc.name, file.file_name().unwrap_or_default().to_string_lossy(), doc.personas.len());
        for map in &doc.maps {
            let key_moments: Vec<&str> = map.touchpoints.iter().filter(|t| t.key_moment).map(|t| t.name.as_str()).collect();
            println!(
                "  map {:?} for {}: {} phases, {} touchpoints, {} waypoints",
                map.id,
                doc.persona(&map.persona).map_or("?", |p| p.name.as_str()),
                map.phases.len(),
                map.touchpoints.len(),
                map.waypoints.len()
            );
            println!("    phases: {}", map.phases.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(" > "));
            println!("    key moments: {}", key_moments.join(", "));
            let svg = out.join(format!("{}.svg", map.id));
            let mmd = out.join(format!("{}.mmd", map.id));
            std::fs::write(&svg, render::svg(map))?;
            std::fs::write(&mmd, render::mermaid(map))?;
            println!("    drawn: {} and {}", svg.display(), mmd.display());
        }
    }
    Ok(())
}
