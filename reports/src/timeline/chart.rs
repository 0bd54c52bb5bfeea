//! What a protocol adds to the picture: a band of leaders' terms above the lanes, a step line
//! of its progress counter under them, and its clients' operations as ticks on their lanes.
//! A timeline without these facts (the bully group's) is drawn exactly as before.

use std::collections::BTreeSet;

use plotters::prelude::*;

use super::layout::{pack_rows, text_width, LabelBox, TimeAxis};
use super::legend::{Group, Swatch};
use super::paint::{self, Area, DrawResult, TextPlace};
use super::palette;
use super::scene::{thousands, Scene, BAR_H, BAR_TOP, PLOT_X0};
use crate::model::{OpOutcome, Timeline};

/// One row of the terms band.
const TERM_ROW_H: f64 = 22.0;
/// Height of a term segment within its row.
const TERM_BAR_H: f64 = 16.0;
/// Tenures that overlap in time (a deposed leader that has not heard yet) take extra rows,
/// up to this many.
const TERM_ROWS_MAX: usize = 3;
/// Font size of term labels.
const TERM_FONT: f64 = 11.0;
/// Height of the progress panel.
const PROGRESS_H: f64 = 84.0;
/// Room above and below the step line inside the panel.
const PROGRESS_PAD: f64 = 10.0;
/// Font size of op counts on client lanes.
const COUNT_FONT: f64 = 11.0;

/// A placed term segment.
pub struct PlacedTerm {
    /// Left pixel.
    pub x0: f64,
    /// Right pixel.
    pub x1: f64,
    /// Row within the band.
    pub row: usize,
    /// Label, empty when the segment is too narrow for one.
    pub text: String,
    /// The term, for the alternating shade.
    pub term: u64,
}

/// The terms band.
pub struct TermBand {
    /// Top pixel.
    pub top: f64,
    /// Rows used.
    pub rows: usize,
    /// The segments.
    pub items: Vec<PlacedTerm>,
}

impl TermBand {
    /// Bottom pixel.
    pub fn bottom(&self) -> f64 {
        self.top + self.rows as f64 * TERM_ROW_H
    }
}

/// The progress panel: its place and its line in pixels.
pub struct ProgressPanel {
    /// Top pixel.
    pub top: f64,
    /// Bottom pixel.
    pub bottom: f64,
    /// The step line's corners, left to right.
    pub line: Vec<(f64, f64)>,
    /// The highest value, written at the top of the scale.
    pub max: f64,
    /// What it counts.
    pub name: String,
}

/// Places the terms band at `top`, or None when the timeline has no terms.
pub fn place_terms(t: &Timeline, axis: &TimeAxis, top: f64) -> Option<TermBand> {
    let mut items: Vec<PlacedTerm> = t
        .terms
        .iter()
        .filter(|s| s.lane < t.lanes.len())
        .filter_map(|s| {
            let (x0, x1) = axis.span(s.from_ms, s.to_ms)?;
            let x1 = x1.max(x0 + 3.0);
            let leader = &t.lanes[s.lane];
            let long = format!("term {} · {leader}", s.term);
            let short = s.term.to_string();
            let room = x1 - x0 - 8.0;
            let text = [long, short]
                .into_iter()
                .find(|l| text_width(l, TERM_FONT) <= room)
                .unwrap_or_default();
            Some(PlacedTerm {
                x0,
                x1,
                row: 0,
                text,
                term: s.term,
            })
        })
        .collect();
    if items.is_empty() {
        return None;
    }
    let extents: Vec<(f64, f64)> = items.iter().map(|p| (p.x0, p.x1)).collect();
    let packed = pack_rows(&extents, 1.0, TERM_ROWS_MAX);
    for (p, row) in items.iter_mut().zip(packed.rows) {
        p.row = row;
    }
    Some(TermBand {
        top,
        rows: packed.used,
        items,
    })
}

/// Places the progress panel at `top`, or None when there is nothing to draw. The line keeps
/// one corner per pixel column, so a long run stays a small picture.
pub fn place_progress(t: &Timeline, axis: &TimeAxis, top: f64) -> Option<ProgressPanel> {
    let p = t.progress.as_ref()?;
    let points: Vec<(f64, f64)> = p
        .points
        .iter()
        .filter(|(at, v)| at.is_finite() && v.is_finite() && *v >= 0.0)
        .copied()
        .collect();
    let max = points.iter().fold(0.0_f64, |m, (_, v)| m.max(*v));
    if max <= 0.0 {
        return None;
    }
    let bottom = top + PROGRESS_H;
    let y = |v: f64| bottom - PROGRESS_PAD - v / max * (PROGRESS_H - 2.0 * PROGRESS_PAD);
    let mut line = vec![(axis.x0, y(0.0))];
    let mut last = 0.0;
    for (at, v) in points {
        let x = axis.x(at);
        match line.last_mut() {
            // Same pixel column: the later value wins.
            Some(corner) if (corner.0 - x).abs() < 1.0 => corner.1 = y(v),
            _ => {
                line.push((x, y(last)));
                line.push((x, y(v)));
            }
        }
        last = v;
    }
    line.push((axis.x1, y(last)));
    Some(ProgressPanel {
        top,
        bottom,
        line,
        max,
        name: p.name.clone(),
    })
}

impl TermBand {
    /// Boxes of the term labels (each its own owner, numbered from `owner`) and their segments.
    pub fn label_boxes(&self, owner: usize, out: &mut Vec<LabelBox>) {
        for (k, p) in self.items.iter().enumerate() {
            let mid = self.top + (p.row as f64 + 0.5) * TERM_ROW_H;
            let owner = owner + k;
            out.push(LabelBox {
                owner,
                text: false,
                x0: p.x0,
                y0: mid - TERM_BAR_H / 2.0,
                x1: p.x1,
                y1: mid + TERM_BAR_H / 2.0,
            });
            if !p.text.is_empty() {
                let (c, w) = ((p.x0 + p.x1) / 2.0, text_width(&p.text, TERM_FONT));
                out.push(LabelBox {
                    owner,
                    text: true,
                    x0: c - w / 2.0,
                    y0: mid - 7.0,
                    x1: c + w / 2.0,
                    y1: mid + 7.0,
                });
            }
        }
    }
}

/// Shade of a term's segment: neighbouring terms alternate so a boundary always shows.
fn term_fill(term: u64) -> RGBColor {
    if term & 1 == 0 {
        palette::TERM_EVEN
    } else {
        palette::TERM_ODD
    }
}

/// Colour of an operation's tick.
fn op_colour(outcome: OpOutcome) -> RGBColor {
    match outcome {
        OpOutcome::Ok => palette::OP_OK,
        OpOutcome::Fail => palette::OP_FAIL,
        OpOutcome::Unknown => palette::OP_UNKNOWN,
    }
}

/// The terms band, with its heading in the names column.
pub fn draw_terms(root: &Area, s: &Scene) -> DrawResult {
    let Some(band) = &s.terms else {
        return Ok(());
    };
    for p in &band.items {
        let mid = band.top + (p.row as f64 + 0.5) * TERM_ROW_H;
        let (top, bottom) = (mid - TERM_BAR_H / 2.0, mid + TERM_BAR_H / 2.0);
        paint::rect(
            root,
            (p.x0, top),
            (p.x1, bottom),
            term_fill(p.term).filled(),
        )?;
        paint::rect(
            root,
            (p.x0, top),
            (p.x1, bottom),
            palette::ELECTED.stroke_width(1),
        )?;
        if !p.text.is_empty() {
            paint::text(
                root,
                &p.text,
                ((p.x0 + p.x1) / 2.0, mid),
                TERM_FONT,
                &palette::INK,
                TextPlace::CENTRE,
            )?;
        }
    }
    let at = (PLOT_X0 - 12.0, band.top + TERM_ROW_H / 2.0);
    paint::text(
        root,
        "terms",
        at,
        12.0,
        &palette::MUTED_INK,
        TextPlace::RIGHT,
    )
}

/// The progress panel: a shaded step line with its scale and name in the names column.
pub fn draw_progress(root: &Area, s: &Scene) -> DrawResult {
    let Some(p) = &s.progress else {
        return Ok(());
    };
    let base = p.bottom - PROGRESS_PAD;
    let peak = p.top + PROGRESS_PAD;
    for y in [base, peak] {
        paint::dashed(
            root,
            (s.axis.x0, y),
            (s.axis.x1, y),
            3,
            3,
            palette::GRID.stroke_width(1),
        )?;
    }
    let mut area: Vec<(f64, f64)> = p.line.clone();
    area.push((s.axis.x1, base));
    area.push((s.axis.x0, base));
    paint::polygon(root, &area, palette::PROGRESS.mix(0.12).filled())?;
    root.draw(&PathElement::new(
        p.line
            .iter()
            .map(|&(x, y)| (x.round() as i32, y.round() as i32))
            .collect::<Vec<_>>(),
        palette::PROGRESS.stroke_width(2),
    ))?;
    let x = PLOT_X0 - 12.0;
    let small = |text: &str, y: f64| {
        paint::text(
            root,
            text,
            (x, y),
            11.0,
            &palette::MUTED_INK,
            TextPlace::RIGHT,
        )
    };
    small(&thousands(p.max.round() as u64), peak)?;
    small("0", base)?;
    let name = paint::fit(&p.name, 12.0, PLOT_X0 - 24.0);
    paint::text(
        root,
        &name,
        (x, (p.top + p.bottom) / 2.0),
        12.0,
        &palette::INK,
        TextPlace::RIGHT.bold(),
    )
}

/// Client operations: a tick per operation on its lane, failures and unknowns over the
/// successes so that the rare ones are never hidden, and the counts at the bar's right end.
pub fn draw_ops(root: &Area, t: &Timeline, s: &Scene) -> DrawResult {
    let n_lanes = t.lanes.len();
    for outcome in [OpOutcome::Ok, OpOutcome::Unknown, OpOutcome::Fail] {
        let colour = op_colour(outcome);
        // One tick per pixel column: more would draw the same pixels again.
        let mut drawn: BTreeSet<(usize, i64)> = BTreeSet::new();
        for op in t.ops.iter().filter(|o| o.outcome == outcome) {
            if op.lane >= n_lanes || !op.at_ms.is_finite() {
                continue;
            }
            let x = s.axis.x(op.at_ms);
            if !drawn.insert((op.lane, x.round() as i64)) {
                continue;
            }
            let bar_top = s.lane_top(op.lane) + BAR_TOP;
            let (top, width) = match outcome {
                OpOutcome::Ok => (bar_top + BAR_H * 0.45, 1),
                _ => (bar_top + 1.0, 2),
            };
            paint::line(
                root,
                (x, top),
                (x, bar_top + BAR_H - 1.0),
                colour.mix(0.8).stroke_width(width),
            )?;
        }
    }
    for c in &s.op_counts {
        let (x0, y0, x1, y1) = c.bounds;
        paint::rect(root, (x0, y0), (x1, y1), WHITE.mix(0.8).filled())?;
        paint::text(
            root,
            &c.text,
            (x1 - 3.0, (y0 + y1) / 2.0),
            COUNT_FONT,
            &palette::INK,
            TextPlace::RIGHT,
        )?;
    }
    Ok(())
}

/// The counts of a client lane's operations, written at its bar's right end.
pub struct OpCount {
    /// "12 ok · 1 failed · 0 unknown".
    pub text: String,
    /// Its box, veil included: left, top, right, bottom.
    pub bounds: (f64, f64, f64, f64),
}

/// Places each client lane's operation counts; `lane_top` gives a lane's top pixel.
pub fn place_op_counts(
    t: &Timeline,
    axis: &TimeAxis,
    lane_top: impl Fn(usize) -> f64,
) -> Vec<OpCount> {
    let mut counts = vec![[0u64; 3]; t.lanes.len()];
    for op in &t.ops {
        if let Some(c) = counts.get_mut(op.lane) {
            c[op.outcome as usize] += 1;
        }
    }
    counts
        .iter()
        .enumerate()
        .filter(|(_, c)| c.iter().any(|&n| n > 0))
        .map(|(lane, c)| {
            let text = format!(
                "{} ok · {} failed · {} unknown",
                thousands(c[0]),
                thousands(c[1]),
                thousands(c[2])
            );
            let w = text_width(&text, COUNT_FONT);
            let right = axis.x1 - 6.0;
            let y = lane_top(lane) + BAR_TOP + 8.0;
            OpCount {
                text,
                bounds: (right - w - 3.0, y - 7.0, right + 3.0, y + 7.0),
            }
        })
        .collect()
}

/// The legend entries for what is drawn here, if any.
pub fn legend_group(t: &Timeline) -> Option<Group> {
    let mut entries = Vec::new();
    if !t.terms.is_empty() {
        entries.push((
            Swatch::Term(palette::TERM_ODD, palette::TERM_EVEN),
            "a leader's term (number · leader)".to_string(),
        ));
    }
    if let Some(p) = &t.progress {
        entries.push((Swatch::Step(palette::PROGRESS), p.name.clone()));
    }
    // All three whenever there are operations: a reader looking for failures learns there
    // were none.
    if !t.ops.is_empty() {
        for (outcome, text) in [
            (OpOutcome::Ok, "client op ok"),
            (OpOutcome::Fail, "client op failed"),
            (OpOutcome::Unknown, "client op unknown (timed out)"),
        ] {
            entries.push((Swatch::Tick(op_colour(outcome)), text.to_string()));
        }
    }
    entries.extend(super::work_layer::legend_entries(t));
    (!entries.is_empty()).then_some(Group {
        title: "protocol",
        entries,
    })
}
