//! The view of one key of a checked history, after porcupine's: each client's ops as bars on
//! a time axis, the longest linearizable prefix the search found (numbered, with a line
//! through plausible linearization points), the op that cannot be placed after it, and the
//! key's content along the prefix. Plain SVG, or a self-contained HTML page around it with the
//! prefix as a table; no scripts (hovering a bar shows its details through SVG titles).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use faultline_sim::check::linearizability::{Explanation, Input, Op, Output};

/// Left margin, for the lane labels.
const LEFT: f64 = 90.0;
/// Top margin, for the title and the legend.
const TOP: f64 = 56.0;
/// Height of a client's lane.
const LANE: f64 = 34.0;
/// Height of an op's bar.
const BAR: f64 = 22.0;

/// The SVG alone.
pub fn render_history_svg(explained: &Explanation) -> String {
    Layout::new(explained).svg()
}

/// A self-contained HTML page: a summary, the SVG, the prefix and the stuck op.
pub fn render_history_page(explained: &Explanation) -> String {
    let layout = Layout::new(explained);
    let mut page = String::new();
    let title = format!("check-history: key {}", quote(&explained.key));
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{}</title><style>\
         body{{font-family:sans-serif;margin:1.5em;color:#222}}\
         .chart{{overflow-x:auto;border:1px solid #ddd;padding:4px}}\
         table{{border-collapse:collapse;font-size:13px}}\
         td,th{{border:1px solid #ccc;padding:2px 8px;text-align:left}}\
         td.mono{{font-family:monospace}} .stuck td{{background:#f8d0d0}}\
         </style></head><body>\n<h1>{}</h1>\n<p>{}</p>\n<div class=\"chart\">{}</div>\n",
        escape(&title),
        escape(&title),
        escape(&layout.summary()),
        layout.svg()
    );
    page.push_str("<h2>Longest linearizable prefix found</h2>\n<table><tr><th>#</th><th>client</th><th>op</th><th>invoked</th><th>returned</th><th>content after</th></tr>\n");
    for (n, (i, state)) in explained.order.iter().enumerate() {
        let op = &explained.ops[*i];
        let _ = writeln!(
            page,
            "<tr><td>{}</td><td>{}</td><td class=\"mono\">{}</td><td>{}</td><td>{}</td><td class=\"mono\">{}</td></tr>",
            n + 1,
            op.client,
            escape(&describe(op)),
            op.invoke_us,
            op.return_us.map_or("never".to_string(), |r| r.to_string()),
            escape(state)
        );
    }
    if let Some(stuck) = explained.stuck {
        let op = &explained.ops[stuck];
        let _ = writeln!(
            page,
            "<tr class=\"stuck\"><td>✗</td><td>{}</td><td class=\"mono\">{}</td><td>{}</td><td>{}</td><td>cannot be placed: it returned before any op left could go, and no order of them lets its reply stand after the content <span class=\"mono\">{}</span></td></tr>",
            op.client,
            escape(&describe(op)),
            op.invoke_us,
            op.return_us.map_or("never".to_string(), |r| r.to_string()),
            escape(layout.final_state())
        );
    }
    page.push_str("</table>\n</body></html>\n");
    page
}

/// Where everything goes.
struct Layout<'a> {
    /// What is drawn.
    explained: &'a Explanation,
    /// Every invoke and return time, to an x position (time is drawn by rank, so bursts of
    /// events stay readable however uneven the clock).
    x_of: BTreeMap<u64, f64>,
    /// Where ops that never returned end.
    x_end: f64,
    /// The clients, top to bottom.
    clients: Vec<u64>,
    /// Each op's position in the prefix.
    rank: BTreeMap<usize, usize>,
}

impl<'a> Layout<'a> {
    fn new(explained: &'a Explanation) -> Self {
        let times: BTreeSet<u64> = explained
            .ops
            .iter()
            .flat_map(|op| [Some(op.invoke_us), op.return_us])
            .flatten()
            .collect();
        let step = (1200.0 / times.len().max(1) as f64).clamp(14.0, 60.0);
        let x_of: BTreeMap<u64, f64> = times
            .iter()
            .enumerate()
            .map(|(i, &t)| (t, LEFT + 20.0 + i as f64 * step))
            .collect();
        let x_end = LEFT + 20.0 + times.len() as f64 * step + step;
        let clients: Vec<u64> = explained
            .ops
            .iter()
            .map(|op| op.client)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let rank = explained
            .order
            .iter()
            .enumerate()
            .map(|(n, (i, _))| (*i, n))
            .collect();
        Layout {
            explained,
            x_of,
            x_end,
            clients,
            rank,
        }
    }

    fn summary(&self) -> String {
        let e = self.explained;
        let verdict = match e.linearizable {
            Some(true) => "linearizable",
            Some(false) => "not linearizable",
            None => "undecided (the budget ran out)",
        };
        let mut text = format!(
            "{verdict}: {} ops from {} clients; the longest prefix found places {} of them",
            e.ops.len(),
            self.clients.len(),
            e.order.len()
        );
        if let Some(stuck) = e.stuck {
            let _ = write!(
                text,
                "; then {} (client {}) cannot be placed",
                describe(&e.ops[stuck]),
                e.ops[stuck].client
            );
        }
        text.push('.');
        text
    }

    /// The content at the end of the prefix.
    fn final_state(&self) -> &str {
        self.explained
            .order
            .last()
            .map_or("nil", |(_, s)| s.as_str())
    }

    fn lane_y(&self, client: u64) -> f64 {
        let lane = self.clients.iter().position(|&c| c == client).unwrap_or(0);
        TOP + lane as f64 * LANE
    }

    fn span(&self, op: &Op) -> (f64, f64) {
        let x0 = self.x_of.get(&op.invoke_us).copied().unwrap_or(LEFT);
        let x1 = op
            .return_us
            .and_then(|r| self.x_of.get(&r).copied())
            .unwrap_or(self.x_end);
        (x0, x1.max(x0 + 4.0))
    }

    fn svg(&self) -> String {
        let e = self.explained;
        let width = self.x_end + 40.0;
        let height = TOP + self.clients.len() as f64 * LANE + 30.0;
        let mut svg = String::new();
        let _ = write!(
            svg,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" \
             font-family=\"sans-serif\" font-size=\"11\">\n\
             <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
             <text x=\"8\" y=\"18\" font-size=\"14\" font-weight=\"bold\">key {}: {}</text>\n",
            escape(&quote(&e.key)),
            escape(&self.summary())
        );
        // The legend.
        for (i, (fill, stroke, label)) in [
            ("#cde8c4", "#3a7d2c", "in the prefix (#order)"),
            ("#f4b6b6", "#b22222", "cannot be placed"),
            ("#e6e6e6", "#888888", "not reached"),
        ]
        .iter()
        .enumerate()
        {
            let x = 8.0 + i as f64 * 190.0;
            let _ = writeln!(
                svg,
                "<rect x=\"{x}\" y=\"28\" width=\"14\" height=\"10\" fill=\"{fill}\" stroke=\"{stroke}\"/>\
                 <text x=\"{}\" y=\"37\">{label}</text>",
                x + 18.0
            );
        }
        let _ = writeln!(
            svg,
            "<text x=\"578\" y=\"37\">dashed: no reply · line: a linearization of the prefix · time by rank of events</text>"
        );
        for &client in &self.clients {
            let y = self.lane_y(client);
            let _ = writeln!(
                svg,
                "<line x1=\"{LEFT}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#eee\"/>\
                 <text x=\"8\" y=\"{:.1}\">client {client}</text>",
                y + LANE / 2.0,
                self.x_end,
                y + LANE / 2.0,
                y + LANE / 2.0 + 4.0
            );
        }
        for (i, op) in e.ops.iter().enumerate() {
            self.bar(&mut svg, i, op);
        }
        self.path(&mut svg);
        svg.push_str("</svg>\n");
        svg
    }

    /// One op's bar, label and tooltip.
    fn bar(&self, svg: &mut String, i: usize, op: &Op) {
        let (x0, x1) = self.span(op);
        let y = self.lane_y(op.client) + (LANE - BAR) / 2.0;
        let rank = self.rank.get(&i);
        let stuck = self.explained.stuck == Some(i);
        let (fill, stroke) = match (rank, stuck) {
            (_, true) => ("#f4b6b6", "#b22222"),
            (Some(_), _) => ("#cde8c4", "#3a7d2c"),
            (None, _) => ("#e6e6e6", "#888888"),
        };
        let dash = if op.return_us.is_none() {
            " stroke-dasharray=\"4 2\""
        } else {
            ""
        };
        let mut tip = format!(
            "client {}: {} (invoked {}, {})",
            op.client,
            describe(op),
            op.invoke_us,
            op.return_us
                .map_or("no reply".to_string(), |r| format!("returned {r}"))
        );
        if let Some(&n) = rank {
            let _ = write!(
                tip,
                "; #{} in the prefix, content after: {}",
                n + 1,
                self.explained.order[n].1
            );
        }
        if stuck {
            tip.push_str("; cannot be placed after the prefix");
        }
        let label = describe(op);
        let room = ((x1 - x0 - 6.0) / 6.0).max(0.0) as usize;
        let shown: String = if label.chars().count() <= room {
            label
        } else if room >= 2 {
            label.chars().take(room - 1).chain(['…']).collect()
        } else {
            String::new()
        };
        let _ = writeln!(
            svg,
            "<g><title>{}</title><rect x=\"{x0:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{BAR}\" \
             rx=\"3\" fill=\"{fill}\" stroke=\"{stroke}\"{dash}/><text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            escape(&tip),
            x1 - x0,
            x0 + 3.0,
            y + BAR / 2.0 + 4.0,
            escape(&shown)
        );
        if let Some(&n) = rank {
            let _ = write!(
                svg,
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"9\" fill=\"#3a7d2c\">#{}</text>",
                x0 + 1.0,
                y - 1.0,
                n + 1
            );
        }
        if stuck {
            let _ = write!(
                svg,
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"16\" fill=\"#b22222\" font-weight=\"bold\">✗</text>",
                x1 + 2.0,
                y + BAR / 2.0 + 6.0
            );
        }
        svg.push_str("</g>\n");
    }

    /// A line through linearization points of the prefix: each op at the earliest instant
    /// within its span and not before the previous one's (which exists, as the prefix respects
    /// real time).
    fn path(&self, svg: &mut String) {
        let mut points = Vec::new();
        let mut at = f64::MIN;
        for (i, _) in &self.explained.order {
            let op = &self.explained.ops[*i];
            let (x0, x1) = self.span(op);
            at = at.max(x0 + 2.0).min(x1 - 1.0);
            let y = self.lane_y(op.client) + LANE / 2.0;
            points.push((at, y));
        }
        if points.is_empty() {
            return;
        }
        let line: Vec<String> = points
            .iter()
            .map(|(x, y)| format!("{x:.1},{y:.1}"))
            .collect();
        let _ = writeln!(
            svg,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"#2b5fb4\" stroke-width=\"1.2\" opacity=\"0.7\"/>",
            line.join(" ")
        );
        for (x, y) in points {
            let _ = writeln!(
                svg,
                "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"2.5\" fill=\"#2b5fb4\"/>"
            );
        }
    }
}

/// An op for people: `put "1"`, `get → nil`, `cas "1"→"2" ok`, ...
fn describe(op: &Op) -> String {
    let maybe = |v: &Option<String>| v.as_deref().map_or("nil".to_string(), quote);
    let reply = match &op.output {
        Output::Value(v) => maybe(v),
        Output::List(items) => {
            let items: Vec<String> = items.iter().map(|i| quote(i)).collect();
            format!("[{}]", items.join(", "))
        }
        Output::Ok => "ok".to_string(),
        Output::CasFailed => "failed".to_string(),
        Output::Unknown => "?".to_string(),
    };
    match &op.input {
        Input::Get { .. } => format!("get → {reply}"),
        Input::Put { value, .. } => format!("put {}{}", quote(value), unknown(op)),
        Input::Delete { .. } => format!("delete{}", unknown(op)),
        Input::Append { value, .. } => format!("append {}{}", quote(value), unknown(op)),
        Input::Concat { value, .. } => format!("concat {}{}", quote(value), unknown(op)),
        Input::Cas { expected, new, .. } => {
            format!("cas {}→{} {reply}", maybe(expected), maybe(new))
        }
    }
}

/// " ?" for an op with no reply.
fn unknown(op: &Op) -> &'static str {
    if op.output == Output::Unknown {
        " ?"
    } else {
        ""
    }
}

/// A string in double quotes, with quotes, backslashes and control characters escaped.
fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Text made safe for HTML and SVG.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_sim::check::linearizability::{explain, Limits};

    fn op(client: u64, span: (u64, u64), input: Input, output: Output) -> Op {
        Op {
            client,
            invoke_us: span.0,
            return_us: Some(span.1),
            input,
            output,
        }
    }

    fn stale_read() -> Explanation {
        let key = || "x".to_string();
        let history = [
            op(
                1,
                (0, 10),
                Input::Put {
                    key: key(),
                    value: "1".into(),
                },
                Output::Ok,
            ),
            op(
                2,
                (20, 30),
                Input::Put {
                    key: key(),
                    value: "<2>".into(),
                },
                Output::Ok,
            ),
            op(
                3,
                (40, 50),
                Input::Get { key: key() },
                Output::Value(Some("1".into())),
            ),
        ];
        explain(&history, "x", &Limits::default())
    }

    #[test]
    fn page_shows_prefix_states_and_the_stuck_op() {
        let page = render_history_page(&stale_read());
        assert!(
            page.contains("not linearizable: 3 ops from 3 clients"),
            "{page}"
        );
        // The prefix, numbered, with the content after each op, escaped.
        assert!(
            page.contains("<td>2</td><td>2</td><td class=\"mono\">put &quot;&lt;2&gt;&quot;</td>"),
            "{page}"
        );
        assert!(page.contains("&quot;&lt;2&gt;&quot;</td></tr>"), "{page}");
        // The stuck read, in the table and marked in the drawing.
        assert!(
            page.contains(
                "<tr class=\"stuck\"><td>✗</td><td>3</td><td class=\"mono\">get → &quot;1&quot;</td>"
            ),
            "{page}"
        );
        assert!(page.contains("cannot be placed after the prefix"), "{page}");
        assert!(!page.contains("<script"), "no scripts");
    }

    #[test]
    fn svg_is_one_document_with_a_bar_per_op() {
        let svg = render_history_svg(&stale_read());
        assert!(svg.starts_with("<svg "), "{svg}");
        assert_eq!(
            svg.matches("<rect x=").count(),
            3 + 3,
            "three legend boxes, three bars"
        );
        assert_eq!(svg.matches("<circle").count(), 2, "two ops linearized");
    }
}
