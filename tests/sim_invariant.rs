//! A node that breaks an invariant, through `run`, `replay`, `explore` and `shrink` (sim
//! flavor: `cargo sim-test -p faultline --test sim_invariant`): its panic is a failed check
//! named `invariant` with a seed file that replays it, not an aborted process.
#![cfg(madsim)]

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::Scratch;
use faultline::explore::{explore_command, ExploreOptions};
use faultline::run::{replay_command, run_command, RunRequest};
use faultline::seedfile::SeedFile;
use faultline::summary::Summary;
use faultline::Registry;
use faultline_sim::check::Check;
use faultline_sim::scenario::{InputError, Source};
use faultline_sim::simulator::invariant::INVARIANT;
use faultline_sim::{
    BoxNode, Bug, Cx, Message, Node, NodeId, Protocol, Role, Setup, SERVERS_AND_CLIENTS,
};
use serde::{Deserialize, Serialize};

/// The one message: a tick count.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
struct Count(u64);

impl Message for Count {
    fn label(&self) -> &'static str {
        "COUNT"
    }
}

/// Node #0 sends a count every 10 ms; node #1 asserts it never passes 20 once the planted
/// bug `overflow` lets node #0 count past it.
struct Bounded {
    /// The planted bug is on.
    overflow: bool,
}

impl Protocol for Bounded {
    type Msg = Count;
    type Event = u64;
    const NAME: &'static str = "bounded";
    const ABOUT: &'static str = "a count that must stay under 20";
    const ROLES: &'static [Role] = SERVERS_AND_CLIENTS;
    const BUGS: &'static [Bug] = &[Bug {
        name: "overflow",
        about: "the sender counts past the receiver's limit",
    }];
    fn new(setup: &Setup, _: &Source) -> Result<Bounded, InputError> {
        Ok(Bounded {
            overflow: setup.bug("overflow"),
        })
    }
    fn node(&self, id: NodeId) -> BoxNode<Count, u64> {
        Box::new(BoundedNode {
            me: id,
            overflow: self.overflow,
            count: 0,
        })
    }
    fn checks(&self) -> Vec<Box<dyn Check<u64> + Send>> {
        Vec::new()
    }
}

/// One node of [`Bounded`].
struct BoundedNode {
    /// Its id.
    me: NodeId,
    /// The planted bug is on.
    overflow: bool,
    /// Counts sent (node #0).
    count: u64,
}

/// The receiver's limit.
const LIMIT: u64 = 20;

faultline_sim::timers! {
    /// Node #0's one timer.
    enum Tick {
        /// Send the next count.
        Next = 0,
    }
}

impl Node for BoundedNode {
    type Msg = Count;
    type Event = u64;
    type Timer = Tick;
    fn on_start(&mut self, cx: &mut Cx<'_, Count, u64, Tick>) {
        if self.me == NodeId(0) {
            cx.set_timer(Tick::Next, Duration::from_millis(10));
        }
    }
    fn on_message(&mut self, _from: NodeId, msg: Count, cx: &mut Cx<'_, Count, u64, Tick>) {
        assert!(msg.0 <= LIMIT, "count {} past its limit {LIMIT}", msg.0);
        cx.emit(msg.0);
    }
    fn on_timer(&mut self, _timer: Tick, cx: &mut Cx<'_, Count, u64, Tick>) {
        if self.count == LIMIT && !self.overflow {
            return;
        }
        self.count += 1;
        cx.send(NodeId(1), Count(self.count));
        cx.set_timer(Tick::Next, Duration::from_millis(10));
    }
}

/// The registry with [`Bounded`] and its scenario written in `dir`.
fn setup(dir: &Path) -> (Registry, PathBuf) {
    let path = dir.join("bounded.toml");
    std::fs::write(
        &path,
        "name = \"bounded\"\nprotocol = \"bounded\"\nduration_ms = 2000\nseed = 1\n\
         [nodes]\nservers = 2\n[network]\nlatency_ms = [1, 5]\n",
    )
    .unwrap();
    (Registry::default().with::<Bounded>(), path)
}

fn summary(dir: &Path) -> Summary {
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}

#[test]
fn run_fails_invariant_with_the_message_and_replay_reproduces_it() {
    let scratch = Scratch::new("invariant-run");
    let (registry, path) = setup(&scratch.0);
    let out = scratch.0.join("out");
    let code = run_command(
        &registry,
        &path,
        None,
        vec!["overflow".into()],
        Some(out.clone()),
        true,
    );
    assert_eq!(code, 1);
    let s = summary(&out);
    assert_eq!(s.verdict, "fail");
    let broken = &s.checks[0];
    assert_eq!((broken.name.as_str(), broken.ok), (INVARIANT, false));
    assert!(
        broken
            .detail
            .contains("node s2 panicked at tests/sim_invariant.rs:"),
        "{}",
        broken.detail
    );
    assert!(
        broken.detail.contains("count 21 past its limit 20"),
        "{}",
        broken.detail
    );
    assert_eq!(s.digest.len(), 16);
    let seed = SeedFile::load(&out.join("failure.seed"), &registry).unwrap();
    assert_eq!(seed.failed_check.as_deref(), Some(INVARIANT));
    // The replay reproduces it: a digest that differed would be exit 2.
    let again = scratch.0.join("again");
    assert_eq!(
        replay_command(&registry, &out.join("failure.seed"), Some(again.clone())),
        1
    );
    assert_eq!(summary(&again).digest, s.digest);
    // Without the planted bug the invariant holds and the run passes.
    let fine = scratch.0.join("fine");
    assert_eq!(
        run_command(&registry, &path, None, vec![], Some(fine.clone()), false),
        0
    );
    assert!(summary(&fine).checks.iter().all(|c| c.name != INVARIANT));
}

#[test]
fn explore_records_every_seed_as_a_failure_and_shrink_keeps_the_invariant() {
    let scratch = Scratch::new("invariant-explore");
    let (registry, path) = setup(&scratch.0);
    let req = RunRequest::load(&registry, &path, None, vec!["overflow".into()]).unwrap();
    let failures_dir = scratch.0.join("failures");
    let opts = ExploreOptions {
        seeds: 0..4,
        jobs: 2,
        until_failures: usize::MAX,
        time_limit: None,
        shard: None,
        determinism_every: 0,
        failures_dir: failures_dir.clone(),
        report_dir: scratch.0.join("report"),
    };
    assert_eq!(explore_command(&req, &opts), 1);
    let mut seeds: Vec<PathBuf> = std::fs::read_dir(&failures_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "seed"))
        .collect();
    seeds.sort();
    assert_eq!(seeds.len(), 4, "{seeds:?}");
    for seed in &seeds {
        let file = SeedFile::load(seed, &registry).unwrap();
        assert_eq!(
            file.failed_check.as_deref(),
            Some(INVARIANT),
            "{}",
            seed.display()
        );
    }
    let Ok(shrunk) = faultline::shrink::shrink(&req, false) else {
        panic!("shrink lost the failure");
    };
    assert_eq!(shrunk.check, INVARIANT);
}
