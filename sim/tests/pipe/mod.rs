//! A test protocol over one stream: node #0 opens a stream to node #1, sends it numbered
//! messages, one every 10 ms, then closes it; both report what their stream does. In datagram mode it sends
//! the same numbers as datagrams, to show what the checks below catch.

use std::time::Duration;

use faultline_sim::check::Check;
use faultline_sim::node::stream::{CloseReason, StreamEvent, StreamId};
use faultline_sim::scenario::{InputError, Source};
use faultline_sim::{
    BoxNode, Cx, Message, Node, NodeId, Protocol, Role, Setup, SERVERS_AND_CLIENTS,
};
use serde::{Deserialize, Serialize};

/// The one message: a number.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Num(pub u64);

impl Message for Num {
    fn label(&self) -> &'static str {
        "NUM"
    }
}

/// What the nodes report.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub enum Event {
    /// The stream is open (true at the node that opened it).
    Open(bool),
    /// A number arrived.
    Got(u64),
    /// The stream ended.
    Closed(CloseReason),
}

/// The protocol.
pub struct Pipe {
    /// Numbers go over a stream (else as datagrams).
    pub over_stream: bool,
    /// How many numbers node #0 sends.
    pub count: u64,
}

impl Protocol for Pipe {
    type Msg = Num;
    type Event = Event;
    const NAME: &'static str = "pipe";
    const ABOUT: &'static str = "numbers over one stream";
    const ROLES: &'static [Role] = SERVERS_AND_CLIENTS;
    fn new(_: &Setup, src: &Source) -> Result<Pipe, InputError> {
        Err(src.error("protocol", "tests build the pipe directly"))
    }
    fn node(&self, id: NodeId) -> BoxNode<Num, Event> {
        Box::new(PipeNode {
            me: id,
            over_stream: self.over_stream,
            count: self.count,
            next: 0,
            stream: None,
        })
    }
    fn checks(&self) -> Vec<Box<dyn Check<Event> + Send>> {
        Vec::new()
    }
}

/// One node of [`Pipe`].
pub struct PipeNode {
    /// Its id.
    me: NodeId,
    /// Numbers go over a stream.
    over_stream: bool,
    /// How many numbers to send.
    count: u64,
    /// The next number to send.
    next: u64,
    /// Its stream, while it has one (the sender's).
    stream: Option<StreamId>,
}

faultline_sim::timers! {
    /// The sender's one timer.
    pub enum PipeTimer {
        /// Send the next number.
        Tick = 0,
    }
}

/// What a pipe node's callbacks answer through.
type PipeCx<'a> = Cx<'a, Num, Event, PipeTimer>;

impl Node for PipeNode {
    type Msg = Num;
    type Event = Event;
    type Timer = PipeTimer;
    fn on_start(&mut self, cx: &mut PipeCx<'_>) {
        if self.me != NodeId(0) {
            return;
        }
        if self.over_stream {
            self.stream = Some(cx.connect(NodeId(1)));
        }
        cx.set_timer(PipeTimer::Tick, Duration::from_millis(10));
    }
    fn on_message(&mut self, _from: NodeId, msg: Num, cx: &mut PipeCx<'_>) {
        cx.emit(Event::Got(msg.0));
    }
    fn on_timer(&mut self, _timer: PipeTimer, cx: &mut PipeCx<'_>) {
        if self.next >= self.count {
            // Done: the close goes after every number.
            if let Some(stream) = self.stream.take() {
                cx.close(stream);
            }
            return;
        }
        match (self.over_stream, self.stream) {
            (false, _) => cx.send(NodeId(1), Num(self.next)),
            (true, Some(stream)) => cx.stream_send(stream, Num(self.next)),
            (true, None) => return,
        }
        self.next += 1;
        cx.set_timer(PipeTimer::Tick, Duration::from_millis(10));
    }
    fn on_stream(
        &mut self,
        _stream: StreamId,
        _peer: NodeId,
        event: StreamEvent<Num>,
        cx: &mut PipeCx<'_>,
    ) {
        match event {
            StreamEvent::Accepted => cx.emit(Event::Open(false)),
            StreamEvent::Connected => cx.emit(Event::Open(true)),
            StreamEvent::Message(num) => cx.emit(Event::Got(num.0)),
            StreamEvent::Closed(reason) => {
                self.stream = None;
                cx.emit(Event::Closed(reason));
            }
        }
    }
}

/// Checks that `got` is `0..count`, every number once and in order; says what is wrong.
pub fn in_order_exactly_once(got: &[u64], count: u64) -> Result<(), String> {
    for (i, n) in got.iter().enumerate() {
        if *n != i as u64 {
            return Err(format!("position {i} holds {n}"));
        }
    }
    if got.len() as u64 != count {
        return Err(format!("{} of {count} arrived", got.len()));
    }
    Ok(())
}
