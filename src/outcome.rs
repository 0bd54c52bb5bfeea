//! What a run comes to, whichever world it ran in: its summary, its report files
//! (`trace.jsonl`, `summary.json`, `timeline.svg`) and its verdict lines. A simulated run
//! (`run.rs`) and a run of real processes (`lan/`, `collect`) both end here, so their
//! reports are alike.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use faultline_sim::scenario::Scenario;

use crate::report::human_ms;
use crate::summary::Summary;

/// What a run produced.
pub struct Outcome {
    /// The summary (also `summary.json`).
    pub summary: Summary,
    /// `trace.jsonl`, when files were asked for.
    pub trace_jsonl: Option<TraceJsonl>,
    /// `timeline.svg`, when files were asked for.
    pub timeline_svg: Option<String>,
    /// `latency.svg` and `throughput.svg`, when files were asked for and clients ran.
    pub client_plots: Option<ClientPlots>,
    /// `history.jsonl` (for `faultline check-history`), when files were asked for and the
    /// protocol keeps a client history.
    pub history_jsonl: Option<String>,
}

/// The plots of a run's client operations over time.
pub struct ClientPlots {
    /// `latency.svg`: every operation's latency at the time it returned.
    pub latency_svg: String,
    /// `throughput.svg`: operations returned per second.
    pub throughput_svg: String,
}

impl Outcome {
    /// Whether every check held.
    pub fn passed(&self) -> bool {
        self.summary.verdict == "pass"
    }
}

/// Where a run's `trace.jsonl` is.
pub enum TraceJsonl {
    /// In this file, written as the run went.
    File(PathBuf),
    /// In memory (a merged run of real nodes, whose records were all in memory anyway).
    Memory(Vec<u8>),
}

impl TraceJsonl {
    /// Its lines, read as they are needed.
    pub fn reader(&self) -> std::io::Result<Box<dyn BufRead + '_>> {
        Ok(match self {
            TraceJsonl::File(path) => Box::new(BufReader::new(File::open(path)?)),
            TraceJsonl::Memory(bytes) => Box::new(&bytes[..]),
        })
    }

    /// All of it, in memory: for tests and small runs.
    pub fn read(&self) -> std::io::Result<String> {
        let mut text = String::new();
        self.reader()?.read_to_string(&mut text)?;
        Ok(text)
    }
}

/// What ran: the scenario (concrete: its random faults drawn), the seed and planted bugs.
pub struct RunInfo<'a> {
    /// The scenario.
    pub scenario: &'a Scenario,
    /// The seed (0 for real processes).
    pub seed: u64,
    /// Planted bugs switched on.
    pub bugs: &'a [String],
}

/// Writes `summary.json`, `timeline.svg`, `latency.svg` and `throughput.svg` and
/// `history.jsonl` (each when there is one) into `dir`, and puts `trace.jsonl`
/// there (when kept): a trace written elsewhere as the run went is moved in.
pub fn write_report(dir: &Path, o: &Outcome) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let target = dir.join("trace.jsonl");
    match &o.trace_jsonl {
        Some(TraceJsonl::Memory(jsonl)) => std::fs::write(&target, jsonl)?,
        Some(TraceJsonl::File(path)) if *path != target => {
            // Another file system cannot take a rename: copy, then remove.
            if std::fs::rename(path, &target).is_err() {
                std::fs::copy(path, &target)?;
                std::fs::remove_file(path)?;
            }
        }
        Some(TraceJsonl::File(_)) | None => {}
    }
    let summary = serde_json::to_string_pretty(&o.summary).map_err(std::io::Error::other)?;
    std::fs::write(dir.join("summary.json"), summary + "\n")?;
    if let Some(svg) = &o.timeline_svg {
        std::fs::write(dir.join("timeline.svg"), svg)?;
    }
    if let Some(plots) = &o.client_plots {
        std::fs::write(dir.join("latency.svg"), &plots.latency_svg)?;
        std::fs::write(dir.join("throughput.svg"), &plots.throughput_svg)?;
    }
    if let Some(history) = &o.history_jsonl {
        std::fs::write(dir.join("history.jsonl"), history)?;
    }
    Ok(())
}

/// Items shown in full before a list is folded.
const LIST_SHOWN_MAX: usize = 6;

/// "a; b; c", or for a long list its first and last items around a count of the rest: a
/// churn run has hundreds of recoveries, and summary.json lists them all.
fn fold(items: &[String]) -> String {
    if items.len() <= LIST_SHOWN_MAX {
        return items.join("; ");
    }
    let (head, tail) = (LIST_SHOWN_MAX / 2, 2);
    format!(
        "{} in all: {}; ... {} more (summary.json lists them) ...; {}",
        items.len(),
        items[..head].join("; "),
        items.len() - head - tail,
        items[items.len() - tail..].join("; ")
    )
}

/// Prints the verdict: `command` names the run ("faultline run"), `clock` ends the message
/// line ("20.0 simulated s in 0.02 wall s"), `notes` come just before the last line.
pub fn print_verdict(command: &str, o: &Outcome, dir: &Path, clock: &str, notes: &[String]) {
    print_verdict_unless(command, o, dir, clock, notes, None)
}

/// [`print_verdict`], failed for a reason beyond the checks when `failed` says one (a second
/// run that parted from the first).
pub fn print_verdict_unless(
    command: &str,
    o: &Outcome,
    dir: &Path,
    clock: &str,
    notes: &[String],
    failed: Option<&str>,
) {
    let s = &o.summary;
    let bugs = if s.bugs.is_empty() {
        String::new()
    } else {
        format!(", bugs: {}", s.bugs.join(", "))
    };
    println!(
        "{command}: {} / {}, seed {}{bugs}",
        s.protocol, s.scenario, s.seed
    );
    for c in &s.checks {
        let judged = match (c.ok, c.vacuous) {
            (false, false) => String::new(),
            (true, true) => "vacuous (allowed): judged nothing: ".into(),
            (false, true) => "vacuous: judged nothing: ".into(),
            (true, false) => format!("{}: ", c.judged_text()),
        };
        println!("  {:<7} {:<18} {judged}{}", c.status(), c.name, c.detail);
    }
    let elections: Vec<String> = s
        .elections
        .iter()
        .map(|e| {
            format!(
                "{} at {:.1} s in {}",
                e.leader,
                e.decided_ms / 1000.0,
                human_ms(e.decided_ms - e.started_ms)
            )
        })
        .collect();
    println!(
        "  elections: {}",
        if elections.is_empty() {
            "none".into()
        } else {
            fold(&elections)
        }
    );
    let recoveries: Vec<String> = s
        .recoveries
        .iter()
        .map(|r| match r.recovered_ms {
            Some(took) => format!(
                "{} at {:.1} s: {}",
                r.fault,
                r.at_ms / 1000.0,
                human_ms(took)
            ),
            None => format!("{} at {:.1} s: not recovered", r.fault, r.at_ms / 1000.0),
        })
        .collect();
    if !recoveries.is_empty() {
        println!("  recoveries: {}", fold(&recoveries));
    }
    if let Some(headline) = s
        .details
        .as_ref()
        .and_then(|d| d.get("headline"))
        .and_then(|h| h.as_str())
    {
        println!("  {headline}");
    }
    let m = &s.messages;
    println!(
        "  messages: {} sent, {} delivered, {} dropped, {} corrupt; {clock}",
        m.sent, m.delivered, m.dropped, m.corrupt,
    );
    for note in notes {
        println!("  {note}");
    }
    match failed {
        Some(why) if o.passed() => {
            println!("FAIL  {why}  digest {}  -> {}", s.digest, dir.display())
        }
        _ => {
            let verdict = match s.verdict.as_str() {
                "pass" => "PASS".to_string(),
                "vacuous" => format!("FAIL (vacuous: {})", vacuous_failures(s).join(", ")),
                _ => "FAIL".to_string(),
            };
            println!("{verdict}  digest {}  -> {}", s.digest, dir.display());
        }
    }
}

/// The checks that failed the run by judging nothing.
fn vacuous_failures(s: &Summary) -> Vec<&str> {
    (s.checks.iter())
        .filter(|c| !c.ok && c.vacuous)
        .map(|c| c.name.as_str())
        .collect()
}

#[cfg(test)]
mod fold_tests {
    use super::fold;

    #[test]
    fn a_short_list_is_whole_and_a_long_one_is_folded_around_a_count() {
        let items: Vec<String> = (1..=3).map(|i| format!("r{i}")).collect();
        assert_eq!(fold(&items), "r1; r2; r3");
        let items: Vec<String> = (1..=100).map(|i| format!("r{i}")).collect();
        assert_eq!(
            fold(&items),
            "100 in all: r1; r2; r3; ... 95 more (summary.json lists them) ...; r99; r100"
        );
    }
}
