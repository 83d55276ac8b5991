//! The SVG poster on realistic maps: the scenario maps in `tests/scenarios/` and a map
//! built in code.
//!
//! Set `JOURNEY_SVG_DUMP=DIR` to also write every rendered SVG into `DIR`, e.g. to look at
//! them with `rsvg-convert`.

use std::path::{Path, PathBuf};

use journey_core::{EmotionLabel, JourneyMap, MapBuilder, MapDocument, Preset, Rating, render};

fn scenario(name: &str) -> MapDocument {
    MapDocument::load(Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/scenarios").join(name).join("map.json")).unwrap()
}

fn dump(name: &str, svg: &str) {
    if let Some(dir) = std::env::var_os("JOURNEY_SVG_DUMP") {
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.svg")), svg).unwrap();
    }
}

/// A map built in code: 6 funnel phases, 15 touchpoints, every rating scale, a touchpoint
/// without an emotion, key moments, long pains and a custom channel.
fn telco() -> JourneyMap {
    MapBuilder::new("Telco")
        .persona("family", "Family plan switcher")
        .map("switch", "Switching the family to a new mobile plan", "family")
        .preset(Preset::Funnel)
        .touchpoint("tv", "Sees a TV spot", "awareness", |t| {
            t.channel("advertising").department("marketing").emotion(EmotionLabel::Neutral).opportunity("Show the family bundle price")
        })
        .touchpoint("friend", "Hears from a friend", "awareness", |t| t.channel("social").department("marketing").emotion(Rating::Score(0.5)))
        .touchpoint("compare", "Compares plans on the website", "interest", |t| {
            t.channel("web")
                .channel("mobile_app")
                .department("product")
                .emotion(Rating::Csat(3))
                .pain("Plan names are confusing and the comparison table hides roaming fees until the last step")
                .opportunity("One plain comparison table")
        })
        .touchpoint("chatbot", "Asks the chatbot about coverage", "interest", |t| {
            t.channel("chat").department("support").pain("Bot cannot answer coverage questions")
        })
        .touchpoint("store", "Visits a store to see phones", "consideration", |t| {
            t.channel("store").department("branch").emotion(EmotionLabel::Positive).key_moment()
        })
        .touchpoint("call", "Calls to ask about number portability", "consideration", |t| {
            t.channel("phone")
                .channel("ivr")
                .department("sales")
                .emotion(Rating::Nps(2))
                .key_moment()
                .pain("Long IVR menu")
                .pain("Agent does not see the web session")
                .pain("Has to repeat the account number three times")
                .pain("Callback promised but never happens")
                .pain("Transferred twice")
                .opportunity("Pass the web context to the agent")
        })
        .touchpoint("signup", "Signs up online", "action", |t| {
            t.channel("web").department("sales").emotion(EmotionLabel::Positive).key_moment().opportunity("Pre-fill from the store visit")
        })
        .touchpoint("id", "Verifies identity", "action", |t| {
            t.channel("mobile_app").department("operations").emotion(EmotionLabel::Negative).pain("Selfie check fails in low light")
        })
        .touchpoint("sim", "Receives the SIM cards", "action", |t| t.channel("logistics_courier").department("logistics").emotion(Rating::Csat(4)))
        .touchpoint("port", "Numbers are ported", "usage", |t| {
            t.channel("sms").department("operations").emotion(EmotionLabel::Negative).key_moment().pain("Hours without service")
        })
        .touchpoint("bill", "First bill arrives", "usage", |t| {
            t.channel("email").department("billing").emotion(Rating::Score(-0.4)).pain("Pro-rated charges look like an error")
        })
        .touchpoint("app", "Uses the app to track data", "usage", |t| t.channel("mobile_app").department("product").emotion(EmotionLabel::Positive))
        .touchpoint("survey", "Answers the NPS survey", "advocacy", |t| t.channel("email").department("marketing").emotion(Rating::Nps(8)))
        .touchpoint("refer", "Refers a friend", "advocacy", |t| {
            t.channel("mobile_app").channel("whatsapp").department("marketing").emotion(EmotionLabel::Positive).opportunity("Reward both friends")
        })
        .touchpoint("review", "Writes a review", "advocacy", |t| t.channel("social").department("marketing"))
        .build()
        .unwrap()
        .maps
        .remove(0)
}

/// A tiny well-formedness check: tags balance, attributes are quoted, and `<` and `&` only
/// appear as markup or entities.
fn assert_well_formed(svg: &str) {
    let mut stack: Vec<&str> = vec![];
    let mut rest = svg;
    while let Some(start) = rest.find('<') {
        check_text(&rest[..start]);
        rest = &rest[start..];
        let end = rest.find('>').expect("unclosed tag");
        let tag = &rest[1..end];
        assert!(!tag.contains('<'), "`<` inside a tag: {tag}");
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop(), Some(name), "mismatched closing tag");
        } else {
            let self_closing = tag.ends_with('/');
            let tag = tag.trim_end_matches('/');
            let name = tag.split_whitespace().next().unwrap();
            let mut attrs = tag[name.len()..].trim();
            while !attrs.is_empty() {
                let eq = attrs.find("=\"").unwrap_or_else(|| panic!("unquoted attribute in <{tag}>"));
                let close = attrs[eq + 2..].find('"').unwrap();
                check_text(&attrs[eq + 2..eq + 2 + close]);
                attrs = attrs[eq + 2 + close + 1..].trim_start();
            }
            if !self_closing {
                stack.push(name);
            }
        }
        rest = &rest[end + 1..];
        if stack.is_empty() {
            break;
        }
    }
    assert!(stack.is_empty(), "unclosed elements: {stack:?}");
    assert_eq!(rest.trim(), "", "content after the root element");
}

fn check_text(text: &str) {
    for (i, _) in text.match_indices('&') {
        let entity = &text[i..text[i..].find(';').map_or(text.len(), |e| i + e + 1)];
        assert!(["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"].contains(&entity), "bad entity {entity:?}");
    }
    assert!(!text.contains('>') || !text.contains("]]>"));
}

#[test]
fn scenario_maps_render_well_formed_and_deterministic() {
    for name in ["shop", "bank", "escaping"] {
        let doc = scenario(name);
        for map in &doc.maps {
            let svg = render::svg(map);
            assert_well_formed(&svg);
            assert_eq!(svg, render::svg(map));
            assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
            dump(&format!("{name}-{}", map.id), &svg);
        }
    }
}

#[test]
fn a_map_built_in_code_renders_every_part() {
    let map = telco();
    let svg = render::svg(&map);
    assert_well_formed(&svg);
    dump("telco", &svg);
    assert_eq!(svg.matches("<g class=\"card").count(), 15);
    assert_eq!(svg.matches("<g class=\"card key-moment\">").count(), 4);
    // 13 touchpoints have a planned emotion: "chatbot" and "review" are skipped.
    assert_eq!(svg.matches("<circle class=\"point").count(), 13);
    // Key moments with an emotion get a marker on the curve.
    assert_eq!(svg.matches("class=\"key-moment-marker\"").count(), 4);
    for label in ["CSAT 3", "NPS 2", "score 0.5", "score -0.4", "Pains", "Opportunities", "+1 more", "Legend"] {
        assert!(svg.contains(label), "missing {label}");
    }
    // Underscores of well-known channels are shown as spaces; long text is cut with an ellipsis.
    assert!(svg.contains(">mobile app</text>"));
    assert!(svg.contains('…'));
}

#[test]
fn edge_cases_render_well_formed() {
    let empty = MapBuilder::new("D").persona("p", "P").map("m", "An empty map", "p").build_unchecked().maps.remove(0);
    let odd = MapBuilder::new("D")
        .map("m", "Odd & <odd>", "p\u{1}")
        .phase("a", "")
        .phase("b", "A phase with no touchpoints and a very long name that has to wrap")
        .touchpoint("t", "", "a", |t| t.channel("x\u{0}y").emotion(Rating::Score(0.25)))
        .touchpoint("u", "Lost touchpoint", "nowhere", |t| t.emotion(Rating::Score(7.0)).key_moment())
        .build_unchecked()
        .maps
        .remove(0);
    for (name, map) in [("empty", empty), ("odd", odd)] {
        let svg = render::svg(&map);
        assert_well_formed(&svg);
        dump(name, &svg);
    }
}
