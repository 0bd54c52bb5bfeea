//! Turns a trace and its summary into the timeline model the renderer draws.

mod builder;
mod client_ops;
mod thinned;
mod violation;

pub use builder::{timeline, TimelineBuilder};
pub use client_ops::ClientOps;
pub use violation::violation;

use faultline_reports::{
    Mark, MarkKind, OpMark, OpOutcome, Progress, TermSpan, Tick, Timeline, WorkBar,
};
use faultline_sim::protocol::chart::{self, Chart};

/// Bars of held work a timeline draws at most: beyond, an even sample.
const WORK_BARS_MAX: usize = 4000;
/// Ticks a timeline takes at most (it draws one per pixel): beyond, an even sample.
const TICKS_MAX: usize = 20_000;
/// Labelled protocol marks (snapshots, reassignments) a timeline draws at most.
const PINS_MAX: usize = 40;

/// Adds what the protocol knows about its run (terms, progress, client operations, work
/// held, point events).
pub fn add_chart(t: &mut Timeline, chart: &Chart) {
    let ms = |us: u64| us as f64 / 1000.0;
    t.terms = chart
        .tenures
        .iter()
        .map(|tenure| TermSpan {
            term: tenure.term,
            lane: tenure.leader.0 as usize,
            from_ms: ms(tenure.from_us),
            to_ms: tenure.to_us.map_or(t.end_ms, ms),
        })
        .collect();
    t.progress = chart.progress.as_ref().map(|p| Progress {
        name: p.name.clone(),
        points: p.points.iter().map(|&(at, v)| (ms(at), v as f64)).collect(),
    });
    t.ops = chart
        .ops
        .iter()
        .map(|op| OpMark {
            lane: op.node.0 as usize,
            at_ms: ms(op.returned_us),
            outcome: match op.outcome {
                chart::OpOutcome::Ok => OpOutcome::Ok,
                chart::OpOutcome::Fail => OpOutcome::Fail,
                chart::OpOutcome::Unknown => OpOutcome::Unknown,
            },
        })
        .collect();
    let end_ms = t.end_ms;
    t.work = evenly(&chart.bars, WORK_BARS_MAX)
        .map(|b| WorkBar {
            lane: b.node.0 as usize,
            row: b.row,
            from_ms: ms(b.from_us),
            to_ms: b.to_us.map_or(end_ms, ms),
            text: b.text.clone(),
            hue: b.hue,
        })
        .collect();
    t.ticks = evenly(&chart.ticks, TICKS_MAX)
        .map(|k| Tick {
            lane: k.node.0 as usize,
            at_ms: ms(k.at_us),
            hue: k.hue,
        })
        .collect();
    if !chart.pins.is_empty() {
        t.marks
            .extend(chart.pins.iter().take(PINS_MAX).map(|p| Mark {
                lane: p.node.0 as usize,
                at_ms: ms(p.at_us),
                kind: MarkKind::Note,
                text: p.text.clone(),
            }));
        t.marks_total += chart.pins.len() as u64;
        t.marks.sort_by(|a, b| a.at_ms.total_cmp(&b.at_ms));
    }
}

/// At most `max` of `items`, evenly spread over them, in order.
fn evenly<T>(items: &[T], max: usize) -> impl Iterator<Item = &T> {
    let step = items.len().div_ceil(max.max(1)).max(1);
    items.iter().step_by(step)
}

/// "412 ms", "1.3 s".
pub fn human_ms(ms: f64) -> String {
    if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.1} s", ms / 1000.0)
    }
}

/// Points drawn per distribution: enough for a smooth curve, bounded however many seeds ran.
#[cfg(madsim)]
const DISTRIBUTION_POINTS_MAX: usize = 2000;

/// The distribution plot of an exploration: election and recovery times over its seeds, drawn
/// from evenly spaced quantiles of its histograms.
#[cfg(madsim)]
pub fn distribution(x: &crate::explore::Exploration) -> String {
    use faultline_reports::{render_distributions, Panel, Series};
    let series = |name: &str, values: Vec<f64>| Series {
        name: name.to_string(),
        values_ms: values,
    };
    let elections = x.elections_ms.sample_evenly_ms(DISTRIBUTION_POINTS_MAX);
    let recoveries = x.recoveries_ms.sample_evenly_ms(DISTRIBUTION_POINTS_MAX);
    let title = format!("{} / {} — {} seeds", x.protocol, x.scenario, x.seeds_run);
    render_distributions(
        &title,
        &[
            Panel {
                title: format!("election time, {} in all", x.elections_ms.count),
                series: vec![series("simulated", elections)],
            },
            Panel {
                title: format!("recovery time, {} in all", x.recoveries_ms.count),
                series: vec![series("simulated", recoveries)],
            },
        ],
    )
}
