//! What nodes held, on their lanes: each task, subproblem, critical section or cache line's
//! state as a thin bar in one of the lane's rows, coloured by what it is and named when it
//! is wide enough; frequent point events (invalidations, write-backs, refusals) as ticks at
//! the bar's top. Written as SVG text over the picture, one element per pixel at most; the
//! legend names the colours used.

use std::collections::BTreeSet;
use std::fmt::Write;

use plotters::style::RGBColor;

use super::legend::Swatch;
use super::scene::{Scene, BAR_H, BAR_TOP};
use crate::model::{Hue, Timeline};

/// Height of a row of bars.
const ROW_H: f64 = 6.0;
/// Gap between rows.
const ROW_GAP: f64 = 1.0;
/// Rows a lane holds; a bar in a higher row is drawn in the last.
const ROWS: u8 = 3;
/// Height of a tick.
const TICK_H: f64 = 7.0;
/// Font size of a bar's name.
const NAME_FONT: f64 = 6.0;
/// Width of a character of a bar's name, roughly.
const NAME_CHAR_W: f64 = 3.6;

/// The colour of `hue`.
pub fn hue_rgb(hue: Hue) -> RGBColor {
    match hue {
        Hue::Work => RGBColor(0x2C, 0x7F, 0xB8),
        Hue::Critical => RGBColor(0x7B, 0x32, 0x94),
        Hue::Modified => RGBColor(0xD7, 0x30, 0x1F),
        Hue::Owned => RGBColor(0xF1, 0x69, 0x13),
        Hue::Exclusive => RGBColor(0x6A, 0x51, 0xA3),
        Hue::Shared => RGBColor(0x41, 0xAB, 0x5D),
        Hue::Invalidated => RGBColor(0x52, 0x52, 0x52),
        Hue::WrittenBack => RGBColor(0xB8, 0x86, 0x0B),
        Hue::Refused => RGBColor(0xE3, 0x1A, 0x1C),
        Hue::Reassigned => RGBColor(0x08, 0x51, 0x9C),
    }
}

/// The fill of `hue`, as SVG writes it.
fn hue_colour(hue: Hue) -> String {
    let RGBColor(r, g, b) = hue_rgb(hue);
    format!("#{r:02X}{g:02X}{b:02X}")
}

/// The legend's entries for what this layer draws: a bar per colour of held work, a tick
/// per colour of point event.
pub fn legend_entries(t: &Timeline) -> Vec<(Swatch, String)> {
    let n = t.lanes.len();
    let bars: BTreeSet<Hue> = (t.work.iter())
        .filter(|b| b.lane < n && b.from_ms.is_finite() && b.to_ms.is_finite())
        .map(|b| b.hue)
        .collect();
    let ticks: BTreeSet<Hue> = (t.ticks.iter())
        .filter(|k| k.lane < n && k.at_ms.is_finite())
        .map(|k| k.hue)
        .collect();
    let mut entries: Vec<(Swatch, String)> = (bars.into_iter())
        .map(|h| (Swatch::Fill(hue_rgb(h)), h.name().to_string()))
        .collect();
    entries.extend(
        ticks
            .into_iter()
            .map(|h| (Swatch::Tick(hue_rgb(h)), h.name().to_string())),
    );
    entries
}

/// The layer's SVG elements (empty when the run has no bars and no ticks).
pub fn draw(t: &Timeline, s: &Scene) -> String {
    let n = t.lanes.len();
    let mut out = String::new();
    if n == 0 || (t.work.is_empty() && t.ticks.is_empty()) {
        return out;
    }
    let mut drawn: BTreeSet<(usize, u8, i64, i64)> = BTreeSet::new();
    let rows_top = BAR_TOP + BAR_H - f64::from(ROWS) * (ROW_H + ROW_GAP);
    for bar in &t.work {
        if bar.lane >= n || !bar.from_ms.is_finite() || !bar.to_ms.is_finite() {
            continue;
        }
        let (x0, x1) = (s.axis.x(bar.from_ms), s.axis.x(bar.to_ms.max(bar.from_ms)));
        let row = bar.row.min(ROWS - 1);
        if !drawn.insert((bar.lane, row, x0.round() as i64, x1.round() as i64)) {
            continue;
        }
        let y = s.lane_top(bar.lane) + rows_top + f64::from(row) * (ROW_H + ROW_GAP);
        let w = (x1 - x0).max(1.0);
        let _ = write!(
            out,
            r#"<rect x="{x0:.1}" y="{y:.1}" width="{w:.1}" height="{ROW_H}" fill="{}" fill-opacity="0.8"/>"#,
            hue_colour(bar.hue)
        );
        let text_w = bar.text.chars().count() as f64 * NAME_CHAR_W + 3.0;
        if !bar.text.is_empty() && w >= text_w {
            let _ = write!(
                out,
                r#"<text x="{:.1}" y="{:.1}" font-family="sans-serif" font-size="{NAME_FONT}" fill="white">{}</text>"#,
                x0 + 1.5,
                y + ROW_H - 1.0,
                escape(&bar.text)
            );
        }
        out.push('\n');
    }
    let mut ticks: BTreeSet<(usize, i64, Hue)> = BTreeSet::new();
    for tick in &t.ticks {
        if tick.lane >= n || !tick.at_ms.is_finite() {
            continue;
        }
        let x = s.axis.x(tick.at_ms);
        if !ticks.insert((tick.lane, x.round() as i64, tick.hue)) {
            continue;
        }
        let y = s.lane_top(tick.lane) + BAR_TOP;
        let _ = write!(
            out,
            r#"<line x1="{x:.1}" y1="{y:.1}" x2="{x:.1}" y2="{:.1}" stroke="{}" stroke-width="1.2"/>"#,
            y + TICK_H,
            hue_colour(tick.hue)
        );
    }
    out
}

/// `text` safe inside an SVG element.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use crate::model::{Hue, Tick, WorkBar};
    use crate::{render_timeline, Timeline};

    fn run() -> Timeline {
        Timeline {
            title: "t".into(),
            end_ms: 1000.0,
            lanes: vec!["c1".into(), "w1".into(), "w2".into()],
            ..Timeline::default()
        }
    }

    #[test]
    fn bars_and_ticks_are_drawn_once_per_pixel_with_a_key_of_what_is_used() {
        let mut t = run();
        assert!(
            !render_timeline(&t).contains("work held"),
            "no layer without bars"
        );
        let bar = |lane, row, from_ms, to_ms, text: &str, hue| WorkBar {
            lane,
            row,
            from_ms,
            to_ms,
            text: text.into(),
            hue,
        };
        t.work = vec![
            bar(1, 0, 0.0, 500.0, "t1", Hue::Work),
            bar(1, 0, 0.0, 500.0, "t1", Hue::Work),
            bar(
                2,
                1,
                100.0,
                101.0,
                "a name far too long to fit",
                Hue::Modified,
            ),
            bar(9, 0, 0.0, 10.0, "off the lanes", Hue::Shared),
            bar(2, 0, f64::NAN, 10.0, "garbage", Hue::Shared),
        ];
        t.ticks = vec![
            Tick {
                lane: 0,
                at_ms: 300.0,
                hue: Hue::Refused,
            },
            Tick {
                lane: 0,
                at_ms: 300.01,
                hue: Hue::Refused,
            },
        ];
        let svg = render_timeline(&t);
        let bars = |colour: &str| {
            svg.matches(&format!(r#"fill="{colour}" fill-opacity"#))
                .count()
        };
        assert_eq!(bars("#2C7FB8"), 1, "{svg}");
        assert_eq!(bars("#D7301F"), 1);
        assert_eq!(svg.matches(">t1</text>").count(), 1, "wide enough to name");
        assert!(!svg.contains("far too long"), "too narrow to name");
        assert!(!svg.contains("off the lanes") && !svg.contains("garbage"));
        assert_eq!(
            svg.matches(r##"stroke="#E31A1C" stroke-width="1.2""##)
                .count(),
            1
        );
        assert!(svg.contains("work held") && svg.contains("Modified") && svg.contains("refused"));
        assert!(!svg.contains("Shared"), "the key names only what is drawn");
    }
}
