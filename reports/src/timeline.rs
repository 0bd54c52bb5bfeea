//! Renders a [`Timeline`] as an SVG swim-lane picture: one lane per node
//! coloured by role, crashes and restarts, fault bands, message arrows, and
//! annotation rows for elections and recoveries above the lanes; for a protocol with terms,
//! progress and clients (Raft), a term band, a progress line and client operations too.
//!
//! Text goes out as SVG `<text>` elements and is never measured (plotters
//! without its `ttf` feature only estimates sizes), so no font file is needed
//! when rendering; the viewer's sans-serif font draws it.
//!
//! Output is a pure function of the input: no hash maps are iterated and
//! nothing reads the clock, so the same timeline gives the same bytes.

mod chart;
mod client_layer;
mod layout;
mod legend;
mod paint;
mod palette;
mod sample;
mod scene;
mod svg_writer;
#[cfg(test)]
mod tidy;
mod violation;
mod work_layer;

#[cfg(test)]
mod tests;

use plotters::prelude::*;

pub use crate::model::{
    Arrow, Interval, LaneSpan, Mark, MarkKind, OpMark, OpOutcome, Progress, RoleSpan, Span,
    TermSpan, Timeline, Traffic,
};
pub use layout::LabelBox;
use paint::{Area, ArrowLook, DrawResult, TextPlace};
use scene::{Scene, Section, BAR_H, BAR_TOP, MARK_FONT, MARK_ROW_H, PLOT_X0, PLOT_X1, WIDTH};

/// Renders `t` as a standalone SVG document.
pub fn render_timeline(t: &Timeline) -> String {
    let scene = Scene::new(t);
    let mut svg = String::with_capacity(SVG_BYTES_GUESS);
    {
        let size = (WIDTH as u32, scene.height.ceil() as u32);
        let root = svg_writer::SvgWriter::with_string(&mut svg, size).into_drawing_area();
        // Writing into a String cannot fail, and should anything else go
        // wrong a partial picture is more useful than a panic in a report.
        let _ = draw(&root, t, &scene);
        let _ = root.present();
    }
    // Layers written as SVG text over the plotters picture.
    if let Some(close) = svg.rfind("</svg>") {
        let layers = work_layer::draw(t, &scene) + &client_layer::draw(t, &scene);
        svg.insert_str(close, &layers);
    }
    violation::add(svg, t, &scene, scene.height.ceil())
}

/// About the size of a long run's picture: room for it from the start.
const SVG_BYTES_GUESS: usize = 192 * 1024;

/// Two labels of `t`'s picture that would overlap, if any: none should. Tests (and anyone
/// doubting a picture) call it; drawing does not.
pub fn overlapping_labels(t: &Timeline) -> Option<(LabelBox, LabelBox)> {
    let boxes = Scene::new(t).label_boxes(t);
    layout::first_overlap(&boxes).map(|(a, b)| (boxes[a], boxes[b]))
}

fn draw(root: &Area, t: &Timeline, s: &Scene) -> DrawResult {
    root.fill(&WHITE)?;
    draw_lane_backgrounds(root, t, s)?;
    draw_axis(root, s)?;
    draw_fault_bands(root, t, s)?;
    draw_lanes(root, t, s)?;
    draw_traffic(root, s)?;
    chart::draw_progress(root, s)?;
    draw_arrows(root, t, s)?;
    chart::draw_ops(root, t, s)?;
    draw_role_names(root, t, s)?;
    draw_marks(root, t, s)?;
    draw_annotations(root, t, s)?;
    chart::draw_terms(root, s)?;
    draw_header(root, t, s)?;
    s.legend.draw(root, s.legend_top, PLOT_X0 - 12.0)
}

/// Zebra stripes under everything, so the eye can follow a lane across.
fn draw_lane_backgrounds(root: &Area, t: &Timeline, s: &Scene) -> DrawResult {
    for i in (1..t.lanes.len()).step_by(2) {
        let (top, bottom) = (s.lane_top(i), s.lane_bottom(i));
        paint::rect(
            root,
            (8.0, top),
            (PLOT_X1, bottom),
            lane_background(i).filled(),
        )?;
    }
    Ok(())
}

/// Background of lane `i`: white or the zebra stripe.
fn lane_background(i: usize) -> RGBColor {
    if i % 2 == 1 {
        RGBColor(247, 248, 250)
    } else {
        WHITE
    }
}

/// A time in seconds for a label: no float noise like 0.30000000000000004,
/// and scientific notation where fixed decimals would be unreadably long or
/// all zeros (absurd run lengths from garbage input).
fn seconds(v: f64) -> String {
    if v != 0.0 && !(1e-3..1e6).contains(&v.abs()) {
        return format!("{v:.2e}");
    }
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Time-axis label formatter.
fn seconds_label(v: &f64) -> String {
    format!("{} s", seconds(*v))
}

/// The time axis and gridlines, via a plotters chart whose plotting area is
/// exactly the scene's plot rectangle.
fn draw_axis(root: &Area, s: &Scene) -> DrawResult {
    let bottom_margin = s.height - s.plot_bottom - scene::BOTTOM_AXIS_H;
    let area = root.margin(
        scene::HEADER_H as i32,
        bottom_margin.max(0.0) as i32,
        PLOT_X0 as i32,
        (WIDTH - PLOT_X1) as i32,
    );
    let mut chart = ChartBuilder::on(&area)
        .top_x_label_area_size(scene::TOP_AXIS_H as i32)
        .x_label_area_size(scene::BOTTOM_AXIS_H as i32)
        .build_cartesian_2d(0.0..s.axis.end_ms / 1000.0, 0.0..1.0)?;
    let label_font = FontDesc::new(FontFamily::SansSerif, 12.0 * 1.24, FontStyle::Normal)
        .color(&palette::MUTED_INK);
    chart
        .configure_mesh()
        .disable_y_mesh()
        .disable_y_axis()
        .x_labels(20)
        .x_label_formatter(&seconds_label)
        .x_max_light_lines(4)
        .bold_line_style(palette::GRID)
        .light_line_style(palette::GRID_LIGHT)
        .axis_style(palette::MUTED_INK)
        .label_style(label_font)
        .draw()?;
    // Written by hand: plotters would repeat an axis description on the top axis too.
    let at = ((PLOT_X0 + PLOT_X1) / 2.0, s.plot_bottom + 36.0);
    paint::text(
        root,
        "simulated time",
        at,
        12.0,
        &palette::INK,
        TextPlace::CENTRE,
    )
}

/// Translucent bands over all lanes for partitions, loss and elections.
fn draw_fault_bands(root: &Area, t: &Timeline, s: &Scene) -> DrawResult {
    let n_partitions = t.partitions.len();
    for (i, item) in s.faults.items.iter().enumerate() {
        let Some(p) = item else { continue };
        let colour = if i < n_partitions {
            palette::PARTITION
        } else {
            palette::LOSS
        };
        let alpha = if i < n_partitions { 0.10 } else { 0.18 };
        let top = s.faults.top + p.row as f64 * s.faults.row_h;
        paint::rect(
            root,
            (p.x0, top),
            (p.x1, s.lanes_bottom),
            colour.mix(alpha).filled(),
        )?;
        // Edges make the exact start and end readable against the arrows.
        for x in [p.x0, p.x1] {
            paint::line(
                root,
                (x, top),
                (x, s.lanes_bottom),
                colour.mix(0.45).stroke_width(1),
            )?;
        }
    }
    // A faint wash marks the election period on the lanes themselves.
    for p in s.elections.items.iter().flatten() {
        let top = s.elections.row_mid(p.row);
        paint::rect(
            root,
            (p.x0, top),
            (p.x1, s.lanes_bottom),
            palette::ELECTION.mix(0.07).filled(),
        )?;
    }
    Ok(())
}

/// Lane names and bars: role colours, then crashed periods on top.
fn draw_lanes(root: &Area, t: &Timeline, s: &Scene) -> DrawResult {
    for (i, name) in t.lanes.iter().enumerate() {
        let top = s.lane_top(i) + BAR_TOP;
        let name = paint::fit(name, 14.0, PLOT_X0 - 24.0);
        paint::text(
            root,
            &name,
            (PLOT_X0 - 12.0, s.lane_mid(i)),
            14.0,
            &palette::INK,
            TextPlace::RIGHT.bold(),
        )?;
        paint::rect(
            root,
            (s.axis.x0, top),
            (s.axis.x1, top + BAR_H),
            palette::NO_ROLE.filled(),
        )?;
    }
    for r in t.roles.iter().filter(|r| r.lane < t.lanes.len()) {
        let Some((x0, x1)) = s.axis.span(r.from_ms, r.to_ms) else {
            continue;
        };
        let top = s.lane_top(r.lane) + BAR_TOP;
        paint::rect(
            root,
            (x0, top),
            (x1, top + BAR_H),
            palette::role_colour(r.tone).filled(),
        )?;
    }
    for d in t.down.iter().filter(|d| d.lane < t.lanes.len()) {
        let Some((x0, x1)) = s.axis.span(d.from_ms, d.to_ms) else {
            continue;
        };
        let (top, bottom) = (
            s.lane_top(d.lane) + BAR_TOP,
            s.lane_top(d.lane) + BAR_TOP + BAR_H,
        );
        paint::rect(root, (x0, top), (x1, bottom), palette::DOWN.filled())?;
        paint::hatch(root, (x0, top), (x1, bottom), 7.0, &palette::DOWN_HATCH)?;
        if x1 - x0 >= 44.0 {
            let mid = ((x0 + x1) / 2.0, (top + bottom) / 2.0);
            paint::rect(
                root,
                (mid.0 - 19.0, mid.1 - 8.0),
                (mid.0 + 19.0, mid.1 + 8.0),
                palette::DOWN.filled(),
            )?;
            paint::text(root, "down", mid, 12.0, &WHITE, TextPlace::CENTRE.bold())?;
        }
    }
    Ok(())
}

/// Each lane's traffic strip over its bar: all the messages it sent, drawn or not.
fn draw_traffic(root: &Area, s: &Scene) -> DrawResult {
    for outline in s.traffic.iter().filter(|o| o.len() > 3) {
        paint::polygon(root, outline, palette::TRAFFIC.filled())?;
    }
    Ok(())
}

/// Role names written inside bars wide enough for them, after the arrows so
/// the traffic does not hide them.
fn draw_role_names(root: &Area, t: &Timeline, s: &Scene) -> DrawResult {
    for &(i, x, y) in &s.role_labels {
        paint::text(
            root,
            &t.roles[i].role,
            (x, y),
            scene::ROLE_FONT,
            &RGBColor(70, 70, 70),
            TextPlace::LEFT,
        )?;
    }
    Ok(())
}

/// Message arrows: routine traffic faint underneath, election traffic strong on top.
/// Routine arrows are drawn one by one, since where faint ones cross they darken; election
/// arrows label by label, all shafts then all heads, which the SVG writes as a few elements.
fn draw_arrows(root: &Area, t: &Timeline, s: &Scene) -> DrawResult {
    let ends = |m: &Arrow| {
        let recv = if m.recv_ms.is_finite() {
            m.recv_ms.max(m.sent_ms)
        } else {
            m.sent_ms
        };
        (
            (s.axis.x(m.sent_ms), s.lane_mid(m.from_lane)),
            (s.axis.x(recv), s.lane_mid(m.to_lane)),
        )
    };
    let routine = |info: &scene::LabelInfo| ArrowLook {
        colour: info.colour,
        alpha: 0.3,
        head: 4.0,
        width: 1,
    };
    for &i in &s.arrows {
        let m = &t.messages[i];
        let Some(info) = s.labels.get(&m.label).filter(|info| !info.election) else {
            continue;
        };
        let (a, b) = ends(m);
        paint::arrow(root, a, b, routine(info), m.dropped)?;
    }
    for (label, info) in s.labels.iter().filter(|(_, info)| info.election) {
        let look = ArrowLook {
            colour: info.colour,
            alpha: 0.95,
            head: 8.0,
            width: 2,
        };
        let of_label = || {
            s.arrows
                .iter()
                .map(|&i| &t.messages[i])
                .filter(|m| m.label == *label)
        };
        for dropped in [false, true] {
            for m in of_label().filter(|m| m.dropped == dropped) {
                let (a, b) = ends(m);
                paint::arrow_shaft(root, a, b, look, dropped)?;
            }
            for m in of_label().filter(|m| m.dropped == dropped) {
                let (a, b) = ends(m);
                paint::arrow_head(root, a, b, look, dropped)?;
            }
        }
    }
    Ok(())
}

/// Mark symbols on the bars and their labels under the bars.
fn draw_marks(root: &Area, t: &Timeline, s: &Scene) -> DrawResult {
    for (m, row) in t.marks.iter().zip(&s.mark_rows) {
        let Some(slot) = *row else { continue };
        let x = s.axis.x(m.at_ms);
        let (bar_top, bar_bottom) = (
            s.lane_top(m.lane) + BAR_TOP,
            s.lane_top(m.lane) + BAR_TOP + BAR_H,
        );
        let colour = match m.kind {
            MarkKind::Crash => palette::CRASH,
            MarkKind::Restart => palette::RESTART,
            MarkKind::ElectionStarted => palette::ELECTION,
            MarkKind::Elected => palette::ELECTED,
            MarkKind::Note => palette::INK,
        };
        // Crashes and restarts change the node itself: a tick across the bar
        // makes the exact moment visible at a glance.
        if matches!(m.kind, MarkKind::Crash | MarkKind::Restart) {
            paint::line(
                root,
                (x, bar_top - 5.0),
                (x, bar_bottom + 3.0),
                colour.stroke_width(2),
            )?;
        }
        paint::mark_symbol(root, m.kind, (x, (bar_top + bar_bottom) / 2.0))?;
        if !slot.labelled {
            continue;
        }
        let label = scene::mark_text(m.kind, &m.text);
        let (cx, w) = (slot.label_x, slot.label_w);
        let y = bar_bottom + 4.0 + (slot.row as f64 + 0.5) * MARK_ROW_H;
        // Arrows and drop crosses pass under labels; a veil keeps them legible.
        let veil = lane_background(m.lane).mix(0.85).filled();
        paint::rect(
            root,
            (cx - w / 2.0 - 2.0, y - 7.0),
            (cx + w / 2.0 + 2.0, y + 7.0),
            veil,
        )?;
        paint::text(root, &label, (cx, y), MARK_FONT, &colour, TextPlace::CENTRE)?;
    }
    Ok(())
}

/// Brackets and labels of one annotation section.
fn draw_section(root: &Area, sec: &Section, fill: Option<RGBColor>, ink: RGBColor) -> DrawResult {
    for p in sec.items.iter().flatten() {
        let y = sec.row_mid(p.row);
        if let Some(fill) = fill {
            paint::rect(root, (p.x0, y - 6.0), (p.x1, y + 6.0), fill.filled())?;
            paint::rect(root, (p.x0, y - 6.0), (p.x1, y + 6.0), ink.stroke_width(1))?;
        }
        paint::text(
            root,
            &p.text,
            (p.text_x, y),
            scene::ANNOT_FONT,
            &ink,
            TextPlace::LEFT,
        )?;
    }
    Ok(())
}

/// The annotation rows: elections, recoveries, fault labels, with headings in
/// the names column and a dotted line from each election to its winner.
fn draw_annotations(root: &Area, t: &Timeline, s: &Scene) -> DrawResult {
    for (i, item) in s.elections.items.iter().enumerate() {
        let (Some(p), Some(lane)) = (item, t.elections[i].lane) else {
            continue;
        };
        // Unlabelled elections (no room) get no line: the picture stays bounded.
        if p.text.is_empty() {
            continue;
        }
        if lane >= t.lanes.len() {
            continue;
        }
        let from = (p.x1, s.elections.row_mid(p.row) + 6.0);
        let to = (p.x1, s.lane_top(lane) + BAR_TOP);
        paint::dashed(
            root,
            from,
            to,
            2,
            3,
            palette::ELECTION.mix(0.8).stroke_width(1),
        )?;
    }
    draw_section(
        root,
        &s.elections,
        Some(palette::ELECTION_FILL),
        palette::ELECTION,
    )?;
    draw_section(
        root,
        &s.recoveries,
        Some(palette::RECOVERY_FILL),
        palette::RECOVERY,
    )?;
    let n_partitions = t.partitions.len();
    for (i, p) in s.faults.items.iter().enumerate() {
        let Some(p) = p else { continue };
        let ink = if i < n_partitions {
            palette::PARTITION
        } else {
            RGBColor(150, 110, 0)
        };
        let y = s.faults.row_mid(p.row);
        paint::text(
            root,
            &p.text,
            (p.text_x, y),
            scene::ANNOT_FONT,
            &ink,
            TextPlace::LEFT.bold(),
        )?;
    }
    for (title, sec) in [
        ("elections", &s.elections),
        ("recoveries", &s.recoveries),
        ("faults", &s.faults),
    ] {
        if sec.rows > 0 {
            let at = (PLOT_X0 - 12.0, sec.row_mid(0));
            paint::text(root, title, at, 12.0, &palette::MUTED_INK, TextPlace::RIGHT)?;
        }
        if sec.overflow > 0 && sec.rows > 1 {
            let at = (PLOT_X0 - 12.0, sec.row_mid(sec.rows - 1));
            let more = format!("+{} unlabelled", scene::thousands(sec.overflow as u64));
            paint::text(root, &more, at, 11.0, &palette::MUTED_INK, TextPlace::RIGHT)?;
        }
    }
    Ok(())
}

/// Title and the one-line summary under it.
fn draw_header(root: &Area, t: &Timeline, s: &Scene) -> DrawResult {
    let title = paint::fit(&t.title, 20.0, WIDTH - 32.0);
    paint::text(
        root,
        &title,
        (16.0, 22.0),
        20.0,
        &palette::INK,
        TextPlace::LEFT.bold(),
    )?;
    let total = scene::messages_total(t);
    let mut summary = format!(
        "{} s run · {} lanes · {} messages",
        seconds(s.axis.end_ms / 1000.0),
        t.lanes.len(),
        scene::thousands(total),
    );
    if let Some(note) = &s.sample_note {
        summary.push_str(" · ");
        summary.push_str(note);
    }
    if t.lanes.is_empty() {
        summary.push_str(" · no lanes to draw");
    }
    let summary = paint::fit(&summary, 13.0, WIDTH - 32.0);
    paint::text(
        root,
        &summary,
        (16.0, 46.0),
        13.0,
        &palette::MUTED_INK,
        TextPlace::LEFT,
    )
}
