//! `faultline bench-real PROTOCOL`: a protocol's real processes measured on loopback, each
//! figure beside its baseline in the same run (this machine is noisy, so only ratios taken
//! side by side mean anything). One file per protocol, one arm each in
//! [`bench_real_command`]; each starts its own processes, bounds its load, stops by itself
//! and prints a table.

mod overlay;

/// Runs the real bench of `protocol`; returns the exit code.
pub fn bench_real_command(protocol: &str, quick: bool) -> Result<i32, crate::error::Error> {
    match protocol {
        "overlay" => overlay::bench(quick),
        _ => Err(
            format!("no real bench for protocol `{protocol}` (there is one for: overlay)").into(),
        ),
    }
}
