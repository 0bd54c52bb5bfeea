//! The coordinators' replicated state: the problem, which subproblems' results are counted
//! (and which are written but not yet counted), which subproblems were split, and the best
//! tour.
//!
//! A subproblem (a "root" task, ids `0..task_count`) may be split while it runs (the
//! adaptive strategy, when workers idle): its children are its prefix extended by each
//! city it leaves open, with ids `TASKS_MAX + parent * CITIES_MAX + city`. A split parent's
//! own result is no longer counted; it is counted in the write that counts its last child.
//!
//! Every part only grows (sets) or shrinks (the best length), so replicas merge what they
//! hear in any order, any number of times, and agree once they have heard the same. A
//! ledger from the wire is checked as it is merged: a task id out of range, a tour that is
//! not a tour of the problem, or a second problem is dropped, never trusted.

use std::collections::BTreeSet;

use faultline_sim::NodeId;
use serde::{Deserialize, Serialize};

use super::instance::{Instance, Tour, CITIES_MAX};
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

    /// How many subproblems it has, without listing them (ledgers are merged every
    /// heartbeat, and every id in them is checked against this).
    pub fn task_count(&self) -> u32 {
        let open = self.instance.n.saturating_sub(1);
        (0..self.depth as usize)
            .map(|k| open.saturating_sub(k) as u32)
            .product()
    }

    /// The id of the child of root task `parent` that goes to `city` next.
    pub fn child(parent: u32, city: u8) -> u32 {
        TASKS_MAX as u32 + parent * CITIES_MAX as u32 + city as u32
    }

    /// The parent and the city of a child id; `None` for a root id.
    pub fn parent(task: u32) -> Option<(u32, u8)> {
        let rest = task.checked_sub(TASKS_MAX as u32)?;
        Some((rest / CITIES_MAX as u32, (rest % CITIES_MAX as u32) as u8))
    }

    /// The children of root task `parent`, whose prefix is `prefix`: none if a child
    /// would leave no city open.
    pub fn children(&self, parent: u32, prefix: &[u8]) -> Vec<u32> {
        let n = self.instance.n;
        if prefix.len() + 2 > n {
            return Vec::new();
        }
        (1..n as u8)
            .filter(|c| !prefix.contains(c))
            .map(|c| Problem::child(parent, c))
            .collect()
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
    /// Root subproblems split into children (grow-only; written before any child is handed
    /// out, so a replica that takes over knows every child that may be out).
    #[serde(default)]
    pub split: BTreeSet<u32>,
    /// The best tour found so far.
    pub best: Option<Tour>,
}

impl Ledger {
    /// How many subproblems the problem has (0 before one arrived).
    pub fn task_count(&self) -> u32 {
        self.problem.as_ref().map_or(0, Problem::task_count)
    }

    /// Whether every root subproblem is counted (a split one once all its children are).
    pub fn complete(&self) -> bool {
        self.problem.is_some() && (0..self.task_count()).all(|t| self.counted.contains(&t))
    }

    /// Whether `task` names a subproblem of the problem: a root id, or a child of a split
    /// root (its city is checked against the root's prefix where the prefix is used).
    pub fn is_task(&self, task: u32) -> bool {
        let Some(problem) = &self.problem else {
            return false;
        };
        match Problem::parent(task) {
            None => task < self.task_count(),
            Some((parent, city)) => {
                self.split.contains(&parent) && city > 0 && (city as usize) < problem.instance.n
            }
        }
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
            self.split.len(),
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
        // Splits first: they make their children's ids valid.
        self.split
            .extend(other.split.iter().filter(|t| **t < count));
        let valid: Vec<u32> = (other.counted.iter().copied())
            .filter(|t| self.is_task(*t))
            .collect();
        self.counted.extend(valid);
        let valid: Vec<u32> = (other.tentative.iter().copied())
            .filter(|t| self.is_task(*t) && !self.counted.contains(t))
            .collect();
        self.tentative.extend(valid);
        let counted = &self.counted;
        self.tentative.retain(|t| !counted.contains(t));
        if let Some(tour) = &other.best {
            if self.improves(tour) {
                self.best = Some(tour.clone());
            }
        }
        before
            != (
                self.problem.is_some(),
                self.counted.len(),
                self.tentative.len(),
                self.split.len(),
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
            split: BTreeSet::new(),
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
        // A child of a task not split is no task.
        let mut child_unsplit = ledger(&[Problem::child(2, 1)], &[], None);
        assert!(!mine.merge(&child_unsplit));
        child_unsplit.split.insert(2);
        child_unsplit.split.insert(999);
        assert!(mine.merge(&child_unsplit));
        assert_eq!(mine.split, [2].into());
        assert!(mine.counted.contains(&Problem::child(2, 1)));
        let mut other_problem = theirs.clone();
        other_problem.problem = Some(Problem::new(Instance::generated(6, 2), 1));
        assert!(!mine.merge(&other_problem));
    }

    #[test]
    fn the_task_count_is_the_number_of_prefixes() {
        for (n, depth) in [(5, 0), (5, 1), (10, 2), (10, 3), (14, 2)] {
            let p = Problem::new(Instance::generated(n, 1), depth);
            assert_eq!(
                p.task_count() as usize,
                p.tasks().len(),
                "{n} cities, {depth}"
            );
        }
    }

    #[test]
    fn a_split_task_is_complete_once_counted_and_children_have_ids_of_their_own() {
        let mut l = ledger(&[0, 1, 2], &[], None);
        assert!(!l.complete(), "task 3 of 4 is not counted");
        let problem = l.problem.clone().unwrap();
        let prefix = &problem.tasks()[3];
        let children = problem.children(3, prefix);
        assert_eq!(children.len(), 3, "5 cities, two fixed: three ways on");
        assert!(children.iter().all(|c| Problem::parent(*c).unwrap().0 == 3));
        l.split.insert(3);
        l.counted.extend(children);
        assert!(!l.complete(), "the parent is counted with its last child");
        l.counted.insert(3);
        assert!(l.complete());
    }
}
