//! `cargo xtask <task>`: the project's own chores, one command each.
//!
//! - `test`: every test, both flavors (real: unit tests and real-process tests; sim: the
//!   simulated scenario runs, determinism, snapshots, planted bugs), and the example of a
//!   user's own crate (`examples/counter`, in both flavors).
//! - `lint`: `cargo fmt --check` and `cargo clippy -D warnings` in both flavors.

use std::process::{Command, ExitCode};

const SIM: [&str; 6] = [
    "--config",
    "build.rustflags=['--cfg','madsim']",
    "--config",
    "build.rustdocflags=['--cfg','madsim']",
    "--target-dir",
    "target/sim",
];

fn cargo(args: &[&str]) -> bool {
    eprintln!("xtask: cargo {}", args.join(" "));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    Command::new(cargo)
        .args(args)
        .status()
        .is_ok_and(|s| s.success())
}

/// The example of a user's own crate (a workspace member, so that faultline is compiled
/// once for both): its simulator tests run with faultline's, its real-process test with the
/// real flavor's.
const EXAMPLE: &str = "counter";

fn test() -> bool {
    let real = ["test", "--workspace", "--exclude", "xtask"];
    let sim = [
        &[
            "test",
            "-p",
            "faultline",
            "-p",
            "faultline-sim",
            "-p",
            EXAMPLE,
        ][..],
        &SIM[..],
    ]
    .concat();
    cargo(&real) && cargo(&sim)
}

fn lint() -> bool {
    let fmt = cargo(&["fmt", "--all", "--", "--check"]);
    let real = cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]);
    let sim_args = [
        &["clippy", "--workspace", "--all-targets"][..],
        &SIM[..],
        &["--", "-D", "warnings"][..],
    ]
    .concat();
    let sim = cargo(&sim_args);
    fmt && real && sim
}

fn main() -> ExitCode {
    let task = std::env::args().nth(1).unwrap_or_default();
    let ok = match task.as_str() {
        "test" => test(),
        "lint" => lint(),
        _ => {
            eprintln!("usage: cargo xtask <test|lint>");
            return ExitCode::from(2);
        }
    };
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
