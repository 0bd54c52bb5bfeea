//! What a run comes to, whichever world it ran in: its summary, its report files
//! (`trace.jsonl`, `summary.json`, `timeline.svg`) and its verdict lines. A simulated run
//! (`run.rs`) and a run of real processes (`lan/`, `collect`) both end here, so their
//! reports are alike.

use std::path::Path;

use faultline_sim::check::name_nodes;
use faultline_sim::scenario::Scenario;
use faultline_sim::{Header, Message, Protocol, Trace, Verdict};

use crate::report::{self, human_ms};
use crate::seedfile::VERSION;
use crate::summary::{analyse, Summary};

/// What a run produced.
pub struct Outcome {
    /// The summary (also `summary.json`).
    pub summary: Summary,
    /// `trace.jsonl`, when files were asked for.
    pub trace_jsonl: Option<Vec<u8>>,
    /// `timeline.svg`, when files were asked for.
    pub timeline_svg: Option<String>,
}

impl Outcome {
    /// Whether every check held.
    pub fn passed(&self) -> bool {
        self.summary.verdict == "pass"
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

/// Summarises a finished run from its trace and verdicts; `files` asks for the trace and
/// the timeline too.
pub fn summarise<P: Protocol>(
    proto: &P,
    run: &RunInfo,
    trace: &Trace<P::Event>,
    verdicts: Vec<Verdict>,
    end_us: u64,
    files: bool,
) -> Outcome {
    let names = run.scenario.node_names();
    let details = proto.details(&trace.records, &names);
    // Checks format node ids; a person reads node names.
    let allowed = run.scenario.allow_vacuous();
    let verdicts: Vec<Verdict> = (verdicts.into_iter())
        .map(|v| {
            let mut v = Verdict {
                detail: name_nodes(&v.detail, &names),
                ..v
            };
            if allowed.contains(&v.name) {
                v.allow_vacuous();
            }
            v
        })
        .collect();
    let analysis = analyse(&trace.records, &names);
    let vacuous: Vec<String> = (verdicts.iter())
        .filter(|v| v.vacuous)
        .map(|v| v.name.clone())
        .collect();
    // A run that fails only for checks that judged nothing says so: it found no bug, but
    // it showed nothing either.
    let verdict = if verdicts.iter().all(|v| v.ok) {
        "pass"
    } else if verdicts.iter().all(|v| v.ok || v.vacuous) {
        "vacuous"
    } else {
        "fail"
    };
    let summary = Summary {
        scenario: run.scenario.name.clone(),
        protocol: run.scenario.protocol.clone(),
        seed: run.seed,
        bugs: run.bugs.to_vec(),
        digest: trace.digest(),
        verdict: verdict.to_string(),
        end_ms: end_us as f64 / 1000.0,
        nodes: names.clone(),
        checks: verdicts,
        vacuous,
        elections: analysis.elections,
        recoveries: analysis.recoveries,
        messages: analysis.messages,
        events: trace.records.len() as u64 + trace.records_dropped,
        details,
    };
    let (trace_jsonl, timeline_svg) = if files {
        let header = Header {
            faultline: VERSION.to_string(),
            protocol: run.scenario.protocol.clone(),
            scenario: run.scenario.name.clone(),
            seed: run.seed,
            nodes: names,
        };
        let mut jsonl = Vec::new();
        trace
            .write_jsonl(&header, &mut jsonl)
            .expect("writing to memory cannot fail");
        let mut timeline = report::timeline(
            &trace.records,
            &summary,
            <P::Msg as Message>::KINDS,
            P::STATES,
        );
        report::add_chart(&mut timeline, &proto.chart(&trace.records));
        let svg = faultline_reports::render_timeline(&timeline);
        (Some(jsonl), Some(svg))
    } else {
        (None, None)
    };
    Outcome {
        summary,
        trace_jsonl,
        timeline_svg,
    }
}

/// Writes `trace.jsonl` (when kept), `summary.json` and `timeline.svg` (when drawn).
pub fn write_report(dir: &Path, o: &Outcome) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    if let Some(jsonl) = &o.trace_jsonl {
        std::fs::write(dir.join("trace.jsonl"), jsonl)?;
    }
    let summary = serde_json::to_string_pretty(&o.summary).map_err(std::io::Error::other)?;
    std::fs::write(dir.join("summary.json"), summary + "\n")?;
    if let Some(svg) = &o.timeline_svg {
        std::fs::write(dir.join("timeline.svg"), svg)?;
    }
    Ok(())
}

/// Prints the verdict: `command` names the run ("faultline run"), `clock` ends the message
/// line ("20.0 simulated s in 0.02 wall s"), `notes` come just before the last line.
pub fn print_verdict(command: &str, o: &Outcome, dir: &Path, clock: &str, notes: &[String]) {
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
            elections.join("; ")
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
        println!("  recoveries: {}", recoveries.join("; "));
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
    let verdict = match s.verdict.as_str() {
        "pass" => "PASS".to_string(),
        "vacuous" => format!("FAIL (vacuous: {})", vacuous_failures(s).join(", ")),
        _ => "FAIL".to_string(),
    };
    println!("{verdict}  digest {}  -> {}", s.digest, dir.display());
}

/// The checks that failed the run by judging nothing.
fn vacuous_failures(s: &Summary) -> Vec<&str> {
    (s.checks.iter())
        .filter(|c| !c.ok && c.vacuous)
        .map(|c| c.name.as_str())
        .collect()
}
