//! `faultline-peers PEER SIM_S`: the bench's workload on a peer of faultline, measured here
//! so that `faultline bench` can set it beside its own figures in the same rounds.
//!
//! The workload is the raw madsim baseline's: 5 nodes, each sending a 32-byte datagram to
//! every other node every 10 ms of simulated time, latency 1 to 10 ms; what counts is how
//! many datagrams are delivered per wall second. PEER is one of
//! - `turmoil-1ms`: turmoil at its default tick (1 ms),
//! - `turmoil-10ms`: turmoil at a 10 ms tick (one tick per send period),
//! - `event-loop`: a plain single-threaded event loop (a binary heap of timed events), what
//!   a simulator costs with nothing but the events themselves.
//!
//! Prints one line, `PEER delivered=N wall_s=S sim_s=T`, and measures only the run itself
//! (not the process start).

use std::cell::Cell;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Nodes in the workload.
const NODES: u8 = 5;
/// Simulated time between one node's rounds of sends.
const PERIOD: Duration = Duration::from_millis(10);
/// Latency range of a datagram (inclusive).
const LATENCY_MS: (u64, u64) = (1, 10);
/// The workload's port on every node.
const PORT: u16 = 7000;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(peer), Some(sim_s)) = (args.first(), args.get(1).and_then(|s| s.parse().ok())) else {
        eprintln!("usage: faultline-peers turmoil-1ms|turmoil-10ms|event-loop SIM_S");
        std::process::exit(2);
    };
    let started = Instant::now();
    let delivered = match peer.as_str() {
        "turmoil-1ms" => turmoil_run(Duration::from_millis(1), sim_s),
        "turmoil-10ms" => turmoil_run(Duration::from_millis(10), sim_s),
        "event-loop" => event_loop(sim_s),
        other => {
            eprintln!("unknown peer {other}");
            std::process::exit(2);
        }
    };
    let wall_s = started.elapsed().as_secs_f64();
    println!("{peer} delivered={delivered} wall_s={wall_s:.6} sim_s={sim_s}");
}

/// The host name of node `i` (turmoil hands out the addresses).
fn name(i: u8) -> String {
    format!("n{i}")
}

/// turmoil at `tick` for `sim_s` simulated seconds; returns the datagrams delivered.
fn turmoil_run(tick: Duration, sim_s: u64) -> u64 {
    let mut sim = turmoil::Builder::new()
        .tick_duration(tick)
        .simulation_duration(Duration::from_secs(sim_s + 1))
        .min_message_latency(Duration::from_millis(LATENCY_MS.0))
        .max_message_latency(Duration::from_millis(LATENCY_MS.1))
        .rng_seed(1)
        .build();
    let delivered = Rc::new(Cell::new(0u64));
    for i in 0..NODES {
        let delivered = delivered.clone();
        sim.host(name(i), move || {
            let delivered = delivered.clone();
            async move {
                let any = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), PORT);
                let socket = Rc::new(turmoil::net::UdpSocket::bind(any).await?);
                // Resolved once: a name looked up on every send would charge turmoil for DNS.
                let peers: Vec<SocketAddr> = (0..NODES)
                    .filter(|j| *j != i)
                    .map(|j| SocketAddr::new(turmoil::lookup(name(j)), PORT))
                    .collect();
                let receiver = socket.clone();
                tokio::task::spawn_local(async move {
                    let mut buf = [0u8; 64];
                    while receiver.recv_from(&mut buf).await.is_ok() {
                        delivered.set(delivered.get() + 1);
                    }
                });
                let payload = [7u8; 32];
                loop {
                    tokio::time::sleep(PERIOD).await;
                    for peer in &peers {
                        let _ = socket.send_to(&payload, peer).await;
                    }
                }
            }
        });
    }
    sim.client("clock", async move {
        tokio::time::sleep(Duration::from_secs(sim_s)).await;
        Ok(())
    });
    sim.run().expect("the turmoil workload runs");
    delivered.get()
}

/// What happens at an instant of the plain event loop.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    /// Node `from`'s send period is up: a datagram to each peer.
    Tick { from: u8 },
    /// A datagram arrives.
    Arrive { to: u8, payload: [u8; 32] },
}

/// A plain single-threaded event loop on the workload: a heap of (time, sequence, event),
/// latencies from a xorshift generator; returns the datagrams delivered.
fn event_loop(sim_s: u64) -> u64 {
    let end_us = sim_s * 1_000_000;
    let period_us = PERIOD.as_micros() as u64;
    let mut heap = BinaryHeap::new();
    let mut seq = 0u64;
    for from in 0..NODES {
        heap.push(Reverse((period_us, seq, Event::Tick { from })));
        seq += 1;
    }
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let mut delivered = 0u64;
    let mut inboxes = [0u8; NODES as usize];
    while let Some(Reverse((at, _, event))) = heap.pop() {
        if at > end_us {
            break;
        }
        match event {
            Event::Tick { from } => {
                for to in (0..NODES).filter(|to| *to != from) {
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    let (lo, hi) = (LATENCY_MS.0 * 1000, LATENCY_MS.1 * 1000);
                    let latency = lo + rng % (hi - lo + 1);
                    let payload = [7u8; 32];
                    heap.push(Reverse((at + latency, seq, Event::Arrive { to, payload })));
                    seq += 1;
                }
                heap.push(Reverse((at + period_us, seq, Event::Tick { from })));
                seq += 1;
            }
            Event::Arrive { to, payload } => {
                // Touch the payload, so that the copy is not optimised away.
                inboxes[to as usize] = inboxes[to as usize].wrapping_add(payload[0]);
                delivered += 1;
            }
        }
    }
    std::hint::black_box(inboxes);
    delivered
}
