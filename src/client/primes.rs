//! `faultline client` for a primes farm: `primes snapshot` asks the coordinator for a
//! Chandy-Lamport snapshot now and prints where the tasks were at the cut; the snapshot itself
//! is saved, as JSON, under the coordinator's durable key `snapshot`.

use std::time::Duration;

use faultline_nodes::primes::{Client, Event, Primes, SnapshotReport};
use faultline_sim::Ev;

use crate::cluster::Cluster;

/// How often the client asks again until answered.
const RETRY: Duration = Duration::from_millis(300);

/// Checks the words are `primes snapshot`.
fn parse_words(words: &[String]) -> Result<(), String> {
    match words {
        [p, s] if p == "primes" && s == "snapshot" => Ok(()),
        _ => Err(format!(
            "cannot read `{}`; the operation is: primes snapshot",
            words.join(" ")
        )),
    }
}

/// Asks for a snapshot as client `id` (default: the cluster's first client); returns the
/// exit code.
pub(super) fn client_command(
    cluster: &Cluster,
    id: Option<&str>,
    deadline_ms: u64,
    words: &[String],
) -> Result<i32, crate::error::Error> {
    parse_words(words)?;
    let me = super::client_node(cluster, id)?;
    let coordinator = cluster.setup().ids("coordinator")[0];
    let deadline = Duration::from_millis(deadline_ms);
    let records = super::run_one_shot::<Primes>(cluster, me, move || {
        Box::new(Client::one_shot(coordinator, RETRY, deadline))
    })?;
    let answer = records.iter().find_map(|r| match &r.ev {
        Ev::Proto {
            event: Event::SnapshotAnswered { seq, report, .. },
        } => Some((*seq, report.clone())),
        _ => None,
    });
    let name = cluster.setup().names[coordinator.0 as usize].clone();
    let Some((seq, report)) = answer else {
        println!("no answer from {name} within {deadline_ms} ms (is the farm running?)");
        return Ok(1);
    };
    match report {
        SnapshotReport::Complete {
            pending,
            working,
            in_flight,
            done,
            channels,
        } => {
            println!("snapshot {name}/{seq}: a consistent cut ({channels} channels balanced)");
            println!(
                "tasks: {pending} pending, {working} being worked, {in_flight} in flight, {done} done"
            );
            println!("saved as JSON under {name}'s durable key `snapshot`");
            Ok(0)
        }
        SnapshotReport::Inconsistent { why } => {
            println!("snapshot {name}/{seq} is not a consistent cut: {why}");
            Ok(1)
        }
        SnapshotReport::Abandoned => {
            println!(
                "snapshot {name}/{seq} was given up (a worker's stream broke under it); ask again"
            );
            Ok(1)
        }
        SnapshotReport::Busy => {
            println!("{name} is assembling as many snapshots as it may; ask again");
            Ok(1)
        }
        SnapshotReport::Loading => {
            println!("{name} is still loading the datasets: no task exists yet; ask again");
            Ok(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_primes_snapshot_is_read() {
        let words = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        assert!(parse_words(&words("primes snapshot")).is_ok());
        assert!(parse_words(&words("primes")).is_err());
        assert!(parse_words(&words("primes snapshot now")).is_err());
    }
}
