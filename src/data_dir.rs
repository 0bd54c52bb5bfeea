//! The folder a real node keeps its trace and durable state in, one per cluster.
//!
//! Two clusters sharing a folder mix their data: a Raft `s1` started where a bully `s1` ran
//! appended to the bully node's trace and read its durable state as its own. So each folder
//! is claimed by one cluster, named in a small file inside it, and a node of another cluster
//! or protocol is refused there.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The root of the default folders, ignored by git.
pub const ROOT: &str = "faultline-data";

/// The file inside a data folder naming the cluster it belongs to.
pub const CLAIM_FILE: &str = "cluster.claim.toml";

/// What a data folder belongs to.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Claim {
    /// The protocol the cluster runs.
    protocol: String,
    /// The cluster file's name (without folders: the same file copied to every host has one
    /// name and many paths).
    cluster: String,
}

/// `faultline-data/<cluster file stem>/`: one folder per cluster file.
pub fn default_for(cluster_file: &Path) -> PathBuf {
    let stem = cluster_file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "cluster".to_string());
    Path::new(ROOT).join(stem)
}

/// Creates `dir` if needed and claims it for the cluster in `cluster_file` running
/// `protocol`; refuses a folder claimed by another, or holding traces of another protocol.
pub fn claim(dir: &Path, protocol: &str, cluster_file: &Path) -> Result<(), String> {
    let ours = Claim {
        protocol: protocol.to_string(),
        cluster: cluster_file
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("{}: cannot create it: {e}", dir.display()))?;
    let claim_path = dir.join(CLAIM_FILE);
    match std::fs::read_to_string(&claim_path) {
        Ok(text) => {
            let theirs: Claim = toml::from_str(&text).map_err(|e| {
                format!(
                    "{}: not a faultline data folder claim ({e}); remove it or choose another --dir",
                    claim_path.display()
                )
            })?;
            if theirs != ours {
                return Err(format!(
                    "{}: this folder holds the data of cluster `{}` ({}), not of `{}` ({}); \
                     choose another --dir or remove the folder",
                    dir.display(),
                    theirs.cluster,
                    theirs.protocol,
                    ours.cluster,
                    ours.protocol
                ));
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            refuse_foreign_traces(dir, protocol)?;
            let text = toml::to_string(&ours).map_err(|e| e.to_string())?;
            std::fs::write(&claim_path, text)
                .map_err(|e| format!("{}: cannot write it: {e}", claim_path.display()))
        }
        Err(e) => Err(format!("{}: cannot read it: {e}", claim_path.display())),
    }
}

/// A folder from before claims: refuse it when a trace in it names another protocol.
fn refuse_foreign_traces(dir: &Path, protocol: &str) -> Result<(), String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.to_string_lossy().ends_with(".trace.jsonl") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let Some(first) = text.lines().next() else {
            continue;
        };
        let header: Result<faultline_sim::Header, _> = serde_json::from_str(first);
        if let Ok(header) = header {
            if header.protocol != protocol {
                return Err(format!(
                    "{}: a trace of protocol `{}` is here, and this node runs `{protocol}`; \
                     choose another --dir or remove the folder",
                    path.display(),
                    header.protocol
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("faultline-data-dir-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn the_default_folder_is_named_after_the_cluster_file() {
        assert_eq!(
            default_for(Path::new("examples/raft-loopback.toml")),
            Path::new("faultline-data/raft-loopback")
        );
    }

    #[test]
    fn a_folder_is_claimed_once_and_refused_to_another_cluster() {
        let dir = scratch("claim");
        claim(&dir, "raft", Path::new("examples/raft-loopback.toml")).unwrap();
        // The same cluster again, from another path (another host's copy): fine.
        claim(&dir, "raft", Path::new("/elsewhere/raft-loopback.toml")).unwrap();
        let other = claim(&dir, "bully", Path::new("examples/cluster-loopback.toml")).unwrap_err();
        assert!(
            other.contains("cluster-loopback.toml") && other.contains("raft-loopback.toml"),
            "{other}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_unclaimed_folder_with_another_protocols_trace_is_refused() {
        let dir = scratch("legacy");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("s1.trace.jsonl"),
            "{\"faultline\":\"0.4.0\",\"protocol\":\"bully\",\"scenario\":\"real:x\",\"seed\":0,\"nodes\":[\"s1\"]}\n",
        )
        .unwrap();
        let err = claim(&dir, "raft", Path::new("raft-loopback.toml")).unwrap_err();
        assert!(err.contains("protocol `bully`"), "{err}");
        claim(&dir, "bully", Path::new("cluster-loopback.toml")).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
