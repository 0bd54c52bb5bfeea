//! The picture's layout, decided before anything is drawn: the run length,
//! every vertical position, which label goes on which row, which arrows are
//! drawn in which colour, and the legend. The SVG's height depends on all of
//! it, and the backend needs the height up front.

use std::collections::{BTreeMap, BTreeSet};

use plotters::style::RGBColor;

use super::chart::{self, ProgressPanel, TermBand};
use super::layout::{label_left, pack_rows, text_width, usable_end_ms, LabelBox, TimeAxis};
use super::legend::{Group, Legend, Swatch};
use super::palette;
use super::sample::{choose_arrows, MAX_ARROWS};
use crate::model::{Interval, MarkKind, Span, Timeline, Tone};

/// Width of the SVG.
pub const WIDTH: f64 = 1400.0;
/// Left edge of the plot; the names column is to its left.
pub const PLOT_X0: f64 = 130.0;
/// Right edge of the plot.
pub const PLOT_X1: f64 = WIDTH - 40.0;
/// Right limit for labels, which may run a little past the plot.
pub const LABEL_MAX_X: f64 = WIDTH - 8.0;
/// Title and summary lines.
pub const HEADER_H: f64 = 62.0;
/// Time labels above the plot.
pub const TOP_AXIS_H: f64 = 24.0;
/// Time labels and axis title below the plot.
pub const BOTTOM_AXIS_H: f64 = 46.0;
/// One row of election or recovery brackets.
pub const ANNOT_ROW_H: f64 = 24.0;
/// One row of fault labels.
pub const FAULT_ROW_H: f64 = 22.0;
/// Font size of annotation and fault labels.
pub const ANNOT_FONT: f64 = 12.0;
/// Gap kept between labels on one row.
const LABEL_GAP: f64 = 10.0;
/// Beyond this many rows per section, labels may overlap rather than the
/// picture growing without bound.
const MAX_ANNOT_ROWS: usize = 5;
/// Lane bar's top, from the lane's top.
pub const BAR_TOP: f64 = 12.0;
/// Lane bar's height.
pub const BAR_H: f64 = 30.0;
/// Height of one row of mark labels under a bar.
pub const MARK_ROW_H: f64 = 15.0;
/// Font size of mark labels.
pub const MARK_FONT: f64 = 11.0;
/// Most rows of mark labels under a bar; a lane grows to fit the rows it uses.
const MAX_MARK_ROWS: usize = 3;
/// Space under the mark label rows.
const LANE_PAD_BOTTOM: f64 = 8.0;
/// Most message labels listed in the legend.
const MAX_LEGEND_LABELS: usize = 16;

/// A labelled bar in an annotation row: an election, a recovery or a fault.
pub struct Placed {
    /// Left pixel of the bar.
    pub x0: f64,
    /// Right pixel of the bar (at least a few pixels right of `x0`).
    pub x1: f64,
    /// Row within its section.
    pub row: usize,
    /// Label text.
    pub text: String,
    /// Left pixel of the label.
    pub text_x: f64,
}

/// A block of annotation rows.
pub struct Section {
    /// Top pixel of the first row.
    pub top: f64,
    /// Number of rows.
    pub rows: usize,
    /// Height of one row.
    pub row_h: f64,
    /// Placed items, parallel to the input list; `None` if unusable.
    pub items: Vec<Option<Placed>>,
    /// Items without room for their label, drawn unlabelled in the last row.
    pub overflow: usize,
}

impl Section {
    /// Vertical centre of a row.
    pub fn row_mid(&self, row: usize) -> f64 {
        self.top + (row as f64 + 0.5) * self.row_h
    }

    /// Bottom pixel of the section.
    pub fn bottom(&self) -> f64 {
        self.top + self.rows as f64 * self.row_h
    }
}

/// Where a mark's label goes under its lane's bar.
#[derive(Clone, Copy)]
pub struct MarkSlot {
    /// Label row under the bar.
    pub row: usize,
    /// False when the rows were full: the symbol is drawn, the label is not.
    pub labelled: bool,
    /// Centre x of the label: under the symbol, or nearer the middle at the picture's edges.
    pub label_x: f64,
    /// Estimated width of the label.
    pub label_w: f64,
}

/// What is known about one message label.
pub struct LabelInfo {
    /// Arrow colour.
    pub colour: RGBColor,
    /// How many messages carry it.
    pub count: u64,
    /// Whether it is election traffic (drawn strong, always kept).
    pub election: bool,
}

/// The whole layout.
pub struct Scene {
    /// Time to pixel mapping.
    pub axis: TimeAxis,
    /// SVG height in pixels.
    pub height: f64,
    /// Bottom of the plotting area (above the bottom time labels).
    pub plot_bottom: f64,
    /// Leaders' terms, above the elections.
    pub terms: Option<TermBand>,
    /// Election brackets.
    pub elections: Section,
    /// Recovery brackets.
    pub recoveries: Section,
    /// Partition labels then loss labels, in one block.
    pub faults: Section,
    /// Top of each lane, then the bottom of the last one.
    lane_tops: Vec<f64>,
    /// Bottom of the last lane.
    pub lanes_bottom: f64,
    /// The progress panel, under the lanes.
    pub progress: Option<ProgressPanel>,
    /// Indices into `Timeline::messages` of the arrows to draw, ascending.
    pub arrows: Vec<usize>,
    /// Message labels, sorted.
    pub labels: BTreeMap<String, LabelInfo>,
    /// Per mark: where its label goes, or `None` if the mark is not drawable.
    pub mark_rows: Vec<Option<MarkSlot>>,
    /// Legend layout.
    pub legend: Legend,
    /// Top of the legend.
    pub legend_top: f64,
    /// "showing N of M messages", when not all are drawn.
    pub sample_note: Option<String>,
    /// Client lanes' operation counts.
    pub op_counts: Vec<chart::OpCount>,
    /// Role names written in their bars: index into `Timeline::roles`, left x, centre y.
    pub role_labels: Vec<(usize, f64, f64)>,
    /// Per lane, the outline of its traffic strip (left to right, on the strip's baseline
    /// at both ends); empty when the timeline counts no traffic.
    pub traffic: Vec<Vec<(f64, f64)>>,
}

/// How many messages the run had, for the header: sends, or deliveries and drops (a
/// multicast has several) when those are more, as arrows would be.
pub fn messages_total(t: &Timeline) -> u64 {
    let arrows: u64 = t
        .label_counts
        .iter()
        .fold(0, |n, (_, c)| n.saturating_add(*c));
    t.messages_total.max(t.messages.len() as u64).max(arrows)
}

/// 12345 -> "12,345": message counts are read, not parsed.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let groups: Vec<&str> = digits
        .as_bytes()
        .rchunks(3)
        .rev()
        .map(|g| std::str::from_utf8(g).unwrap_or_default())
        .collect();
    groups.join(",")
}

/// Default text for a mark without one.
pub fn mark_text(kind: MarkKind, text: &str) -> String {
    if !text.is_empty() {
        return text.to_string();
    }
    match kind {
        MarkKind::Crash => "crash",
        MarkKind::Restart => "restart",
        MarkKind::ElectionStarted => "starts election",
        MarkKind::Elected => "elected",
        MarkKind::Note => "",
    }
    .to_string()
}

/// Places labelled bars on rows starting at `top`.
/// Brackets get their label inside or beside them; bands that reach down
/// over the lanes get it at their start, where the eye meets the band.
fn section(
    axis: &TimeAxis,
    top: f64,
    row_h: f64,
    items: &[(f64, f64, String)],
    beside: bool,
) -> Section {
    let mut placed: Vec<Option<Placed>> = items
        .iter()
        .map(|(from, to, text)| {
            if from.is_nan() {
                return None;
            }
            let x0 = axis.x(*from);
            let x1 = if to.is_nan() { x0 } else { axis.x(*to) }.max(x0 + 3.0);
            let w = text_width(text, ANNOT_FONT);
            let text_x = if text.is_empty() {
                x0
            } else if beside {
                label_left(x0, x1, w, PLOT_X0, LABEL_MAX_X)
            } else {
                (x0 + 5.0).min(LABEL_MAX_X - w).max(PLOT_X0)
            };
            Some(Placed {
                x0,
                x1,
                row: 0,
                text: text.clone(),
                text_x,
            })
        })
        .collect();
    let extents: Vec<(f64, f64)> = placed
        .iter()
        .flatten()
        .map(|p| {
            let w = text_width(&p.text, ANNOT_FONT);
            (p.x0.min(p.text_x), p.x1.max(p.text_x + w))
        })
        .collect();
    let packed = pack_rows(&extents, LABEL_GAP, MAX_ANNOT_ROWS);
    // What finds no room goes, unlabelled, to a row of its own under the others, so that
    // no bar is drawn under another one's label; the names column counts them.
    let mut overflow = 0;
    for ((p, row), crowded) in placed
        .iter_mut()
        .flatten()
        .zip(packed.rows)
        .zip(packed.crowded)
    {
        p.row = row;
        if crowded {
            p.row = packed.used;
            p.text.clear();
            p.text_x = p.x0;
            overflow += 1;
        }
    }
    // Unlabelled bars that touch merge into one: a thousand elections draw a few bars.
    let mut last: Option<usize> = None;
    for i in 0..placed.len() {
        let Some(p) = placed[i].as_ref().filter(|p| p.row == packed.used) else {
            continue;
        };
        let (x0, x1) = (p.x0, p.x1);
        match last {
            Some(j)
                if placed[j]
                    .as_ref()
                    .is_some_and(|q| x0 <= q.x1 + 1.0 && q.x0 <= x1 + 1.0) =>
            {
                if let Some(q) = placed[j].as_mut() {
                    q.x0 = q.x0.min(x0);
                    q.x1 = q.x1.max(x1);
                }
                placed[i] = None;
            }
            _ => last = Some(i),
        }
    }
    let n_rows = if extents.is_empty() {
        0
    } else {
        packed.used + usize::from(overflow > 0)
    };
    Section {
        top,
        rows: n_rows,
        row_h,
        items: placed,
        overflow,
    }
}

fn intervals(list: &[Interval]) -> Vec<(f64, f64, String)> {
    list.iter()
        .map(|i| (i.from_ms, i.to_ms, i.text.clone()))
        .collect()
}

fn spans(list: &[Span], prefix: &str, fallback: &str) -> Vec<(f64, f64, String)> {
    list.iter()
        .map(|s| {
            let text = if s.label.is_empty() {
                fallback.to_string()
            } else {
                format!("{prefix}{}", s.label)
            };
            (s.from_ms, s.to_ms, text)
        })
        .collect()
}

impl Scene {
    /// Lays out `t`.
    pub fn new(t: &Timeline) -> Scene {
        let times = t
            .roles
            .iter()
            .map(|r| r.to_ms)
            .chain(t.down.iter().map(|d| d.to_ms))
            .chain(t.messages.iter().map(|m| m.recv_ms.max(m.sent_ms)))
            .chain(t.marks.iter().map(|m| m.at_ms))
            .chain(t.elections.iter().chain(&t.recoveries).map(|i| i.to_ms))
            .chain(t.partitions.iter().chain(&t.loss).map(|s| s.to_ms));
        let axis = TimeAxis {
            end_ms: usable_end_ms(t.end_ms, times),
            x0: PLOT_X0,
            x1: PLOT_X1,
        };
        let n_lanes = t.lanes.len();

        let plot_top = HEADER_H + TOP_AXIS_H;
        let terms = chart::place_terms(t, &axis, plot_top + 4.0);
        let elections = section(
            &axis,
            terms.as_ref().map_or(plot_top + 4.0, |b| b.bottom()),
            ANNOT_ROW_H,
            &intervals(&t.elections),
            true,
        );
        let recoveries = section(
            &axis,
            elections.bottom(),
            ANNOT_ROW_H,
            &intervals(&t.recoveries),
            true,
        );
        let mut fault_items = spans(&t.partitions, "partition ", "partition");
        fault_items.extend(spans(&t.loss, "", "message loss"));
        let faults = section(&axis, recoveries.bottom(), FAULT_ROW_H, &fault_items, false);
        let lanes_top = faults.bottom() + 2.0;
        let (mark_rows, rows_per_lane) = mark_rows(t, &axis);
        let mut lane_tops = vec![lanes_top];
        for rows in rows_per_lane {
            let h = BAR_TOP + BAR_H + 4.0 + rows.max(1) as f64 * MARK_ROW_H + LANE_PAD_BOTTOM;
            lane_tops.push(lane_tops.last().copied().unwrap_or(lanes_top) + h);
        }
        // Keep some plot even with no lanes so the axis still reads as one.
        let lanes_bottom = lane_tops
            .last()
            .copied()
            .unwrap_or(lanes_top)
            .max(lanes_top + 60.0);
        let progress = chart::place_progress(t, &axis, lanes_bottom + 6.0);
        let plot_bottom = progress.as_ref().map_or(lanes_bottom, |p| p.bottom) + 2.0;

        let drawable: Vec<usize> = (0..t.messages.len())
            .filter(|&i| {
                let m = &t.messages[i];
                m.from_lane < n_lanes && m.to_lane < n_lanes && m.sent_ms.is_finite()
            })
            .collect();
        let arrows = choose_arrows(&t.messages, &drawable, MAX_ARROWS);
        let labels = label_infos(t, &drawable);
        let total = messages_total(t);
        let traffic = traffic_strips(t, &axis, &lane_tops);
        let lane_top = |i: usize| lane_tops[i.min(lane_tops.len() - 1)];
        let op_counts = chart::place_op_counts(t, &axis, lane_top);
        let role_labels = place_role_names(t, &axis, lane_top, &op_counts);
        let sample_note = (total > arrows.len() as u64).then(|| {
            let strip = if traffic.is_empty() {
                ""
            } else {
                "; the grey strip over a lane counts all it sent"
            };
            format!(
                "showing {} of {} messages as arrows (election traffic first){strip}",
                thousands(arrows.len() as u64),
                thousands(total)
            )
        });

        let legend = Legend::layout(legend_groups(t, &labels), PLOT_X0, LABEL_MAX_X);
        let legend_top = plot_bottom + BOTTOM_AXIS_H + 6.0;
        let height = legend_top + legend.rows as f64 * super::legend::ROW_H + 14.0;
        Scene {
            axis,
            height,
            plot_bottom,
            terms,
            elections,
            recoveries,
            faults,
            lane_tops,
            lanes_bottom,
            progress,
            arrows,
            labels,
            mark_rows,
            legend,
            legend_top,
            sample_note,
            op_counts,
            role_labels,
            traffic,
        }
    }

    /// Top pixel of lane `i`.
    pub fn lane_top(&self, i: usize) -> f64 {
        self.lane_tops[i.min(self.lane_tops.len() - 1)]
    }

    /// Bottom pixel of lane `i`.
    pub fn lane_bottom(&self, i: usize) -> f64 {
        self.lane_top(i + 1)
    }

    /// Vertical centre of lane `i`'s bar, where arrows start and end.
    pub fn lane_mid(&self, i: usize) -> f64 {
        self.lane_top(i) + BAR_TOP + BAR_H / 2.0
    }

    /// Every label drawn in the plot, as a box, and the bars labels must keep off (with the
    /// owner of their own label). Two boxes of different owners never overlap: what would
    /// is left unlabelled and counted instead.
    pub fn label_boxes(&self, t: &Timeline) -> Vec<LabelBox> {
        let mut out = Vec::new();
        let mut owner = 0;
        let text_box = |owner, x0: f64, y: f64, w: f64| LabelBox {
            owner,
            text: true,
            x0,
            y0: y - 7.0,
            x1: x0 + w,
            y1: y + 7.0,
        };
        for (sec, brackets) in [
            (&self.elections, true),
            (&self.recoveries, true),
            (&self.faults, false),
        ] {
            for p in sec.items.iter().flatten() {
                owner += 1;
                let y = sec.row_mid(p.row);
                if brackets {
                    out.push(LabelBox {
                        owner,
                        text: false,
                        x0: p.x0,
                        y0: y - 6.0,
                        x1: p.x1,
                        y1: y + 6.0,
                    });
                }
                if !p.text.is_empty() {
                    let w = text_width(&p.text, ANNOT_FONT);
                    out.push(text_box(owner, p.text_x, y, w));
                }
            }
        }
        if let Some(band) = &self.terms {
            owner += 1;
            band.label_boxes(owner, &mut out);
            owner += band.items.len();
        }
        for (m, slot) in t.marks.iter().zip(&self.mark_rows) {
            let Some(slot) = slot.filter(|s| s.labelled) else {
                continue;
            };
            owner += 1;
            let bar_bottom = self.lane_top(m.lane) + BAR_TOP + BAR_H;
            let y = bar_bottom + 4.0 + (slot.row as f64 + 0.5) * MARK_ROW_H;
            let x0 = slot.label_x - slot.label_w / 2.0 - 2.0;
            out.push(text_box(owner, x0, y, slot.label_w + 4.0));
        }
        for &(i, x, y) in &self.role_labels {
            owner += 1;
            out.push(text_box(
                owner,
                x,
                y,
                text_width(&t.roles[i].role, ROLE_FONT),
            ));
        }
        for c in &self.op_counts {
            owner += 1;
            let (x0, y0, x1, y1) = c.bounds;
            out.push(LabelBox {
                owner,
                text: true,
                x0,
                y0,
                x1,
                y1,
            });
        }
        out
    }
}

fn label_infos(t: &Timeline, drawable: &[usize]) -> BTreeMap<String, LabelInfo> {
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    let mut elections: BTreeSet<&str> = BTreeSet::new();
    for &i in drawable {
        let m = &t.messages[i];
        *counts.entry(m.label.as_str()).or_default() += 1;
        if m.election {
            elections.insert(m.label.as_str());
        }
    }
    // The whole run's counts, where the arrows are a sample of it.
    for (label, n) in &t.label_counts {
        counts.insert(label.as_str(), *n);
    }
    let names: Vec<&str> = counts.keys().copied().collect();
    let colours = palette::label_colours(&names);
    counts
        .into_iter()
        .zip(colours)
        .map(|((label, count), colour)| {
            let info = LabelInfo {
                colour,
                count,
                election: elections.contains(label),
            };
            (label.to_string(), info)
        })
        .collect()
}

/// Font size of role names in their bars.
pub const ROLE_FONT: f64 = 11.0;

/// Role names go inside bars wide enough for them, clear of the mark that usually sits where
/// a role begins and of the operation counts.
fn place_role_names(
    t: &Timeline,
    axis: &TimeAxis,
    lane_top: impl Fn(usize) -> f64,
    op_counts: &[chart::OpCount],
) -> Vec<(usize, f64, f64)> {
    let mut placed = Vec::new();
    for (i, r) in t.roles.iter().enumerate() {
        if r.lane >= t.lanes.len() {
            continue;
        }
        let Some((x0, x1)) = axis.span(r.from_ms, r.to_ms) else {
            continue;
        };
        let w = text_width(&r.role, ROLE_FONT);
        if x1 - x0 < w + 20.0 {
            continue;
        }
        let (x, y) = (x0 + 12.0, lane_top(r.lane) + BAR_TOP + 8.0);
        let clear = op_counts.iter().all(|c| {
            let (l, top, right, bottom) = c.bounds;
            y < top || y > bottom || x + w < l || x > right
        });
        if clear {
            placed.push((i, x, y));
        }
    }
    placed
}

/// Height of a lane's traffic strip, in the room above its bar.
pub const TRAFFIC_H: f64 = 9.0;
/// Width of one column of a traffic strip.
const TRAFFIC_COLUMN_PX: f64 = 6.0;

/// Each lane's traffic strip: messages per column of pixels, as a height relative to the
/// busiest column of any lane, so that lanes compare. Corners only where the height
/// changes, so a quiet lane is a short outline.
fn traffic_strips(t: &Timeline, axis: &TimeAxis, lane_tops: &[f64]) -> Vec<Vec<(f64, f64)>> {
    let Some(traffic) = &t.traffic else {
        return Vec::new();
    };
    if !(traffic.bucket_ms.is_finite() && traffic.bucket_ms > 0.0) {
        return Vec::new();
    }
    let n_cols = ((axis.x1 - axis.x0) / TRAFFIC_COLUMN_PX).ceil().max(1.0) as usize;
    let col_ms = axis.end_ms / n_cols as f64;
    let columns: Vec<Vec<u64>> = traffic
        .sent
        .iter()
        .take(t.lanes.len())
        .map(|buckets| {
            let mut cols = vec![0u64; n_cols];
            for (i, &n) in buckets.iter().enumerate() {
                let col = (i as f64 * traffic.bucket_ms / col_ms) as usize;
                if let Some(c) = cols.get_mut(col) {
                    *c = c.saturating_add(n);
                }
            }
            cols
        })
        .collect();
    let max = columns.iter().flatten().copied().max().unwrap_or(0);
    if max == 0 {
        return Vec::new();
    }
    columns
        .iter()
        .enumerate()
        .map(|(lane, cols)| {
            let base = lane_tops[lane] + BAR_TOP - 2.0;
            let mut pts = vec![(axis.x0, base)];
            let mut last_y = base;
            for (i, &n) in cols.iter().enumerate() {
                let y = (base - n as f64 / max as f64 * TRAFFIC_H).round();
                if y != last_y {
                    let x = axis.x0 + i as f64 * TRAFFIC_COLUMN_PX;
                    pts.push((x, last_y));
                    pts.push((x, y));
                    last_y = y;
                }
            }
            pts.push((axis.x1, last_y));
            pts.push((axis.x1, base));
            pts
        })
        .collect()
}

/// Centre x of a mark label of width `w` for a mark at `x`: under it, unless that would
/// run past the picture's edges.
fn mark_label_x(x: f64, w: f64) -> f64 {
    x.min(LABEL_MAX_X - w / 2.0).max(PLOT_X0 + w / 2.0)
}

/// Packs each lane's mark labels into the rows under its bar; returns each
/// mark's row and the number of rows each lane needs.
fn mark_rows(t: &Timeline, axis: &TimeAxis) -> (Vec<Option<MarkSlot>>, Vec<usize>) {
    let mut rows = vec![None; t.marks.len()];
    let mut per_lane = Vec::with_capacity(t.lanes.len());
    for lane in 0..t.lanes.len() {
        let idx: Vec<usize> = (0..t.marks.len())
            .filter(|&i| t.marks[i].lane == lane)
            .collect();
        let labels: Vec<(f64, f64)> = idx
            .iter()
            .map(|&i| {
                let m = &t.marks[i];
                let w = text_width(&mark_text(m.kind, &m.text), MARK_FONT);
                (mark_label_x(axis.x(m.at_ms), w), w)
            })
            .collect();
        // Packed where the labels are drawn (pushed in from the edges), and never narrower
        // than the symbol, so symbols don't share a row with a label that would collide
        // with them.
        let extents: Vec<(f64, f64)> = idx
            .iter()
            .zip(&labels)
            .map(|(&i, &(cx, w))| {
                let x = axis.x(t.marks[i].at_ms);
                ((cx - w / 2.0).min(x - 8.0), (cx + w / 2.0).max(x + 8.0))
            })
            .collect();
        let packed = pack_rows(&extents, 8.0, MAX_MARK_ROWS);
        per_lane.push(if extents.is_empty() { 0 } else { packed.used });
        for (((i, row), crowded), (label_x, label_w)) in idx
            .into_iter()
            .zip(packed.rows)
            .zip(packed.crowded)
            .zip(labels)
        {
            rows[i] = Some(MarkSlot {
                row,
                labelled: !crowded,
                label_x,
                label_w,
            });
        }
    }
    (rows, per_lane)
}

fn legend_groups(t: &Timeline, labels: &BTreeMap<String, LabelInfo>) -> Vec<Group> {
    // One swatch per tone the run shows, named by the roles that had it ("leader, primary").
    let mut by_tone: BTreeMap<Option<Tone>, BTreeSet<&str>> = BTreeMap::new();
    for r in &t.roles {
        by_tone.entry(r.tone).or_default().insert(r.role.as_str());
    }
    let mut roles: Vec<(Swatch, String)> = by_tone
        .into_iter()
        .map(|(tone, names)| {
            let names: Vec<&str> = names.into_iter().collect();
            (Swatch::Fill(palette::role_colour(tone)), names.join(", "))
        })
        .collect();
    roles.push((Swatch::Fill(palette::NO_ROLE), "role unknown".to_string()));
    roles.push((Swatch::Down, "down (crashed)".to_string()));

    let marks = vec![
        (Swatch::Mark(MarkKind::Crash), "crash".to_string()),
        (Swatch::Mark(MarkKind::Restart), "restart".to_string()),
        (
            Swatch::Mark(MarkKind::ElectionStarted),
            "starts election".to_string(),
        ),
        (
            Swatch::Mark(MarkKind::Elected),
            "elected leader".to_string(),
        ),
        (Swatch::Mark(MarkKind::Note), "note".to_string()),
    ];
    let periods = vec![
        (
            Swatch::Bracket(palette::ELECTION_FILL, palette::ELECTION),
            "election".to_string(),
        ),
        (
            Swatch::Bracket(palette::RECOVERY_FILL, palette::RECOVERY),
            "recovery".to_string(),
        ),
        (Swatch::Band(palette::PARTITION), "partition".to_string()),
        (Swatch::Band(palette::LOSS), "message loss".to_string()),
    ];

    // Election traffic first: it is what the reader came for.
    let mut ordered: Vec<(&String, &LabelInfo)> = labels.iter().collect();
    ordered.sort_by_key(|(_, info)| !info.election);
    let mut messages: Vec<(Swatch, String)> = ordered
        .iter()
        .take(MAX_LEGEND_LABELS)
        .map(|(label, info)| {
            let name = if label.is_empty() {
                "(unlabelled)"
            } else {
                label.as_str()
            };
            (
                Swatch::Line(info.colour),
                format!("{name} ({})", thousands(info.count)),
            )
        })
        .collect();
    if ordered.len() > MAX_LEGEND_LABELS {
        let more = ordered.len() - MAX_LEGEND_LABELS;
        messages.push((
            Swatch::Line(palette::MUTED_INK),
            format!("+{more} more labels"),
        ));
    }
    if t.messages.iter().any(|m| m.dropped) {
        messages.push((Swatch::Dropped, "dropped".to_string()));
    }
    let counted = t.traffic.as_ref();
    if counted.is_some_and(|c| c.sent.iter().flatten().any(|&n| n > 0)) {
        messages.push((
            Swatch::Fill(palette::TRAFFIC),
            "all messages sent (strip over a lane)".to_string(),
        ));
    }

    let mut groups = vec![
        Group {
            title: "roles",
            entries: roles,
        },
        Group {
            title: "marks",
            entries: marks,
        },
        Group {
            title: "periods",
            entries: periods,
        },
        Group {
            title: "messages",
            entries: messages,
        },
    ];
    groups.extend(chart::legend_group(t));
    groups
}
