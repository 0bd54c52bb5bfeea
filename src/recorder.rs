//! Everything a run's report needs, gathered as its records happen: the summary's facts, the
//! protocol's details and chart, and (when files are wanted) `trace.jsonl`, written as the
//! run goes, the timeline, the clients' latency and throughput and their history. No record is kept, so a report costs the same memory whatever
//! the run's length; with no files wanted, nothing is written and nothing of the timeline
//! is gathered.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use faultline_sim::check::name_nodes;
use faultline_sim::protocol::facts::{Facts, History};
use faultline_sim::scenario::Scenario;
use faultline_sim::trace::{JsonlWriter, RecordSink};
use faultline_sim::{Header, Message, Protocol, Record, Trace, Verdict};

use crate::outcome::{ClientPlots, Outcome, RunInfo, TraceJsonl};
use crate::report::{self, ClientOps, TimelineBuilder};
use crate::seedfile::VERSION;
use crate::summary::{Analyser, Summary};

/// Where `trace.jsonl` goes.
pub enum TraceTo {
    /// Nowhere: no trace and no timeline (explore's seeds, bench, shrink's candidates).
    Nowhere,
    /// Into this file, line by line as the run goes, and a timeline is drawn.
    File(PathBuf),
    /// Into memory, and a timeline is drawn: for a trace that is in memory anyway (a merged
    /// run of real nodes).
    Memory,
}

/// Where the trace lines go: a file or memory.
enum Dest {
    /// A trace file.
    File(File),
    /// Memory.
    Memory(Vec<u8>),
}

impl Write for Dest {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Dest::File(f) => f.write(buf),
            Dest::Memory(m) => m.write(buf),
        }
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Dest::File(f) => f.write_all(buf),
            Dest::Memory(m) => m.write_all(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Dest::File(f) => f.flush(),
            Dest::Memory(_) => Ok(()),
        }
    }
}

/// The files of a run that wants them.
struct Files<E: 'static> {
    /// `trace.jsonl`, written as records arrive.
    writer: JsonlWriter<Dest>,
    /// The file it goes to (`None`: memory).
    path: Option<PathBuf>,
    /// The timeline, built as records arrive (in bounded memory).
    timeline: TimelineBuilder,
    /// Client operations, for the timeline and the latency and throughput plots.
    client_ops: ClientOps<E>,
    /// The client history for `history.jsonl`, when the protocol keeps one.
    history: Option<Box<dyn History<E>>>,
}

/// The [`RecordSink`] a run's report is made from.
pub struct Recorder<E: 'static> {
    /// Node names, indexed by id.
    names: Vec<String>,
    /// Elections, recoveries, message counts.
    analyser: Analyser,
    /// The protocol's details and chart.
    facts: Box<dyn Facts<E>>,
    /// The trace file and timeline, when wanted.
    files: Option<Files<E>>,
}

impl<E: faultline_sim::ProtoEvent + Send> Recorder<E> {
    /// A recorder for a run of `proto` on `scenario` under `seed`; with a file to write, the
    /// file (and its folder) is created and its header written at once.
    pub fn new<P: Protocol<Event = E>>(
        proto: &P,
        scenario: &Scenario,
        seed: u64,
        trace: TraceTo,
    ) -> io::Result<Self> {
        let names = scenario.node_names();
        let header = Header {
            faultline: VERSION.to_string(),
            protocol: scenario.protocol.clone(),
            scenario: scenario.name.clone(),
            seed,
            nodes: names.clone(),
        };
        let (dest, path) = match trace {
            TraceTo::Nowhere => (None, None),
            TraceTo::File(path) => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                (Some(Dest::File(File::create(&path)?)), Some(path))
            }
            TraceTo::Memory => (Some(Dest::Memory(Vec::new())), None),
        };
        let files = match dest {
            Some(dest) => Some(Files {
                writer: JsonlWriter::new(&header, dest)?,
                path,
                timeline: TimelineBuilder::new(
                    names.clone(),
                    <P::Msg as Message>::KINDS,
                    P::STATES,
                ),
                client_ops: ClientOps::new(names.len(), P::client_op),
                history: proto.history(),
            }),
            None => None,
        };
        Ok(Recorder {
            analyser: Analyser::new(&names),
            names,
            facts: proto.facts(),
            files,
        })
    }

    /// The run's outcome: its summary from the digest, the verdicts and what was gathered;
    /// its trace file complete (an error writing it is returned).
    pub fn finish(
        self,
        run: &RunInfo,
        trace: &Trace,
        verdicts: Vec<Verdict>,
        end_us: u64,
    ) -> io::Result<Outcome> {
        let Recorder {
            names,
            analyser,
            facts,
            files,
        } = self;
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
        let analysis = analyser.finish();
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
            details: facts.details(&names),
            nodes: names,
            checks: verdicts,
            vacuous,
            elections: analysis.elections,
            recoveries: analysis.recoveries,
            messages: analysis.messages,
            resolved: analysis.resolved,
            events: trace.records(),
        };
        let Some(files) = files else {
            return Ok(Outcome {
                summary,
                trace_jsonl: None,
                timeline_svg: None,
                client_plots: None,
                history_jsonl: None,
            });
        };
        let dest = files.writer.finish()?;
        let trace_jsonl = match (dest, files.path) {
            (Dest::Memory(bytes), _) => TraceJsonl::Memory(bytes),
            (Dest::File(file), Some(path)) => {
                drop(file);
                TraceJsonl::File(path)
            }
            (Dest::File(_), None) => unreachable!("a trace file has a path"),
        };
        let mut timeline = files.timeline.finish(&summary);
        report::add_chart(&mut timeline, &facts.chart());
        timeline.violation = report::violation(&summary);
        let client_plots = files.client_ops.any().then(|| {
            let title = format!(
                "{} / {} — seed {}",
                summary.protocol, summary.scenario, summary.seed
            );
            let series = files
                .client_ops
                .finish(title, summary.end_ms, &mut timeline);
            ClientPlots {
                latency_svg: faultline_reports::render_latency(&series).unwrap_or_default(),
                throughput_svg: faultline_reports::render_throughput(&series).unwrap_or_default(),
            }
        });
        let svg = faultline_reports::render_timeline(&timeline);
        Ok(Outcome {
            summary,
            trace_jsonl: Some(trace_jsonl),
            timeline_svg: Some(svg),
            client_plots,
            history_jsonl: files.history.map(|h| h.jsonl()),
        })
    }
}

impl<E: faultline_sim::ProtoEvent + Send> RecordSink<E> for Recorder<E> {
    fn record(&mut self, rec: &Record<E>) {
        self.analyser.observe(rec);
        self.facts.observe(rec);
        if let Some(files) = &mut self.files {
            files.writer.write(rec);
            files.timeline.observe(rec);
            files.client_ops.observe(rec);
            if let Some(history) = &mut files.history {
                history.observe(rec);
            }
        }
    }
}

/// `dir/trace.jsonl`.
pub fn trace_path(dir: &Path) -> PathBuf {
    dir.join("trace.jsonl")
}
