//! Turns a trace and its summary into the timeline model the renderer draws.

mod builder;
mod client_ops;
mod thinned;
mod violation;

pub use builder::{timeline, TimelineBuilder};
pub use client_ops::ClientOps;
pub use violation::violation;

use faultline_reports::{OpMark, OpOutcome, Progress, TermSpan, Timeline};
use faultline_sim::protocol::chart::{self, Chart};

/// Adds what the protocol knows about its run (terms, progress, client operations).
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
