//! The legend under the time axis: what each colour and symbol means.
//!
//! Laid out before drawing because its height decides the SVG's height.

use plotters::prelude::*;

use super::layout::text_width;
use super::paint::{self, Area, DrawResult, TextPlace};
use super::palette;
use crate::model::MarkKind;

/// Legend text size in pixels.
const FONT: f64 = 12.0;
/// Height of one legend row.
pub const ROW_H: f64 = 24.0;
/// Width reserved for a swatch before its text.
const SWATCH_W: f64 = 26.0;
/// Space between entries on a row.
const ENTRY_GAP: f64 = 22.0;

/// The little picture in front of a legend entry.
#[derive(Clone, Copy)]
pub enum Swatch {
    /// A lane bar of this colour.
    Fill(RGBColor),
    /// A crashed-period bar.
    Down,
    /// A translucent fault band of this colour.
    Band(RGBColor),
    /// A mark symbol.
    Mark(MarkKind),
    /// An annotation bracket: fill, outline.
    Bracket(RGBColor, RGBColor),
    /// A message line of this colour.
    Line(RGBColor),
    /// A dropped message.
    Dropped,
    /// Two neighbouring terms: their two shades.
    Term(RGBColor, RGBColor),
    /// A rising step line.
    Step(RGBColor),
    /// A client operation's tick.
    Tick(RGBColor),
}

/// A group of entries with a heading, e.g. "roles".
pub struct Group {
    /// Heading written in the names column.
    pub title: &'static str,
    /// The entries: swatch and text.
    pub entries: Vec<(Swatch, String)>,
}

/// Where every heading and entry goes.
pub struct Legend {
    /// Headings and the row they start on.
    headings: Vec<(&'static str, usize)>,
    /// Entries: left x, row, swatch, text.
    entries: Vec<(f64, usize, Swatch, String)>,
    /// Rows used.
    pub rows: usize,
}

impl Legend {
    /// Flows each group's entries left to right from `x0`, wrapping at `x1`;
    /// each group starts on a fresh row.
    pub fn layout(groups: Vec<Group>, x0: f64, x1: f64) -> Legend {
        let mut legend = Legend {
            headings: Vec::new(),
            entries: Vec::new(),
            rows: 0,
        };
        for group in groups.into_iter().filter(|g| !g.entries.is_empty()) {
            let mut row = legend.rows;
            legend.headings.push((group.title, row));
            let mut x = x0;
            for (swatch, label) in group.entries {
                let w = SWATCH_W + text_width(&label, FONT);
                if x > x0 && x + w > x1 {
                    row += 1;
                    x = x0;
                }
                legend.entries.push((x, row, swatch, label));
                x += w + ENTRY_GAP;
            }
            legend.rows = row + 1;
        }
        legend
    }

    /// Draws the legend with its first row starting at `top`; headings are
    /// right-aligned at `heading_x` like the lane names above them.
    pub fn draw(&self, area: &Area, top: f64, heading_x: f64) -> DrawResult {
        let row_y = |row: usize| top + (row as f64 + 0.5) * ROW_H;
        for &(title, row) in &self.headings {
            paint::text(
                area,
                title,
                (heading_x, row_y(row)),
                FONT,
                &palette::MUTED_INK,
                TextPlace::RIGHT.bold(),
            )?;
        }
        for (x, row, swatch, label) in &self.entries {
            let y = row_y(*row);
            draw_swatch(area, *swatch, *x, y)?;
            paint::text(
                area,
                label,
                (x + SWATCH_W, y),
                FONT,
                &palette::INK,
                TextPlace::LEFT,
            )?;
        }
        Ok(())
    }
}

/// Draws a swatch in the `SWATCH_W` box starting at `x`, centred on `y`.
fn draw_swatch(area: &Area, swatch: Swatch, x: f64, y: f64) -> DrawResult {
    let (l, r) = (x, x + SWATCH_W - 6.0);
    match swatch {
        Swatch::Fill(c) => paint::rect(area, (l, y - 7.0), (r, y + 7.0), c.filled()),
        Swatch::Down => {
            paint::rect(area, (l, y - 7.0), (r, y + 7.0), palette::DOWN.filled())?;
            paint::hatch(area, (l, y - 7.0), (r, y + 7.0), 6.0, &palette::DOWN_HATCH)
        }
        Swatch::Band(c) => {
            paint::rect(area, (l, y - 9.0), (r, y + 9.0), c.mix(0.25).filled())?;
            paint::rect(area, (l, y - 9.0), (r, y + 9.0), c.mix(0.6).stroke_width(1))
        }
        Swatch::Mark(kind) => paint::mark_symbol(area, kind, ((l + r) / 2.0, y)),
        Swatch::Bracket(fill, stroke) => {
            paint::rect(area, (l, y - 6.0), (r, y + 6.0), fill.filled())?;
            paint::rect(area, (l, y - 6.0), (r, y + 6.0), stroke.stroke_width(1))
        }
        Swatch::Line(c) => paint::arrow(
            area,
            (l, y),
            (r, y),
            paint::ArrowLook {
                colour: c,
                alpha: 1.0,
                head: 7.0,
                width: 2,
            },
            false,
        ),
        Swatch::Dropped => paint::arrow(
            area,
            (l, y),
            (r + 8.0, y),
            paint::ArrowLook {
                colour: palette::MUTED_INK,
                alpha: 1.0,
                head: 0.0,
                width: 2,
            },
            true,
        ),
        Swatch::Term(a, b) => {
            let m = (l + r) / 2.0;
            paint::rect(area, (l, y - 6.0), (m, y + 6.0), a.filled())?;
            paint::rect(area, (m, y - 6.0), (r, y + 6.0), b.filled())?;
            paint::rect(
                area,
                (l, y - 6.0),
                (r, y + 6.0),
                palette::ELECTED.stroke_width(1),
            )
        }
        Swatch::Step(c) => {
            let pts = [(l, y + 6.0), (l + 7.0, y + 6.0), (l + 7.0, y), (r - 6.0, y)];
            let pts = pts.into_iter().chain([(r - 6.0, y - 6.0), (r, y - 6.0)]);
            area.draw(&PathElement::new(
                pts.map(|(a, b)| (a.round() as i32, b.round() as i32))
                    .collect::<Vec<_>>(),
                c.stroke_width(2),
            ))
        }
        Swatch::Tick(c) => {
            paint::rect(area, (l, y - 7.0), (r, y + 7.0), palette::CLIENT.filled())?;
            let m = (l + r) / 2.0;
            paint::line(area, (m, y - 6.0), (m, y + 6.0), c.stroke_width(2))
        }
    }
}
