//! `faultline bench-real PROTOCOL`: a protocol's real processes measured on loopback, each
//! figure beside its baseline in the same run (this machine is noisy, so only ratios taken
//! side by side mean anything). One file per protocol, one arm each in
//! [`bench_real_command`]; each starts its own processes, bounds its load, stops by itself
//! and prints a table.

mod cache;
mod overlay;
mod primes;
mod tsp;

/// The protocols with a real bench.
const BENCHED: &[&str] = &["cache", "overlay", "primes", "tsp"];

/// Runs the real bench of `protocol`; returns the exit code.
pub fn bench_real_command(protocol: &str, quick: bool) -> Result<i32, crate::error::Error> {
    match protocol {
        "cache" => cache::bench(quick),
        "overlay" => overlay::bench(quick),
        "primes" => primes::bench(quick),
        "tsp" => tsp::bench(quick),
        _ => Err(format!(
            "no real bench for protocol `{protocol}` (there is one for: {})",
            BENCHED.join(", ")
        )
        .into()),
    }
}
