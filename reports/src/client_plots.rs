//! A run's client operations over time, as Maelstrom draws them: every operation's latency at
//! the time it returned (`latency.svg`, log scale, coloured by outcome) and operations per
//! second (`throughput.svg`, one line per outcome). Written as SVG text directly: a few
//! thousand points cost next to nothing, so the plots stay cheap beside the run.
//!
//! Output is a pure function of the input, and garbage in it (NaN, negative times) is skipped
//! rather than drawn.

use std::fmt::Write;

use serde::{Deserialize, Serialize};

use crate::model::OpOutcome;
use crate::one_decimal::{push_one_decimal, OneDecimal};

/// The client operations of one run, as the plots need them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClientSeries {
    /// Headline, e.g. "raft / leader-crash — seed 7".
    pub title: String,
    /// Length of the run in ms.
    pub end_ms: f64,
    /// Operations that returned, as (return time, latency); may be an even sample.
    pub points: Vec<LatencyPoint>,
    /// Operations that returned in all, per outcome (ok, fail, unknown).
    pub totals: [u64; 3],
    /// Width of one throughput bucket in ms.
    pub bucket_ms: f64,
    /// Per outcome (ok, fail, unknown), operations returned in each bucket.
    pub returned: [Vec<u64>; 3],
}

/// One operation on the latency plot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencyPoint {
    /// When it returned, in ms.
    pub at_ms: f64,
    /// How long it took, in ms.
    pub latency_ms: f64,
    /// How it ended.
    pub outcome: OpOutcome,
}

/// About how many buckets the throughput plot shows.
const SHOWN_BUCKETS: f64 = 80.0;
const W: f64 = 900.0;
const H: f64 = 420.0;
const X0: f64 = 80.0;
const X1: f64 = W - 30.0;
const Y0: f64 = 56.0;
const Y1: f64 = H - 56.0;
/// The outcomes in drawing order (ok first, so failures are drawn on top), with their name
/// and colour (the timeline's).
const OUTCOMES: [(OpOutcome, &str, &str); 3] = [
    (OpOutcome::Ok, "ok", "#196928"),
    (OpOutcome::Unknown, "unknown (timed out)", "#E68200"),
    (OpOutcome::Fail, "failed", "#D62728"),
];

/// Escapes text for SVG.
fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The document's opening, title and time axis (ticks every "nice" step of seconds).
fn frame(title: &str, subtitle: &str, end_ms: f64) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        r##"<svg width="{W}" height="{H}" viewBox="0 0 {W} {H}" xmlns="http://www.w3.org/2000/svg" font-family="sans-serif">"##
    );
    let _ = writeln!(s, r##"<rect width="{W}" height="{H}" fill="#FFFFFF"/>"##);
    let _ = writeln!(
        s,
        r##"<text x="{X0}" y="22" font-size="15" fill="#282828">{}</text>"##,
        esc(title)
    );
    let _ = writeln!(
        s,
        r##"<text x="{X0}" y="40" font-size="12" fill="#6E6E6E">{}</text>"##,
        esc(subtitle)
    );
    let end_s = end_ms / 1000.0;
    let step = nice_step(end_s / 10.0);
    let mut t = 0.0;
    while t <= end_s + 1e-9 {
        let x = X0 + t / end_s * (X1 - X0);
        let _ = writeln!(
            s,
            r##"<line x1="{x:.1}" y1="{Y0}" x2="{x:.1}" y2="{Y1}" stroke="#EEEEEE"/><text x="{x:.1}" y="{}" font-size="11" text-anchor="middle" fill="#6E6E6E">{}</text>"##,
            Y1 + 16.0,
            trim(t)
        );
        t += step;
    }
    let _ = writeln!(
        s,
        r##"<text x="{}" y="{}" font-size="12" text-anchor="middle" fill="#282828">simulated time (s)</text>"##,
        (X0 + X1) / 2.0,
        H - 14.0
    );
    s
}

/// 1, 2 or 5 times a power of ten, at least `raw`.
fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let p = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * p)
        .find(|&v| v >= raw)
        .unwrap_or(10.0 * p)
}

/// A number without float noise: "0.3", "12", "1.25".
fn trim(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The legend in the top right: each outcome with its count.
fn legend(s: &mut String, totals: &[u64; 3]) {
    let mut x = X1;
    for (outcome, name, colour) in OUTCOMES.iter().rev() {
        let text = format!("{name} {}", totals[*outcome as usize]);
        let w = 7.0 * text.len() as f64 + 16.0;
        x -= w;
        let _ = writeln!(
            s,
            r##"<circle cx="{:.1}" cy="36" r="4" fill="{colour}"/><text x="{:.1}" y="40" font-size="12" fill="#282828">{}</text>"##,
            x + 4.0,
            x + 12.0,
            esc(&text)
        );
    }
}

/// The run's length, usable as an axis.
fn span_ms(c: &ClientSeries) -> f64 {
    if c.end_ms.is_finite() && c.end_ms > 0.0 {
        c.end_ms
    } else {
        1.0
    }
}

/// Every operation's latency at the time it returned, on a log scale; `None` when the run
/// had no client operation.
pub fn render_latency(c: &ClientSeries) -> Option<String> {
    let points: Vec<&LatencyPoint> = (c.points.iter())
        .filter(|p| p.at_ms.is_finite() && p.latency_ms.is_finite() && p.latency_ms >= 0.0)
        .collect();
    if points.is_empty() {
        return None;
    }
    let end_ms = span_ms(c);
    let total: u64 = c.totals.iter().sum();
    let sampled = if (points.len() as u64) < total {
        format!(", {} of them drawn", points.len())
    } else {
        String::new()
    };
    let mut s = frame(
        &format!("{} — latency", c.title),
        &format!("{total} client operations, each at the time it returned{sampled}"),
        end_ms,
    );
    // Decades from below the fastest to above the slowest; a latency of 0 sits on the floor.
    let floor = |v: f64| v.max(0.1).log10().floor();
    let lo = points
        .iter()
        .map(|p| floor(p.latency_ms))
        .fold(f64::INFINITY, f64::min);
    let hi = points
        .iter()
        .map(|p| p.latency_ms.max(0.1).log10().ceil())
        .fold(f64::NEG_INFINITY, f64::max)
        .max(lo + 1.0);
    let y = |ms: f64| Y1 - (ms.max(0.1).log10().clamp(lo, hi) - lo) / (hi - lo) * (Y1 - Y0);
    let mut decade = lo;
    while decade <= hi {
        let v = 10f64.powf(decade);
        let yy = y(v);
        let _ = writeln!(
            s,
            r##"<line x1="{X0}" y1="{yy:.1}" x2="{X1}" y2="{yy:.1}" stroke="#E6E6E6"/><text x="{}" y="{:.1}" font-size="11" text-anchor="end" fill="#6E6E6E">{} ms</text>"##,
            X0 - 6.0,
            yy + 4.0,
            trim(v)
        );
        decade += 1.0;
    }
    let _ = writeln!(
        s,
        r##"<text x="18" y="{}" font-size="12" fill="#282828" transform="rotate(-90 18 {})" text-anchor="middle">latency (log)</text>"##,
        (Y0 + Y1) / 2.0,
        (Y0 + Y1) / 2.0
    );
    for (outcome, _, colour) in OUTCOMES {
        let _ = write!(s, r##"<g fill="{colour}" fill-opacity="0.6">"##);
        for p in points.iter().filter(|p| p.outcome == outcome) {
            let x = X0 + (p.at_ms.clamp(0.0, end_ms) / end_ms) * (X1 - X0);
            // `<circle cx="{x:.1}" cy="{y:.1}" r="2"/>`, piece by piece: `write!` was most of
            // the cost of the plot.
            s.push_str(r#"<circle cx=""#);
            push_one_decimal(&mut s, x);
            s.push_str(r#"" cy=""#);
            push_one_decimal(&mut s, y(p.latency_ms));
            s.push_str(r#"" r="2"/>"#);
        }
        let _ = writeln!(s, "</g>");
    }
    legend(&mut s, &c.totals);
    s.push_str("</svg>\n");
    Some(s)
}

/// Operations returned per second over time, one line per outcome; `None` when the run had
/// no client operation.
pub fn render_throughput(c: &ClientSeries) -> Option<String> {
    let total: u64 = c.totals.iter().sum();
    if total == 0 || !(c.bucket_ms.is_finite() && c.bucket_ms > 0.0) {
        return None;
    }
    let end_ms = span_ms(c);
    // Counted buckets are merged into about SHOWN_BUCKETS shown ones: finer, a slow workload
    // would be a comb of ones and zeros.
    let merge = ((end_ms / c.bucket_ms / SHOWN_BUCKETS).ceil() as usize).max(1);
    let width_ms = c.bucket_ms * merge as f64;
    let per_s = 1000.0 / width_ms;
    // Buckets past the run's end are empty: they are not drawn.
    let buckets = ((end_ms / width_ms).ceil() as usize).max(1);
    let shown: Vec<Vec<u64>> = (c.returned.iter())
        .map(|r| {
            (0..buckets)
                .map(|i| r.iter().skip(i * merge).take(merge).sum())
                .collect()
        })
        .collect();
    let max = shown.iter().flatten().copied().max().unwrap_or(0) as f64 * per_s;
    let top = nice_step(max.max(1.0) / 5.0) * 5.0;
    let mut s = frame(
        &format!("{} — throughput", c.title),
        &format!(
            "client operations returned per second, in buckets of {} ms",
            trim(width_ms)
        ),
        end_ms,
    );
    let y = |v: f64| Y1 - v / top * (Y1 - Y0);
    for i in 0..=5 {
        let v = top * i as f64 / 5.0;
        let _ = writeln!(
            s,
            r##"<line x1="{X0}" y1="{:.1}" x2="{X1}" y2="{:.1}" stroke="#E6E6E6"/><text x="{}" y="{:.1}" font-size="11" text-anchor="end" fill="#6E6E6E">{}</text>"##,
            y(v),
            y(v),
            X0 - 6.0,
            y(v) + 4.0,
            trim(v)
        );
    }
    let _ = writeln!(
        s,
        r##"<text x="18" y="{}" font-size="12" fill="#282828" transform="rotate(-90 18 {})" text-anchor="middle">operations / s</text>"##,
        (Y0 + Y1) / 2.0,
        (Y0 + Y1) / 2.0
    );
    let x = |ms: f64| X0 + (ms.clamp(0.0, end_ms) / end_ms) * (X1 - X0);
    for (outcome, _, colour) in OUTCOMES {
        let counts = &shown[outcome as usize];
        if counts.iter().all(|&n| n == 0) {
            continue;
        }
        let mut line = String::new();
        for i in 0..buckets {
            let v = counts.get(i).copied().unwrap_or(0) as f64 * per_s;
            let (a, b) = (i as f64 * width_ms, (i + 1) as f64 * width_ms);
            let (xa, xb, yv) = (OneDecimal(x(a)), OneDecimal(x(b)), OneDecimal(y(v)));
            let _ = write!(line, "{xa},{yv} {xb},{yv} ");
        }
        let _ = writeln!(
            s,
            r##"<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{}"/>"##,
            line.trim_end()
        );
    }
    legend(&mut s, &c.totals);
    s.push_str("</svg>\n");
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series() -> ClientSeries {
        let points = (0..200)
            .map(|i| LatencyPoint {
                at_ms: i as f64 * 50.0,
                latency_ms: if i % 50 == 7 {
                    1500.0
                } else {
                    3.0 + i as f64 % 9.0
                },
                outcome: if i % 50 == 7 {
                    OpOutcome::Unknown
                } else {
                    OpOutcome::Ok
                },
            })
            .collect();
        let mut ok = vec![0; 100];
        for (i, n) in ok.iter_mut().enumerate() {
            *n = if (40..60).contains(&i) { 0 } else { 2 };
        }
        ClientSeries {
            title: "raft / steady — seed 1".into(),
            end_ms: 10_000.0,
            points,
            totals: [196, 0, 4],
            bucket_ms: 100.0,
            returned: [ok, vec![0; 100], vec![0; 100]],
        }
    }

    #[test]
    fn plots_show_every_point_and_the_outage() {
        let c = series();
        let latency = render_latency(&c).unwrap();
        assert_eq!(
            latency.matches("<circle").count(),
            200 + 3,
            "points and legend"
        );
        assert!(
            latency.contains("1000 ms"),
            "the log axis reaches the timeouts"
        );
        assert!(latency.contains("unknown (timed out) 4"));
        let throughput = render_throughput(&c).unwrap();
        // 2 per 100 ms is 20/s; the outage from 4 s to 6 s drops to 0.
        assert!(throughput.contains(">20<"), "{throughput}");
        assert_eq!(
            throughput.matches("<polyline").count(),
            1,
            "only ok ops returned"
        );
    }

    #[test]
    fn no_operations_no_plots_and_garbage_is_skipped() {
        assert_eq!(render_latency(&ClientSeries::default()), None);
        assert_eq!(render_throughput(&ClientSeries::default()), None);
        let mut c = series();
        c.end_ms = f64::NAN;
        c.points[0].latency_ms = f64::NAN;
        c.points[1].at_ms = -5.0;
        let svg = render_latency(&c).unwrap();
        assert!(!svg.contains("NaN"), "{svg}");
        assert!(!render_throughput(&c).unwrap().contains("NaN"));
    }
}
