//! Geometry without drawing: time-to-pixel mapping, clamping of untrusted
//! times, text width estimates and row packing for labels.
//!
//! The SVG backend never measures text (the viewer's font decides the real
//! width), so widths here are estimates, deliberately on the generous side so
//! that packed labels keep a gap even in a wide font.

/// Average advance of one character as a fraction of the font size; a bit
/// wider than DejaVu Sans' average so estimates err towards more room.
const CHAR_WIDTH_EM: f64 = 0.6;

/// Estimated rendered width in pixels of `text` at `size_px`.
pub fn text_width(text: &str, size_px: f64) -> f64 {
    text.chars().count() as f64 * size_px * CHAR_WIDTH_EM
}

/// Maps simulated time onto the horizontal pixel range of the plot.
#[derive(Debug, Clone, Copy)]
pub struct TimeAxis {
    /// Run length in ms; always finite and positive.
    pub end_ms: f64,
    /// Pixel x of time 0.
    pub x0: f64,
    /// Pixel x of `end_ms`.
    pub x1: f64,
}

impl TimeAxis {
    /// Clamps a possibly garbage time into 0..=end_ms; NaN counts as 0.
    pub fn clamp_ms(&self, ms: f64) -> f64 {
        if ms.is_nan() {
            0.0
        } else {
            ms.clamp(0.0, self.end_ms)
        }
    }

    /// Pixel x of a time, clamped to the plot.
    pub fn x(&self, ms: f64) -> f64 {
        self.x0 + self.clamp_ms(ms) / self.end_ms * (self.x1 - self.x0)
    }

    /// Clamped pixel extent of a period; `None` if it is empty or wholly
    /// outside the run, so callers skip it instead of drawing a sliver.
    pub fn span(&self, from_ms: f64, to_ms: f64) -> Option<(f64, f64)> {
        let (a, b) = (self.clamp_ms(from_ms), self.clamp_ms(to_ms));
        if b.is_nan() || a.is_nan() || b <= a || to_ms.is_nan() {
            return None;
        }
        Some((self.x(a), self.x(b)))
    }
}

/// Picks a run length that keeps every drawing finite: the given one if it is
/// usable, else the latest finite time found in the data, else one second.
pub fn usable_end_ms(end_ms: f64, times: impl Iterator<Item = f64>) -> f64 {
    if end_ms.is_finite() && end_ms > 0.0 {
        return end_ms;
    }
    let latest = times
        .filter(|t| t.is_finite())
        .fold(0.0_f64, |acc, t| acc.max(t));
    if latest > 0.0 {
        latest
    } else {
        1000.0
    }
}

/// The outcome of [`pack_rows`].
pub struct Packed {
    /// Row of each extent, in input order.
    pub rows: Vec<usize>,
    /// Per extent: true if no row had room, so it overlaps a neighbour and
    /// its label should be left out rather than drawn over another.
    pub crowded: Vec<bool>,
    /// Number of rows used.
    pub used: usize,
}

/// Assigns each horizontal extent `(left, right)` a row so that extents in the
/// same row keep `gap` pixels apart. Greedy in order of left edge, which is
/// optimal for interval colouring when rows are unlimited; past `max_rows`
/// an extent goes to the row that frees up first and is marked crowded,
/// rather than the picture growing without bound.
pub fn pack_rows(extents: &[(f64, f64)], gap: f64, max_rows: usize) -> Packed {
    let max_rows = max_rows.max(1);
    let mut order: Vec<usize> = (0..extents.len()).collect();
    // Stable sort with a total order keeps equal inputs in input order, so the
    // result is deterministic even with ties.
    order.sort_by(|&a, &b| extents[a].0.total_cmp(&extents[b].0));
    let mut row_end: Vec<f64> = Vec::new();
    let mut rows = vec![0; extents.len()];
    let mut crowded = vec![false; extents.len()];
    for i in order {
        let (left, right) = extents[i];
        let row = match row_end.iter().position(|&end| end + gap <= left) {
            Some(r) => r,
            None if row_end.len() < max_rows => {
                row_end.push(f64::NEG_INFINITY);
                row_end.len() - 1
            }
            None => {
                crowded[i] = true;
                let mut best = 0;
                for (r, end) in row_end.iter().enumerate() {
                    if *end < row_end[best] {
                        best = r;
                    }
                }
                best
            }
        };
        row_end[row] = row_end[row].max(right);
        rows[i] = row;
    }
    Packed {
        rows,
        crowded,
        used: row_end.len(),
    }
}

/// Where a label of width `w` goes beside the bar `(from, to)`: centred inside
/// when it fits, else right of the bar, else left of it, always within
/// `(min_x, max_x)`. Returns the label's left edge.
pub fn label_left(from: f64, to: f64, w: f64, min_x: f64, max_x: f64) -> f64 {
    const PAD: f64 = 5.0;
    let left = if w + 2.0 * PAD <= to - from {
        (from + to - w) / 2.0
    } else if to + PAD + w <= max_x {
        to + PAD
    } else {
        from - PAD - w
    };
    left.min(max_x - w).max(min_x)
}

/// Where a label is drawn: a box that no other label may enter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LabelBox {
    /// What it belongs to: a label may sit on its own bar, never on another's.
    pub owner: usize,
    /// True for text; false for a bar, which may overlap other bars but no text.
    pub text: bool,
    /// Left edge.
    pub x0: f64,
    /// Top edge.
    pub y0: f64,
    /// Right edge.
    pub x1: f64,
    /// Bottom edge.
    pub y1: f64,
}

impl LabelBox {
    /// Whether the two boxes share more than an edge.
    pub fn overlaps(&self, other: &LabelBox) -> bool {
        self.x0 < other.x1 && other.x0 < self.x1 && self.y0 < other.y1 && other.y0 < self.y1
    }
}

/// The first two boxes (indices, in order of left edge) of different owners that overlap,
/// one of them text.
pub fn first_overlap(boxes: &[LabelBox]) -> Option<(usize, usize)> {
    let mut order: Vec<usize> = (0..boxes.len()).collect();
    order.sort_by(|&a, &b| boxes[a].x0.total_cmp(&boxes[b].x0));
    for (k, &i) in order.iter().enumerate() {
        for &j in &order[k + 1..] {
            if boxes[j].x0 >= boxes[i].x1 {
                break;
            }
            let (a, b) = (&boxes[i], &boxes[j]);
            if a.owner != b.owner && (a.text || b.text) && a.overlaps(b) {
                return Some((i, j));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bx(owner: usize, x0: f64, y0: f64, x1: f64, y1: f64) -> LabelBox {
        LabelBox {
            owner,
            text: true,
            x0,
            y0,
            x1,
            y1,
        }
    }

    #[test]
    fn overlap_is_found_and_edges_do_not_count() {
        let apart = [bx(0, 0.0, 0.0, 10.0, 10.0), bx(1, 10.0, 0.0, 20.0, 10.0)];
        assert_eq!(first_overlap(&apart), None);
        let stacked = [bx(0, 0.0, 0.0, 10.0, 10.0), bx(1, 0.0, 10.0, 10.0, 20.0)];
        assert_eq!(first_overlap(&stacked), None);
        let crossing = [
            bx(0, 0.0, 0.0, 100.0, 10.0),
            bx(1, 200.0, 0.0, 300.0, 10.0),
            bx(2, 50.0, 5.0, 60.0, 15.0),
        ];
        assert_eq!(first_overlap(&crossing), Some((0, 2)));
        let own = [bx(3, 0.0, 0.0, 10.0, 10.0), bx(3, 5.0, 5.0, 15.0, 15.0)];
        assert_eq!(first_overlap(&own), None, "a label may sit on its own bar");
        let bars = [
            LabelBox {
                text: false,
                ..bx(4, 0.0, 0.0, 10.0, 10.0)
            },
            LabelBox {
                text: false,
                ..bx(5, 5.0, 5.0, 15.0, 15.0)
            },
        ];
        assert_eq!(first_overlap(&bars), None, "bars may overlap bars");
    }

    #[test]
    fn packing_separates_overlaps_and_reuses_rows() {
        let p = pack_rows(&[(0.0, 10.0), (5.0, 20.0), (30.0, 40.0)], 2.0, 4);
        assert_eq!(p.rows, vec![0, 1, 0]);
        assert_eq!(p.used, 2);
        assert!(p.crowded.iter().all(|c| !c));
    }

    #[test]
    fn packing_respects_row_limit() {
        let ext = vec![(0.0, 100.0); 5];
        let p = pack_rows(&ext, 2.0, 2);
        assert_eq!(p.used, 2);
        assert!(p.rows.iter().all(|&r| r < 2));
        assert_eq!(p.crowded, vec![false, false, true, true, true]);
    }

    #[test]
    fn axis_clamps_garbage() {
        let ax = TimeAxis {
            end_ms: 1000.0,
            x0: 10.0,
            x1: 110.0,
        };
        assert_eq!(ax.x(f64::NAN), 10.0);
        assert_eq!(ax.x(5000.0), 110.0);
        assert_eq!(ax.x(-3.0), 10.0);
        assert!(ax.span(500.0, 100.0).is_none());
        assert_eq!(ax.span(500.0, 9e9), Some((60.0, 110.0)));
    }
}
