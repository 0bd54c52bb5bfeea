//! The primes farm as real processes on loopback: three file servers, a coordinator and two
//! workers read their datasets from a real folder. A worker is killed (SIGKILL) in the middle
//! of a task and the primary file server right after; the farm finishes anyway, the dead
//! worker's task is put back, and `primes.txt` holds exactly the primes of the datasets,
//! computed here with a sieve (and Miller-Rabin for the numbers near 2^64). The merged
//! traces are then judged with the farm's own checks (consistent snapshots, every task
//! counted once, the output).
#![cfg(not(madsim))]

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use faultline::cluster::Cluster as ClusterFile;
use faultline::registry::Registry;
use faultline_nodes::primes::primality::is_prime;
use faultline_nodes::primes::{parse_output, Event, Primes, OUTPUT_FILE};
use faultline_sim::trace::read_jsonl;
use faultline_sim::{Ev, NodeId, Protocol, Record};

const NAMES: [&str; 6] = ["f1", "f2", "f3", "c1", "w1", "w2"];
const COORDINATOR: usize = 3;

/// Small numbers: every one below this is judged by the sieve.
const SMALL: u64 = 200_000;

/// Numbers near 2^64 (primes, composites, a strong pseudoprime to base 2).
const NEAR_2_64: &str = "# near 2^64\n18446744073709551557\n18446744073709551533\n\
    18446744073709551615\n18446744073709551614\n18446744073709551559\n3215031751\n\
    2305843009213693951\n9223372036854775807\n";

struct Farm {
    dir: PathBuf,
    config: PathBuf,
    children: Vec<Option<Child>>,
}

impl Farm {
    fn new() -> Farm {
        let pid = std::process::id();
        let dir = std::env::temp_dir().join(format!("faultline-real-primes-{pid}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("data")).unwrap();
        // 1,500 numbers from a fixed generator, and the file of numbers near 2^64.
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let small: Vec<String> = (0..1500)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x % SMALL).to_string()
            })
            .collect();
        std::fs::write(dir.join("data/a.txt"), small.join("\n") + "\n").unwrap();
        std::fs::write(dir.join("data/b.txt"), NEAR_2_64).unwrap();
        let base = 30_000 + (pid % 2_000) as u16 * 10;
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
            text += &format!(
                "\n[[nodes]]\nname = \"{name}\"\nrole = \"{role}\"\naddr = \"127.0.0.1:{}\"\n",
                base + 1 + i as u16
            );
        }
        let config = dir.join("cluster.toml");
        std::fs::write(&config, text).unwrap();
        Farm {
            dir,
            config,
            children: (0..NAMES.len()).map(|_| None).collect(),
        }
    }

    fn start(&mut self, i: usize) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(format!("{}.stderr", NAMES[i])))
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_faultline"))
            .args(["node", "--config"])
            .arg(&self.config)
            .args(["--id", NAMES[i], "--dir"])
            .arg(self.dir.join("run"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("faultline node starts");
        self.children[i] = Some(child);
    }

    /// SIGKILLs node `i`; returns when.
    fn kill(&mut self, i: usize) -> u64 {
        let mut child = self.children[i].take().expect("running");
        child.kill().unwrap();
        child.wait().unwrap();
        now_us()
    }

    fn trace(&self, i: usize) -> Vec<Record<Event>> {
        let path = self.dir.join(format!("run/{}.trace.jsonl", NAMES[i]));
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let complete = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
        read_jsonl(complete).map(|(_, r)| r).unwrap_or_default()
    }

    fn events(&self, i: usize) -> Vec<Event> {
        (self.trace(i).into_iter())
            .filter_map(|r| match r.ev {
                Ev::Proto { event } => Some(event),
                _ => None,
            })
            .collect()
    }

    /// The task worker `i` is testing now, if any: started and not yet tested.
    fn testing(&self, i: usize) -> Option<u64> {
        let mut task = None;
        for e in self.events(i) {
            match e {
                Event::Started { task: t } => task = Some(t),
                Event::Tested { .. } => task = None,
                _ => {}
            }
        }
        task
    }

    /// The file server that most recently became primary.
    fn primary(&self) -> Option<usize> {
        (0..3)
            .flat_map(|i| {
                self.trace(i).into_iter().filter_map(move |r| match r.ev {
                    Ev::Proto {
                        event: Event::Primary { epoch },
                    } => Some((epoch, r.t, i)),
                    _ => None,
                })
            })
            .max()
            .map(|(_, _, i)| i)
    }
}

impl Drop for Farm {
    fn drop(&mut self) {
        for child in self.children.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64
}

fn wait_until(what: &str, within: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
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
    let mut farm = Farm::new();
    for i in 0..NAMES.len() {
        farm.start(i);
    }
    let w1 = 4;
    wait_until(
        "w1 in the middle of a task",
        Duration::from_secs(15),
        || farm.testing(w1).is_some(),
    );
    let held = farm.testing(w1).unwrap();
    let w1_killed = farm.kill(w1);
    let primary = farm.primary().expect("a primary file server");
    let primary_killed = farm.kill(primary);
    wait_until("the farm to finish", Duration::from_secs(20), || {
        (farm.events(COORDINATOR).iter()).any(|e| matches!(e, Event::Finished { .. }))
    });
    let coordinator = farm.events(COORDINATOR);
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
        if farm.children[i].is_some() {
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
