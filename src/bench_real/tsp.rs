//! `faultline bench-real tsp`: how long a real solver (three coordinator replicas and 1 or 2
//! workers as `faultline node` processes on loopback) takes to solve a TSPLIB instance, beside
//! the sequential solver's time on the same machine in the same run: speed-up and parallel
//! efficiency. rand20 (20 cities, optimum 4337) and ulysses16 (16 cities, 6859); `--quick`:
//! burma14 (14 cities, 3323).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use faultline_nodes::tsp::{self, Instance};

/// An instance the bench solves: its TSPLIB text and its known optimum.
struct Case {
    file: &'static str,
    text: &'static str,
    optimum: u64,
}

const ULYSSES16: Case = Case {
    file: "ulysses16.tsp",
    text: include_str!("../../tests/data/tsp/ulysses16.tsp"),
    optimum: 6859,
};

const RAND20: Case = Case {
    file: "rand20.tsp",
    text: include_str!("../../tests/data/tsp/rand20.tsp"),
    optimum: 4337,
};

const BURMA14: Case = Case {
    file: "burma14.tsp",
    text: include_str!("../../tests/data/tsp/burma14.tsp"),
    optimum: 3323,
};

/// Coordinator replicas of every solver measured.
const COORDINATORS: usize = 3;

/// The solver's processes, killed when dropped.
struct Solver {
    dir: PathBuf,
    config: PathBuf,
    children: Vec<Child>,
}

impl Solver {
    /// Starts `COORDINATORS` replicas and `workers` workers on loopback.
    fn start(workers: usize, base_port: u16) -> Result<Solver, crate::error::Error> {
        let dir = std::env::temp_dir().join(format!(
            "faultline-bench-tsp-{}-{workers}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        // Real time only (node_us = 0); every other setting is the default a user gets.
        let mut text = String::from(
            "protocol = \"tsp\"\ninterface = \"127.0.0.1\"\n\n[config]\nnode_us = 0\n",
        );
        let mut names = Vec::new();
        names.extend((1..=COORDINATORS).map(|i| (format!("co{i}"), "coordinator")));
        names.extend((1..=workers).map(|i| (format!("w{i}"), "worker")));
        names.push(("c1".to_string(), "client"));
        for (i, (name, role)) in names.iter().enumerate() {
            text += &format!(
                "\n[[nodes]]\nname = \"{name}\"\nrole = \"{role}\"\naddr = \"127.0.0.1:{}\"\n",
                base_port + i as u16
            );
        }
        let config = dir.join("cluster.toml");
        std::fs::write(&config, text)?;
        let mut solver = Solver {
            dir,
            config,
            children: Vec::new(),
        };
        for (name, role) in &names {
            if *role == "client" {
                continue;
            }
            let log = std::fs::File::create(solver.dir.join(format!("{name}.log")))?;
            let child = crate::node::child_command(&solver.config, name, &solver.dir)?
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()?;
            solver.children.push(child);
        }
        // Let the replicas elect the active one before the clock starts.
        std::thread::sleep(Duration::from_millis(1500));
        Ok(solver)
    }

    /// Solves the TSPLIB file at `file` with `faultline client`; returns the tour length
    /// and the time the client measured.
    fn solve(&self, file: &Path) -> Result<(u64, Duration), crate::error::Error> {
        let out = Command::new(std::env::current_exe()?)
            .args(["client", "--config"])
            .arg(&self.config)
            .args(["--deadline-ms", "600000", "tsp", "solve"])
            .arg(file)
            .output()?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            return Err(format!(
                "the solver did not answer: {stdout}{} (logs in {})",
                String::from_utf8_lossy(&out.stderr),
                self.dir.display()
            )
            .into());
        }
        let after = |key: &str| {
            stdout
                .lines()
                .find_map(|l| l.split_once(key).map(|(_, rest)| rest.to_string()))
        };
        let len = after("tour length ").and_then(|s| s.trim().parse::<u64>().ok());
        let secs =
            after("solved in ").and_then(|s| s.trim_end_matches(" s").trim().parse::<f64>().ok());
        match (len, secs) {
            (Some(len), Some(secs)) => Ok((len, Duration::from_secs_f64(secs))),
            _ => Err(format!("cannot read the client's answer: {stdout}").into()),
        }
    }
}

impl Drop for Solver {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs the bench; returns the exit code.
pub fn bench(quick: bool) -> Result<i32, crate::error::Error> {
    let cases = if quick {
        vec![BURMA14]
    } else {
        vec![RAND20, ULYSSES16]
    };
    for case in cases {
        bench_case(&case)?;
    }
    println!("speed-up: sequential time / solve time; efficiency: speed-up / workers (each answer checked: the optimum)");
    Ok(0)
}

/// Solves `case` sequentially and then with 1 and 2 workers, and prints the table.
fn bench_case(case: &Case) -> Result<(), crate::error::Error> {
    let instance: Instance = tsp::parse(case.file, case.text)?;
    let dir = std::env::temp_dir().join(format!("faultline-bench-tsp-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let file = dir.join(case.file);
    std::fs::write(&file, case.text)?;
    println!(
        "bench-real tsp: {} ({} cities, optimum {}), {COORDINATORS} coordinator replicas, real processes on loopback",
        instance.name, instance.n, case.optimum
    );

    let started = Instant::now();
    let (tour, nodes) = tsp::solve(&instance);
    let sequential = started.elapsed();
    if tour.len != case.optimum {
        return Err(format!(
            "the sequential solver found {}, not {}",
            tour.len, case.optimum
        )
        .into());
    }
    println!(
        "{:<22} {:>10} {:>10} {:>11}",
        "solver", "time (s)", "speed-up", "efficiency"
    );
    println!(
        "{:<22} {:>10.4} {:>10} {:>11}   ({nodes} nodes expanded, start tour included)",
        "sequential (1 thread)",
        sequential.as_secs_f64(),
        "1.00x",
        "-"
    );
    let base_port = 20_000 + (std::process::id() % 2_000) as u16 * 10;
    let mut one_worker = None;
    for workers in [1, 2] {
        let solver = Solver::start(workers, base_port)?;
        let (len, took) = solver.solve(&file)?;
        drop(solver);
        if len != case.optimum {
            return Err(format!(
                "{workers} worker(s) answered {len}, not the optimum {}",
                case.optimum
            )
            .into());
        }
        let speed_up = sequential.as_secs_f64() / took.as_secs_f64();
        println!(
            "{:<22} {:>10.4} {:>9.4}x {:>10.1}%",
            format!(
                "distributed, {workers} worker{}",
                if workers == 1 { "" } else { "s" }
            ),
            took.as_secs_f64(),
            speed_up,
            100.0 * speed_up / workers as f64
        );
        match one_worker {
            None => one_worker = Some(took),
            Some(one) => println!(
                "two workers over one: {:.2}x",
                one.as_secs_f64() / took.as_secs_f64()
            ),
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
