//! Mermaid `journey` diagrams.

use crate::map::JourneyMap;

/// The map as a Mermaid `journey` diagram: one section per phase, one task per
/// touchpoint, scored 1-5 from its planned emotion (unplanned: 3), with its department
/// (or channels) as the actor.
///
/// Text from the map is escaped: `:` `;` `#` and line breaks cannot break the diagram.
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
            '\n' | '\r' | '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn special_characters_are_escaped() {
        assert_eq!(escape("a: b; #1\nnext"), "a#58; b#59; #35;1 next");
        assert_eq!(escape("<script>"), "#lt;script#gt;");
    }
}
