//! Byzantine senders: a node whose outgoing messages lie.
//!
//! The node's own state machine stays honest (its trace is the truth about what it believed);
//! the driver twists what it sends, after the node asked for it. How a message can be twisted
//! *meaningfully* is the protocol's knowledge, given by [`Message::twist`]: a Raft vote for a
//! second candidate, a bully COORDINATOR with an inflated epoch, a forged chat sequence number.
//! The rest (bit flips, replays, duplicates, delays, a forged sender id) needs no knowledge of
//! the protocol and is done here.

use std::collections::VecDeque;
use std::time::Duration;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::node::{Message, NodeId};

/// What a Byzantine node does to the messages it sends.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Behaviour {
    /// Flips bits in the datagrams it sends.
    Corrupt,
    /// Claims another sender's id, or sends the protocol's forged values (a higher term, a
    /// vote it never cast, an acknowledgement it never earned).
    Forge,
    /// Tells different peers different things: each recipient of one message gets its own
    /// twisted version (two votes, two leaders, two values).
    Equivocate,
    /// Resends messages it sent or received earlier.
    Replay,
    /// Sends messages more than once.
    Duplicate,
    /// Holds messages for seconds, far beyond the latency model.
    Delay,
}

impl Behaviour {
    /// Every behaviour, in the order reports list them.
    pub const ALL: [Behaviour; 6] = [
        Behaviour::Corrupt,
        Behaviour::Forge,
        Behaviour::Equivocate,
        Behaviour::Replay,
        Behaviour::Duplicate,
        Behaviour::Delay,
    ];

    /// The name scenarios use.
    pub fn name(self) -> &'static str {
        match self {
            Behaviour::Corrupt => "corrupt",
            Behaviour::Forge => "forge",
            Behaviour::Equivocate => "equivocate",
            Behaviour::Replay => "replay",
            Behaviour::Duplicate => "duplicate",
            Behaviour::Delay => "delay",
        }
    }
}

/// A Byzantine node's behaviour and how often it misbehaves.
#[derive(Copy, Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Byzantine {
    /// What it does.
    pub behaviour: Behaviour,
    /// The share of its messages it twists (0..=1).
    pub rate: f64,
}

/// The lie a protocol is asked to tell in a message.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Lie {
    /// A forged value: claim more than is true (a higher term or epoch, a granted vote, a
    /// success, a later sequence number).
    Forge,
    /// One of several conflicting versions of the message; called once per recipient.
    Equivocate,
}

/// What a protocol may draw on when it twists a message.
pub struct TwistCx<'a> {
    /// The lying node.
    pub me: NodeId,
    /// How many nodes the run has (ids are `0..nodes`).
    pub nodes: u16,
    /// The recipient of this copy, when known.
    pub to: Option<NodeId>,
    /// The liar's random source.
    pub rng: &'a mut ChaCha8Rng,
}

impl TwistCx<'_> {
    /// A node other than the liar, drawn at random (the liar itself when alone).
    pub fn other_node(&mut self) -> NodeId {
        if self.nodes <= 1 {
            return self.me;
        }
        let pick = self.rng.gen_range(0..self.nodes - 1);
        NodeId(if pick >= self.me.0 { pick + 1 } else { pick })
    }

    /// A small positive amount to inflate a counter by.
    pub fn bump(&mut self) -> u64 {
        self.rng.gen_range(1..=3)
    }
}

/// Datagrams a replaying node keeps to resend.
const REPLAY_FRAMES_MAX: usize = 64;

/// What the driver does with one outgoing message of a Byzantine node.
pub enum Plan<M> {
    /// Send it as the node asked.
    Honest,
    /// Send these instead.
    Twisted(Vec<Copy<M>>),
    /// Flip bits in the encoded datagram.
    Corrupt,
    /// Send it `n` extra times.
    Duplicate(u32),
    /// Send it, and resend an old datagram too.
    Replay,
    /// Send it after this long.
    Delay(Duration),
}

/// One datagram a liar sends in place of a message.
pub struct Copy<M> {
    /// Its recipient (`None`: the whole group).
    pub to: Option<NodeId>,
    /// What it says.
    pub msg: M,
    /// The sender it claims to come from.
    pub claimed: NodeId,
    /// Whether it differs from what the node asked to send.
    pub lied: bool,
}

/// The driver-side state of a node that may lie.
pub struct Liar {
    /// The behaviour in force, if any.
    pub byzantine: Option<Byzantine>,
    /// Its own random source (never the node's, so an honest run's draws are untouched).
    rng: ChaCha8Rng,
    /// Datagrams sent and received, for replay.
    seen: VecDeque<Vec<u8>>,
}

impl Liar {
    /// An honest node that may turn; `rng` is its own stream.
    pub fn new(rng: ChaCha8Rng) -> Liar {
        Liar {
            byzantine: None,
            rng,
            seen: VecDeque::new(),
        }
    }

    /// Whether the node lies at all now.
    pub fn active(&self) -> bool {
        self.byzantine.is_some()
    }

    /// Decides what to do with one message bound for `to` (`None`: the group).
    pub fn plan<M: Message>(
        &mut self,
        me: NodeId,
        nodes: u16,
        to: Option<NodeId>,
        msg: &M,
    ) -> Plan<M> {
        let Some(Byzantine { behaviour, rate }) = self.byzantine else {
            return Plan::Honest;
        };
        if !self.rng.gen_bool(rate.clamp(0.0, 1.0)) {
            return Plan::Honest;
        }
        match behaviour {
            Behaviour::Corrupt => Plan::Corrupt,
            Behaviour::Duplicate => Plan::Duplicate(self.rng.gen_range(1..=2)),
            Behaviour::Replay => Plan::Replay,
            Behaviour::Delay => {
                Plan::Delay(Duration::from_millis(self.rng.gen_range(2_000..10_000)))
            }
            Behaviour::Forge => {
                // Half the time claim to be someone else (what authentication must stop),
                // half the time lie in the protocol's own terms (what it must survive).
                let mut cx = TwistCx {
                    me,
                    nodes,
                    to,
                    rng: &mut self.rng,
                };
                if cx.rng.gen_bool(0.5) {
                    let claimed = cx.other_node();
                    let forged = msg
                        .twist(Lie::Forge, &mut cx)
                        .unwrap_or_else(|| msg.clone());
                    Plan::Twisted(vec![Copy {
                        to,
                        msg: forged,
                        claimed,
                        lied: true,
                    }])
                } else {
                    match msg.twist(Lie::Forge, &mut cx) {
                        Some(forged) => Plan::Twisted(vec![Copy {
                            to,
                            msg: forged,
                            claimed: me,
                            lied: true,
                        }]),
                        None => Plan::Honest,
                    }
                }
            }
            Behaviour::Equivocate => {
                let recipients: Vec<NodeId> = match to {
                    Some(to) => vec![to],
                    None => (0..nodes).map(NodeId).filter(|&n| n != me).collect(),
                };
                let mut copies = Vec::with_capacity(recipients.len());
                for (i, recipient) in recipients.into_iter().enumerate() {
                    let mut cx = TwistCx {
                        me,
                        nodes,
                        to: Some(recipient),
                        rng: &mut self.rng,
                    };
                    // Of a multicast, the first recipient hears the truth and the others each
                    // their own version; a unicast is one of the versions (its peers hear
                    // others in their own sends).
                    let twisted = if i == 0 && to.is_none() {
                        None
                    } else {
                        msg.twist(Lie::Equivocate, &mut cx)
                    };
                    copies.push(Copy {
                        to: Some(recipient),
                        lied: twisted.is_some(),
                        msg: twisted.unwrap_or_else(|| msg.clone()),
                        claimed: me,
                    });
                }
                Plan::Twisted(copies)
            }
        }
    }

    /// Flips 1 to 8 random bits of an encoded datagram.
    pub fn corrupt(&mut self, bytes: &mut [u8]) {
        if bytes.is_empty() {
            return;
        }
        for _ in 0..self.rng.gen_range(1..=8) {
            let bit = self.rng.gen_range(0..bytes.len() * 8);
            bytes[bit / 8] ^= 1 << (bit % 8);
        }
    }

    /// Remembers a datagram for later replay (only while lying: an honest node keeps nothing).
    pub fn remember(&mut self, bytes: &[u8]) {
        if self.byzantine.map(|b| b.behaviour) != Some(Behaviour::Replay) {
            return;
        }
        if self.seen.len() == REPLAY_FRAMES_MAX {
            self.seen.pop_front();
        }
        self.seen.push_back(bytes.to_vec());
    }

    /// An old datagram to resend, and to whom (`None`: the group).
    pub fn replay(&mut self, nodes: u16, me: NodeId) -> Option<(Vec<u8>, Option<NodeId>)> {
        if self.seen.is_empty() {
            return None;
        }
        let frame = self.seen[self.rng.gen_range(0..self.seen.len())].clone();
        let to = if self.rng.gen_bool(0.5) || nodes <= 1 {
            None
        } else {
            let mut cx = TwistCx {
                me,
                nodes,
                to: None,
                rng: &mut self.rng,
            };
            Some(cx.other_node())
        };
        Some((frame, to))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Term(u64);
    impl Message for Term {
        fn label(&self) -> &'static str {
            "T"
        }
        fn twist(&self, _lie: Lie, cx: &mut TwistCx<'_>) -> Option<Self> {
            Some(Term(self.0 + cx.bump()))
        }
    }

    fn liar(behaviour: Behaviour) -> Liar {
        let mut liar = Liar::new(ChaCha8Rng::seed_from_u64(1));
        liar.byzantine = Some(Byzantine {
            behaviour,
            rate: 1.0,
        });
        liar
    }

    #[test]
    fn an_honest_node_sends_what_it_was_asked() {
        let mut honest = Liar::new(ChaCha8Rng::seed_from_u64(1));
        assert!(matches!(
            honest.plan(NodeId(0), 3, None, &Term(1)),
            Plan::Honest
        ));
    }

    #[test]
    fn equivocation_tells_each_peer_its_own_version() {
        let mut liar = liar(Behaviour::Equivocate);
        let Plan::Twisted(copies) = liar.plan(NodeId(1), 4, None, &Term(5)) else {
            panic!("no equivocation");
        };
        let to: Vec<_> = copies.iter().map(|c| c.to).collect();
        assert_eq!(to, vec![Some(NodeId(0)), Some(NodeId(2)), Some(NodeId(3))]);
        assert_eq!(copies[0].msg, Term(5), "the first peer hears the truth");
        assert!(!copies[0].lied);
        assert!(copies[1..].iter().all(|c| c.msg.0 > 5 && c.lied));
    }

    #[test]
    fn an_equivocated_unicast_is_a_lie() {
        let mut liar = liar(Behaviour::Equivocate);
        let Plan::Twisted(copies) = liar.plan(NodeId(1), 4, Some(NodeId(2)), &Term(5)) else {
            panic!("no equivocation");
        };
        assert_eq!(copies.len(), 1);
        assert!(copies[0].lied && copies[0].msg.0 > 5);
    }

    #[test]
    fn forgery_claims_another_sender_or_a_forged_value() {
        let mut liar = liar(Behaviour::Forge);
        let (mut other_sender, mut forged_value) = (false, false);
        for _ in 0..50 {
            let Plan::Twisted(copies) = liar.plan(NodeId(1), 3, Some(NodeId(2)), &Term(5)) else {
                panic!("no forgery");
            };
            other_sender |= copies[0].claimed != NodeId(1);
            forged_value |= copies[0].msg != Term(5);
        }
        assert!(other_sender && forged_value);
    }

    #[test]
    fn corruption_changes_the_bytes() {
        let mut liar = liar(Behaviour::Corrupt);
        let mut bytes = vec![0u8; 32];
        liar.corrupt(&mut bytes);
        assert!(bytes.iter().any(|&b| b != 0));
    }
}
