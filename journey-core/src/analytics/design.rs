//! The benchmark kit's neutral design format (`design.json`, `"format": "journey-bench-design"`)
//! converted to a journey-core [`MapDocument`].
//!
//! One persona, one map (id `main`), the phases in order, and every touchpoint with its
//! phase, raw event names, owning department, planned channels (empty = any), planned
//! emotion (a raw score in `[-1, 1]`) and key-moment flag.

use serde::Deserialize;

use serde_json::json;

use crate::emotion::{Rating, Scale};
use crate::error::{Error, Result};
use crate::map::MapDocument;

#[derive(Deserialize)]
struct Design {
    format: String,
    #[serde(default)]
    name: String,
    persona: DesignPersona,
    phases: Vec<DesignPhase>,
    touchpoints: Vec<DesignTouchpoint>,
}

#[derive(Deserialize)]
struct DesignPersona {
    id: String,
    #[serde(default)]
    description: String,
}

#[derive(Deserialize)]
struct DesignPhase {
    id: String,
    name: String,
}

#[derive(Deserialize)]
struct DesignTouchpoint {
    id: String,
    name: String,
    phase: String,
    #[serde(default)]
    events: Vec<String>,
    #[serde(default)]
    department: Option<String>,
    #[serde(default)]
    channels: Vec<String>,
    #[serde(default)]
    emotion: Option<f64>,
    #[serde(default)]
    key_moment: bool,
}

/// Converts the text of a benchmark `design.json` to a map document with one map, `main`.
///
/// The document is assembled as JSON and read with [`MapDocument::from_json`], so it gets
/// the same shape checks (and defaults) as any saved map.
pub fn from_bench_design(text: &str) -> Result<MapDocument> {
    let d: Design = serde_json::from_str(text).map_err(|e| Error::parse("", e.to_string()))?;
    if d.format != "journey-bench-design" {
        return Err(Error::parse("format", format!("expected \"journey-bench-design\", found {:?}", d.format)));
    }
    let mut touchpoints = Vec::with_capacity(d.touchpoints.len());
    for (i, t) in d.touchpoints.into_iter().enumerate() {
        let mut tp = json!({"id": t.id, "name": t.name, "phase": t.phase, "events": t.events,
                            "channels": t.channels, "key_moment": t.key_moment});
        if let Some(dep) = t.department {
            tp["department"] = json!(dep);
        }
        if let Some(x) = t.emotion {
            Rating::from_scale(Scale::Score, x).map_err(|e| Error::parse(format!("touchpoints[{i}].emotion"), e.to_string()))?;
            tp["emotion"] = json!(x);
        }
        touchpoints.push(tp);
    }
    let name = if d.name.is_empty() { "bench design".to_string() } else { d.name };
    let doc = json!({
        "name": name,
        "personas": [{"id": d.persona.id, "name": d.persona.id, "description": d.persona.description}],
        "maps": [{"id": "main", "name": name, "persona": d.persona.id,
                  "phases": d.phases.iter().map(|p| json!({"id": p.id, "name": p.name})).collect::<Vec<_>>(),
                  "touchpoints": touchpoints}],
    });
    MapDocument::from_json(&doc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts() {
        let doc = from_bench_design(
            r#"{"format": "journey-bench-design", "version": 1, "name": "Shop", "persona": {"id": "buyer", "description": "d"},
                "phases": [{"id": "awareness", "name": "Awareness"}],
                "touchpoints": [{"id": "ad", "name": "Ad", "phase": "awareness", "events": ["ad_click"], "department": "marketing",
                                 "channels": ["web", "social"], "emotion": 0.25, "key_moment": true}]}"#,
        )
        .unwrap();
        let m = &doc.maps[0];
        assert_eq!(m.touchpoint_of_event("ad_click").unwrap().id, "ad");
        assert_eq!(m.touchpoints[0].emotion.unwrap().normalize().unwrap().value(), 0.25);
        assert!(m.touchpoints[0].key_moment);
        assert!(from_bench_design(r#"{"format": "x", "persona": {"id": "a"}, "phases": [], "touchpoints": []}"#).is_err());
    }
}
