//! A standalone SVG poster of a journey map, as CX teams draw them: see [`svg`].

mod text;

use crate::emotion::{EmotionLabel, Rating};
use crate::map::{JourneyMap, Touchpoint};
use text::{chars_fitting, escape, num, truncate, width_of, wrap};

/// Outer margin of the poster.
const MARGIN: f64 = 28.0;
/// Width of the row-label column on the left.
const GUTTER: f64 = 128.0;
/// Width of one touchpoint sub-column.
const SLOT: f64 = 184.0;
/// Space between a sub-column's edge and its card or text.
const INSET: f64 = 10.0;
/// The narrowest poster.
const MIN_WIDTH: f64 = 760.0;
/// Height of the emotion lane.
const LANE_HEIGHT: f64 = 190.0;
/// Space above the most positive and below the most negative point in the lane.
const LANE_PAD: f64 = 42.0;

/// Font sizes.
const TITLE_SIZE: f64 = 24.0;
const SUBTITLE_SIZE: f64 = 13.0;
const SMALL_SIZE: f64 = 12.0;
const KICKER_SIZE: f64 = 10.0;
const PHASE_SIZE: f64 = 15.0;
const PHASE_DESC_SIZE: f64 = 11.0;
const CARD_SIZE: f64 = 13.0;
const BADGE_SIZE: f64 = 10.0;
const BULLET_SIZE: f64 = 11.0;
const ROW_LABEL_SIZE: f64 = 12.0;
const LEGEND_SIZE: f64 = 11.0;

/// Line heights.
const CARD_LINE: f64 = 17.0;
const BULLET_LINE: f64 = 14.0;
const BADGE_HEIGHT: f64 = 17.0;
const BADGE_GAP: f64 = 4.0;

/// At most this many pains (or opportunities) are listed per touchpoint.
const MAX_BULLETS: usize = 4;
/// Each pain or opportunity is cut after this many lines.
const MAX_BULLET_LINES: usize = 3;

/// Colours.
const INK: &str = "#1a202c";
const MUTED: &str = "#4a5568";
const FAINT: &str = "#718096";
const RULE: &str = "#cbd5e0";
const NEGATIVE: &str = "#d62728";
const NEUTRAL: &str = "#8c8c8c";
const POSITIVE: &str = "#2ca02c";
const GOLD: &str = "#d4a017";
const GOLD_BAND: &str = "#fdf3d0";
const CHANNEL_FILL: &str = "#ebf4ff";
const CHANNEL_STROKE: &str = "#90b4dc";
const CHANNEL_TEXT: &str = "#1f4e79";
const PHASE_FILLS: [&str; 2] = ["#1f4e79", "#2f6aa3"];
const UNASSIGNED_FILL: &str = "#6b7280";
const COLUMN_FILLS: [&str; 2] = ["#f7f9fc", "#edf2f8"];
const DEPARTMENT_FILLS: [&str; 8] = ["#6a3d9a", "#0f7b6c", "#c2410c", "#1d4ed8", "#a21caf", "#4d7c0f", "#b91c1c", "#475569"];

/// The map as a standalone SVG poster: phases as columns, touchpoint cards, the planned
/// emotion curve, key moments, pains and opportunities, and a legend.
///
/// # What it shows
///
/// From top to bottom:
///
/// - the map's name, its persona id, counts of phases, touchpoints and key moments, and
///   the map's description;
/// - one **column per phase**, in map order, under a coloured header band (phase number,
///   name, description). Each touchpoint of the phase gets its own sub-column, so its
///   card, its point on the emotion curve, its pains and its opportunities line up
///   vertically. A phase without touchpoints keeps one empty sub-column; touchpoints whose
///   phase is not in the map are gathered in a final grey "Unassigned" column;
/// - **touchpoint cards**: name, channels (outlined badges; "any channel" when none is
///   planned; `_` shown as a space) and owning department (a solid badge, one colour per
///   department in order of first appearance). Key moments have a thick gold border and a
///   star;
/// - the **planned emotion curve**: a lane with a dashed neutral midline, positive up and
///   negative down. Each touchpoint with a planned emotion (converted to the normalised
///   scale, see [`crate::emotion`]) is a point at its sub-column's centre, coloured by
///   label (negative red, neutral grey, positive green) and captioned with the rating as
///   written (`positive`, `CSAT 4`, `NPS 9`, `score 0.5`). Points are joined in journey order
///   (phase order, then touchpoint order within the phase) by a smooth curve; touchpoints
///   without a (valid) planned emotion are skipped, never drawn as neutral. Key moments
///   get a gold band behind their sub-column, a gold ring round their point and a star
///   above it;
/// - **Pains** and **Opportunities** rows: bullets per touchpoint;
/// - a legend.
///
/// # Text
///
/// Wrapping counts characters: a glyph is taken to be 0.6 × the font size wide (0.66 in
/// bold), a generous average for sans-serif faces, and lines break between words (a word
/// longer than a line is split). Cut text ends with `…`; every card and bullet carries an
/// SVG `<title>` with the full text, shown as a tooltip by viewers. The limits:
///
/// | text | limit |
/// |---|---|
/// | map name | 2 lines of the poster's width |
/// | map description | 2 lines |
/// | phase name / description | 2 / 3 lines of the column's width |
/// | touchpoint name | 3 lines of the card's width |
/// | channel or department badge | one line of the card's width |
/// | each pain or opportunity | 3 lines of the column's width |
/// | pains or opportunities per touchpoint | 4, then "+N more" |
///
/// Every string from the map is XML-escaped (`&`, `<`, `>`, `"`, `'`), and characters XML
/// forbids are replaced, so any map yields a well-formed document.
///
/// # Output
///
/// Plain SVG 1.1 with inline presentation attributes: no scripts, CSS, external fonts or
/// ids (elements carry a few `class` names, e.g. `card key-moment`, for tests and
/// styling). `width`, `height` and `viewBox` are computed from the content (184 px per
/// touchpoint plus a 128 px label column, at least 760 px wide); coordinates are
/// written with one decimal place. The same map always gives the same bytes.
pub fn svg(map: &JourneyMap) -> String {
    Poster::new(map).render()
}

/// One column of the poster: a phase, or the touchpoints whose phase is not in the map.
struct Column<'a> {
    kicker: String,
    name: &'a str,
    description: &'a str,
    touchpoints: Vec<&'a Touchpoint>,
    unassigned: bool,
    x: f64,
    width: f64,
}

/// A badge on a card: a channel (outlined) or the owning department (solid).
struct Badge {
    label: String,
    width: f64,
    department_fill: Option<&'static str>,
    italic: bool,
}

/// A touchpoint card's wrapped content.
struct Card {
    name: Vec<String>,
    badge_rows: Vec<Vec<Badge>>,
}

impl Card {
    fn height(&self) -> f64 {
        let rows = self.badge_rows.len() as f64;
        12.0 + self.name.len() as f64 * CARD_LINE + 6.0 + rows * (BADGE_HEIGHT + BADGE_GAP) - BADGE_GAP + 12.0
    }
}

/// A line of a pains or opportunities cell.
#[derive(Clone, Copy, PartialEq)]
enum BulletLine {
    /// The first line of an item: drawn with a bullet.
    First,
    /// A continuation line.
    Next,
    /// The "+N more" line.
    More,
}

/// A cell of the pains or opportunities row: its lines, and the full texts for the tooltip.
struct Bullets {
    lines: Vec<(String, BulletLine)>,
    full: Vec<String>,
}

impl Bullets {
    fn height(&self) -> f64 {
        let starts = self.lines.iter().filter(|(_, kind)| *kind != BulletLine::Next).count();
        self.lines.len() as f64 * BULLET_LINE + starts.saturating_sub(1) as f64 * 4.0
    }
}

/// A touchpoint placed in its sub-column, in journey order.
struct Placed<'a> {
    tp: &'a Touchpoint,
    center: f64,
    card: Card,
    pains: Bullets,
    opportunities: Bullets,
}

/// An entry of the legend.
enum LegendKey {
    Dot(&'static str),
    Star,
    Channel,
    Department,
    Note,
}

/// The computed layout.
struct Poster<'a> {
    map: &'a JourneyMap,
    columns: Vec<Column<'a>>,
    placed: Vec<Placed<'a>>,
    width: f64,
    title: Vec<String>,
    subtitle: String,
    description: Vec<String>,
    header_top: f64,
    header_height: f64,
    cards_top: f64,
    card_height: f64,
    cards_height: f64,
    lane_top: f64,
    pains_top: f64,
    pains_height: f64,
    opportunities_top: f64,
    opportunities_height: f64,
    grid_bottom: f64,
    legend_top: f64,
    legend_rows: Vec<Vec<(f64, LegendKey, String)>>,
    height: f64,
}

impl<'a> Poster<'a> {
    fn new(map: &'a JourneyMap) -> Self {
        // Columns, in phase order; each touchpoint goes to the first phase with its id.
        let mut columns: Vec<Column<'a>> = map
            .phases
            .iter()
            .enumerate()
            .map(|(i, phase)| Column {
                kicker: format!("PHASE {}", i + 1),
                name: &phase.name,
                description: &phase.description,
                touchpoints: vec![],
                unassigned: false,
                x: 0.0,
                width: 0.0,
            })
            .collect();
        let mut unassigned = vec![];
        for tp in &map.touchpoints {
            match map.phase_index(&tp.phase) {
                Some(i) => columns[i].touchpoints.push(tp),
                None => unassigned.push(tp),
            }
        }
        if !unassigned.is_empty() {
            columns.push(Column {
                kicker: "NOT IN A PHASE".into(),
                name: "Unassigned",
                description: "Touchpoints whose phase is not in this map",
                touchpoints: unassigned,
                unassigned: true,
                x: 0.0,
                width: 0.0,
            });
        }

        let grid_left = MARGIN + GUTTER;
        let mut x = grid_left;
        for column in &mut columns {
            column.x = x;
            column.width = column.touchpoints.len().max(1) as f64 * SLOT;
            x += column.width;
        }
        let grid_right = x;

        // Departments get colours in order of first appearance, in journey order.
        let mut departments: Vec<&str> = vec![];
        for tp in columns.iter().flat_map(|c| &c.touchpoints) {
            if let Some(d) = &tp.department
                && !departments.contains(&d.as_str())
            {
                departments.push(d.as_str());
            }
        }

        let mut placed = vec![];
        for column in &columns {
            for (i, tp) in column.touchpoints.iter().enumerate() {
                placed.push(Placed {
                    tp,
                    center: column.x + (i as f64 + 0.5) * SLOT,
                    card: card(tp, &departments),
                    pains: bullets(&tp.pains),
                    opportunities: bullets(&tp.opportunities),
                });
            }
        }

        let empty = columns.is_empty();
        let width = (grid_right + MARGIN).max(MIN_WIDTH);
        let inner = width - 2.0 * MARGIN;

        let name = if map.name.trim().is_empty() { "Untitled journey map" } else { map.name.as_str() };
        let title = wrap(name, chars_fitting(inner, TITLE_SIZE, true), 2).0;
        let key_moments = map.touchpoints.iter().filter(|t| t.key_moment).count();
        let subtitle = format!(
            "Persona: {}  ·  {} {}  ·  {} {}  ·  {} key {}",
            if map.persona.is_empty() { "(none)" } else { &map.persona },
            map.phases.len(),
            plural(map.phases.len(), "phase", "phases"),
            map.touchpoints.len(),
            plural(map.touchpoints.len(), "touchpoint", "touchpoints"),
            key_moments,
            plural(key_moments, "moment", "moments"),
        );
        let subtitle = truncate(&subtitle, chars_fitting(inner, SUBTITLE_SIZE, false));
        let description = wrap(&map.description, chars_fitting(inner, SMALL_SIZE, false), 2).0;

        let mut y = MARGIN + title.len() as f64 * 30.0 + 4.0 + 18.0;
        if !description.is_empty() {
            y += 4.0 + description.len() as f64 * 16.0;
        }
        let header_top = y + 14.0;

        let header_height = columns.iter().map(header_height).fold(0.0, f64::max);
        let cards_top = header_top + header_height;
        let card_height = placed.iter().map(|p| p.card.height()).fold(0.0, f64::max).max(56.0);
        let cards_height = card_height + 2.0 * INSET + 4.0;
        let lane_top = cards_top + cards_height;
        let pains_top = lane_top + LANE_HEIGHT;
        let pains_height = placed.iter().map(|p| p.pains.height()).fold(0.0, f64::max).max(BULLET_LINE) + 2.0 * INSET + 6.0;
        let opportunities_top = pains_top + pains_height;
        let opportunities_height =
            placed.iter().map(|p| p.opportunities.height()).fold(0.0, f64::max).max(BULLET_LINE) + 2.0 * INSET + 6.0;
        let grid_bottom = if empty { header_top + 40.0 } else { opportunities_top + opportunities_height };

        let legend_top = grid_bottom + 22.0;
        let legend_rows = if empty { vec![] } else { flow_legend(legend_keys(), inner - 64.0) };
        let height = if empty { grid_bottom + MARGIN } else { legend_top + legend_rows.len() as f64 * 22.0 + MARGIN - 4.0 };

        Poster {
            map,
            columns,
            placed,
            width,
            title,
            subtitle,
            description,
            header_top,
            header_height,
            cards_top,
            card_height,
            cards_height,
            lane_top,
            pains_top,
            pains_height,
            opportunities_top,
            opportunities_height,
            grid_bottom,
            legend_top,
            legend_rows,
            height: height.ceil(),
        }
    }

    fn grid_left(&self) -> f64 {
        MARGIN + GUTTER
    }

    fn grid_right(&self) -> f64 {
        self.columns.last().map_or(self.grid_left(), |c| c.x + c.width)
    }

    fn render(&self) -> String {
        let mut out = String::with_capacity(16 * 1024 + self.placed.len() * 4096);
        let (w, h) = (num(self.width), num(self.height));
        out.push_str(&format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\">\n"
        ));
        out.push_str(&format!("<title>{}</title>\n", escape(&format!("Customer journey map: {}", self.map.name))));
        out.push_str(&format!(
            "<desc>{}</desc>\n",
            escape(&format!("Journey map {} for persona {}: phases as columns, touchpoint cards, planned emotion curve, pains and opportunities.", self.map.id, self.map.persona))
        ));
        out.push_str(&format!("<rect x=\"0.0\" y=\"0.0\" width=\"{w}\" height=\"{h}\" fill=\"#ffffff\"/>\n"));
        self.render_title(&mut out);
        if self.columns.is_empty() {
            out.push_str(&text(
                MARGIN,
                self.header_top + 18.0,
                SUBTITLE_SIZE,
                &format!("font-style=\"italic\" fill=\"{MUTED}\""),
                "This map has no phases or touchpoints yet.",
            ));
        } else {
            self.render_backgrounds(&mut out);
            self.render_headers(&mut out);
            self.render_row_labels(&mut out);
            self.render_cards(&mut out);
            self.render_lane(&mut out);
            self.render_bullets(&mut out);
            self.render_legend(&mut out);
        }
        out.push_str("</svg>\n");
        out
    }

    fn render_title(&self, out: &mut String) {
        let mut y = MARGIN + TITLE_SIZE * 0.85;
        for line in &self.title {
            out.push_str(&text(MARGIN, y, TITLE_SIZE, &format!("font-weight=\"bold\" fill=\"{INK}\""), line));
            y += 30.0;
        }
        y += -30.0 + 4.0 + 18.0;
        out.push_str(&text(MARGIN, y, SUBTITLE_SIZE, &format!("fill=\"{MUTED}\""), &self.subtitle));
        if !self.description.is_empty() {
            y += 4.0;
            for line in &self.description {
                y += 16.0;
                out.push_str(&text(MARGIN, y, SMALL_SIZE, &format!("font-style=\"italic\" fill=\"{MUTED}\""), line));
            }
        }
    }

    fn render_backgrounds(&self, out: &mut String) {
        let (left, right) = (self.grid_left(), self.grid_right());
        let top = self.cards_top;
        let height = self.grid_bottom - top;
        out.push_str("<g class=\"grid\">\n");
        for (i, column) in self.columns.iter().enumerate() {
            let fill = if column.unassigned { "#f3f4f6" } else { COLUMN_FILLS[i % 2] };
            out.push_str(&rect(column.x, top, column.width, height, &format!("fill=\"{fill}\"")));
        }
        // Row tints: positive half of the lane, negative half, pains, opportunities.
        let mid = self.lane_top + LANE_HEIGHT / 2.0;
        let tints = [
            (self.lane_top, LANE_HEIGHT / 2.0, POSITIVE, "0.06"),
            (mid, LANE_HEIGHT / 2.0, NEGATIVE, "0.05"),
            (self.pains_top, self.pains_height, NEGATIVE, "0.05"),
            (self.opportunities_top, self.opportunities_height, POSITIVE, "0.06"),
        ];
        for (y, h, fill, opacity) in tints {
            out.push_str(&rect(left, y, right - left, h, &format!("fill=\"{fill}\" fill-opacity=\"{opacity}\"")));
        }
        // Key moments: a gold band behind their sub-column in the lane.
        for p in self.placed.iter().filter(|p| p.tp.key_moment) {
            out.push_str(&rect(
                p.center - SLOT / 2.0 + 2.0,
                self.lane_top,
                SLOT - 4.0,
                LANE_HEIGHT,
                &format!("class=\"key-moment-band\" fill=\"{GOLD_BAND}\" fill-opacity=\"0.8\""),
            ));
        }
        // Row rules across the whole poster, column rules down the grid.
        for y in [self.cards_top, self.lane_top, self.pains_top, self.opportunities_top, self.grid_bottom] {
            out.push_str(&line(MARGIN, y, right, y, &format!("stroke=\"{RULE}\" stroke-width=\"1\"")));
        }
        for column in self.columns.iter().skip(1) {
            out.push_str(&line(column.x, self.header_top, column.x, self.grid_bottom, "stroke=\"#ffffff\" stroke-width=\"2\""));
        }
        out.push_str("</g>\n");
    }

    fn render_headers(&self, out: &mut String) {
        out.push_str("<g class=\"phases\">\n");
        for (i, column) in self.columns.iter().enumerate() {
            let fill = if column.unassigned { UNASSIGNED_FILL } else { PHASE_FILLS[i % 2] };
            out.push_str(&rect(column.x, self.header_top, column.width, self.header_height, &format!("fill=\"{fill}\"")));
            let x = column.x + INSET + 2.0;
            let mut y = self.header_top + 10.0 + KICKER_SIZE;
            out.push_str(&text(x, y, KICKER_SIZE, "font-weight=\"bold\" fill=\"#ffffff\" fill-opacity=\"0.75\" letter-spacing=\"1\"", &column.kicker));
            let (name, description) = header_lines(column);
            y += 4.0;
            for line in &name {
                y += 19.0;
                out.push_str(&text(x, y, PHASE_SIZE, "font-weight=\"bold\" fill=\"#ffffff\"", line));
            }
            if !description.is_empty() {
                y += 2.0;
            }
            for line in &description {
                y += 14.0;
                out.push_str(&text(x, y, PHASE_DESC_SIZE, "fill=\"#ffffff\" fill-opacity=\"0.85\"", line));
            }
            if column.touchpoints.is_empty() {
                out.push_str(&text(
                    column.x + column.width / 2.0,
                    self.cards_top + self.cards_height / 2.0 + 4.0,
                    BULLET_SIZE,
                    &format!("text-anchor=\"middle\" font-style=\"italic\" fill=\"{FAINT}\""),
                    "No touchpoints",
                ));
            }
        }
        out.push_str("</g>\n");
    }

    fn render_row_labels(&self, out: &mut String) {
        let x = MARGIN;
        let style = format!("font-weight=\"bold\" fill=\"{INK}\"");
        out.push_str("<g class=\"row-labels\">\n");
        out.push_str(&text(x, self.cards_top + INSET + 14.0, ROW_LABEL_SIZE, &style, "Touchpoints"));
        out.push_str(&text(x, self.lane_top + INSET + 14.0, ROW_LABEL_SIZE, &style, "Planned emotion"));
        let scale_x = self.grid_left() - 8.0;
        let scale = format!("text-anchor=\"end\" fill=\"{MUTED}\"");
        let (top, mid, bottom) = (self.lane_y(1.0), self.lane_y(0.0), self.lane_y(-1.0));
        out.push_str(&text(scale_x, top + 4.0, BULLET_SIZE, &scale, "positive"));
        out.push_str(&text(scale_x, mid + 4.0, BULLET_SIZE, &scale, "neutral"));
        out.push_str(&text(scale_x, bottom + 4.0, BULLET_SIZE, &scale, "negative"));
        for (y, label, colour) in [(top, "+", POSITIVE), (bottom, "−", NEGATIVE)] {
            out.push_str(&text(x, y + 5.0, 16.0, &format!("font-weight=\"bold\" fill=\"{colour}\""), label));
        }
        out.push_str(&text(x, self.pains_top + INSET + 14.0, ROW_LABEL_SIZE, &format!("font-weight=\"bold\" fill=\"{NEGATIVE}\""), "Pains"));
        out.push_str(&text(
            x,
            self.opportunities_top + INSET + 14.0,
            ROW_LABEL_SIZE,
            &format!("font-weight=\"bold\" fill=\"{POSITIVE}\""),
            "Opportunities",
        ));
        out.push_str("</g>\n");
    }

    fn render_cards(&self, out: &mut String) {
        for p in &self.placed {
            let x = p.center - SLOT / 2.0 + INSET;
            let y = self.cards_top + INSET + 2.0;
            let w = SLOT - 2.0 * INSET;
            let class = if p.tp.key_moment { "card key-moment" } else { "card" };
            out.push_str(&format!("<g class=\"{class}\">\n"));
            out.push_str(&format!("<title>{}</title>\n", escape(&tooltip(p.tp))));
            let border = if p.tp.key_moment {
                format!("fill=\"#ffffff\" stroke=\"{GOLD}\" stroke-width=\"3\"")
            } else {
                format!("fill=\"#ffffff\" stroke=\"{RULE}\" stroke-width=\"1\"")
            };
            out.push_str(&rounded(x, y, w, self.card_height, 6.0, &border));
            if p.tp.key_moment {
                out.push_str(&star(x + w - 13.0, y + 14.0, 9.0, &format!("fill=\"{GOLD}\"")));
            }
            let mut ty = y + 12.0;
            for line in &p.card.name {
                ty += CARD_LINE;
                out.push_str(&text(x + 10.0, ty - 4.0, CARD_SIZE, &format!("font-weight=\"bold\" fill=\"{INK}\""), line));
            }
            ty += 6.0;
            for row in &p.card.badge_rows {
                let mut bx = x + 10.0;
                for badge in row {
                    let attrs = match badge.department_fill {
                        Some(fill) => format!("fill=\"{fill}\""),
                        None => format!("fill=\"{CHANNEL_FILL}\" stroke=\"{CHANNEL_STROKE}\" stroke-width=\"1\""),
                    };
                    out.push_str(&rounded(bx, ty, badge.width, BADGE_HEIGHT, BADGE_HEIGHT / 2.0, &attrs));
                    let colour = if badge.department_fill.is_some() { "#ffffff" } else { CHANNEL_TEXT };
                    let style = if badge.italic { " font-style=\"italic\"" } else { "" };
                    out.push_str(&text(
                        bx + badge.width / 2.0,
                        ty + 12.0,
                        BADGE_SIZE,
                        &format!("text-anchor=\"middle\" fill=\"{colour}\"{style}"),
                        &badge.label,
                    ));
                    bx += badge.width + BADGE_GAP;
                }
                ty += BADGE_HEIGHT + BADGE_GAP;
            }
            out.push_str("</g>\n");
        }
    }

    /// The lane's y for a normalised emotion in `[-1, 1]`.
    fn lane_y(&self, value: f64) -> f64 {
        let mid = self.lane_top + LANE_HEIGHT / 2.0;
        mid - value.clamp(-1.0, 1.0) * (LANE_HEIGHT / 2.0 - LANE_PAD)
    }

    fn render_lane(&self, out: &mut String) {
        let (left, right) = (self.grid_left(), self.grid_right());
        let mid = self.lane_y(0.0);
        out.push_str("<g class=\"emotion\">\n");
        out.push_str(&line(left, mid, right, mid, &format!("stroke=\"{NEUTRAL}\" stroke-width=\"1\" stroke-dasharray=\"6 4\"")));
        for p in &self.placed {
            out.push_str(&line(p.center, self.lane_top + 8.0, p.center, self.pains_top - 8.0, "stroke=\"#a0aec0\" stroke-width=\"1\" stroke-dasharray=\"1 4\""));
        }
        // Only touchpoints with a valid planned emotion are plotted.
        let points: Vec<(&Placed, f64, EmotionLabel, Rating)> = self
            .placed
            .iter()
            .filter_map(|p| {
                let rating = p.tp.emotion?;
                let emotion = rating.normalize().ok()?;
                Some((p, emotion.value(), emotion.label(), rating))
            })
            .collect();
        if points.is_empty() {
            out.push_str(&text(
                (left + right) / 2.0,
                mid - 10.0,
                BULLET_SIZE,
                &format!("text-anchor=\"middle\" font-style=\"italic\" fill=\"{FAINT}\""),
                "No planned emotions",
            ));
        }
        if points.len() > 1 {
            // A smooth curve: cubic segments with horizontal tangents at every point, so the
            // line never overshoots a point.
            let mut d = String::new();
            for (i, (p, value, _, _)) in points.iter().enumerate() {
                let (x, y) = (p.center, self.lane_y(*value));
                if i == 0 {
                    d.push_str(&format!("M {} {}", num(x), num(y)));
                } else {
                    let (px, py) = (points[i - 1].0.center, self.lane_y(points[i - 1].1));
                    let cx = (px + x) / 2.0;
                    d.push_str(&format!(" C {} {} {} {} {} {}", num(cx), num(py), num(cx), num(y), num(x), num(y)));
                }
            }
            out.push_str(&format!(
                "<path class=\"curve\" d=\"{d}\" fill=\"none\" stroke=\"{MUTED}\" stroke-width=\"2.5\" stroke-linejoin=\"round\"/>\n"
            ));
        }
        for (p, value, label, rating) in &points {
            let (x, y) = (p.center, self.lane_y(*value));
            let colour = label_colour(*label);
            if p.tp.key_moment {
                out.push_str(&format!(
                    "<g class=\"key-moment-marker\">{}{}</g>\n",
                    circle(x, y, 12.0, &format!("fill=\"none\" stroke=\"{GOLD}\" stroke-width=\"3\"")).trim_end(),
                    star(x, y - 25.0, 9.0, &format!("fill=\"{GOLD}\"")).trim_end()
                ));
            }
            out.push_str(&format!(
                "<circle class=\"point {}\" cx=\"{}\" cy=\"{}\" r=\"7.0\" fill=\"{colour}\" stroke=\"#ffffff\" stroke-width=\"2\"><title>{}</title></circle>\n",
                label.as_str(),
                num(x),
                num(y),
                escape(&format!("{}: {} (planned)", p.tp.name, rating_text(rating))),
            ));
            // The caption sits on a translucent white plate so the curve cannot cross it.
            let caption = rating_text(rating);
            let plate = width_of(&caption, BADGE_SIZE, false) + 6.0;
            out.push_str(&rounded(x - plate / 2.0, y + 15.0, plate, 14.0, 3.0, "fill=\"#ffffff\" fill-opacity=\"0.85\""));
            out.push_str(&text(x, y + 25.5, BADGE_SIZE, &format!("text-anchor=\"middle\" fill=\"{MUTED}\""), &caption));
        }
        out.push_str("</g>\n");
    }

    fn render_bullets(&self, out: &mut String) {
        for (class, top, colour) in [("pains", self.pains_top, NEGATIVE), ("opportunities", self.opportunities_top, POSITIVE)] {
            out.push_str(&format!("<g class=\"{class}\">\n"));
            for p in &self.placed {
                let cell = if class == "pains" { &p.pains } else { &p.opportunities };
                if cell.lines.is_empty() {
                    continue;
                }
                out.push_str(&format!("<g><title>{}</title>\n", escape(&cell.full.join("\n"))));
                let x = p.center - SLOT / 2.0 + INSET;
                let mut y = top + INSET + 2.0;
                for (i, (line, kind)) in cell.lines.iter().enumerate() {
                    if *kind != BulletLine::Next && i > 0 {
                        y += 4.0;
                    }
                    y += BULLET_LINE;
                    if *kind == BulletLine::First {
                        out.push_str(&text(x, y - 3.0, BULLET_SIZE, &format!("font-weight=\"bold\" fill=\"{colour}\""), "•"));
                    }
                    let style =
                        if *kind == BulletLine::More { format!("font-style=\"italic\" fill=\"{FAINT}\"") } else { format!("fill=\"{INK}\"") };
                    out.push_str(&text(x + 10.0, y - 3.0, BULLET_SIZE, &style, line));
                }
                out.push_str("</g>\n");
            }
            out.push_str("</g>\n");
        }
    }

    fn render_legend(&self, out: &mut String) {
        out.push_str("<g class=\"legend\">\n");
        let mut y = self.legend_top + 11.0;
        out.push_str(&text(MARGIN, y + 4.0, LEGEND_SIZE, &format!("font-weight=\"bold\" fill=\"{INK}\""), "Legend"));
        for row in &self.legend_rows {
            let mut x = MARGIN + 64.0;
            for (width, key, label) in row {
                let label_x = match key {
                    LegendKey::Dot(colour) => {
                        out.push_str(&circle(x + 6.0, y, 6.0, &format!("fill=\"{colour}\"")));
                        x + 18.0
                    }
                    LegendKey::Star => {
                        out.push_str(&star(x + 7.0, y, 8.0, &format!("fill=\"{GOLD}\"")));
                        x + 20.0
                    }
                    LegendKey::Channel => {
                        out.push_str(&rounded(x, y - 8.0, 34.0, 16.0, 8.0, &format!("fill=\"{CHANNEL_FILL}\" stroke=\"{CHANNEL_STROKE}\" stroke-width=\"1\"")));
                        out.push_str(&text(x + 17.0, y + 3.5, BADGE_SIZE, &format!("text-anchor=\"middle\" fill=\"{CHANNEL_TEXT}\""), "web"));
                        x + 40.0
                    }
                    LegendKey::Department => {
                        out.push_str(&rounded(x, y - 8.0, 34.0, 16.0, 8.0, &format!("fill=\"{}\"", DEPARTMENT_FILLS[0])));
                        out.push_str(&text(x + 17.0, y + 3.5, BADGE_SIZE, "text-anchor=\"middle\" fill=\"#ffffff\"", "sales"));
                        x + 40.0
                    }
                    LegendKey::Note => x,
                };
                out.push_str(&text(label_x, y + 4.0, LEGEND_SIZE, &format!("fill=\"{MUTED}\""), label));
                x += width;
            }
            y += 22.0;
        }
        out.push_str("</g>\n");
    }
}

fn plural<'s>(n: usize, one: &'s str, many: &'s str) -> &'s str {
    if n == 1 { one } else { many }
}

/// The wrapped name and description lines of a phase header.
fn header_lines(column: &Column) -> (Vec<String>, Vec<String>) {
    let width = column.width - 2.0 * INSET - 4.0;
    let name = if column.name.trim().is_empty() { "(unnamed phase)" } else { column.name };
    let name = wrap(name, chars_fitting(width, PHASE_SIZE, true), 2).0;
    let description = wrap(column.description, chars_fitting(width, PHASE_DESC_SIZE, false), 3).0;
    (name, description)
}

fn header_height(column: &Column) -> f64 {
    let (name, description) = header_lines(column);
    let description_height = if description.is_empty() { 0.0 } else { 2.0 + description.len() as f64 * 14.0 };
    10.0 + KICKER_SIZE + 4.0 + name.len() as f64 * 19.0 + description_height + 12.0
}

/// Lays out a touchpoint's card: wrapped name, channel badges, department badge.
fn card(tp: &Touchpoint, departments: &[&str]) -> Card {
    let inner = SLOT - 2.0 * INSET - 20.0;
    let name_width = if tp.key_moment { inner - 18.0 } else { inner };
    let name = if tp.name.trim().is_empty() { tp.id.as_str() } else { tp.name.as_str() };
    let name = wrap(name, chars_fitting(name_width, CARD_SIZE, true), 3).0;
    let badge = |label: &str, department_fill: Option<&'static str>, italic: bool| {
        let label = truncate(&label.replace('_', " "), chars_fitting(inner - 12.0, BADGE_SIZE, false));
        let width = (width_of(&label, BADGE_SIZE, false) + 12.0).min(inner);
        Badge { label, width, department_fill, italic }
    };
    let mut badges: Vec<Badge> = tp.channels.iter().map(|c| badge(c.as_str(), None, false)).collect();
    if badges.is_empty() {
        badges.push(badge("any channel", None, true));
    }
    let mut rows: Vec<Vec<Badge>> = vec![];
    let mut used = f64::INFINITY;
    for b in badges {
        if used + BADGE_GAP + b.width > inner {
            rows.push(vec![]);
            used = -BADGE_GAP;
        }
        used += BADGE_GAP + b.width;
        rows.last_mut().expect("a row was just pushed").push(b);
    }
    if let Some(d) = &tp.department {
        let i = departments.iter().position(|x| *x == d.as_str()).unwrap_or(0);
        rows.push(vec![badge(d.as_str(), Some(DEPARTMENT_FILLS[i % DEPARTMENT_FILLS.len()]), false)]);
    }
    Card { name, badge_rows: rows }
}

/// Wraps a touchpoint's pains or opportunities into bullet lines.
fn bullets(items: &[String]) -> Bullets {
    let max_chars = chars_fitting(SLOT - 2.0 * INSET - 10.0, BULLET_SIZE, false);
    let mut lines = vec![];
    let items: Vec<&String> = items.iter().filter(|s| !s.trim().is_empty()).collect();
    for item in items.iter().take(MAX_BULLETS) {
        let (wrapped, _) = wrap(item, max_chars, MAX_BULLET_LINES);
        lines.extend(wrapped.into_iter().enumerate().map(|(i, l)| (l, if i == 0 { BulletLine::First } else { BulletLine::Next })));
    }
    if items.len() > MAX_BULLETS {
        lines.push((format!("+{} more", items.len() - MAX_BULLETS), BulletLine::More));
    }
    Bullets { lines, full: items.iter().map(|s| format!("• {s}")).collect() }
}

/// The tooltip of a card: the full name, description, channels, owner and KPIs.
fn tooltip(tp: &Touchpoint) -> String {
    let mut parts = vec![tp.name.clone()];
    if tp.key_moment {
        parts[0].push_str(" (key moment)");
    }
    if !tp.description.is_empty() {
        parts.push(tp.description.clone());
    }
    let channels: Vec<&str> = tp.channels.iter().map(|c| c.as_str()).collect();
    parts.push(format!("Channels: {}", if channels.is_empty() { "any".to_string() } else { channels.join(", ") }));
    if let Some(d) = &tp.department {
        parts.push(format!("Owner: {d}"));
    }
    if !tp.kpis.is_empty() {
        parts.push(format!("KPIs: {}", tp.kpis.join(", ")));
    }
    parts.join("\n")
}

/// A rating as written on the map: `positive`, `CSAT 4`, `NPS 9`, `0.5`.
fn rating_text(rating: &Rating) -> String {
    match *rating {
        Rating::Label(label) => label.as_str().to_string(),
        Rating::Csat(x) => format!("CSAT {x}"),
        Rating::Nps(x) => format!("NPS {x}"),
        Rating::Score(x) => {
            let s = format!("{x:.2}");
            let s = s.trim_end_matches('0').trim_end_matches('.');
            format!("score {}", if s == "-0" { "0" } else { s })
        }
    }
}

fn label_colour(label: EmotionLabel) -> &'static str {
    match label {
        EmotionLabel::Negative => NEGATIVE,
        EmotionLabel::Neutral => NEUTRAL,
        EmotionLabel::Positive => POSITIVE,
    }
}

fn legend_keys() -> Vec<(LegendKey, String)> {
    vec![
        (LegendKey::Dot(POSITIVE), "positive".into()),
        (LegendKey::Dot(NEUTRAL), "neutral".into()),
        (LegendKey::Dot(NEGATIVE), "negative".into()),
        (LegendKey::Star, "key moment (moment of truth)".into()),
        (LegendKey::Channel, "channel".into()),
        (LegendKey::Department, "owning department".into()),
        (LegendKey::Note, "Touchpoints without a planned emotion are not plotted.".into()),
        (LegendKey::Note, "… marks shortened text: hover for the full text.".into()),
    ]
}

fn legend_item_width(key: &LegendKey, label: &str) -> f64 {
    let swatch = match key {
        LegendKey::Dot(_) => 18.0,
        LegendKey::Star => 20.0,
        LegendKey::Channel | LegendKey::Department => 40.0,
        LegendKey::Note => 0.0,
    };
    swatch + width_of(label, LEGEND_SIZE, false) + 22.0
}

/// Flows legend entries into rows no wider than `width`.
fn flow_legend(keys: Vec<(LegendKey, String)>, width: f64) -> Vec<Vec<(f64, LegendKey, String)>> {
    let mut rows: Vec<Vec<(f64, LegendKey, String)>> = vec![vec![]];
    let mut used = 0.0;
    for (key, label) in keys {
        let w = legend_item_width(&key, &label);
        if used + w > width && !rows.last().is_some_and(Vec::is_empty) {
            rows.push(vec![]);
            used = 0.0;
        }
        used += w;
        rows.last_mut().expect("rows is never empty").push((w, key, label));
    }
    rows
}

/// A `<text>` element; `content` is escaped here.
fn text(x: f64, y: f64, size: f64, attrs: &str, content: &str) -> String {
    format!("<text x=\"{}\" y=\"{}\" font-size=\"{}\" {attrs}>{}</text>\n", num(x), num(y), num(size), escape(content))
}

fn rect(x: f64, y: f64, w: f64, h: f64, attrs: &str) -> String {
    format!("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" {attrs}/>\n", num(x), num(y), num(w), num(h))
}

fn rounded(x: f64, y: f64, w: f64, h: f64, r: f64, attrs: &str) -> String {
    format!(
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"{}\" ry=\"{}\" {attrs}/>\n",
        num(x),
        num(y),
        num(w),
        num(h),
        num(r),
        num(r)
    )
}

fn line(x1: f64, y1: f64, x2: f64, y2: f64, attrs: &str) -> String {
    format!("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" {attrs}/>\n", num(x1), num(y1), num(x2), num(y2))
}

fn circle(cx: f64, cy: f64, r: f64, attrs: &str) -> String {
    format!("<circle cx=\"{}\" cy=\"{}\" r=\"{}\" {attrs}/>\n", num(cx), num(cy), num(r))
}

/// Unit vectors of a five-pointed star's ten corners, clockwise from the top (written out
/// rather than computed, so the output never depends on the platform's `sin`/`cos`).
const STAR: [(f64, f64); 10] = [
    (0.0, -1.0),
    (0.587_785_252_3, -0.809_016_994_4),
    (0.951_056_516_3, -0.309_016_994_4),
    (0.951_056_516_3, 0.309_016_994_4),
    (0.587_785_252_3, 0.809_016_994_4),
    (0.0, 1.0),
    (-0.587_785_252_3, 0.809_016_994_4),
    (-0.951_056_516_3, 0.309_016_994_4),
    (-0.951_056_516_3, -0.309_016_994_4),
    (-0.587_785_252_3, -0.809_016_994_4),
];

/// A five-pointed star centred on `(cx, cy)` with outer radius `r`.
fn star(cx: f64, cy: f64, r: f64, attrs: &str) -> String {
    let points: Vec<String> = STAR
        .iter()
        .enumerate()
        .map(|(i, (dx, dy))| {
            let radius = if i % 2 == 0 { r } else { r * 0.45 };
            format!("{},{}", num(cx + radius * dx), num(cy + radius * dy))
        })
        .collect();
    format!("<polygon class=\"star\" points=\"{}\" {attrs}/>\n", points.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Channel, Department, EmotionLabel, MapBuilder, Rating};

    fn map_of(builder: MapBuilder) -> JourneyMap {
        builder.build_unchecked().maps.remove(0)
    }

    fn sample() -> JourneyMap {
        map_of(
            MapBuilder::new("Doc")
                .persona("buyer", "Buyer")
                .map("buy", "Buying", "buyer")
                .phase("learn", "Learn")
                .phase("buy", "Buy")
                .touchpoint("ad", "Sees an ad", "learn", |t| t.channel("social").department("marketing").emotion(EmotionLabel::Neutral))
                .touchpoint("faq", "Reads the FAQ", "learn", |t| t.channel("web").pain("Outdated answers"))
                .touchpoint("pay", "Pays", "buy", |t| t.channel("web").department("billing").emotion(Rating::Csat(5)).key_moment()),
        )
    }

    #[test]
    fn map_text_is_escaped_everywhere() {
        let evil = "<script>alert(1)</script>";
        let map = map_of(
            MapBuilder::new("Doc")
                .map("m", evil, "p\"'&")
                .phase("ph", evil)
                .touchpoint("t", evil, "ph", |t| {
                    t.channel(evil).department(evil).emotion(EmotionLabel::Positive).pain(evil).opportunity(evil).key_moment()
                }),
        );
        let out = svg(&map);
        assert!(!out.contains("<script"), "raw markup leaked:\n{out}");
        assert!(!out.contains("\"'&"));
        assert!(out.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(out.contains("p&quot;&apos;&amp;"));
        // Every `<` starts a known SVG element or a closing tag.
        for (i, _) in out.match_indices('<') {
            let tag: String = out[i + 1..].chars().take_while(|c| c.is_ascii_alphabetic() || *c == '/').collect();
            let name = tag.trim_start_matches('/');
            assert!(["svg", "title", "desc", "rect", "g", "text", "line", "path", "circle", "polygon"].contains(&name), "unexpected <{tag}");
        }
    }

    /// Every string field of a map, set to hostile text, comes out as escaped text: no
    /// element, attribute or entity of its own, no character XML forbids.
    #[test]
    fn every_map_string_is_escaped() {
        let evil = |field: &str| format!("<{field} x=\"1\" y='2'>&amp;&#60;\u{1}\u{FFFF}</{field}>]]><!--");
        let mut map = map_of(
            MapBuilder::new("Doc")
                .persona("p", "P")
                .map("m", "M", "p")
                .phase("ph", "P")
                .phase("empty", "E")
                .touchpoint("t", "T", "ph", |t| t.emotion(Rating::Nps(2)).key_moment())
                .touchpoint("u", "U", "nowhere", |t| t.emotion(EmotionLabel::Positive)),
        );
        map.id = evil("mapid");
        map.name = evil("mapname");
        map.persona = evil("persona");
        map.description = evil("mapdesc");
        for (i, phase) in map.phases.iter_mut().enumerate() {
            phase.name = evil(&format!("phasename{i}"));
            phase.description = evil(&format!("phasedesc{i}"));
        }
        for (i, tp) in map.touchpoints.iter_mut().enumerate() {
            tp.name = evil(&format!("tpname{i}"));
            tp.description = evil(&format!("tpdesc{i}"));
            tp.channels = vec![Channel::from(evil(&format!("channel{i}")))];
            tp.department = Some(Department::from(evil(&format!("dept{i}"))));
            tp.events = vec![evil(&format!("event{i}"))];
            tp.pains = (0..6).map(|j| evil(&format!("pain{i}{j}"))).collect();
            tp.opportunities = vec![evil(&format!("opp{i}"))];
            tp.kpis = vec![evil(&format!("kpi{i}"))];
        }
        let out = svg(&map);
        const TAGS: [&str; 10] = ["svg", "title", "desc", "rect", "g", "text", "line", "path", "circle", "polygon"];
        for (i, _) in out.match_indices('<') {
            let tag: String = out[i + 1..].chars().take_while(|c| c.is_ascii_alphabetic() || *c == '/').collect();
            assert!(TAGS.contains(&tag.trim_start_matches('/')), "unexpected <{tag} at {i}");
        }
        for (i, _) in out.match_indices('&') {
            let entity: String = out[i..].chars().take_while(|c| *c != ';').collect();
            assert!(["&amp", "&lt", "&gt", "&quot", "&apos"].contains(&entity.as_str()), "unexpected entity {entity} at {i}");
        }
        assert!(!out.contains("<!--") && !out.contains("]]>"));
        assert!(!out.chars().any(|c| (c < ' ' && c != '\n') || c == '\u{FFFF}'), "a character XML forbids");
        // Attribute values hold no raw quote or markup: every attribute is name="value".
        for element in out.split('<').skip(1) {
            let head = element.split('>').next().unwrap_or("");
            assert_eq!(head.matches('"').count() % 2, 0, "unbalanced quotes in <{head}>");
        }
        // The texts are there, escaped: titles keep the full text, cards a cut.
        for field in ["mapname", "tpname0", "channel0", "dept0", "pain00", "opp0", "kpi0", "tpdesc1"] {
            assert!(out.contains(&format!("&lt;{field} x=&quot;1&quot;")), "{field} is missing:\n{out}");
        }
    }

    #[test]
    fn output_is_deterministic() {
        let map = sample();
        assert_eq!(svg(&map), svg(&map.clone()));
        assert!(svg(&map).starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\""));
    }

    #[test]
    fn numbers_have_one_decimal_place() {
        let out = svg(&sample());
        for attr in [" x=\"", " y=\"", " width=\"", " cx=\""] {
            for (i, _) in out.match_indices(attr) {
                let value: String = out[i + attr.len()..].chars().take_while(|c| *c != '"').collect();
                let (_, decimals) = value.split_once('.').unwrap_or_else(|| panic!("{attr}{value}"));
                assert_eq!(decimals.len(), 1, "{attr}{value}");
            }
        }
    }

    #[test]
    fn empty_map_renders_title_and_note() {
        let map = map_of(MapBuilder::new("Doc").persona("p", "P").map("m", "Nothing yet & more", "p"));
        let out = svg(&map);
        assert!(out.starts_with("<svg "));
        assert!(out.ends_with("</svg>\n"));
        assert!(out.contains(">Nothing yet &amp; more</text>"));
        assert!(out.contains("This map has no phases or touchpoints yet."));
        assert!(!out.contains("class=\"card"));
        assert!(out.contains(&format!("width=\"{}\"", num(MIN_WIDTH))));
    }

    #[test]
    fn curve_skips_touchpoints_without_emotion() {
        let out = svg(&sample());
        // Two of the three touchpoints have a planned emotion: two points, one curve segment.
        assert_eq!(out.matches("<circle class=\"point").count(), 2);
        assert!(out.contains("<circle class=\"point neutral\""));
        assert!(out.contains("<circle class=\"point positive\""));
        let d = out.split("class=\"curve\" d=\"").nth(1).unwrap().split('"').next().unwrap();
        assert_eq!(d.matches(" C ").count(), 1, "{d}");
        // The curve starts at the first touchpoint's column and ends at the third's.
        let first = num(MARGIN + GUTTER + SLOT / 2.0);
        let third = num(MARGIN + GUTTER + 2.5 * SLOT);
        assert!(d.starts_with(&format!("M {first} ")), "{d}");
        assert!(d.contains(&format!(" {third} ")), "{d}");
        // A neutral point sits on the midline, CSAT 5 at the top.
        let map = sample();
        let poster = Poster::new(&map);
        assert!(out.contains(&format!("cx=\"{first}\" cy=\"{}\"", num(poster.lane_y(0.0)))));
        assert!(out.contains(&format!("cx=\"{third}\" cy=\"{}\"", num(poster.lane_y(1.0)))));
    }

    #[test]
    fn single_point_draws_no_curve_and_none_says_so() {
        let one = map_of(MapBuilder::new("D").map("m", "M", "p").phase("a", "A").touchpoint("t", "T", "a", |t| t.emotion(EmotionLabel::Negative)));
        let out = svg(&one);
        assert_eq!(out.matches("<circle class=\"point negative\"").count(), 1);
        assert!(!out.contains("class=\"curve\""));
        let none = map_of(MapBuilder::new("D").map("m", "M", "p").phase("a", "A").touchpoint("t", "T", "a", |t| t));
        assert!(svg(&none).contains("No planned emotions"));
    }

    #[test]
    fn key_moments_are_marked_on_card_and_curve() {
        let out = svg(&sample());
        assert_eq!(out.matches("<g class=\"card key-moment\">").count(), 1);
        assert_eq!(out.matches("<g class=\"card\">").count(), 2);
        assert_eq!(out.matches("class=\"key-moment-marker\"").count(), 1);
        assert_eq!(out.matches("class=\"key-moment-band\"").count(), 1);
        assert!(out.contains("key moment (moment of truth)"));
    }

    #[test]
    fn touchpoints_outside_the_phases_get_their_own_column() {
        let map = map_of(
            MapBuilder::new("D")
                .map("m", "M", "p")
                .phase("a", "A")
                .phase("empty", "Empty")
                .touchpoint("t", "T", "a", |t| t)
                .touchpoint("lost", "Lost one", "nowhere", |t| t),
        );
        let out = svg(&map);
        assert!(out.contains(">Unassigned</text>"));
        assert!(out.contains(">No touchpoints</text>"));
        assert!(out.find(">T</text>").unwrap() < out.find(">Lost one</text>").unwrap());
    }

    #[test]
    fn long_texts_are_cut_with_an_ellipsis() {
        let long = "word ".repeat(60);
        let map = map_of(MapBuilder::new("D").map("m", "M", "p").phase("a", "A").touchpoint("t", &long, "a", |t| {
            (0..6).fold(t, |t, _| t.pain(long.clone()))
        }));
        let out = svg(&map);
        assert!(out.contains("word…</text>"));
        assert!(out.contains(">+2 more</text>"));
        // The tooltip keeps the full text.
        assert!(out.contains(&format!("<title>{}", long.trim_end())));
    }

    #[test]
    fn rating_captions() {
        assert_eq!(rating_text(&Rating::Score(0.5)), "score 0.5");
        assert_eq!(rating_text(&Rating::Score(-0.0)), "score 0");
        assert_eq!(rating_text(&Rating::Score(1.0)), "score 1");
        assert_eq!(rating_text(&Rating::Nps(9)), "NPS 9");
        assert_eq!(rating_text(&Rating::Label(EmotionLabel::Negative)), "negative");
    }
}
