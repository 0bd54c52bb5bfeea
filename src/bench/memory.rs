//! explore's memory: the peak resident set of a short `faultline explore`, run as a child
//! process so that the figure is explore's own and not the bench's (whose own runs have
//! already raised its high-water mark).

use std::path::Path;
use std::process::{Command, Stdio};

/// Runs `faultline explore` on `scenario` (its text) over `seeds` seeds with one job, in a
/// child process under `scratch`; returns its peak RSS in KiB (the kernel's `ru_maxrss` for
/// that child alone, from `wait4`).
pub(crate) fn explore_peak_rss(scratch: &Path, scenario: &str, seeds: u64) -> Result<u64, String> {
    std::fs::create_dir_all(scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    let path = scratch.join("explore.toml");
    std::fs::write(&path, scenario).map_err(|e| format!("{}: {e}", path.display()))?;
    let exe = std::env::current_exe().map_err(|e| format!("where am I: {e}"))?;
    let child = Command::new(exe)
        .arg("explore")
        .arg(&path)
        .arg(format!("--seeds=0..{seeds}"))
        .arg("--jobs=1")
        .arg("--out")
        .arg(scratch.join("explore"))
        .arg("--failures")
        .arg(scratch.join("failures"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start explore: {e}"))?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: zeroed rusage is a valid value of a plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own child, not yet waited for (the `Child` is never waited on:
    // it is forgotten below, so its pid is reaped here exactly once).
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    std::mem::forget(child);
    if reaped != pid {
        return Err(format!("wait4: {}", std::io::Error::last_os_error()));
    }
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return Err(format!("explore ended with status {status:#x}"));
    }
    Ok(usage.ru_maxrss.max(0) as u64)
}
