//! Three real `faultline node bully` processes on loopback, over UDP multicast: they elect
//! the highest, the leader is killed (SIGKILL), the others re-elect, the old leader restarts
//! and takes over again. Judged from the processes' own trace files.
#![cfg(not(madsim))]

mod real;

use std::path::Path;
use std::time::Duration;

use faultline::summary::analyse;
use faultline_nodes::bully::Event;
use faultline_sim::{Ev, NodeId, Record};

use real::{free_ports, node_entry, Nodes};

const NAMES: [&str; 3] = ["s1", "s2", "s3"];

/// Three bully servers on a multicast group and ports of their own.
fn cluster() -> Nodes {
    let pid = std::process::id();
    // The group's port, then one per node.
    let base = free_ports(NAMES.len() as u16 + 1);
    let group = format!("239.255.{}.{}", 100 + pid % 100, 1 + base % 200);
    let mut text = format!(
        "protocol = \"bully\"\nmulticast = \"{group}:{base}\"\ninterface = \"127.0.0.1\"\n\n\
         [config]\nheartbeat_ms = 100\npeer_timeout_ms = 600\nelection_timeout_ms = 300\ndiscovery_ms = 400\n"
    );
    for (i, name) in NAMES.iter().enumerate() {
        text += &node_entry(name, "server", base + 1 + i as u16);
    }
    Nodes::new("real-bully", &text, &NAMES, "")
}

/// The leader each of `nodes` follows now, per its trace.
fn leaders(c: &Nodes, nodes: &[usize]) -> Vec<Option<NodeId>> {
    (nodes.iter())
        .map(|&i| {
            c.trace::<Event>(i).iter().rev().find_map(|r| match r.ev {
                Ev::Leader { leader } => Some(leader),
                _ => None,
            })?
        })
        .collect()
}

/// Waits until every one of `nodes` follows `leader`.
fn wait_for_leader(c: &mut Nodes, nodes: &[usize], leader: usize) {
    let what = format!("{nodes:?} to follow {}", NAMES[leader]);
    c.wait_until(&what, Duration::from_secs(15), |c| {
        (leaders(c, nodes).iter()).all(|l| *l == Some(NodeId(leader as u16)))
    });
}

fn names() -> Vec<String> {
    NAMES.iter().map(|n| n.to_string()).collect()
}

#[test]
fn three_real_servers_reelect_after_the_leader_is_killed() {
    let mut c = cluster();
    for i in 0..3 {
        c.start(i);
    }
    wait_for_leader(&mut c, &[0, 1, 2], 2);
    let killed_at = c.kill(2);
    wait_for_leader(&mut c, &[0, 1], 1);
    c.start(2);
    wait_for_leader(&mut c, &[0, 1, 2], 2);

    // Merge the three traces (one host, one clock), add the kill the dead process could not
    // record, and summarise them as a simulated run would be.
    let mut records: Vec<Record<Event>> = (0..3).flat_map(|i| c.trace(i)).collect();
    records.push(Record {
        t: killed_at,
        node: NodeId(2),
        ev: Ev::Crash,
    });
    records.sort_by_key(|r| r.t);
    let t0 = records[0].t;
    for r in &mut records {
        r.t -= t0;
    }
    let analysis = analyse(&records, &names());
    let leaders: Vec<&str> = analysis
        .elections
        .iter()
        .map(|e| e.leader.as_str())
        .collect();
    assert!(
        leaders.windows(3).any(|w| w == ["s3", "s2", "s3"]),
        "elections {leaders:?}"
    );
    let crash = analysis
        .recoveries
        .iter()
        .find(|r| r.fault == "crash s3")
        .expect("the kill is a fault");
    assert!(
        crash.recovered_ms.is_some_and(|ms| ms < 5000.0),
        "{crash:?}"
    );
    let delivered = records
        .iter()
        .filter(|r| matches!(r.ev, Ev::Deliver { .. }))
        .count();
    assert!(delivered > 50, "real datagrams flowed: {delivered}");
    assert!(Path::new(&c.dir).join("s3.durable").exists());
}
