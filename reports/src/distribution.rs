//! Histograms of durations across many runs (election and recovery times over the seeds of
//! an exploration, or simulated against real), side by side, one panel per quantity.

use plotters::prelude::*;
use serde::{Deserialize, Serialize};

/// One panel: a quantity, with one or more series drawn over each other.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Panel {
    /// What is measured ("election time").
    pub title: String,
    /// The series, e.g. one per world (simulated, real).
    pub series: Vec<Series>,
}

/// The values of one series, in milliseconds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// Its name in the legend.
    pub name: String,
    /// The values.
    pub values_ms: Vec<f64>,
}

const PANEL_W: u32 = 640;
const PANEL_H: u32 = 380;
const BINS: usize = 30;
const COLORS: [RGBColor; 4] = [
    RGBColor(52, 120, 190),
    RGBColor(230, 130, 30),
    RGBColor(60, 160, 90),
    RGBColor(170, 70, 160),
];

/// Draws the panels side by side; returns the SVG document.
pub fn render_distributions(title: &str, panels: &[Panel]) -> String {
    let mut svg = String::new();
    let width = PANEL_W * panels.len().max(1) as u32;
    {
        let root = SVGBackend::with_string(&mut svg, (width, PANEL_H + 40)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let _ = root.draw(&Text::new(
            title.to_string(),
            (16, 10),
            ("sans-serif", 20).into_font(),
        ));
        let body = root.margin(40, 0, 0, 0);
        let areas = body.split_evenly((1, panels.len().max(1)));
        for (panel, area) in panels.iter().zip(areas.iter()) {
            draw_panel(panel, area);
        }
        let _ = root.present();
    }
    svg
}

fn draw_panel(panel: &Panel, area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>) {
    let finite = |s: &Series| {
        s.values_ms
            .iter()
            .copied()
            .filter(|v| v.is_finite() && *v >= 0.0)
            .collect::<Vec<f64>>()
    };
    let all: Vec<f64> = panel.series.iter().flat_map(finite).collect();
    // The axis ends at the highest 99th percentile of any series: one slow outlier in
    // thousands of seeds would otherwise squeeze every other value into the first bins.
    // Values past it are counted in the last bin, and the caption says how many.
    let hi = panel
        .series
        .iter()
        .map(|s| percentile(&finite(s), 0.99))
        .fold(0.0f64, f64::max)
        .max(1.0)
        * 1.05;
    let beyond = all.iter().filter(|v| **v >= hi).count();
    let axis = LogBins::new(&all, hi);
    // Each series as fractions of its own count, so a few real runs compare with many seeds.
    let hist: Vec<Vec<f64>> = panel
        .series
        .iter()
        .map(|s| {
            let values = finite(s);
            let mut bins = vec![0.0; BINS];
            for v in &values {
                bins[axis.bin(*v)] += 1.0;
            }
            let n = values.len().max(1) as f64;
            bins.iter().map(|b| b / n).collect()
        })
        .collect();
    let top = hist
        .iter()
        .flatten()
        .copied()
        .fold(0.0f64, f64::max)
        .max(0.01)
        * 1.1;
    let caption = if beyond == 0 {
        format!("{} (n = {})", panel.title, all.len())
    } else {
        format!(
            "{} (n = {}; {beyond} beyond {hi:.0} ms in the last bin)",
            panel.title,
            all.len()
        )
    };
    let caption = format!("{caption}; log scale, first bar under {}", human(axis.lo));
    let Ok(mut chart) = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(48)
        .build_cartesian_2d(0.0..BINS as f64, 0.0..top)
    else {
        return;
    };
    let _ = chart
        .configure_mesh()
        .x_desc("milliseconds (log scale)")
        .x_label_formatter(&|x| axis.label(*x))
        .y_desc("share of runs")
        .y_label_formatter(&|y| format!("{:.0}%", y * 100.0))
        .draw();
    let series_n = hist.len().max(1) as f64;
    for (k, (series, bins)) in panel.series.iter().zip(&hist).enumerate() {
        let color = COLORS[k % COLORS.len()];
        let width = 1.0 / series_n;
        let bars = bins
            .iter()
            .enumerate()
            .filter(|(_, v)| **v > 0.0)
            .map(move |(i, v)| {
                let x0 = i as f64 + k as f64 * width;
                Rectangle::new(
                    [(x0, 0.0), (x0 + width * 0.9, *v)],
                    color.mix(0.75).filled(),
                )
            });
        if let Ok(drawn) = chart.draw_series(bars) {
            let label = format!("{} (n = {})", series.name, finite(series).len());
            drawn.label(label).legend(move |(x, y)| {
                Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled())
            });
        }
    }
    let _ = chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .draw();
}

/// Bins on a log scale: the first holds everything under `lo` (the mass at 0 ms that a
/// linear axis crams into one bar beside the rest), the others split `lo..hi` evenly in log.
struct LogBins {
    /// The lower edge of the second bin.
    lo: f64,
    /// The upper edge of the last bin.
    hi: f64,
}

impl LogBins {
    fn new(values: &[f64], hi: f64) -> LogBins {
        // The smallest positive value, rounded down to a power of ten, but not below 0.1 ms.
        let smallest = values
            .iter()
            .copied()
            .filter(|v| *v > 0.0)
            .fold(f64::INFINITY, f64::min);
        let lo = if smallest.is_finite() {
            10f64.powf(smallest.log10().floor()).max(0.1)
        } else {
            1.0
        };
        LogBins {
            lo: lo.min(hi / 2.0),
            hi,
        }
    }

    /// The bin of `v`.
    fn bin(&self, v: f64) -> usize {
        if v < self.lo {
            return 0;
        }
        let at = (v / self.lo).ln() / (self.hi / self.lo).ln();
        1 + ((at * (BINS - 1) as f64) as usize).min(BINS - 2)
    }

    /// The lower edge of bin position `x`, as the axis shows it.
    fn label(&self, x: f64) -> String {
        if x < 1.0 {
            return "0".into();
        }
        human(self.lo * (self.hi / self.lo).powf((x - 1.0) / (BINS - 1) as f64))
    }
}

/// "0.5 ms", "12 ms", "1.2 s".
fn human(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else if ms >= 10.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{ms:.1} ms")
    }
}

/// The `p` quantile of `values` (0 when empty).
fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mass_at_zero_gets_its_own_bar_and_the_rest_spreads_in_log() {
        let mut values = vec![0.0; 900];
        values.extend((0..100).map(|i| 10.0 + i as f64 * 10.0));
        let bins = LogBins::new(&values, 1000.0);
        assert_eq!(bins.bin(0.0), 0);
        let used: std::collections::BTreeSet<usize> =
            values[900..].iter().map(|v| bins.bin(*v)).collect();
        assert!(
            used.len() >= 10,
            "10..1000 ms spread over many bars, not one: {used:?}"
        );
        assert!(!used.contains(&0), "no positive value joins the zeros");
        assert_eq!(bins.label(0.0), "0");
    }

    #[test]
    fn draws_deterministically_and_survives_empty_and_odd_values() {
        let panels = vec![
            Panel {
                title: "election time".into(),
                series: vec![Series {
                    name: "sim".into(),
                    values_ms: vec![1.0, 5.0, 5.0, 300.0],
                }],
            },
            Panel {
                title: "recovery time".into(),
                series: vec![
                    Series {
                        name: "sim".into(),
                        values_ms: vec![],
                    },
                    Series {
                        name: "real".into(),
                        values_ms: vec![f64::NAN, -1.0, 1e9],
                    },
                ],
            },
        ];
        let a = render_distributions("t", &panels);
        assert_eq!(a, render_distributions("t", &panels));
        assert!(a.contains("election time (n = 4)"));
        assert!(!a.contains("NaN"));
        let _ = render_distributions("empty", &[]);
        let mut values: Vec<f64> = (1..=1000).map(f64::from).collect();
        values.push(1e6);
        let outlier = render_distributions(
            "outlier",
            &[Panel {
                title: "recovery time".into(),
                series: vec![Series {
                    name: "sim".into(),
                    values_ms: values,
                }],
            }],
        );
        assert!(
            outlier.contains("recovery time (n = 1001; 1 beyond 1041 ms in the last bin)"),
            "the axis ends at the 99th percentile, not at the outlier: {}",
            outlier
                .lines()
                .find(|l| l.contains("recovery time"))
                .unwrap_or("")
        );
    }
}
