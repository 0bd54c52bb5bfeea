//! `cargo xtask <task>`: the project's own chores, one command each.
//!
//! - `test`: every test, both flavors (real: unit tests and real-process tests; sim: the
//!   simulated scenario runs, determinism, snapshots, planted bugs), and the example of a
//!   user's own crate (`examples/counter`) as its user runs it.
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

/// The example of a user's own crate, run as its user would: `cargo test` in its folder (its
/// own cargo config makes that the simulator), then its real-process test in the plain build.
const EXAMPLE: &str = "examples/counter";

fn example(args: &[&str], real: bool) -> bool {
    eprintln!("xtask: (cd {EXAMPLE} && cargo {})", args.join(" "));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command.args(args).current_dir(EXAMPLE);
    if real {
        // The example's config asks for the simulator; an empty RUSTFLAGS overrides it.
        command.env("RUSTFLAGS", "");
    }
    command.status().is_ok_and(|s| s.success())
}

fn test() -> bool {
    let real = ["test", "--workspace", "--exclude", "xtask"];
    let sim = [
        &["test", "-p", "faultline", "-p", "faultline-sim"][..],
        &SIM[..],
    ]
    .concat();
    cargo(&real)
        && cargo(&sim)
        && example(&["test"], false)
        && example(
            &["test", "--target-dir", "../../target", "--test", "real"],
            true,
        )
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
    let example_fmt = example(&["fmt", "--", "--check"], false);
    let example_clippy = example(&["clippy", "--all-targets", "--", "-D", "warnings"], false);
    fmt && real && sim && example_fmt && example_clippy
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
