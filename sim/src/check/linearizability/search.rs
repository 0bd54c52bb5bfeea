//! The search for a linearization of one register's history: Wing & Gong's backtracking with
//! Lowe's memoisation of (linearized set, state), as porcupine does it.
//!
//! Calls and returns sit in one list ordered by time. Scanning from the front, any call met
//! before the first return may be linearized next (everything that returned before it was
//! invoked is already linearized); linearizing it lifts its call and return out of the list.
//! Meeting a return means the op that owns it can no longer be placed, so the search undoes
//! its latest choice. A (set, state) pair seen before leads nowhere new and is skipped.
//!
//! Three prunings on top, each dropping only choices that another explored choice covers:
//! - A read that may go next and accepts the state is placed without trying alternatives.
//! - Ops that never returned live in a second list, tried only after the ops that returned,
//!   and are never placed where they change nothing or are at once overwritten; a memo entry
//!   also covers the same set and state with more of them placed. Without this a history
//!   that is not linearizable costs two to the power of the number of lost replies.
//! - Memo keys hold only the placed set beyond its prefix in invocation order, so their size
//!   follows the ops in flight, not the history's length.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::time::Instant;

use super::history::Op;
use super::model::{State, Step, Values, ABSENT};

/// How the search ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Outcome {
    /// A linearization exists.
    Linearizable,
    /// None does.
    NotLinearizable,
    /// The step budget ran out first.
    GaveUp,
    /// The wall-clock deadline passed first.
    OutOfTime,
    /// The memo reached [`MEMO_MAX`] configurations first.
    MemoFull,
}

/// Configurations the memo may hold: a bound on memory (an entry takes about 100 bytes) for
/// searches bounded by time rather than steps.
pub(super) const MEMO_MAX: usize = 20_000_000;

/// What the search may spend on one register.
#[derive(Clone, Copy, Debug)]
pub(super) struct Budget {
    /// Steps allowed.
    pub(super) steps: u64,
    /// When to stop, if the caller gave a wall-clock budget.
    pub(super) deadline: Option<Instant>,
}

impl Budget {
    /// A budget of `steps` steps and no deadline.
    pub(super) fn steps(steps: u64) -> Budget {
        Budget {
            steps,
            deadline: None,
        }
    }
}

/// Searches for a linearization of `ops`, all on one register, within `budget`; returns the
/// outcome and the steps taken.
pub(super) fn check_register(ops: &[&Op], budget: Budget) -> (Outcome, u64) {
    let (outcome, steps, _) = search_register(ops, budget, false);
    (outcome, steps)
}

/// The longest run of ops the search managed to linearize, and where it got stuck.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Prefix {
    /// The ops placed, in linearization order, as indexes into the ops searched, each with
    /// the register's content after it (rendered for people).
    pub(super) order: Vec<(usize, String)>,
    /// The op that returned first among those left: it had to go next, and no order of the
    /// rest lets it; `None` when nothing is left.
    pub(super) stuck: Option<usize>,
}

/// [`check_register`], also reporting the longest prefix found when `track` is set.
pub(super) fn search_register(
    ops: &[&Op],
    budget: Budget,
    track: bool,
) -> (Outcome, u64, Option<Prefix>) {
    let mut values = Values::default();
    let mut index = Vec::new();
    let calls: Vec<Call> = ops
        .iter()
        .enumerate()
        .filter_map(|(i, op)| {
            values.step(op).map(|step| {
                index.push(i);
                Call {
                    step,
                    invoke_us: op.invoke_us,
                    return_us: op.return_us,
                }
            })
        })
        .collect();
    let mut search = Search::new(&calls, values);
    search.track = track;
    let (outcome, steps) = search.run(budget);
    let prefix = track.then(|| Prefix {
        order: search
            .best
            .iter()
            .map(|&(call, state)| (index[call], search.values.render(state)))
            .collect(),
        stuck: search.best_stuck.map(|call| index[call]),
    });
    (outcome, steps, prefix)
}

/// One op as the search sees it.
struct Call {
    /// Its effect.
    step: Step,
    /// When it was invoked.
    invoke_us: u64,
    /// When it returned; `None` puts its return at infinity, and since linearizing it last is
    /// the same as it never happening, the search may finish without it.
    return_us: Option<u64>,
}

/// No node: the end of a list, or the return of an op that never returned.
const NIL: usize = usize::MAX;
/// The sentinel first node of the list of ops that returned.
const HEAD: usize = 0;
/// The sentinel first node of the list of ops that never returned.
const MAYBE_HEAD: usize = 1;

/// A call or return in one of the time-ordered lists.
#[derive(Clone, Copy)]
struct Node {
    /// The op's index in the calls.
    op: usize,
    /// Whether this is the call (else the return).
    is_call: bool,
    /// When it happened.
    time: u64,
    /// A call's return node, [`NIL`] for an op that never returned.
    ret: usize,
    /// Previous node; kept while lifted so the node can be put back.
    prev: usize,
    /// Next node; kept while lifted so the node can be put back.
    next: usize,
}

/// Where the scan is.
#[derive(Clone, Copy)]
enum Cursor {
    /// Just placed an op (or starting): look for a read to place without branching.
    Fresh,
    /// At a node of the list of ops that returned.
    Known(usize),
    /// At a node of the list of ops that never returned, considering those sent by `block`,
    /// the time of the first return still in the other list.
    Maybe {
        /// The node.
        node: usize,
        /// The time of the first return still in the list.
        block: u64,
    },
    /// Out of candidates: undo the latest placement.
    Backtrack,
}

/// A placed op, to undo on backtracking.
struct Frame {
    /// Its call node.
    node: usize,
    /// The state before it.
    state: State,
    /// The highest word of the placed set before it.
    high_word: usize,
    /// Where the scan was when it was placed.
    cursor: Cursor,
}

/// Configurations already explored (or being explored): by memo key (placed ops that returned,
/// and the state), the sets of placed never-returned ops seen with it, concatenated (empty
/// when the history has no such ops).
type Memo = HashMap<Box<[u64]>, Vec<u64>, BuildHasherDefault<FxHasher>>;

struct Search<'a> {
    /// The ops.
    calls: &'a [Call],
    /// The register's contents, grown by appends as the search meets them.
    values: Values,
    /// Both lists; `nodes[HEAD]` and `nodes[MAYBE_HEAD]` are their sentinels.
    nodes: Vec<Node>,
    /// Each op's bit: among ops that returned, or among those that never did.
    bit: Vec<usize>,
    /// Whether to keep the longest prefix (for a view): it costs a copy of the path each time
    /// the search backs out of a path longer than any before.
    track: bool,
    /// The longest path backed out of: calls placed, each with the state after it.
    best: Vec<(usize, State)>,
    /// The op whose return blocked that path.
    best_stuck: Option<usize>,
    /// Whether `best` holds a path yet (the first may be empty).
    kept: bool,
}

impl<'a> Search<'a> {
    fn new(calls: &'a [Call], values: Values) -> Self {
        // A call sorts before a return at the same microsecond: two events recorded in the
        // same microsecond are treated as concurrent, so no verdict hangs on their order.
        let mut known: Vec<(u64, bool, usize)> = Vec::with_capacity(calls.len() * 2);
        let mut maybe: Vec<(u64, bool, usize)> = Vec::new();
        for (op, call) in calls.iter().enumerate() {
            if let Some(ret) = call.return_us {
                known.push((call.invoke_us, false, op));
                known.push((ret, true, op));
            } else {
                maybe.push((call.invoke_us, false, op));
            }
        }
        known.sort_unstable();
        maybe.sort_unstable();
        let sentinel = Node {
            op: NIL,
            is_call: false,
            time: 0,
            ret: NIL,
            prev: NIL,
            next: NIL,
        };
        let mut nodes = vec![sentinel; 2];
        let mut call_node = vec![NIL; calls.len()];
        // Bits follow invocation order within each list, which keeps memo keys short.
        let mut bit = vec![0; calls.len()];
        for (head, events) in [(HEAD, known), (MAYBE_HEAD, maybe)] {
            let mut prev = head;
            let mut calls_seen = 0;
            for (time, is_return, op) in events {
                if !is_return {
                    bit[op] = calls_seen;
                    calls_seen += 1;
                }
                let index = nodes.len();
                nodes[prev].next = index;
                nodes.push(Node {
                    op,
                    is_call: !is_return,
                    time,
                    ret: NIL,
                    prev,
                    next: NIL,
                });
                if !is_return {
                    call_node[op] = index;
                } else if let Some(call) = nodes.get_mut(call_node[op]) {
                    // The call sorted first: its invoke is not after its return.
                    call.ret = index;
                }
                prev = index;
            }
        }
        Search {
            calls,
            values,
            nodes,
            bit,
            track: false,
            best: Vec::new(),
            best_stuck: None,
            kept: false,
        }
    }

    /// Keeps the current path if it is the longest yet (`state` is the state at its end).
    fn keep_if_longest(&mut self, stack: &[Frame], state: State, force: bool) {
        if !self.track || (stack.len() <= self.best.len() && self.kept && !force) {
            return;
        }
        self.kept = true;
        self.best = stack
            .iter()
            .enumerate()
            .map(|(i, frame)| {
                let after = stack.get(i + 1).map_or(state, |next| next.state);
                (self.nodes[frame.node].op, after)
            })
            .collect();
        // The first return still in the list belongs to the op that had to go next.
        let mut node = self.nodes[HEAD].next;
        while let Some(n) = self.nodes.get(node).filter(|n| n.is_call) {
            node = n.next;
        }
        self.best_stuck = self.nodes.get(node).map(|n| n.op);
    }

    fn run(&mut self, budget: Budget) -> (Outcome, u64) {
        let known_ops = self.calls.iter().filter(|c| c.return_us.is_some()).count();
        let maybe_ops = self.calls.len() - known_ops;
        // Which ops that returned are placed, by invocation order.
        let mut placed = vec![0u64; known_ops.div_ceil(64)];
        // The highest word of `placed` with a bit set along the current path (an upper bound).
        let mut high_word = 0;
        // Which ops that never returned are placed.
        let mut placed_maybe = vec![0u64; maybe_ops.div_ceil(64)];
        let mut key = Vec::new();
        let mut memo = Memo::default();
        let mut to_place = known_ops;
        let mut stack: Vec<Frame> = Vec::new();
        let mut state = ABSENT;
        let mut cursor = Cursor::Fresh;
        let mut steps = 0u64;
        loop {
            // Ops that never returned and are still unplaced are taken to have never happened.
            if to_place == 0 {
                self.keep_if_longest(&stack, state, true);
                return (Outcome::Linearizable, steps);
            }
            if steps >= budget.steps {
                return (Outcome::GaveUp, steps);
            }
            // Reading the clock costs about as much as a step, so only now and then.
            if steps.is_multiple_of(4096) && budget.deadline.is_some_and(|d| Instant::now() >= d) {
                return (Outcome::OutOfTime, steps);
            }
            steps += 1;
            // The call to try next, and where to go on if it cannot be placed.
            let (node, next) = match cursor {
                Cursor::Fresh => match self.harmless_read(state) {
                    // Nothing else need be tried here: if any order works from here, one
                    // that places this read first does (it never changes anything and may
                    // already go, so moving it earlier breaks nothing).
                    Some(node) => (node, Cursor::Backtrack),
                    None => {
                        cursor = Cursor::Known(self.nodes[HEAD].next);
                        continue;
                    }
                },
                Cursor::Known(node) => match self.nodes.get(node) {
                    Some(n) if n.is_call => (node, Cursor::Known(n.next)),
                    // A return: its op must be placed before anything sent later. Try the
                    // never-returned ops sent by then, last, since leaving them out is always
                    // an option and a set without them dominates the same set with them.
                    found => {
                        let block = found.map_or(u64::MAX, |n| n.time);
                        let node = self.nodes[MAYBE_HEAD].next;
                        cursor = Cursor::Maybe { node, block };
                        continue;
                    }
                },
                Cursor::Maybe { node, block } => match self.nodes.get(node) {
                    Some(n) if n.time <= block => {
                        let next = n.next;
                        (node, Cursor::Maybe { node: next, block })
                    }
                    _ => {
                        cursor = Cursor::Backtrack;
                        continue;
                    }
                },
                Cursor::Backtrack => {
                    // Every candidate failed: undo the latest placement.
                    self.keep_if_longest(&stack, state, false);
                    let Some(frame) = stack.pop() else {
                        return (Outcome::NotLinearizable, steps);
                    };
                    let op = self.nodes[frame.node].op;
                    let b = self.bit[op];
                    if self.calls[op].return_us.is_some() {
                        placed[b / 64] &= !(1 << (b % 64));
                        to_place += 1;
                    } else {
                        placed_maybe[b / 64] &= !(1 << (b % 64));
                    }
                    state = frame.state;
                    high_word = frame.high_word;
                    self.unlift(frame.node);
                    cursor = match frame.cursor {
                        Cursor::Known(_) => Cursor::Known(self.nodes[frame.node].next),
                        Cursor::Maybe { block, .. } => Cursor::Maybe {
                            node: self.nodes[frame.node].next,
                            block,
                        },
                        Cursor::Fresh | Cursor::Backtrack => Cursor::Backtrack,
                    };
                    continue;
                }
            };
            let op = self.nodes[node].op;
            let returned = self.calls[op].return_us.is_some();
            let b = self.bit[op];
            // Dominated placements, whose completions all work as well without the
            // never-returned op involved, so only the smaller set needs exploring: a
            // never-returned op that changes nothing, and a blind write straight after a
            // never-returned op (which it erases). Without this, every subset of the
            // never-returned ops in flight gets explored.
            let erases_maybe = matches!(self.calls[op].step, Step::Write(_))
                && stack
                    .last()
                    .is_some_and(|f| self.calls[self.nodes[f.node].op].return_us.is_none());
            let after = match self.calls[op].step.apply(state, &mut self.values) {
                Some(after) if !erases_maybe && (returned || after != state) => after,
                _ => {
                    cursor = next;
                    continue;
                }
            };
            let set = if returned {
                &mut placed
            } else {
                &mut placed_maybe
            };
            set[b / 64] |= 1 << (b % 64);
            let new_high = if returned {
                high_word.max(b / 64)
            } else {
                high_word
            };
            self.memo_key(&mut key, &placed, new_high, after, node);
            if memo.len() >= MEMO_MAX {
                return (Outcome::MemoFull, steps);
            }
            if !remember(&mut memo, &key, &placed_maybe) {
                let set = if returned {
                    &mut placed
                } else {
                    &mut placed_maybe
                };
                set[b / 64] &= !(1 << (b % 64));
                cursor = next;
                continue;
            }
            stack.push(Frame {
                node,
                state,
                high_word,
                cursor,
            });
            state = after;
            high_word = new_high;
            if returned {
                to_place -= 1;
            }
            self.lift(node);
            cursor = Cursor::Fresh;
        }
    }

    /// The first op that may be placed next, returned, never changes the register and accepts
    /// `state`. (An op that merely leaves this state as it is will not do: placed later, it
    /// might have changed another.)
    fn harmless_read(&self, state: State) -> Option<usize> {
        let mut node = self.nodes[HEAD].next;
        while let Some(n) = self.nodes.get(node).filter(|n| n.is_call) {
            let step = self.calls[n.op].step;
            if step.is_read() && step.accepts(state) {
                return Some(node);
            }
            node = n.next;
        }
        None
    }

    /// Builds into `key` the memo key for the placed set `placed` (with no bit above word
    /// `high`) once `placing` is lifted, and `state`: the placed ops form a prefix in
    /// invocation order plus a few beyond it, so the key is where the prefix's word starts,
    /// the state, and the words from there to the last set one, which keeps keys short
    /// however long the history.
    fn memo_key(
        &self,
        key: &mut Vec<u64>,
        placed: &[u64],
        high: usize,
        state: State,
        placing: usize,
    ) {
        // The first unplaced op that returned heads the list, unless it is the one being
        // placed.
        let mut first = self.nodes[HEAD].next;
        if first == placing {
            first = self.nodes[first].next;
        }
        // Skip the return of the op being placed, which follows its call unless something
        // was sent in between; after it, the first node is a call or the list's end.
        if self.nodes.get(first).is_some_and(|n| !n.is_call) {
            first = self.nodes[first].next;
        }
        let prefix = self
            .nodes
            .get(first)
            .map_or(placed.len() * 64, |n| self.bit[n.op]);
        let low = (prefix / 64).min(placed.len());
        let mut high = high.min(placed.len().saturating_sub(1)).max(low);
        while high > low && placed[high] == 0 {
            high -= 1;
        }
        key.clear();
        key.push(low as u64);
        key.push(state);
        key.extend_from_slice(placed.get(low..=high).unwrap_or(&[]));
    }

    /// Takes a call and its return out of the list.
    fn lift(&mut self, call: usize) {
        self.unlink(call);
        let ret = self.nodes[call].ret;
        if ret != NIL {
            self.unlink(ret);
        }
    }

    /// Undoes the latest [`Search::lift`], which was of `call`.
    fn unlift(&mut self, call: usize) {
        let ret = self.nodes[call].ret;
        if ret != NIL {
            self.relink(ret);
        }
        self.relink(call);
    }

    fn unlink(&mut self, node: usize) {
        let Node { prev, next, .. } = self.nodes[node];
        self.nodes[prev].next = next;
        if next != NIL {
            self.nodes[next].prev = prev;
        }
    }

    fn relink(&mut self, node: usize) {
        let Node { prev, next, .. } = self.nodes[node];
        self.nodes[prev].next = node;
        if next != NIL {
            self.nodes[next].prev = node;
        }
    }
}

/// Records the configuration `key` (placed ops that returned, state) with `maybe` (placed ops
/// that never returned) unless one already recorded dominates it: same key, and a subset of
/// its never-returned ops, since anything that completes it completes that one too by leaving
/// the extra ops out. Returns whether it is new.
fn remember(memo: &mut Memo, key: &[u64], maybe: &[u64]) -> bool {
    if let Some(seen) = memo.get_mut(key) {
        if maybe.is_empty() {
            return false;
        }
        let dominated = seen
            .chunks_exact(maybe.len())
            .any(|set| set.iter().zip(maybe).all(|(s, m)| s & !m == 0));
        if !dominated {
            seen.extend_from_slice(maybe);
        }
        return !dominated;
    }
    memo.insert(key.into(), maybe.to_vec());
    true
}

/// The Fx hash (rustc's): memo lookups dominate the search, its keys are machine words, and
/// SipHash's resistance to chosen inputs buys nothing here.
#[derive(Default)]
struct FxHasher {
    /// The running hash.
    hash: u64,
}

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        for &byte in chunks.remainder() {
            self.add(u64::from(byte));
        }
    }

    fn write_u64(&mut self, word: u64) {
        self.add(word);
    }

    fn write_usize(&mut self, word: usize) {
        self.add(word as u64);
    }

    fn finish(&self) -> u64 {
        self.hash
    }
}
