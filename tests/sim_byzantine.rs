//! Byzantine faults and network noise in the simulator (sim flavor: `cargo sim-test`):
//! corruption only costs time, authentication stops forged identities, and the report's
//! table finds where Raft breaks.
#![cfg(madsim)]

mod common;

use common::{protocols, request, scenarios, Scratch};
use faultline::byzantine::with_liar;
use faultline_sim::faults::byzantine::Behaviour;

/// Corrupted datagrams at 20% never change the verdict of a shipped scenario: the checksum
/// turns them into losses, which every protocol already survives.
#[test]
fn twenty_percent_corruption_changes_no_verdict() {
    let mut failures = Vec::new();
    for path in protocols().into_iter().flat_map(scenarios) {
        let base = request(&path, None, &[]);
        for seed in [base.seed, base.seed + 1] {
            let mut req = base.with_seed(seed);
            req.scenario.network.corrupt = 0.2;
            let outcome = req.execute(None).expect("runs");
            assert!(
                outcome.summary.messages.corrupt > 0,
                "{}: no datagram was corrupted",
                path.display()
            );
            if !outcome.passed() {
                let broken: Vec<_> = outcome.summary.checks.iter().filter(|c| !c.ok).collect();
                failures.push(format!("{} seed {seed}: {broken:?}", path.display()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A bully server that forges other members' identities is refused by every receiver: the
/// trace shows its forgeries dropped as `forged`, and the group still passes.
#[test]
fn the_group_refuses_forged_identities() {
    let base = request("scenarios/bully/byzantine.toml".as_ref(), None, &[]);
    let mut forged = 0;
    let scratch = Scratch::new("forged");
    for seed in 0..3 {
        let outcome = with_liar(&base, Behaviour::Forge, seed)
            .execute(Some(&scratch.0))
            .expect("runs");
        let trace = outcome.trace_jsonl.expect("kept").read().unwrap();
        forged += trace.matches(r#""reason":"forged""#).count();
    }
    assert!(forged > 0, "no forged identity was refused");
}

/// Raft trusts its peers: a replica that equivocates or forges acknowledgements breaks some
/// safety check within a few seeds, and each such run replays to the same digest.
#[test]
fn raft_breaks_under_lies_and_the_break_replays() {
    let base = request("scenarios/raft/byzantine.toml".as_ref(), None, &[]);
    let safety = [
        "election-safety",
        "log-matching",
        "leader-completeness",
        "state-machine-safety",
        "kv-linearizable",
    ];
    let found = [Behaviour::Forge, Behaviour::Equivocate]
        .into_iter()
        .flat_map(|b| (0..30).map(move |seed| (b, seed)))
        .find_map(|(b, seed)| {
            let req = with_liar(&base, b, seed);
            let outcome = req.execute(None).expect("runs");
            let broken = (outcome.summary.checks.iter())
                .find(|c| !c.ok && !c.vacuous)?
                .name
                .clone();
            safety
                .contains(&broken.as_str())
                .then_some((req, outcome.summary.digest, broken))
        });
    let (req, digest, broken) = found.expect("a lying replica breaks a Raft safety check");
    let again = req.execute(None).expect("runs");
    assert_eq!(again.summary.digest, digest, "{broken} does not replay");
}
