//! The cross-language scenarios in `tests/scenarios/`: the Rust side.
//!
//! Each directory holds a `map.json` and the expected outputs that the Rust, Python and
//! Node suites all compare against. Run with `UPDATE_SCENARIOS=1` to (re)write the
//! expected files from the Rust implementation after a deliberate change; then review the
//! diff, and the Python and Node suites check the other bindings agree.

use std::path::{Path, PathBuf};

use journey_core::{MapDocument, Rating, render};
use serde_json::{Value, json};

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/scenarios")
}

fn updating() -> bool {
    std::env::var_os("UPDATE_SCENARIOS").is_some()
}

/// Compares `actual` with the file, or writes it when updating.
fn golden(path: &Path, actual: &str) {
    if updating() {
        std::fs::write(path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(expected == actual, "{} differs from the output (run with UPDATE_SCENARIOS=1 to accept a deliberate change)", path.display());
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap() + "\n"
}

#[test]
fn every_map_scenario() {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(scenarios_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("map.json").exists())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 5, "expected the scenario directories, found {}", dirs.len());
    for dir in dirs {
        let result = MapDocument::load(dir.join("map.json"));
        let error_file = dir.join("error.json");
        if error_file.exists() || (updating() && result.is_err()) {
            let err = result.expect_err(&format!("{}: loading should fail", dir.display()));
            let journey_core::Error::Parse { path, .. } = &err else { panic!("{}: expected a parse error, got {err}", dir.display()) };
            golden(&error_file, &pretty(&json!({"kind": err.kind(), "path": path})));
            continue;
        }
        let doc = result.unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        golden(&dir.join("problems.json"), &pretty(&serde_json::to_value(doc.problems()).unwrap()));
        let saved = doc.to_json();
        golden(&dir.join("saved.json"), &saved);
        assert_eq!(MapDocument::from_json(&saved).unwrap(), doc, "{}: round trip", dir.display());
        for map in &doc.maps {
            if doc.maps.iter().filter(|m| m.id == map.id).count() > 1 {
                continue; // duplicate ids cannot be selected unambiguously
            }
            golden(&dir.join(format!("{}.mmd", map.id)), &render::mermaid(map));
            golden(&dir.join(format!("{}.svg", map.id)), &render::svg(map));
        }
    }
}

#[test]
fn emotion_cases() {
    let cases: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(scenarios_dir().join("emotion.json")).unwrap()).unwrap();
    assert!(cases.len() > 10);
    for case in cases {
        let scale = case["scale"].as_str().unwrap();
        let result = Rating::from_json(scale, &case["value"]).and_then(|r| Ok(r.normalize()?));
        match (&case["expected"], &case["error"]) {
            (Value::Number(n), _) => assert_eq!(result.unwrap().value(), n.as_f64().unwrap(), "{case}"),
            (_, Value::String(kind)) => assert_eq!(result.unwrap_err().kind(), kind, "{case}"),
            _ => panic!("bad case {case}"),
        }
    }
}
