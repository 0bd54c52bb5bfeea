//! The clients' traffic on their lanes: each operation as a stroke from its invocation to its
//! return (a chat sent until acknowledged, a request until its reply), coloured by outcome,
//! and each delivery of an operation's effect (a chat delivered) as a dot on the lane that saw
//! it. Written as SVG text over the picture, one element per pixel column at most.

use std::collections::BTreeSet;
use std::fmt::Write;

use super::scene::{Scene, BAR_H, BAR_TOP};
use crate::model::{OpOutcome, Timeline};
use crate::one_decimal::push_one_decimal;

/// Stroke colour of an operation that ended as `outcome` (the timeline's op colours).
pub fn outcome_colour(outcome: OpOutcome) -> &'static str {
    match outcome {
        OpOutcome::Ok => "#196928",
        OpOutcome::Fail => "#D62728",
        OpOutcome::Unknown => "#E68200",
    }
}

/// Colour of a delivery dot.
pub const SEEN_COLOUR: &str = "#1F5FA8";

/// The layer's SVG elements (empty when the run has no client traffic).
pub fn draw(t: &Timeline, s: &Scene) -> String {
    let n = t.lanes.len();
    let mut out = String::new();
    if n == 0 || (t.op_spans.is_empty() && t.seen.is_empty()) {
        return out;
    }
    // Strokes in the bar's upper quarter, dots in its lower quarter: the outcome ticks of the
    // chart layer stay readable between them.
    let mut drawn: BTreeSet<(usize, i64, i64)> = BTreeSet::new();
    for op in &t.op_spans {
        if op.lane >= n || !op.invoked_ms.is_finite() || !op.returned_ms.is_finite() {
            continue;
        }
        let (x0, x1) = (s.axis.x(op.invoked_ms), s.axis.x(op.returned_ms));
        if !drawn.insert((op.lane, x0.round() as i64, x1.round() as i64)) {
            continue;
        }
        let y = s.lane_top(op.lane) + BAR_TOP + BAR_H * 0.22;
        // `<line x1="{x0:.1}" y1="{y:.1}" x2="{x1:.1}" y2="{y:.1}" stroke="{colour}"
        // stroke-opacity="0.55" stroke-width="2"/>`, piece by piece: `writeln!` was most of
        // the cost of the layer.
        out.push_str(r#"<line x1=""#);
        push_one_decimal(&mut out, x0);
        out.push_str(r#"" y1=""#);
        push_one_decimal(&mut out, y);
        out.push_str(r#"" x2=""#);
        push_one_decimal(&mut out, x1.max(x0 + 1.0));
        out.push_str(r#"" y2=""#);
        push_one_decimal(&mut out, y);
        out.push_str(r#"" stroke=""#);
        out.push_str(outcome_colour(op.outcome));
        out.push_str("\" stroke-opacity=\"0.55\" stroke-width=\"2\"/>\n");
    }
    let mut dots: BTreeSet<(usize, i64)> = BTreeSet::new();
    let _ = write!(out, r#"<g fill="{SEEN_COLOUR}" fill-opacity="0.7">"#);
    for seen in &t.seen {
        if seen.lane >= n || !seen.at_ms.is_finite() {
            continue;
        }
        let x = s.axis.x(seen.at_ms);
        if !dots.insert((seen.lane, x.round() as i64)) {
            continue;
        }
        let y = s.lane_top(seen.lane) + BAR_TOP + BAR_H * 0.8;
        // `<circle cx="{x:.1}" cy="{y:.1}" r="1.6"/>`, piece by piece.
        out.push_str(r#"<circle cx=""#);
        push_one_decimal(&mut out, x);
        out.push_str(r#"" cy=""#);
        push_one_decimal(&mut out, y);
        out.push_str(r#"" r="1.6"/>"#);
    }
    out.push_str("</g>\n");
    // Its key, at the right end of the title line (the legend under the plot is the chart's).
    let _ = writeln!(
        out,
        r##"<text x="{:.1}" y="22" font-family="sans-serif" font-size="11" text-anchor="end" fill="#6E6E6E">client traffic: <tspan fill="{}" font-weight="bold">━</tspan> operation from invocation to reply · <tspan fill="{SEEN_COLOUR}">●</tspan> its effect delivered</text>"##,
        super::scene::PLOT_X1,
        outcome_colour(OpOutcome::Ok)
    );
    out
}

#[cfg(test)]
mod tests {
    use crate::model::{OpSpan, Seen};
    use crate::{render_timeline, OpOutcome, Timeline};

    #[test]
    fn sends_acknowledgements_and_deliveries_are_drawn_once_per_pixel() {
        let mut t = Timeline {
            end_ms: 10_000.0,
            lanes: vec!["s1".into(), "c1".into(), "c2".into()],
            ..Timeline::default()
        };
        let without = render_timeline(&t);
        // Ten chats, one a second, each acknowledged after 40 ms and delivered to both
        // clients; the second copy of each is at the same pixel and is not drawn again.
        for i in 0..10 {
            let at = i as f64 * 1000.0;
            for _ in 0..2 {
                t.op_spans.push(OpSpan {
                    lane: 1,
                    invoked_ms: at,
                    returned_ms: at + 40.0,
                    outcome: if i == 3 {
                        OpOutcome::Fail
                    } else {
                        OpOutcome::Ok
                    },
                });
                t.seen.extend([1, 2].map(|lane| Seen {
                    lane,
                    at_ms: at + 45.0,
                }));
            }
        }
        let with = render_timeline(&t);
        assert_eq!(
            with.matches("stroke-width=\"2\"/>").count()
                - without.matches("stroke-width=\"2\"/>").count(),
            10
        );
        assert_eq!(with.matches("r=\"1.6\"").count(), 20);
        assert_eq!(
            with.matches("#D62728\" stroke-opacity=\"0.55\"").count(),
            1,
            "the refused chat"
        );
    }
}
