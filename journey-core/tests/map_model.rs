//! The map model end to end: parsing, validation by kind and path, round trips, the
//! committed JSON Schema, the builder and the presets.

use std::collections::BTreeSet;
use std::path::Path;

use journey_core::{EmotionLabel, Error, MapBuilder, MapDocument, Preset, ProblemKind, Rating, schema};

fn repo(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

#[test]
fn example_maps_are_valid_and_round_trip() {
    for name in ["shop", "bank"] {
        let doc = MapDocument::load(repo(&format!("examples/maps/{name}.json"))).unwrap();
        doc.validate().unwrap_or_else(|e| panic!("{name}: {e}"));
        let again = MapDocument::from_json(&doc.to_json()).unwrap();
        assert_eq!(again, doc);
        assert_eq!(again.to_json(), doc.to_json());
    }
}

#[test]
fn every_problem_kind_is_reported_with_its_path() {
    let doc = MapDocument::load(repo("tests/scenarios/invalid/map.json")).unwrap();
    let err = doc.validate().unwrap_err();
    let kinds: BTreeSet<&str> = err.problems.iter().map(|p| p.kind.as_str()).collect();
    for kind in [
        ProblemKind::DuplicateId,
        ProblemKind::EmptyField,
        ProblemKind::UnknownPhase,
        ProblemKind::UnknownPersona,
        ProblemKind::EventClaimedTwice,
        ProblemKind::UnknownReference,
        ProblemKind::EmptyPhase,
        ProblemKind::EmotionOutOfRange,
        ProblemKind::InvalidWaypoint,
    ] {
        assert!(kinds.contains(kind.as_str()), "missing {kind:?}");
    }
    let at = |path: &str| err.problems.iter().find(|p| p.path == path).unwrap_or_else(|| panic!("no problem at {path}"));
    assert_eq!(at("maps[0].touchpoints[2].phase").kind, ProblemKind::UnknownPhase);
    assert_eq!(at("maps[0].touchpoints[1].events[0]").kind, ProblemKind::EventClaimedTwice);
    assert!(at("maps[0].touchpoints[1].events[0]").message.contains("\"click\""));
    assert_eq!(at("maps[0].waypoints[0].condition.touchpoint").kind, ProblemKind::UnknownReference);
    assert_eq!(at("maps[0].phases[3]").kind, ProblemKind::EmptyPhase);
    assert_eq!(at("maps[0].touchpoints[0].emotion").kind, ProblemKind::EmotionOutOfRange);
    assert_eq!(at("maps[0].phases[2].id").kind, ProblemKind::DuplicateId);
    let text = Error::from(err).to_string();
    assert!(text.starts_with("the map document has 26 problems:"), "{text}");
}

#[test]
fn unknown_fields_and_wrong_types_name_their_path() {
    let err = MapDocument::load(repo("tests/scenarios/unknown_field/map.json")).unwrap_err();
    let Error::Parse { file, path, message } = &err else { panic!("{err}") };
    assert_eq!(path, "maps[0].touchpoints[0].chanels");
    assert!(message.contains("unknown field `chanels`"), "{message}");
    assert!(file.as_deref().unwrap().ends_with("map.json"));
    let err = MapDocument::from_json(r#"{"name": "x", "maps": [], "version": 99}"#).unwrap_err();
    assert!(matches!(&err, Error::Parse { path, .. } if path == "version"), "{err}");
    let err = MapDocument::from_json("{not json").unwrap_err();
    assert!(matches!(&err, Error::Parse { path, .. } if path.is_empty()), "{err:?}");
    assert!(err.to_string().starts_with("document: "), "{err}");
    assert!(matches!(MapDocument::load("/nonexistent/map.json"), Err(Error::Io { .. })));
}

#[test]
fn committed_schema_matches_the_types() {
    let path = repo("journey-core/schema/map.schema.json");
    let generated = schema::map_schema_json();
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(committed == generated, "{} is out of date: run `UPDATE_SCHEMA=1 cargo test -p journey-core --test map_model`", path.display());
    assert!(generated.contains("\"deny_unknown_fields\"") || generated.contains("\"additionalProperties\": false"));
}

#[test]
fn builder_and_presets() {
    let doc = MapBuilder::new("Shop")
        .persona("buyer", "Buyer")
        .map("buy", "Buying", "buyer")
        .preset(Preset::Relationship)
        .touchpoint("ad", "Ad", "connect", |t| t.channel("social").department("marketing").events(["ad_click"]).emotion(EmotionLabel::Neutral))
        .touchpoint("faq", "FAQ", "orient", |t| t.channel("web").events(["faq_view"]).emotion(Rating::Csat(4)))
        .build();
    let err = doc.unwrap_err();
    let empty: Vec<&str> = err.problems.iter().filter(|p| p.kind == ProblemKind::EmptyPhase).map(|p| p.path.as_str()).collect();
    assert_eq!(empty, ["maps[0].phases[2]", "maps[0].phases[3]", "maps[0].phases[4]"]);
    let ids: Vec<String> = Preset::Funnel.phases().into_iter().map(|p| p.id).collect();
    assert_eq!(ids, ["awareness", "interest", "consideration", "action", "usage", "advocacy"]);
    assert_eq!(Preset::from_name("relationship"), Some(Preset::Relationship));
    assert_eq!(Preset::from_name("nope"), None);
}

#[test]
fn save_writes_what_load_reads() {
    let doc = MapDocument::load(repo("examples/maps/bank.json")).unwrap();
    let dir = std::env::temp_dir().join(format!("jc-save-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bank.json");
    doc.save(&path).unwrap();
    assert_eq!(MapDocument::load(&path).unwrap(), doc);
    assert!(!dir.join("bank.json.tmp").exists());
    assert!(matches!(doc.save(dir.join("missing/dir/x.json")), Err(Error::Io { .. })));
    std::fs::remove_dir_all(dir).unwrap();
}
