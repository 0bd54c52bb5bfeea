//! `faultline check-history`: the linearizability checker on its own, for a history recorded
//! anywhere: faultline's JSON lines (documented in `faultline_sim::check::linearizability`),
//! Jepsen's or Knossos's EDN, or Jepsen's log lines.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use faultline_sim::check::linearizability::{
    check_with, explain, parse_history_as, Format, Limits, Model, Op, Verdict,
};

/// The command's arguments.
#[derive(clap::Args, Debug)]
pub struct CheckHistoryArgs {
    /// The history file.
    pub path: PathBuf,
    /// `register` (one key) or `kv` (a map, checked key by key).
    #[arg(long, default_value = "kv")]
    pub model: String,
    /// `jsonl`, `edn` (Jepsen history.edn, Knossos) or `jepsen-log` (`INFO jepsen.util - ...`
    /// lines); detected from the content when not given.
    #[arg(long)]
    pub format: Option<String>,
    /// Wall-clock seconds the search may take before giving up undecided (exit 2).
    #[arg(long, default_value_t = 10.0, value_parser = positive_seconds)]
    pub budget: f64,
    /// Write a page (.html, or .svg for the drawing alone) showing the failing key's ops per
    /// client on a time axis, the longest linearizable prefix found and the op that cannot be
    /// placed (for a linearizable history: its busiest key, placed whole).
    #[arg(long)]
    pub view: Option<PathBuf>,
}

fn positive_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 && s <= 1e9 => Ok(s),
        _ => Err(format!(
            "expected a positive number of seconds, got `{text}`"
        )),
    }
}

/// Returns the exit code: 0 linearizable, 1 not (with a small witness), 2 bad or empty input,
/// or undecided within the budget.
pub fn check_history_command(args: &CheckHistoryArgs) -> i32 {
    let path = args.path.as_path();
    let model = match args.model.as_str() {
        "register" => Model::Register,
        "kv" => Model::Kv,
        other => {
            eprintln!("error: --model {other}: expected `register` or `kv`");
            return 2;
        }
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {}: cannot read: {e}", path.display());
            return 2;
        }
    };
    let format = match args.format.as_deref() {
        None => Format::detect(&text),
        Some(name) => match Format::from_name(name) {
            Some(format) => format,
            None => {
                eprintln!("error: --format {name}: expected `jsonl`, `edn` or `jepsen-log`");
                return 2;
            }
        },
    };
    let history = match parse_history_as(&text, format) {
        Ok(h) => h,
        Err(e) => {
            let field = e
                .field
                .as_ref()
                .map_or(String::new(), |f| format!("field `{f}`: "));
            eprintln!(
                "error: {}:{}: {field}{} (read as {})",
                path.display(),
                e.line,
                e.message,
                format.name()
            );
            return 2;
        }
    };
    // Nothing to check is far likelier a wrong file or a recorder that never ran than a
    // system that did nothing, so it is not reported as a pass.
    if history.is_empty() {
        eprintln!(
            "warning: {}: empty history: nothing to check (read as {})",
            path.display(),
            format.name()
        );
        return 2;
    }
    let limits = Limits::wall_clock(Duration::from_secs_f64(args.budget));
    let started = Instant::now();
    let verdict = check_with(&history, model, &limits);
    let took = started.elapsed().as_secs_f64();
    println!(
        "{}: {} ops ({}, {took:.3} s): {verdict}",
        path.display(),
        history.len(),
        format.name()
    );
    if let Some(view) = &args.view {
        if let Err(message) = write_view(view, &history, &verdict, &limits) {
            eprintln!("error: {}: {message}", view.display());
            return 2;
        }
    }
    match verdict {
        Verdict::Linearizable => 0,
        Verdict::NotLinearizable { .. } => 1,
        Verdict::Unknown { .. } => 2,
    }
}

/// Draws the failing key (or, when all are fine, the busiest one) into `out`.
fn write_view(
    out: &Path,
    history: &[Op],
    verdict: &Verdict,
    limits: &Limits,
) -> Result<(), String> {
    let key = match verdict {
        Verdict::NotLinearizable { key, .. } => key.clone(),
        Verdict::Linearizable => busiest_key(history),
        Verdict::Unknown { .. } => {
            eprintln!("note: undecided, so no view written");
            return Ok(());
        }
    };
    let explained = explain(history, &key, limits);
    let svg_only = out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("svg"));
    let page = if svg_only {
        faultline_reports::render_history_svg(&explained)
    } else {
        faultline_reports::render_history_page(&explained)
    };
    std::fs::write(out, page).map_err(|e| format!("cannot write: {e}"))?;
    println!("view of key {:?}: {}", key, out.display());
    Ok(())
}

/// The key with the most ops (the first such in key order).
fn busiest_key(history: &[Op]) -> String {
    let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
    for op in history {
        *counts.entry(op.input.key()).or_default() += 1;
    }
    let most = counts.values().copied().max().unwrap_or(0);
    counts
        .into_iter()
        .find(|&(_, n)| n == most)
        .map_or(String::new(), |(k, _)| k.to_string())
}
