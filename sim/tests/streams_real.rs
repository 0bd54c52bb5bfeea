//! Streams over real TCP on loopback (real flavor: `cargo test -p faultline-sim`): two
//! drivers of the test protocol, in order and exactly once, and the notification a node gets
//! when its peer's driver stops.
#![cfg(not(madsim))]

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use faultline_sim::faults::byzantine::Byzantine;
use faultline_sim::faults::nemesis::Arrival;
use faultline_sim::node::stream::CloseReason;
use faultline_sim::runtime::driver::{self, Host};
use faultline_sim::runtime::transport::{AddressBook, Transport, TransportKind};
use faultline_sim::{ChaCha8Rng, Durable, Ev, NodeId, Protocol};
use rand::SeedableRng;

mod pipe;

use pipe::{in_order_exactly_once, Event, Pipe};

/// A host that keeps its records in memory.
struct TestHost {
    /// When it started.
    start: Instant,
    /// Every record, with its node.
    records: Mutex<Vec<(NodeId, Ev<Event>)>>,
    /// Datagram ids handed out.
    sent: AtomicU64,
    /// The driver should return.
    stop: AtomicBool,
}

impl Host<Event> for TestHost {
    fn now_us(&self) -> u64 {
        self.start.elapsed().as_micros() as u64
    }
    fn record(&self, node: NodeId, ev: Ev<Event>) {
        self.records.lock().unwrap().push((node, ev));
    }
    fn arrival(&self, _from: NodeId, _to: NodeId, _label: &str) -> Arrival {
        Arrival::Deliver
    }
    fn byzantine(&self, _node: NodeId) -> Option<Byzantine> {
        None
    }
    fn commit(&self, node: NodeId, _durable: &Durable, records: Vec<Ev<Event>>) {
        for ev in records {
            self.record(node, ev);
        }
    }
    fn next_msg_id(&self, node: NodeId) -> u64 {
        ((node.0 as u64) << 48) | self.sent.fetch_add(1, Ordering::Relaxed)
    }
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

impl TestHost {
    fn events(&self, node: u16) -> Vec<Event> {
        let records = self.records.lock().unwrap();
        let proto = records.iter().filter(|(n, _)| *n == NodeId(node));
        proto
            .filter_map(|(_, ev)| match ev {
                Ev::Proto { event } => Some(event.clone()),
                _ => None,
            })
            .collect()
    }
}

/// A free loopback port (TCP and UDP alike, as far as a test can tell).
fn free_addr() -> SocketAddr {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    listener.local_addr().unwrap()
}

/// Runs the pipe's two nodes over `kind` until a stream end is heard or 20 s pass;
/// `stop_receiver_after` stops node #1's driver once that many numbers arrived.
fn run(kind: TransportKind, count: u64, stop_receiver_after: Option<usize>) -> Arc<TestHost> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let host = Arc::new(TestHost {
        start: Instant::now(),
        records: Mutex::new(Vec::new()),
        sent: AtomicU64::new(0),
        stop: AtomicBool::new(false),
    });
    let book = AddressBook {
        nodes: vec![free_addr(), free_addr()],
        group: "239.255.70.9:7499".parse().unwrap(),
        interface: Ipv4Addr::LOCALHOST,
        kind,
    };
    let proto = Pipe {
        over_stream: true,
        count,
    };
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async {
        let mut drivers = Vec::new();
        // The receiver first, so that the sender's connect finds it listening.
        for id in [1u16, 0] {
            let me = NodeId(id);
            let transport = Transport::bind(me, book.clone()).await.unwrap();
            let node = proto.node(me);
            let rng = ChaCha8Rng::seed_from_u64(id as u64);
            let run = driver::run(
                node,
                me,
                host.clone(),
                transport,
                Durable::default(),
                rng,
                None,
            );
            drivers.push(tokio::task::spawn_local(run));
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut receiver = Some(drivers.remove(0));
        while Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let got = got(&host.events(1));
            if let (Some(after), Some(driver)) = (stop_receiver_after, &receiver) {
                if got.len() >= after {
                    driver.abort();
                    receiver = None;
                }
            }
            let sender_closed = host.events(0).iter().any(|e| matches!(e, Event::Closed(_)));
            let receiver_closed = host.events(1).iter().any(|e| matches!(e, Event::Closed(_)));
            if sender_closed || receiver_closed && stop_receiver_after.is_none() {
                break;
            }
        }
        host.stop.store(true, Ordering::Relaxed);
    });
    host
}

fn got(events: &[Event]) -> Vec<u64> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Got(n) => Some(*n),
            _ => None,
        })
        .collect()
}

#[test]
fn numbers_arrive_in_order_over_tcp_then_the_close() {
    let host = run(TransportKind::Tcp, 300, None);
    let events = host.events(1);
    assert_eq!(in_order_exactly_once(&got(&events), 300), Ok(()));
    assert_eq!(events.first(), Some(&Event::Open(false)));
    assert_eq!(events.last(), Some(&Event::Closed(CloseReason::PeerClosed)));
    assert_eq!(host.events(0).first(), Some(&Event::Open(true)));
}

#[test]
fn a_stopped_receiver_driver_breaks_the_senders_stream() {
    let host = run(TransportKind::Tcp, 1000, Some(20));
    let sender = host.events(0);
    let closed: Vec<_> = sender
        .iter()
        .filter(|e| matches!(e, Event::Closed(_)))
        .collect();
    assert_eq!(
        closed,
        [&Event::Closed(CloseReason::PeerCrashed)],
        "{sender:?}"
    );
    let got = got(&host.events(1));
    assert!(got.len() >= 20 && got.len() < 1000);
    assert_eq!(in_order_exactly_once(&got, got.len() as u64), Ok(()));
}

#[test]
fn streams_work_beside_udp_datagrams_too() {
    // A UDP node listens for streams on a TCP port of the same number. Multicast may be
    // unavailable where the test runs; then there is nothing to test here.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let book = AddressBook {
        nodes: vec![free_addr(), free_addr()],
        group: "239.255.70.9:7499".parse().unwrap(),
        interface: Ipv4Addr::LOCALHOST,
        kind: TransportKind::Udp,
    };
    let bound = runtime.block_on(Transport::bind(NodeId(0), book));
    if bound.is_err() {
        eprintln!("no UDP multicast here: skipped");
        return;
    }
    drop(bound);
    drop(runtime);
    let host = run(TransportKind::Udp, 100, None);
    assert_eq!(in_order_exactly_once(&got(&host.events(1)), 100), Ok(()));
}

#[test]
fn a_malformed_frame_resets_its_stream_and_a_bad_hello_is_traced_without_a_panic() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let host = Arc::new(TestHost {
        start: Instant::now(),
        records: Mutex::new(Vec::new()),
        sent: AtomicU64::new(0),
        stop: AtomicBool::new(false),
    });
    let book = AddressBook {
        nodes: vec![free_addr(), free_addr()],
        group: "239.255.70.9:7499".parse().unwrap(),
        interface: Ipv4Addr::LOCALHOST,
        kind: TransportKind::Tcp,
    };
    let target = book.nodes[1];
    let proto = Pipe {
        over_stream: true,
        count: 0,
    };
    let corrupt = |host: &TestHost| {
        let records = host.records.lock().unwrap();
        records
            .iter()
            .filter(|(_, ev)| matches!(ev, Ev::Corrupt { .. }))
            .count()
    };
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async {
        let me = NodeId(1);
        let transport = Transport::bind(me, book.clone()).await.unwrap();
        let rng = ChaCha8Rng::seed_from_u64(1);
        let node = proto.node(me);
        let run = driver::run(
            node,
            me,
            host.clone(),
            transport,
            Durable::default(),
            rng,
            None,
        );
        let driver = tokio::task::spawn_local(run);

        // A stream hello from node #0, answered, then a length far past the bound.
        let mut conn = tokio::net::TcpStream::connect(target).await.unwrap();
        conn.write_all(&[5, 0, 0, 0, b'F', b'S', 1, 0, 0])
            .await
            .unwrap();
        let mut answer = [0u8; 9];
        conn.read_exact(&mut answer).await.unwrap();
        assert_eq!(answer, [5, 0, 0, 0, b'F', b'S', 1, 1, 0]);
        conn.write_all(&u32::MAX.to_le_bytes()).await.unwrap();
        // A connection whose hello-sized first frame is no hello.
        let mut other = tokio::net::TcpStream::connect(target).await.unwrap();
        other
            .write_all(&[5, 0, 0, 0, b'X', b'X', b'X', b'X', b'X'])
            .await
            .unwrap();

        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline && corrupt(&host) < 2 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(!driver.is_finished(), "the node carries on");
        driver.abort();
    });
    assert_eq!(corrupt(&host), 2);
    assert_eq!(
        host.events(1),
        [Event::Open(false), Event::Closed(CloseReason::Reset)]
    );
}
