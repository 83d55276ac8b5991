//! journey-core quickstart: load the example maps, validate them, print a summary and
//! draw each map as SVG and Mermaid; track an anonymous visitor on a SQLite file (the
//! anonymous-cart waypoint fires, the phone number left in the callback form stitches the
//! journey, the file is reopened and the journey is still there); then check the shop map
//! against a month of example events (reach, funnel, gray areas and the hypothesis report).
//!
//! Run from the repository root: `cargo run --example quickstart` (files land in `out/`,
//! or in the folder given as the first argument).

use std::path::{Path, PathBuf};

use std::sync::Arc;

use journey_core::store::SqliteStore;
use journey_core::{Event, IdentityKey, MapDocument, Tracker, TrackerConfig, render};

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
    // Tracking, durably: a SQLite file is the default store.
    let shop = MapDocument::load(root.join("examples/maps/shop.json"))?;
    let db = out.join("quickstart.sqlite");
    for stale in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{stale}", db.display()));
    }
    let t0 = 1_736_154_000_000_000; // 2025-01-06T09:00:00Z, in microseconds
    let minute = 60_000_000;
    let session = IdentityKey::parse("session:7f3a")?;
    let phone = IdentityKey::parse("phone:+34600000001")?;
    println!("\nTracking on {}:", db.display());
    {
        let tracker = Tracker::with_store(&shop, TrackerConfig::default(), Arc::new(SqliteStore::open(&db)?))?;
        let tracked = tracker.track_batch(vec![
            Event::new(t0, session.clone(), "product_view", "web").with_property("product", "laptop-14"),
            Event::new(t0 + minute, session.clone(), "add_to_cart", "web").with_property("cart_value", 899),
            Event::new(t0 + 2 * minute, session.clone(), "remove_from_cart", "web"),
            Event::new(t0 + 3 * minute, session.clone(), "callback_requested", "web").with_key(phone.clone()),
        ])?;
        for action in tracked.iter().flat_map(|t| &t.actions) {
            println!("  waypoint {} {:?}: {} {}", action.waypoint, action.outcome, action.kind, serde_json::Value::Object((*action.payload).clone()));
        }
    }
    let tracker = Tracker::with_store(&shop, TrackerConfig::default(), Arc::new(SqliteStore::open(&db)?))?;
    let context = tracker.context(&phone)?.ok_or("the reopened file lost the profile")?;
    println!(
        "  reopened: {} is {:?}, keys {}, phase {}, {} events, {} action(s) waiting in the outbox",
        phone,
        context.level,
        context.keys.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", "),
        context.current_phase.as_deref().unwrap_or("-"),
        context.events,
        tracker.pending_actions(100)?.len()
    );
    println!("  route the callback to: {:?}", tracker.route(&phone)?.map(|r| r.queue));

    // The map is a hypothesis: check it against real journeys (examples/data, the bench's
    // small generated log).
    println!();
    println!("{}", journey_core::analytics::sample::report(&shop, root.join("examples/data"))?);
    Ok(())
}
