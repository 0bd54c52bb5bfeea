//! One run of `scenarios/bench/raft-lossy.toml` at its own seed, with its report files or
//! without: the program `docs/performance.md` measures the report's share with, under
//! callgrind (`valgrind --tool=callgrind target/sim/release/examples/report_cost files`
//! against `... report_cost none`). Build it in the simulator's flavor:
//! `cargo sim-build --release --example report_cost`.

#[cfg(madsim)]
fn main() {
    use faultline::registry::Registry;
    use faultline::run::{write_outputs, RunRequest};

    let with_files = std::env::args().nth(1).as_deref() == Some("files");
    let text = include_str!("../scenarios/bench/raft-lossy.toml");
    let req = RunRequest::parse(&Registry::builtin(), "raft-lossy.toml", text).expect("scenario");
    let dir = std::env::temp_dir().join("faultline-report-cost");
    std::fs::create_dir_all(&dir).expect("report folder");
    let outcome = req
        .execute(with_files.then_some(dir.as_path()))
        .expect("run");
    if with_files {
        write_outputs(&dir, &req, &outcome).expect("report files");
    }
    println!("digest {}", outcome.summary.digest);
}

/// The real flavor runs no simulation.
#[cfg(not(madsim))]
fn main() {
    eprintln!("report_cost simulates: `cargo sim-build --release --example report_cost`");
    std::process::exit(2);
}
