//! The violation of a failing run: a red line across the lanes at its time, a ring on the node
//! it names and a label with the check, and under the picture an inset that zooms into the
//! moments before it, so that a failure at the end of a long run is not squeezed into the
//! last pixels. Written as SVG text: the inset draws its own lanes (roles, crashes, messages,
//! marks, client traffic) on its own time axis.

use std::fmt::Write;

use plotters::style::RGBColor;

use super::client_layer::{outcome_colour, SEEN_COLOUR};
use super::palette;
use super::scene::{Scene, PLOT_X0, PLOT_X1, WIDTH};
use crate::model::{MarkKind, Timeline, Violation};

/// Colour of the violation.
const RED: &str = "#C81414";
/// Share of the run the inset spans (before and a little after the violation).
const ZOOM_SHARE: f64 = 0.06;
/// The shortest inset span, in ms: a few message delays.
const ZOOM_MIN_MS: f64 = 40.0;
/// Height of one lane in the inset.
const LANE_H: f64 = 24.0;
/// Room above the inset's lanes (its title) and below them (its axis).
const INSET_HEAD: f64 = 52.0;
const INSET_FOOT: f64 = 40.0;

/// `#RRGGBB` of a palette colour.
fn hex(c: RGBColor) -> String {
    format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2)
}

/// Escapes text for SVG.
fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// "7.816 s".
fn secs(ms: f64) -> String {
    let s = format!("{:.3}", ms / 1000.0);
    format!("{} s", s.trim_end_matches('0').trim_end_matches('.'))
}

/// The headline of a violation: "✗ leader-completeness at 7.816 s on s5".
fn headline(v: &Violation, t: &Timeline) -> String {
    let node = (v.lane.and_then(|l| t.lanes.get(l)))
        .map(|n| format!(" on {n}"))
        .unwrap_or_default();
    format!("✗ {} at {}{node}", v.check, secs(at_ms(v, t.end_ms)))
}

/// The run's length, usable as an axis.
fn run_ms(end_ms: f64) -> f64 {
    if end_ms.is_finite() && end_ms > 0.0 {
        end_ms
    } else {
        1.0
    }
}

/// When the violation happened, within the run (at its end when the time is garbage).
fn at_ms(v: &Violation, end_ms: f64) -> f64 {
    let end = run_ms(end_ms);
    if v.at_ms.is_finite() {
        v.at_ms.clamp(0.0, end)
    } else {
        end
    }
}

/// The period the inset shows: mostly before the violation, clipped to the run.
pub fn window(v: &Violation, end_ms: f64) -> (f64, f64) {
    let end = run_ms(end_ms);
    let at = at_ms(v, end_ms);
    let w = (end * ZOOM_SHARE).max(ZOOM_MIN_MS).min(end);
    let to = (at + w * 0.2).min(end);
    let from = (to - w).max(0.0);
    (from, (from + w).min(end).max(at))
}

/// The marker over the main picture (empty without a violation).
pub fn mark(t: &Timeline, s: &Scene) -> String {
    let (Some(v), false) = (&t.violation, t.lanes.is_empty()) else {
        return String::new();
    };
    let mut out = String::new();
    let (top, bottom) = (s.lane_top(0), s.lanes_bottom);
    let (from, to) = window(v, t.end_ms);
    let (wx0, wx1) = (s.axis.x(from), s.axis.x(to));
    let x = s.axis.x(at_ms(v, t.end_ms));
    let _ = writeln!(
        out,
        r#"<rect x="{wx0:.1}" y="{top:.1}" width="{:.1}" height="{:.1}" fill="{RED}" fill-opacity="0.06" stroke="{RED}" stroke-opacity="0.35" stroke-dasharray="3 3"/>"#,
        (wx1 - wx0).max(1.0),
        bottom - top
    );
    let _ = writeln!(
        out,
        r#"<line x1="{x:.1}" y1="{top:.1}" x2="{x:.1}" y2="{bottom:.1}" stroke="{RED}" stroke-width="2"/>"#
    );
    if let Some(lane) = v.lane.filter(|&l| l < t.lanes.len()) {
        let _ = writeln!(
            out,
            r#"<circle cx="{x:.1}" cy="{:.1}" r="9" fill="none" stroke="{RED}" stroke-width="2.5"/>"#,
            s.lane_mid(lane)
        );
    }
    let text = format!("{} (zoomed in below)", headline(v, t));
    let w = 6.6 * text.chars().count() as f64 + 10.0;
    let (tx, anchor, bx) = if x + w < PLOT_X1 {
        (x + 6.0, "start", x + 1.0)
    } else {
        (x - 6.0, "end", x - w - 1.0)
    };
    let _ = writeln!(
        out,
        r#"<rect x="{bx:.1}" y="{:.1}" width="{w:.1}" height="18" fill="white" fill-opacity="0.85"/><text x="{tx:.1}" y="{:.1}" font-family="sans-serif" font-size="12" font-weight="bold" text-anchor="{anchor}" fill="{RED}">{}</text>"#,
        top + 2.0,
        top + 15.0,
        esc(&text)
    );
    out
}

/// The inset's height in pixels (0 without a violation).
pub fn inset_height(t: &Timeline) -> f64 {
    if t.violation.is_none() || t.lanes.is_empty() {
        return 0.0;
    }
    INSET_HEAD + LANE_H * t.lanes.len() as f64 + INSET_FOOT
}

/// The inset, drawn from `top` down (empty without a violation).
pub fn inset(t: &Timeline, top: f64) -> String {
    let (Some(v), false) = (&t.violation, t.lanes.is_empty()) else {
        return String::new();
    };
    let (from, to) = window(v, t.end_ms);
    let span = (to - from).max(1e-3);
    let x = |ms: f64| PLOT_X0 + (ms.clamp(from, to) - from) / span * (PLOT_X1 - PLOT_X0);
    let inside = |a: f64, b: f64| b >= from && a <= to && a.is_finite() && b.is_finite();
    let lanes_top = top + INSET_HEAD;
    let lane_top = |i: usize| lanes_top + LANE_H * i as f64;
    let lane_mid = |i: usize| lane_top(i) + LANE_H / 2.0;
    let lanes_bottom = lane_top(t.lanes.len());
    let n = t.lanes.len();
    let mut out = String::new();
    let _ = writeln!(
        out,
        r##"<rect x="0" y="{top:.1}" width="{WIDTH}" height="{:.1}" fill="#FFFFFF"/><line x1="8" y1="{:.1}" x2="{}" y2="{:.1}" stroke="#BBBBBB"/>"##,
        inset_height(t),
        top + 4.0,
        WIDTH - 8.0,
        top + 4.0
    );
    let _ = writeln!(
        out,
        r##"<text x="{PLOT_X0}" y="{:.1}" font-family="sans-serif" font-size="14" fill="#282828"><tspan font-weight="bold" fill="{RED}">{}</tspan> — zoomed in: {} to {}</text>"##,
        top + 24.0,
        esc(&headline(v, t)),
        secs(from),
        secs(to)
    );
    let detail: String = v.detail.chars().take(190).collect();
    let ellipsis = if v.detail.chars().count() > 190 {
        "…"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        r##"<text x="{PLOT_X0}" y="{:.1}" font-family="sans-serif" font-size="11" fill="#6E6E6E">{}{ellipsis}</text>"##,
        top + 41.0,
        esc(&detail)
    );
    // Lanes: names, zebra, role bars, crashed periods.
    for (i, name) in t.lanes.iter().enumerate() {
        if i % 2 == 1 {
            let _ = writeln!(
                out,
                r##"<rect x="8" y="{:.1}" width="{:.1}" height="{LANE_H}" fill="#F7F8FA"/>"##,
                lane_top(i),
                PLOT_X1 - 8.0
            );
        }
        let _ = writeln!(
            out,
            r##"<text x="{:.1}" y="{:.1}" font-family="sans-serif" font-size="12" text-anchor="end" fill="#282828">{}</text>"##,
            PLOT_X0 - 10.0,
            lane_mid(i) + 4.0,
            esc(name)
        );
    }
    for r in t
        .roles
        .iter()
        .filter(|r| r.lane < n && inside(r.from_ms, r.to_ms))
    {
        let _ = writeln!(
            out,
            r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{}"/>"#,
            x(r.from_ms),
            lane_top(r.lane) + 5.0,
            (x(r.to_ms) - x(r.from_ms)).max(0.5),
            LANE_H - 10.0,
            hex(palette::role_colour(r.tone))
        );
    }
    for d in t
        .down
        .iter()
        .filter(|d| d.lane < n && inside(d.from_ms, d.to_ms))
    {
        let _ = writeln!(
            out,
            r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{}"/>"#,
            x(d.from_ms),
            lane_top(d.lane) + 5.0,
            (x(d.to_ms) - x(d.from_ms)).max(0.5),
            LANE_H - 10.0,
            hex(palette::DOWN)
        );
    }
    for p in t.partitions.iter().filter(|p| inside(p.from_ms, p.to_ms)) {
        let _ = writeln!(
            out,
            r#"<rect x="{:.1}" y="{lanes_top:.1}" width="{:.1}" height="{:.1}" fill="{}" fill-opacity="0.08"/>"#,
            x(p.from_ms),
            (x(p.to_ms) - x(p.from_ms)).max(0.5),
            lanes_bottom - lanes_top,
            hex(palette::PARTITION)
        );
    }
    // Messages (the timeline's sample) and client traffic.
    for a in (t.messages.iter())
        .filter(|a| a.from_lane < n && a.to_lane < n && inside(a.sent_ms, a.recv_ms))
    {
        let colour = if a.dropped {
            hex(palette::CRASH)
        } else if a.election {
            hex(palette::ELECTION)
        } else {
            hex(palette::TRAFFIC)
        };
        let dash = if a.dropped {
            r#" stroke-dasharray="3 2""#
        } else {
            ""
        };
        let _ = writeln!(
            out,
            r#"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{colour}" stroke-opacity="0.7"{dash}/>"#,
            x(a.sent_ms),
            lane_mid(a.from_lane),
            x(a.recv_ms),
            lane_mid(a.to_lane)
        );
    }
    for op in (t.op_spans.iter()).filter(|o| o.lane < n && inside(o.invoked_ms, o.returned_ms)) {
        let y = lane_top(op.lane) + 7.0;
        let (x0, x1) = (x(op.invoked_ms), x(op.returned_ms));
        let _ = writeln!(
            out,
            r#"<line x1="{x0:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{}" stroke-width="2"/><circle cx="{x0:.1}" cy="{y:.1}" r="2" fill="{}"/>"#,
            x1.max(x0 + 1.0),
            outcome_colour(op.outcome),
            outcome_colour(op.outcome)
        );
    }
    for seen in t
        .seen
        .iter()
        .filter(|s| s.lane < n && inside(s.at_ms, s.at_ms))
    {
        let _ = writeln!(
            out,
            r#"<circle cx="{:.1}" cy="{:.1}" r="2" fill="{SEEN_COLOUR}"/>"#,
            x(seen.at_ms),
            lane_top(seen.lane) + LANE_H - 7.0
        );
    }
    for m in t
        .marks
        .iter()
        .filter(|m| m.lane < n && inside(m.at_ms, m.at_ms))
    {
        let colour = match m.kind {
            MarkKind::Crash => palette::CRASH,
            MarkKind::Restart => palette::RESTART,
            MarkKind::ElectionStarted => palette::ELECTION,
            MarkKind::Elected => palette::ELECTED,
            MarkKind::Note => palette::INK,
        };
        let _ = writeln!(
            out,
            r#"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="{}" stroke="white"/>"#,
            x(m.at_ms),
            lane_mid(m.lane),
            hex(colour)
        );
    }
    // The violation itself, and the time axis.
    let vx = x(at_ms(v, t.end_ms));
    let _ = writeln!(
        out,
        r#"<line x1="{vx:.1}" y1="{lanes_top:.1}" x2="{vx:.1}" y2="{lanes_bottom:.1}" stroke="{RED}" stroke-width="2"/>"#
    );
    if let Some(lane) = v.lane.filter(|&l| l < n) {
        let _ = writeln!(
            out,
            r#"<circle cx="{vx:.1}" cy="{:.1}" r="8" fill="none" stroke="{RED}" stroke-width="2.5"/>"#,
            lane_mid(lane)
        );
    }
    let _ = writeln!(
        out,
        r##"<line x1="{PLOT_X0}" y1="{lanes_bottom:.1}" x2="{PLOT_X1}" y2="{lanes_bottom:.1}" stroke="#6E6E6E"/>"##
    );
    // Ticks at round times, about eight of them.
    let raw = span / 8.0;
    let p = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * p)
        .find(|&v| v >= raw)
        .unwrap_or(10.0 * p);
    let first = (from / step).ceil() as i64;
    for i in first..=first + 10 {
        let ms = i as f64 * step;
        if ms > to + 1e-9 {
            break;
        }
        let tx = x(ms);
        let _ = writeln!(
            out,
            r##"<line x1="{tx:.1}" y1="{lanes_bottom:.1}" x2="{tx:.1}" y2="{:.1}" stroke="#6E6E6E"/><text x="{tx:.1}" y="{:.1}" font-family="sans-serif" font-size="11" text-anchor="middle" fill="#6E6E6E">{}</text>"##,
            lanes_bottom + 4.0,
            lanes_bottom + 17.0,
            secs(ms)
        );
    }
    out
}

/// `svg` (the main picture, `height` pixels tall) with the violation's marker over it and its
/// inset under it; unchanged without a violation.
pub fn add(svg: String, t: &Timeline, s: &Scene, height: f64) -> String {
    let extra = inset_height(t);
    if extra == 0.0 {
        return svg;
    }
    let total = (height + extra).ceil();
    let Some(open_end) = svg.find('>') else {
        return svg;
    };
    let Some(close) = svg.rfind("</svg>") else {
        return svg;
    };
    let mut out = String::with_capacity(svg.len() + 16_384);
    // The root element again, taller; the rest of the picture as it was.
    let _ = write!(
        out,
        r#"<svg width="{WIDTH}" height="{total}" viewBox="0 0 {WIDTH} {total}" xmlns="http://www.w3.org/2000/svg""#
    );
    out.push_str(&svg[open_end..close]);
    out.push_str(&mark(t, s));
    out.push_str(&inset(t, height));
    out.push_str(&svg[close..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn violation(at_ms: f64) -> Violation {
        Violation {
            at_ms,
            lane: Some(1),
            check: "leader-completeness".into(),
            detail: "at 7.816 s: s2 became leader".into(),
        }
    }

    #[test]
    fn the_window_holds_the_violation_and_stays_in_the_run() {
        for (at, end) in [
            (7816.0, 7816.0),
            (0.0, 30_000.0),
            (15_000.0, 30_000.0),
            (5.0, 10.0),
        ] {
            let (from, to) = window(&violation(at), end);
            assert!(
                from >= 0.0 && to <= end && from < to,
                "{at} {end}: {from}..{to}"
            );
            assert!((from..=to).contains(&at), "{at} {end}: {from}..{to}");
            assert!(to - from <= (end * ZOOM_SHARE).max(ZOOM_MIN_MS) + 1e-9);
        }
        // A failure at the end of a 10-minute run is zoomed into 36 s, not squeezed.
        let (from, to) = window(&violation(600_000.0), 600_000.0);
        assert_eq!((from, to), (564_000.0, 600_000.0));
        let (from, to) = window(&violation(f64::NAN), f64::NAN);
        assert!(from.is_finite() && to.is_finite());
    }
}

#[cfg(test)]
mod drawn {
    use super::*;
    use crate::model::{Arrow, RoleSpan};
    use crate::render_timeline;

    /// A minute of three nodes with a message every 100 ms, broken at its very end.
    fn failing(violation: Option<Violation>) -> Timeline {
        Timeline {
            title: "t".into(),
            end_ms: 60_000.0,
            lanes: vec!["s1".into(), "s2".into(), "s3".into()],
            roles: vec![RoleSpan {
                lane: 0,
                from_ms: 0.0,
                to_ms: 60_000.0,
                role: "leader".into(),
                tone: None,
            }],
            messages: (0..600)
                .map(|i| Arrow {
                    from_lane: i % 3,
                    to_lane: (i + 1) % 3,
                    sent_ms: i as f64 * 100.0,
                    recv_ms: i as f64 * 100.0 + 5.0,
                    label: "HB".into(),
                    dropped: false,
                    election: false,
                })
                .collect(),
            messages_total: 600,
            violation,
            ..Timeline::default()
        }
    }

    #[test]
    fn a_violation_is_marked_and_its_last_moments_zoomed_in() {
        let plain = render_timeline(&failing(None));
        assert!(!plain.contains('✗'));
        let v = Violation {
            at_ms: 60_000.0,
            lane: Some(1),
            check: "election-safety".into(),
            detail: "two leaders in term 3 (s1, s2) at 60 s".into(),
        };
        let svg = render_timeline(&failing(Some(v)));
        assert!(
            svg.contains("✗ election-safety at 60 s on s2"),
            "the marker"
        );
        assert!(svg.contains("zoomed in: 56.4 s to 60 s"), "the inset");
        let height = |svg: &str| -> f64 {
            let at = svg.find("height=\"").unwrap() + 8;
            svg[at..svg[at..].find('"').unwrap() + at].parse().unwrap()
        };
        assert!(height(&svg) >= height(&plain) + inset_height(&failing(None).clone_with()));
        // The inset spreads the last 3.6 s over the plot: its 36 messages' arrows are far apart.
        let inset = &svg[svg.find("zoomed in").unwrap()..];
        let arrows = inset.matches("stroke-opacity=\"0.7\"").count();
        assert_eq!(arrows, 36, "only the window's messages are zoomed into");
        assert!(svg.trim_end().ends_with("</svg>"));
    }

    impl Timeline {
        fn clone_with(mut self) -> Timeline {
            self.violation = Some(Violation {
                at_ms: 0.0,
                lane: None,
                check: String::new(),
                detail: String::new(),
            });
            self
        }
    }
}
