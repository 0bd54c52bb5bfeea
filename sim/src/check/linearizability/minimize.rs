//! Shrinking a non-linearizable history to a witness a person can read.
//!
//! The story a witness should tell is "these ops are fine, and then this reply is impossible".
//! So the shrinker first finds that reply: the earliest instant T at which the history, cut
//! there (ops still in flight at T turned into ops with unknown outcome), stops being
//! linearizable. Such cuts only lose linearizability as T grows, so a binary search finds T,
//! and the reply at T is the culprit. It then delta-debugs the cut history (whole clients,
//! then ever smaller runs of ops, then single ops until none can go), keeping a removal only
//! while the rest
//! - is provably not linearizable,
//! - becomes linearizable if the culprit's reply is forgotten (the anomaly is about it), and
//! - becomes linearizable if the culprit may take effect at any time (what it saw was written
//!   by some op in the witness: without this, dropping the put a stale read saw turns "stale
//!   read" into the true but unhelpful "read a value nobody wrote"), unless not even the
//!   whole cut history can (it saw a value never written, which is then the whole story).
//!
//! Checks that run out of steps count as "keep the op", so whatever comes back is a true
//! witness even if the budget stops the shrinking early.

use std::collections::BTreeSet;

use super::history::{Input, Op, Output};
use super::search::{check_register, Budget, Outcome};

/// Shrinks `ops`, one register's non-linearizable history, to a small sub-history that is still
/// not linearizable, spending at most `budget` search steps in all and at most `per_check` on
/// any one check. Returns the witness in invocation order, each op as the history has it.
pub(super) fn minimize(ops: &[&Op], budget: u64, per_check: u64) -> Vec<Op> {
    let mut checker = Checker {
        left: budget,
        per_check,
    };
    let (cut, story) = match first_failure(&mut checker, ops) {
        Some(cut) => {
            let story = Story::find(&mut checker, &cut);
            (cut, story)
        }
        None => {
            let whole = ops.iter().map(|&op| op.clone()).enumerate().collect();
            (whole, Story::default())
        }
    };
    let members = shrink(&mut checker, &cut, &story);
    // The cut only weakened ops (a reply not yet seen became an unknown outcome), and
    // strengthening ops cannot make a non-linearizable history linearizable, so the same ops as
    // the history has them are a witness too, and one that does not misreport replies.
    let mut witness: Vec<(u64, usize)> = members
        .iter()
        .map(|&m| (cut[m].1.invoke_us, cut[m].0))
        .collect();
    witness.sort_unstable();
    witness.into_iter().map(|(_, i)| ops[i].clone()).collect()
}

/// Runs searches against the shrinker's step budget.
struct Checker {
    /// Steps left for all checks.
    left: u64,
    /// Steps allowed to one check.
    per_check: u64,
}

impl Checker {
    fn run(&mut self, ops: &[&Op]) -> Outcome {
        let (outcome, steps) = check_register(ops, Budget::steps(self.per_check.min(self.left)));
        self.left = self.left.saturating_sub(steps);
        outcome
    }

    fn proves(&mut self, ops: &[&Op], expected: Outcome) -> bool {
        self.left > 0 && self.run(ops) == expected
    }
}

/// The history as known at `t`: ops sent by then, those that had replied as they are, the rest
/// with unknown outcome (gets still in flight are left out: they cannot matter). Each op comes
/// with its index in `ops`.
fn cut_at(ops: &[&Op], t: u64) -> Vec<(usize, Op)> {
    let mut cut = Vec::new();
    for (i, &op) in ops.iter().enumerate() {
        if op.invoke_us > t {
            continue;
        }
        if op.return_us.is_some_and(|r| r <= t) {
            cut.push((i, op.clone()));
        } else if !matches!(op.input, Input::Get { .. }) {
            cut.push((i, unknown(op)));
        }
    }
    cut
}

/// The op with its reply forgotten.
fn unknown(op: &Op) -> Op {
    Op {
        return_us: None,
        output: Output::Unknown,
        ..op.clone()
    }
}

/// The op free to take effect at any time, with the reply it got.
fn anytime(op: &Op) -> Op {
    Op {
        invoke_us: 0,
        return_us: Some(u64::MAX),
        ..op.clone()
    }
}

/// The history cut at the earliest reply after which it is not linearizable, or `None` if the
/// budget does not stretch to finding it.
fn first_failure(checker: &mut Checker, ops: &[&Op]) -> Option<Vec<(usize, Op)>> {
    let times: BTreeSet<u64> = ops.iter().filter_map(|op| op.return_us).collect();
    let times: Vec<u64> = times.into_iter().collect();
    let fails = |checker: &mut Checker, t: u64| {
        let cut = cut_at(ops, t);
        let refs: Vec<&Op> = cut.iter().map(|(_, op)| op).collect();
        checker.proves(&refs, Outcome::NotLinearizable)
    };
    let (mut lo, mut hi) = (0, times.len().checked_sub(1)?);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if fails(checker, times[mid]) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    fails(checker, times[lo]).then(|| cut_at(ops, times[lo]))
}

/// Which ops of the cut history the witness is about.
#[derive(Default)]
struct Story {
    /// Positions in the cut of the replies that break linearizability; empty when they could
    /// not be told apart, and then any non-linearizable sub-history will do.
    culprits: Vec<usize>,
    /// Whether the culprits' replies can be explained by some order at all (they were stale
    /// or early rather than impossible), so the witness must keep what explains them.
    explicable: bool,
}

impl Story {
    /// The last replies in the cut, alone if one will do.
    fn find(checker: &mut Checker, cut: &[(usize, Op)]) -> Story {
        let end = cut.iter().filter_map(|(_, op)| op.return_us).max();
        let last: Vec<usize> = (0..cut.len())
            .filter(|&m| end.is_some() && cut[m].1.return_us == end)
            .collect();
        let all: Vec<usize> = (0..cut.len()).collect();
        let mut options: Vec<Vec<usize>> = last.iter().map(|&m| vec![m]).collect();
        if last.len() > 1 {
            options.push(last);
        }
        for culprits in options {
            let mut story = Story {
                culprits,
                explicable: false,
            };
            if story.forgotten_is_fine(checker, cut, &all) {
                story.explicable = story.anytime_is_fine(checker, cut, &all);
                return story;
            }
        }
        Story::default()
    }

    /// Whether `members` with the culprits' replies forgotten is linearizable.
    fn forgotten_is_fine(
        &self,
        checker: &mut Checker,
        cut: &[(usize, Op)],
        members: &[usize],
    ) -> bool {
        let variants: Vec<Op> = self.culprits.iter().map(|&c| unknown(&cut[c].1)).collect();
        let ops = self.with(cut, members, &variants);
        checker.proves(&ops, Outcome::Linearizable)
    }

    /// Whether `members` with the culprits free to take effect at any time is linearizable.
    fn anytime_is_fine(
        &self,
        checker: &mut Checker,
        cut: &[(usize, Op)],
        members: &[usize],
    ) -> bool {
        let variants: Vec<Op> = self.culprits.iter().map(|&c| anytime(&cut[c].1)).collect();
        let ops = self.with(cut, members, &variants);
        checker.proves(&ops, Outcome::Linearizable)
    }

    /// The ops at `members`, with the culprits replaced by `variants`.
    fn with<'a>(
        &self,
        cut: &'a [(usize, Op)],
        members: &[usize],
        variants: &'a [Op],
    ) -> Vec<&'a Op> {
        members
            .iter()
            .map(|&m| match self.culprits.iter().position(|&c| c == m) {
                Some(v) => &variants[v],
                None => &cut[m].1,
            })
            .collect()
    }

    /// Whether `members` still tells the story.
    fn holds(&self, checker: &mut Checker, cut: &[(usize, Op)], members: &[usize]) -> bool {
        if !self.culprits.iter().all(|c| members.contains(c)) {
            return false;
        }
        let ops: Vec<&Op> = members.iter().map(|&m| &cut[m].1).collect();
        checker.proves(&ops, Outcome::NotLinearizable)
            && (self.culprits.is_empty() || self.forgotten_is_fine(checker, cut, members))
            && (!self.explicable || self.anytime_is_fine(checker, cut, members))
    }
}

/// Delta-debugs the cut down to positions that still tell `story`.
fn shrink(checker: &mut Checker, cut: &[(usize, Op)], story: &Story) -> Vec<usize> {
    let mut current: Vec<usize> = (0..cut.len()).collect();

    let clients: BTreeSet<u64> = cut.iter().map(|(_, op)| op.client).collect();
    for client in clients {
        let candidate: Vec<usize> = current
            .iter()
            .copied()
            .filter(|&m| cut[m].1.client != client)
            .collect();
        if candidate.len() < current.len() && story.holds(checker, cut, &candidate) {
            current = candidate;
        }
    }

    let mut chunk = current.len() / 2;
    while chunk >= 1 && checker.left > 0 {
        let mut start = 0;
        let mut removed_any = false;
        while start < current.len() && checker.left > 0 {
            let end = (start + chunk).min(current.len());
            let candidate: Vec<usize> = current[..start]
                .iter()
                .chain(&current[end..])
                .copied()
                .collect();
            if !candidate.is_empty() && story.holds(checker, cut, &candidate) {
                current = candidate;
                removed_any = true;
            } else {
                start = end;
            }
        }
        // At single ops, keep passing until nothing more can go: then every op is needed.
        if chunk > 1 || !removed_any {
            chunk /= 2;
        }
    }
    current
}
