//! Drawing primitives in pixel coordinates: text, symbols, arrows, hatching.
//!
//! Everything takes `f64` pixels and rounds once here, so callers can do
//! layout arithmetic without caring about plotters' integer coordinates.

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::palette;
use super::svg_writer::SvgWriter;
use crate::model::MarkKind;

/// The root drawing area; its coordinates are pixels.
pub type Area<'a> = DrawingArea<SvgWriter<'a>, Shift>;
/// What drawing into an SVG string can fail with.
pub type DrawResult = Result<(), DrawingAreaErrorKind<std::io::Error>>;

/// Plotters writes `font-size = size / 1.24`; this undoes that so layout can
/// think in the pixel size that ends up in the SVG.
const PLOTTERS_FONT_SCALE: f64 = 1.24;

fn px(x: f64, y: f64) -> (i32, i32) {
    (x.round() as i32, y.round() as i32)
}

/// How a text is placed relative to its anchor point.
#[derive(Clone, Copy)]
pub struct TextPlace {
    /// Horizontal anchor.
    pub h: HPos,
    /// Vertical anchor.
    pub v: VPos,
    /// Bold or normal.
    pub bold: bool,
}

impl TextPlace {
    /// Left-aligned, vertically centred: the usual label beside something.
    pub const LEFT: Self = Self {
        h: HPos::Left,
        v: VPos::Center,
        bold: false,
    };
    /// Centred on the point.
    pub const CENTRE: Self = Self {
        h: HPos::Center,
        v: VPos::Center,
        bold: false,
    };
    /// Right-aligned, vertically centred: names in the left column.
    pub const RIGHT: Self = Self {
        h: HPos::Right,
        v: VPos::Center,
        bold: false,
    };

    /// The same placement in bold.
    pub const fn bold(self) -> Self {
        Self { bold: true, ..self }
    }
}

/// Writes `s` at pixel `(x, y)` with a font of `size_px` pixels.
pub fn text(
    area: &Area,
    s: &str,
    (x, y): (f64, f64),
    size_px: f64,
    colour: &RGBColor,
    place: TextPlace,
) -> DrawResult {
    if s.is_empty() {
        return Ok(());
    }
    let weight = if place.bold {
        FontStyle::Bold
    } else {
        FontStyle::Normal
    };
    let style = FontDesc::new(FontFamily::SansSerif, size_px * PLOTTERS_FONT_SCALE, weight)
        .color(colour)
        .pos(Pos::new(place.h, place.v));
    area.draw(&Text::new(s, px(x, y), style))
}

/// Shortens `s` to about `max_px` wide, ending in "…" when cut, so long names
/// never spill into neighbouring columns.
pub fn fit(s: &str, size_px: f64, max_px: f64) -> String {
    let max_chars = (max_px / (size_px * 0.6)).floor().max(1.0) as usize;
    if s.chars().count() <= max_chars {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max_chars.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

/// A filled rectangle between two corners.
pub fn rect(
    area: &Area,
    (x0, y0): (f64, f64),
    (x1, y1): (f64, f64),
    style: ShapeStyle,
) -> DrawResult {
    area.draw(&Rectangle::new([px(x0, y0), px(x1, y1)], style))
}

/// A straight line.
pub fn line(area: &Area, a: (f64, f64), b: (f64, f64), style: ShapeStyle) -> DrawResult {
    area.draw(&PathElement::new(vec![px(a.0, a.1), px(b.0, b.1)], style))
}

/// A dashed straight line.
pub fn dashed(
    area: &Area,
    a: (f64, f64),
    b: (f64, f64),
    dash: u32,
    gap: u32,
    style: ShapeStyle,
) -> DrawResult {
    area.draw(&DashedPathElement::new(
        vec![px(a.0, a.1), px(b.0, b.1)],
        dash,
        gap,
        style,
    ))
}

/// A filled polygon.
pub fn polygon(area: &Area, pts: &[(f64, f64)], style: ShapeStyle) -> DrawResult {
    area.draw(&Polygon::new(
        pts.iter().map(|&(x, y)| px(x, y)).collect::<Vec<_>>(),
        style,
    ))
}

/// A "✕" drawn as two strokes, so it needs no glyph from any font.
pub fn cross(area: &Area, (x, y): (f64, f64), r: f64, colour: &RGBColor, width: u32) -> DrawResult {
    let style = colour.stroke_width(width);
    line(area, (x - r, y - r), (x + r, y + r), style)?;
    line(area, (x - r, y + r), (x + r, y - r), style)
}

/// Diagonal hatching inside a rectangle, for crashed periods. Lines run at
/// 45° and are clipped to the rectangle analytically (plotters has no clip).
pub fn hatch(
    area: &Area,
    (l, t): (f64, f64),
    (r, b): (f64, f64),
    spacing: f64,
    colour: &RGBColor,
) -> DrawResult {
    // Lines x + y = k, for k stepping over the rectangle's range of x + y.
    let mut k = l + t + spacing;
    while k < r + b {
        let lo = l.max(k - b);
        let hi = r.min(k - t);
        if lo < hi {
            line(area, (lo, k - lo), (hi, k - hi), colour.stroke_width(1))?;
        }
        k += spacing;
    }
    Ok(())
}

/// The symbol of a mark kind, centred on `(x, y)`; also used by the legend.
pub fn mark_symbol(area: &Area, kind: MarkKind, (x, y): (f64, f64)) -> DrawResult {
    let halo = WHITE.stroke_width(4);
    match kind {
        MarkKind::Crash => {
            // A white halo keeps the red cross visible on the dark "down" bar.
            line(area, (x - 6.0, y - 6.0), (x + 6.0, y + 6.0), halo)?;
            line(area, (x - 6.0, y + 6.0), (x + 6.0, y - 6.0), halo)?;
            cross(area, (x, y), 6.0, &palette::CRASH, 3)
        }
        MarkKind::Restart => {
            let tri = [(x, y - 8.0), (x - 7.0, y + 5.0), (x + 7.0, y + 5.0)];
            polygon(area, &tri, palette::RESTART.filled())?;
            area.draw(&PathElement::new(
                tri.iter()
                    .chain(&tri[..1])
                    .map(|&(a, b)| px(a, b))
                    .collect::<Vec<_>>(),
                WHITE.stroke_width(1),
            ))
        }
        MarkKind::ElectionStarted => {
            let d = [(x, y - 7.0), (x + 6.0, y), (x, y + 7.0), (x - 6.0, y)];
            polygon(area, &d, palette::ELECTION.filled())?;
            area.draw(&PathElement::new(
                d.iter()
                    .chain(&d[..1])
                    .map(|&(a, b)| px(a, b))
                    .collect::<Vec<_>>(),
                WHITE.stroke_width(1),
            ))
        }
        MarkKind::Elected => {
            area.draw(&Circle::new(px(x, y), 7, WHITE.filled()))?;
            area.draw(&Circle::new(px(x, y), 6, palette::ELECTED.filled()))?;
            area.draw(&Circle::new(px(x, y), 2, WHITE.filled()))
        }
        MarkKind::Note => {
            area.draw(&Circle::new(px(x, y), 5, WHITE.filled()))?;
            area.draw(&Circle::new(px(x, y), 4, palette::INK.filled()))
        }
    }
}

/// How one message arrow looks.
#[derive(Clone, Copy)]
pub struct ArrowLook {
    /// Line colour.
    pub colour: RGBColor,
    /// Opacity; routine traffic is faint so that it reads as texture.
    pub alpha: f64,
    /// Arrowhead length in pixels.
    pub head: f64,
    /// Line width in pixels.
    pub width: u32,
}

/// A message from `a` to `b`. A dropped one is dashed and stops halfway at a
/// red cross: where it would have landed is not something that happened.
pub fn arrow(
    area: &Area,
    a: (f64, f64),
    b: (f64, f64),
    look: ArrowLook,
    dropped: bool,
) -> DrawResult {
    arrow_shaft(area, a, b, look, dropped)?;
    arrow_head(area, a, b, look, dropped)
}

/// The line of [`arrow`]: dashed to halfway when dropped.
pub fn arrow_shaft(
    area: &Area,
    a: (f64, f64),
    b: (f64, f64),
    look: ArrowLook,
    dropped: bool,
) -> DrawResult {
    let style = look.colour.mix(look.alpha).stroke_width(look.width);
    if dropped {
        let mid = ((a.0 + b.0) / 2.0, (a.1 + b.1) / 2.0);
        return dashed(area, a, mid, 4, 3, style);
    }
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    if (dx * dx + dy * dy).sqrt() < 1.0 {
        return Ok(());
    }
    line(area, a, b, style)
}

/// The end of [`arrow`]: its head, a cross halfway when dropped, a dot for a message to self
/// with no delay. Drawn apart from the shaft so that many arrows can draw all their shafts,
/// then all their heads, which the SVG writes as two elements instead of two per arrow.
pub fn arrow_head(
    area: &Area,
    a: (f64, f64),
    b: (f64, f64),
    look: ArrowLook,
    dropped: bool,
) -> DrawResult {
    if dropped {
        let mid = ((a.0 + b.0) / 2.0, (a.1 + b.1) / 2.0);
        // Routine drops are many: smaller crosses keep them from dominating.
        let (r, w) = if look.width >= 2 { (4.0, 2) } else { (2.5, 1) };
        return cross(area, mid, r, &palette::PARTITION, w);
    }
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len = (dx * dx + dy * dy).sqrt();
    if len < 1.0 {
        // A message to self with no delay: a dot is all there is to see.
        return area.draw(&Circle::new(
            px(a.0, a.1),
            2,
            look.colour.mix(look.alpha).filled(),
        ));
    }
    let (ux, uy) = (dx / len, dy / len);
    let head = look.head.min(len);
    let base = (b.0 - ux * head, b.1 - uy * head);
    let half = head * 0.45;
    polygon(
        area,
        &[
            b,
            (base.0 - uy * half, base.1 + ux * half),
            (base.0 + uy * half, base.1 - ux * half),
        ],
        look.colour.mix(look.alpha).filled(),
    )
}
