//! Mermaid `journey` diagrams.

use crate::map::JourneyMap;

/// The map as a Mermaid `journey` diagram: one section per phase, one task per
/// touchpoint, scored 1-5 from its planned emotion (unplanned: 3), with its department
/// (or channels) as the actor.
///
/// Text from the map is escaped: `:` `;` `#` `%` `<` `>` and line breaks cannot break the
/// diagram, start a comment or directive (`%%`), or become markup.
pub fn mermaid(map: &JourneyMap) -> String {
    let mut out = format!("journey\n    title {}\n", escape(&map.name));
    for phase in &map.phases {
        out.push_str(&format!("    section {}\n", escape(&phase.name)));
        for tp in map.touchpoints_in(&phase.id) {
            let emotion = tp.emotion.and_then(|r| r.normalize().ok()).map_or(0.0, |e| e.value());
            let score = ((emotion + 1.0) * 2.0).round() as i64 + 1;
            let actor = match &tp.department {
                Some(d) => d.as_str().to_string(),
                None if !tp.channels.is_empty() => tp.channels.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(" / "),
                None => "Customer".to_string(),
            };
            let star = if tp.key_moment { " ★" } else { "" };
            out.push_str(&format!("      {}{star}: {score}: {}\n", escape(&tp.name), escape(&actor).replace(',', "#44;")));
        }
    }
    out
}

/// Replaces the characters Mermaid's journey grammar treats specially with entity codes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '#' => out.push_str("#35;"),
            ':' => out.push_str("#58;"),
            ';' => out.push_str("#59;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '%' => out.push_str("#37;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::{escape, mermaid};
    use crate::{EmotionLabel, MapBuilder};

    #[test]
    fn special_characters_are_escaped() {
        assert_eq!(escape("a: b; #1\nnext"), "a#58; b#59; #35;1 next");
        assert_eq!(escape("<script>"), "#lt;script#gt;");
        assert_eq!(escape("%%{init: {}}%% & co\r\u{1}x"), "#37;#37;{init#58; {}}#37;#37; & co  x");
    }

    /// Hostile names in every field that reaches the diagram keep its structure: one line
    /// per title, section and task, each task `name: score: actor`.
    #[test]
    fn hostile_text_cannot_break_the_diagram() {
        let evil = "x: 1\n    section injected\n%%{init: {'theme': 'dark'}}%%; #a <b>&c";
        let doc = MapBuilder::new("D")
            .persona("p", "P")
            .map("m", evil, "p")
            .phase("a", evil)
            .touchpoint("t", evil, "a", |t| t.department(evil).emotion(EmotionLabel::Positive))
            .touchpoint("u", evil, "a", |t| t.channel(evil).channel("web"))
            .build_unchecked();
        let out = mermaid(&doc.maps[0]);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 5, "{out}");
        assert_eq!(lines[0], "journey");
        assert!(lines[1].starts_with("    title ") && !lines[1].contains(':'));
        assert!(lines[2].starts_with("    section ") && !lines[2].contains(':'));
        for task in &lines[3..] {
            assert!(task.starts_with("      "), "{task}");
            assert_eq!(task.matches(':').count(), 2, "{task}");
        }
        assert!(!out.contains('%') && !out.contains('<'), "{out}");
    }
}
