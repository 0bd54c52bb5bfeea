//! The whole `faultline` command for the counter: `run`, `explore`, `replay`, `shrink` in
//! the simulator (the default flavor of this crate), `node` as a real process
//! (`RUSTFLAGS= cargo real node --config cluster.toml --id s1`).

fn main() -> std::process::ExitCode {
    faultline::cli::main_with(faultline::Registry::default().with::<counter::Counter>())
}
