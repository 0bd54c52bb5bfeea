//! faultline's peers on the bench's workload, measured by a binary of their own
//! (`bench/peers`, the crate `faultline-peers`): turmoil needs real tokio, which cannot live
//! beside the workspace's madsim-tokio, so the peers are a separate crate with their own
//! workspace and lock file, built on first use and run as a subprocess, one run per peer and
//! round.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A peer the binary measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Peer {
    /// Its name on the binary's command line.
    pub(crate) arg: &'static str,
    /// Its line in the table.
    pub(crate) name: &'static str,
    /// Simulated seconds per round: about as long in wall time as raw madsim's turn.
    pub(crate) sim_s: u64,
}

/// turmoil at its default 1 ms tick.
pub(crate) const TURMOIL_1MS: Peer = Peer {
    arg: "turmoil-1ms",
    name: "turmoil, 1 ms tick (its default): same workload",
    sim_s: 10,
};

/// turmoil at a 10 ms tick, one tick per send period.
pub(crate) const TURMOIL_10MS: Peer = Peer {
    arg: "turmoil-10ms",
    name: "turmoil, 10 ms tick: same workload",
    sim_s: 60,
};

/// A plain single-threaded event loop: the floor.
pub(crate) const EVENT_LOOP: Peer = Peer {
    arg: "event-loop",
    name: "plain event loop (binary heap): same workload",
    sim_s: 1200,
};

/// Every peer, in table order.
pub(crate) const PEERS: [Peer; 3] = [TURMOIL_1MS, TURMOIL_10MS, EVENT_LOOP];

/// The peers' crate, in this source tree.
fn crate_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("bench")
        .join("peers")
}

/// The command that builds the peers' binary, for people.
pub(crate) fn build_hint() -> String {
    format!(
        "cargo build --release --manifest-path {}",
        crate_dir().join("Cargo.toml").display()
    )
}

/// The peers' binary, built now if it is missing (a few minutes, once); `Err` says why it
/// is not there and how to build it.
pub(crate) fn binary() -> Result<PathBuf, String> {
    let dir = crate_dir();
    let bin = dir.join("target").join("release").join("faultline-peers");
    if bin.exists() {
        return Ok(bin);
    }
    if !dir.join("Cargo.toml").exists() {
        return Err(format!(
            "{} is not here (faultline was installed without its source tree)",
            dir.display()
        ));
    }
    eprintln!(
        "building the peers' binary (turmoil; once): {}",
        build_hint()
    );
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    // The simulator's flags must not reach turmoil's real tokio.
    let status = Command::new(cargo)
        .args(["build", "--release", "--quiet", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .current_dir(&dir)
        .stdout(Stdio::null())
        .status();
    match status {
        Ok(s) if s.success() && bin.exists() => Ok(bin),
        Ok(s) => Err(format!(
            "the build failed ({s}); build it with: {}",
            build_hint()
        )),
        Err(e) => Err(format!(
            "cannot run cargo ({e}); build it with: {}",
            build_hint()
        )),
    }
}

/// One measured run of a peer: datagrams delivered and wall seconds (the run alone, not the
/// process start).
pub(crate) fn measure(bin: &Path, peer: Peer, sim_s: u64) -> Result<(u64, f64), String> {
    let out = Command::new(bin)
        .arg(peer.arg)
        .arg(sim_s.to_string())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("{}: {e}", bin.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} {} failed: {}",
            bin.display(),
            peer.arg,
            out.status
        ));
    }
    parse(&String::from_utf8_lossy(&out.stdout))
        .ok_or_else(|| format!("{} {}: unreadable answer", bin.display(), peer.arg))
}

/// Reads `PEER delivered=N wall_s=S sim_s=T`.
fn parse(line: &str) -> Option<(u64, f64)> {
    let field = |key: &str| {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
    };
    Some((
        field("delivered")?.parse().ok()?,
        field("wall_s")?.parse().ok()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_binarys_answer_is_read_and_a_garbled_one_is_refused() {
        assert_eq!(
            parse("turmoil-1ms delivered=5998 wall_s=0.25 sim_s=3\n"),
            Some((5998, 0.25))
        );
        assert_eq!(parse("turmoil-1ms delivered=x wall_s=0.25"), None);
        assert_eq!(parse("turmoil-1ms wall_s=0.25"), None);
    }
}
