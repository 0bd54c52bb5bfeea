//! The coordinators' replicated state: the problem, which subproblems' results are counted
//! (and which are written but not yet counted), and the best tour.
//!
//! Every part only grows (sets) or shrinks (the best length), so replicas merge what they
//! hear in any order, any number of times, and agree once they have heard the same. A
//! ledger from the wire is checked as it is merged: a task id out of range, a tour that is
//! not a tour of the problem, or a second problem is dropped, never trusted.

use std::collections::BTreeSet;

use faultline_sim::NodeId;
use serde::{Deserialize, Serialize};

use super::instance::{Instance, Tour};
use super::search::prefixes;

/// Most subproblems a problem is split into: bounds every set of task ids.
pub const TASKS_MAX: usize = 4096;

/// A problem: the instance and how deep its subproblems' prefixes go.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// The instance.
    pub instance: Instance,
    /// Cities fixed after city 0 in every subproblem.
    pub depth: u8,
}

impl Problem {
    /// The problem of `instance` split `depth` cities deep, or shallower if that would make
    /// more than [`TASKS_MAX`] subproblems.
    pub fn new(instance: Instance, depth: usize) -> Problem {
        let mut depth = depth
            .min(instance.n.saturating_sub(2))
            .min(u8::MAX as usize);
        while depth > 0 && prefixes(instance.n, depth).len() > TASKS_MAX {
            depth -= 1;
        }
        Problem {
            instance,
            depth: depth as u8,
        }
    }

    /// Its subproblems' prefixes, by task id.
    pub fn tasks(&self) -> Vec<Vec<u8>> {
        prefixes(self.instance.n, self.depth as usize)
    }

    /// Whether it keeps the invariants [`Problem::new`] gives it.
    fn is_valid(&self) -> bool {
        self.instance.is_valid()
            && (self.depth as usize) <= self.instance.n.saturating_sub(2)
            && prefixes(self.instance.n, self.depth as usize).len() <= TASKS_MAX
    }
}

/// What the coordinator replicas share.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ledger {
    /// The problem being solved, once a client asked.
    pub problem: Option<Problem>,
    /// Who asked.
    pub client: Option<NodeId>,
    /// Subproblems whose results are counted.
    pub counted: BTreeSet<u32>,
    /// Subproblems whose results a writer wrote but did not count yet (it may have crashed).
    pub tentative: BTreeSet<u32>,
    /// The best tour found so far.
    pub best: Option<Tour>,
}

impl Ledger {
    /// How many subproblems the problem has (0 before one arrived).
    pub fn task_count(&self) -> u32 {
        self.problem.as_ref().map_or(0, |p| p.tasks().len() as u32)
    }

    /// Whether every subproblem's result is counted.
    pub fn complete(&self) -> bool {
        self.problem.is_some() && self.counted.len() as u32 == self.task_count()
    }

    /// Whether `tour` is a valid tour of the problem and shorter than the best.
    pub fn improves(&self, tour: &Tour) -> bool {
        let Some(problem) = &self.problem else {
            return false;
        };
        problem.instance.judge(tour).is_ok() && self.best.as_ref().is_none_or(|b| tour < b)
    }

    /// Takes in what `other` knows that is valid; whether anything changed.
    pub fn merge(&mut self, other: &Ledger) -> bool {
        let before = (
            self.problem.is_some(),
            self.counted.len(),
            self.tentative.len(),
            self.best.clone(),
        );
        match (&self.problem, &other.problem) {
            (None, Some(p)) if p.is_valid() => {
                self.problem = Some(p.clone());
                self.client = other.client;
            }
            (Some(mine), Some(theirs)) if mine == theirs => {}
            // A ledger of no problem or another one says nothing about this one.
            _ => return false,
        }
        let count = self.task_count();
        self.counted
            .extend(other.counted.iter().filter(|t| **t < count));
        self.tentative.extend(
            other
                .tentative
                .iter()
                .filter(|t| **t < count && !self.counted.contains(t)),
        );
        let counted = &self.counted;
        self.tentative.retain(|t| !counted.contains(t));
        if let Some(tour) = &other.best {
            if self.improves(tour) {
                self.best = Some(tour.clone());
            }
        }
        debug_assert!(self.counted.len() as u32 <= count);
        before
            != (
                self.problem.is_some(),
                self.counted.len(),
                self.tentative.len(),
                self.best.clone(),
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ledger(counted: &[u32], tentative: &[u32], best: Option<Tour>) -> Ledger {
        Ledger {
            problem: Some(Problem::new(Instance::generated(5, 1), 1)),
            client: None,
            counted: counted.iter().copied().collect(),
            tentative: tentative.iter().copied().collect(),
            best,
        }
    }

    #[test]
    fn merging_is_a_union_and_a_minimum_in_any_order() {
        let inst = Instance::generated(5, 1);
        let tour = |cities: Vec<u8>| Tour {
            len: inst.tour_len(&cities),
            cities,
        };
        let (t1, t2) = (tour(vec![0, 1, 2, 3, 4]), tour(vec![0, 2, 1, 3, 4]));
        let (short, long) = if t1 < t2 { (t1, t2) } else { (t2, t1) };
        let a = ledger(&[0], &[1], Some(long));
        let b = ledger(&[1, 2], &[3], Some(short.clone()));
        let mut ab = a.clone();
        assert!(ab.merge(&b));
        let mut ba = b.clone();
        ba.merge(&a);
        assert_eq!(ab, ba);
        assert_eq!(ab.counted, [0, 1, 2].into());
        assert_eq!(
            ab.tentative,
            [3].into(),
            "a counted task is no longer tentative"
        );
        assert_eq!(ab.best, Some(short));
        assert!(!ab.clone().merge(&ab), "merging again changes nothing");
    }

    #[test]
    fn hostile_ledgers_are_filtered() {
        let mut mine = ledger(&[], &[], None);
        let bogus = Tour {
            len: 1,
            cities: vec![0, 1, 2, 3, 4],
        };
        let theirs = ledger(&[3, 99, u32::MAX], &[77], Some(bogus));
        mine.merge(&theirs);
        assert_eq!(mine.counted, [3].into());
        assert!(mine.tentative.is_empty() && mine.best.is_none());
        let mut other_problem = theirs.clone();
        other_problem.problem = Some(Problem::new(Instance::generated(6, 2), 1));
        assert!(!mine.merge(&other_problem));
    }
}
