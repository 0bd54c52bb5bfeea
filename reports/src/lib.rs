//! Human-facing reports of faultline runs.

pub mod client_plots;
pub mod distribution;
pub mod grid;
pub mod history_view;
pub mod model;
pub mod one_decimal;
pub mod timeline;

pub use client_plots::{render_latency, render_throughput, ClientSeries, LatencyPoint};
pub use distribution::{render_distributions, Panel, Series};
pub use grid::{render_grid, Cell, Grid, GridRow};
pub use history_view::{render_history_page, render_history_svg};
pub use model::{
    Arrow, Hue, Interval, LaneSpan, Mark, MarkKind, OpMark, OpOutcome, OpSpan, Progress, RoleSpan,
    Seen, Span, TermSpan, Tick, Timeline, Tone, Traffic, Violation, WorkBar,
};
pub use timeline::{overlapping_labels, render_timeline, LabelBox};
