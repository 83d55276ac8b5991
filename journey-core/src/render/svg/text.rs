//! Text helpers for the SVG renderer: XML escaping, fixed number formatting, and
//! character-count wrapping with an approximate glyph width.

/// Average glyph width of a regular `sans-serif` face, as a fraction of the font size.
///
/// Deliberately generous (Helvetica and Arial average about 0.5, DejaVu Sans about 0.55),
/// so that text wrapped with it fits whichever sans-serif face the viewer substitutes.
pub(super) const REGULAR_WIDTH: f64 = 0.6;
/// Average glyph width of a bold `sans-serif` face, as a fraction of the font size.
pub(super) const BOLD_WIDTH: f64 = 0.66;

/// The ellipsis that ends shortened text.
pub(super) const ELLIPSIS: char = '…';

/// Escapes text for XML character data and attribute values: `&`, `<`, `>`, `"`, `'`.
///
/// Characters XML 1.0 forbids (control characters other than tab, newline and carriage
/// return; U+FFFE and U+FFFF) become a space or U+FFFD, so any map text yields a
/// well-formed document.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(' '),
            c if (c as u32) < 0x20 => out.push(' '),
            '\u{FFFE}' | '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// A coordinate or length with exactly one decimal place (`-0.0` is written `0.0`).
pub(super) fn num(x: f64) -> String {
    let rounded = (x * 10.0).round() / 10.0;
    let rounded = if rounded == 0.0 || !rounded.is_finite() { 0.0 } else { rounded };
    format!("{rounded:.1}")
}

/// How many characters of a font size fit in `width` pixels (at least one).
pub(super) fn chars_fitting(width: f64, size: f64, bold: bool) -> usize {
    let glyph = size * if bold { BOLD_WIDTH } else { REGULAR_WIDTH };
    ((width / glyph).floor() as usize).max(1)
}

/// The approximate rendered width of `text` in pixels.
pub(super) fn width_of(text: &str, size: f64, bold: bool) -> f64 {
    text.chars().count() as f64 * size * if bold { BOLD_WIDTH } else { REGULAR_WIDTH }
}

/// Greedy word wrapping by character count.
///
/// Runs of whitespace (including line breaks) separate words; a word longer than a line
/// is split. At most `max_lines` lines are kept: when text is cut, the last kept line ends
/// with [`ELLIPSIS`] (still within `max_chars`). Returns the lines and whether text was cut.
pub(super) fn wrap(text: &str, max_chars: usize, max_lines: usize) -> (Vec<String>, bool) {
    let max_chars = max_chars.max(2);
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut current_len = 0usize;
    // Stop collecting once there is one line more than needed: that proves a cut.
    'words: for word in text.split_whitespace() {
        let mut rest: Vec<char> = word.chars().collect();
        while !rest.is_empty() {
            if lines.len() > max_lines {
                break 'words;
            }
            if current_len == 0 {
                if rest.len() <= max_chars {
                    current = rest.iter().collect();
                    current_len = rest.len();
                    rest.clear();
                } else {
                    lines.push(rest.drain(..max_chars).collect());
                }
            } else if current_len + 1 + rest.len() <= max_chars {
                current.push(' ');
                current.extend(rest.iter());
                current_len += 1 + rest.len();
                rest.clear();
            } else {
                lines.push(std::mem::take(&mut current));
                current_len = 0;
            }
        }
    }
    if current_len > 0 {
        lines.push(current);
    }
    if lines.len() <= max_lines {
        return (lines, false);
    }
    lines.truncate(max_lines.max(1));
    if let Some(last) = lines.last_mut() {
        *last = ellipsize(last, max_chars);
    }
    (lines, true)
}

/// `text` shortened to at most `max_chars` characters, ending with [`ELLIPSIS`] if cut.
pub(super) fn truncate(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars { text.to_string() } else { ellipsize(text, max_chars) }
}

/// `line` with an ellipsis appended, trimmed so the result has at most `max_chars` characters.
fn ellipsize(line: &str, max_chars: usize) -> String {
    let mut chars: Vec<char> = line.chars().collect();
    chars.truncate(max_chars.max(1) - 1);
    while chars.last().is_some_and(|c| c.is_whitespace()) {
        chars.pop();
    }
    let mut out: String = chars.into_iter().collect();
    out.push(ELLIPSIS);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_the_five_xml_characters_and_control_characters() {
        assert_eq!(escape(r#"<a href="x">Tom & 'Jerry'</a>"#), "&lt;a href=&quot;x&quot;&gt;Tom &amp; &apos;Jerry&apos;&lt;/a&gt;");
        assert_eq!(escape("a\u{1}b\nc\u{FFFF}"), "a b c\u{FFFD}");
    }

    #[test]
    fn numbers_have_one_decimal() {
        assert_eq!(num(1.0), "1.0");
        assert_eq!(num(2.25), "2.3");
        assert_eq!(num(-0.01), "0.0");
        assert_eq!(num(-3.04), "-3.0");
        assert_eq!(num(f64::NAN), "0.0");
    }

    #[test]
    fn wraps_by_words_and_splits_long_words() {
        let (lines, cut) = wrap("the quick brown fox jumps", 10, 5);
        assert_eq!(lines, ["the quick", "brown fox", "jumps"]);
        assert!(!cut);
        let (lines, _) = wrap("abcdefghijklmnop", 6, 5);
        assert_eq!(lines, ["abcdef", "ghijkl", "mnop"]);
        assert_eq!(wrap("  \n ", 10, 3).0, Vec::<String>::new());
    }

    #[test]
    fn cut_text_ends_with_an_ellipsis_within_the_limit() {
        let (lines, cut) = wrap("one two three four five six seven", 9, 2);
        assert!(cut);
        assert_eq!(lines, ["one two", "three…"]);
        assert_eq!(wrap("abcdefghijkl", 5, 2).0, ["abcde", "fghi…"]);
        assert!(lines.iter().all(|l| l.chars().count() <= 9));
        assert_eq!(truncate("mobile_application", 8), "mobile_…");
        assert_eq!(truncate("web", 8), "web");
    }
}
