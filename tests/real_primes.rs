//! The primes farm as real processes on loopback: three file servers, a coordinator and two
//! workers read their datasets from a real folder. A worker is killed (SIGKILL) in the middle
//! of a task and the primary file server right after; the farm finishes anyway, the dead
//! worker's task is put back, and `primes.txt` holds exactly the primes of the datasets,
//! computed here with a sieve (and Miller-Rabin for the numbers near 2^64). The merged
//! traces are then judged with the farm's own checks (consistent snapshots, every task
//! counted once, the output).
#![cfg(not(madsim))]

mod real;

use std::collections::BTreeSet;
use std::time::Duration;

use faultline::cluster::Cluster as ClusterFile;
use faultline::registry::Registry;
use faultline_nodes::primes::primality::is_prime;
use faultline_nodes::primes::{parse_output, Event, Primes, OUTPUT_FILE};
use faultline_sim::{Ev, NodeId, Protocol, Record};

use real::{free_ports, node_entry, now_us, Nodes};

const NAMES: [&str; 6] = ["f1", "f2", "f3", "c1", "w1", "w2"];
const COORDINATOR: usize = 3;

/// Small numbers: every one below this is judged by the sieve.
const SMALL: u64 = 200_000;

/// Numbers near 2^64 (primes, composites, a strong pseudoprime to base 2).
const NEAR_2_64: &str = "# near 2^64\n18446744073709551557\n18446744073709551533\n\
    18446744073709551615\n18446744073709551614\n18446744073709551559\n3215031751\n\
    2305843009213693951\n9223372036854775807\n";

/// The farm's cluster file, and its datasets written into `<dir>/data`: 1,500 numbers from
/// a fixed generator, and the file of numbers near 2^64.
fn farm() -> Nodes {
    let pid = std::process::id();
    let base = free_ports(NAMES.len() as u16 + 2);
    let mut text = format!(
        "protocol = \"primes\"\nmulticast = \"239.255.{}.{}:{base}\"\ninterface = \"127.0.0.1\"\n\n\
         [config]\nheartbeat_ms = 50\nworker_timeout_ms = 600\nfs_heartbeat_ms = 50\n\
         fs_leader_timeout_ms = 400\nelection_timeout_ms = 200\nrequest_retry_ms = 200\n\
         replicate_timeout_ms = 500\nflush_ms = 100\nsnapshot_ms = 300\n\
         test_us_per_number = 2000\nreconnect_ms = 100\n\n\
         [workload]\ntask_numbers = 100\nfolder = \"data\"\n",
        100 + pid % 100,
        1 + pid % 200
    );
    for (i, name) in NAMES.iter().enumerate() {
        let role = match name.as_bytes()[0] {
            b'f' => "file_server",
            b'c' => "coordinator",
            _ => "worker",
        };
        text += &node_entry(name, role, base + 1 + i as u16);
    }
    // The address `faultline client primes snapshot` asks from (not a process of the farm).
    text += &node_entry("u1", "client", base + 1 + NAMES.len() as u16);
    let farm = Nodes::new("real-primes", &text, &NAMES, "run");
    std::fs::create_dir_all(farm.dir.join("data")).unwrap();
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let small: Vec<String> = (0..1500)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % SMALL).to_string()
        })
        .collect();
    std::fs::write(farm.dir.join("data/a.txt"), small.join("\n") + "\n").unwrap();
    std::fs::write(farm.dir.join("data/b.txt"), NEAR_2_64).unwrap();
    farm
}

/// Asks the farm for a snapshot now, as `faultline client` does, and returns what it printed;
/// asks again (up to three times) when the snapshot was given up because a stream broke
/// under it, which a worker killed a moment before can do.
fn snapshot_on_demand(farm: &Nodes) -> String {
    let mut printed = String::new();
    for _ in 0..3 {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_faultline"))
            .arg("client")
            .arg("--config")
            .arg(&farm.config)
            .args(["--deadline-ms", "5000", "primes", "snapshot"])
            .output()
            .expect("faultline client runs");
        printed = String::from_utf8_lossy(&out.stdout).to_string();
        if out.status.success() || !printed.contains("given up") {
            break;
        }
    }
    printed
}

/// The protocol events of node `i`.
fn events(farm: &Nodes, i: usize) -> Vec<Event> {
    farm.events(i).into_iter().map(|(_, e)| e).collect()
}

/// The task worker `i` is testing now, if any: started and not yet tested.
fn testing(farm: &Nodes, i: usize) -> Option<u64> {
    let mut task = None;
    for e in events(farm, i) {
        match e {
            Event::Started { task: t } => task = Some(t),
            Event::Tested { .. } => task = None,
            _ => {}
        }
    }
    task
}

/// The file server that most recently became primary.
fn primary(farm: &Nodes) -> Option<usize> {
    (0..3)
        .flat_map(|i| {
            (farm.events(i).into_iter()).filter_map(move |(t, e)| match e {
                Event::Primary { epoch } => Some((epoch, t, i)),
                _ => None,
            })
        })
        .max()
        .map(|(_, _, i)| i)
}

/// The sequential answer, found independently of the farm: a sieve for the small numbers,
/// Miller-Rabin only for the few past it.
fn sequential_answer(dir: &std::path::Path) -> BTreeSet<u64> {
    let mut composite = vec![false; SMALL as usize];
    composite[0] = true;
    composite[1] = true;
    for i in 2..SMALL as usize {
        if !composite[i] {
            for j in (i * i..SMALL as usize).step_by(i) {
                composite[j] = true;
            }
        }
    }
    let mut primes = BTreeSet::new();
    for file in ["a.txt", "b.txt"] {
        let text = std::fs::read_to_string(dir.join("data").join(file)).unwrap();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let n: u64 = line.trim().parse().unwrap();
            let prime = if n < SMALL {
                !composite[n as usize]
            } else {
                is_prime(n)
            };
            if prime {
                primes.insert(n);
            }
        }
    }
    primes
}

#[test]
fn a_real_farm_loses_a_worker_mid_task_and_its_primary_and_writes_every_prime_once() {
    let mut farm = farm();
    for i in 0..NAMES.len() {
        farm.start(i);
    }
    let w1 = 4;
    farm.wait_until(
        "w1 in the middle of a task",
        Duration::from_secs(15),
        |farm| testing(farm, w1).is_some(),
    );
    let held = testing(&farm, w1).unwrap();
    let w1_killed = farm.kill(w1);
    let primary = primary(&farm).expect("a primary file server");
    let primary_killed = farm.kill(primary);
    let answer = snapshot_on_demand(&farm);
    assert!(
        answer.contains("a consistent cut"),
        "a snapshot asked for with `faultline client primes snapshot`: {answer}"
    );
    farm.wait_until("the farm to finish", Duration::from_secs(20), |farm| {
        (events(farm, COORDINATOR).iter()).any(|e| matches!(e, Event::Finished { .. }))
    });
    let coordinator = events(&farm, COORDINATOR);
    assert!(
        coordinator.contains(&Event::Requeued {
            task: held,
            worker: NodeId(w1 as u16)
        }),
        "the task w1 held when killed ({held}) went back to the queue"
    );

    let text = std::fs::read_to_string(farm.dir.join("run").join(OUTPUT_FILE)).unwrap();
    let written = parse_output(&text).unwrap();
    let expected = sequential_answer(&farm.dir);
    assert!(
        expected.iter().any(|p| *p > u64::MAX - 100),
        "the datasets hold primes near 2^64"
    );
    assert!(
        written.windows(2).all(|w| w[0] < w[1]),
        "each prime once, in order"
    );
    assert_eq!(
        written.into_iter().collect::<BTreeSet<u64>>(),
        expected,
        "primes.txt is the sequential answer"
    );

    // The merged traces (one host, one clock) with the kills the dead could not record,
    // judged by the farm's own checks.
    let end = now_us();
    for i in 0..NAMES.len() {
        if farm.is_up(i) {
            farm.kill(i);
        }
    }
    let mut records: Vec<Record<Event>> = (0..NAMES.len()).flat_map(|i| farm.trace(i)).collect();
    for (t, i) in [(w1_killed, w1), (primary_killed, primary)] {
        records.push(Record {
            t,
            node: NodeId(i as u16),
            ev: Ev::Crash,
        });
    }
    records.sort_by_key(|r| r.t);
    records.retain(|r| r.t <= end);
    let cluster = ClusterFile::load(&farm.config, &Registry::builtin()).unwrap();
    let primes = Primes::new(&cluster.setup(), &cluster.source()).unwrap();
    assert_eq!(*primes.expected(), expected);
    let mut checks = primes.checks();
    for rec in &records {
        for check in checks.iter_mut() {
            check
                .observe(rec)
                .unwrap_or_else(|e| panic!("{}: {e}", check.name()));
        }
    }
    for check in checks.iter_mut() {
        let v = check.finish(end);
        assert!(v.ok, "{}: {}", v.name, v.detail);
    }
    let snapshots = (coordinator.iter())
        .filter(|e| matches!(e, Event::Snapshot { .. }))
        .count();
    assert!(snapshots > 0, "snapshots were taken and judged");
}
