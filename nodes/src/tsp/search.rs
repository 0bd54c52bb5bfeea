//! Branch and bound over tour prefixes: the exact search a worker runs on one subproblem
//! (every tour that starts with a fixed prefix), and the sequential solver over the whole.
//!
//! The lower bound of a partial path: every city still needs its two tour edges, the
//! path's two ends one more each; half the sum of each city's cheapest such edges, plus the
//! path's length, is at most any completion's length.

use super::instance::{Instance, Tour};

/// What searching one subproblem found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    /// The best tour under the prefix that is shorter than the bound given, if any.
    pub best: Option<Tour>,
    /// Search nodes expanded (partial paths looked at).
    pub nodes: u64,
}

/// Each city's cheapest and two cheapest edges, the parts of the lower bound.
pub struct Bounds {
    /// The cheapest edge at each city.
    min1: Vec<u64>,
    /// The sum of the two cheapest edges at each city.
    min2: Vec<u64>,
}

impl Bounds {
    /// The bound parts of `inst`.
    pub fn new(inst: &Instance) -> Bounds {
        let n = inst.n;
        let mut min1 = vec![0; n];
        let mut min2 = vec![0; n];
        for c in 0..n {
            let mut edges: Vec<u64> = (0..n)
                .filter(|o| *o != c)
                .map(|o| inst.d(c as u8, o as u8))
                .collect();
            edges.sort_unstable();
            min1[c] = edges[0];
            min2[c] = edges[0] + edges.get(1).copied().unwrap_or(edges[0]);
        }
        Bounds { min1, min2 }
    }
}

/// The exact search of the tours that start with `prefix` (from city 0), keeping only a tour
/// shorter than `bound`.
pub fn search(inst: &Instance, bounds: &Bounds, prefix: &[u8], bound: u64) -> Found {
    let n = inst.n;
    let mut path: Vec<u8> = prefix.to_vec();
    let mut visited: u32 = 0;
    let mut len = 0;
    for (k, &c) in prefix.iter().enumerate() {
        visited |= 1 << c;
        if k > 0 {
            len += inst.d(prefix[k - 1], c);
        }
    }
    let mut s = Search {
        inst,
        bounds,
        n,
        best_len: bound,
        best: None,
        nodes: 0,
    };
    s.dfs(&mut path, visited, len);
    Found {
        best: s.best,
        nodes: s.nodes,
    }
}

/// The whole problem searched on one thread: the sequential solver of the bench and of the
/// checks for instances too large for Held-Karp.
pub fn solve(inst: &Instance) -> (Tour, u64) {
    let found = search(inst, &Bounds::new(inst), &[0], u64::MAX);
    (found.best.expect("every instance has a tour"), found.nodes)
}

/// One depth-first search's state.
struct Search<'a> {
    /// The instance.
    inst: &'a Instance,
    /// Its bound parts.
    bounds: &'a Bounds,
    /// Its size.
    n: usize,
    /// The length to beat.
    best_len: u64,
    /// The best tour found, shorter than the bound given.
    best: Option<Tour>,
    /// Partial paths looked at.
    nodes: u64,
}

impl Search<'_> {
    fn dfs(&mut self, path: &mut Vec<u8>, visited: u32, len: u64) {
        self.nodes += 1;
        let last = *path.last().expect("a path starts at city 0");
        if path.len() == self.n {
            let total = len + self.inst.d(last, path[0]);
            if total < self.best_len {
                self.best_len = total;
                self.best = Some(Tour {
                    len: total,
                    cities: path.clone(),
                });
            }
            return;
        }
        if self.lower_bound(path, visited, len) >= self.best_len {
            return;
        }
        // Nearest first: good tours early make the bound bite sooner.
        let mut next: Vec<u8> = (0..self.n as u8)
            .filter(|c| visited & (1 << c) == 0)
            .collect();
        next.sort_by_key(|c| (self.inst.d(last, *c), *c));
        for c in next {
            let step = len + self.inst.d(last, c);
            if step >= self.best_len {
                continue;
            }
            path.push(c);
            self.dfs(path, visited | (1 << c), step);
            path.pop();
        }
    }

    fn lower_bound(&self, path: &[u8], visited: u32, len: u64) -> u64 {
        let first = path[0] as usize;
        let last = path[path.len() - 1] as usize;
        let mut need = if path.len() == 1 {
            self.bounds.min2[first]
        } else {
            self.bounds.min1[first] + self.bounds.min1[last]
        };
        for c in 0..self.n {
            if visited & (1 << c) == 0 {
                need += self.bounds.min2[c];
            }
        }
        len + need.div_ceil(2)
    }
}

/// The subproblems of depth `depth`: every path from city 0 over `depth` further distinct
/// cities, in lexicographic order (the task ids are their indexes). Depth is clamped so that
/// a subproblem leaves at least one city open.
pub fn prefixes(n: usize, depth: usize) -> Vec<Vec<u8>> {
    let depth = depth.min(n.saturating_sub(2));
    let mut out = vec![vec![0u8]];
    for _ in 0..depth {
        out = out
            .into_iter()
            .flat_map(|p| {
                (1..n as u8)
                    .filter(|c| !p.contains(c))
                    .map(|c| {
                        let mut q = p.clone();
                        q.push(c);
                        q
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tsp::held_karp::held_karp;

    #[test]
    fn branch_and_bound_agrees_with_held_karp() {
        for seed in 0..20 {
            let inst = Instance::generated(3 + (seed as usize % 8), seed);
            let (tour, _) = solve(&inst);
            assert_eq!(inst.judge(&tour), Ok(()));
            assert_eq!(tour.len, held_karp(&inst).len, "seed {seed}");
        }
    }

    #[test]
    fn the_subproblems_cover_the_search_and_their_best_is_the_optimum() {
        let inst = Instance::generated(9, 7);
        let bounds = Bounds::new(&inst);
        let tasks = prefixes(inst.n, 2);
        assert_eq!(tasks.len(), 8 * 7);
        let best = tasks
            .iter()
            .filter_map(|p| search(&inst, &bounds, p, u64::MAX).best)
            .min()
            .unwrap();
        assert_eq!(best.len, held_karp(&inst).len);
        // A bound at the optimum finds nothing shorter anywhere.
        assert!(tasks
            .iter()
            .all(|p| search(&inst, &bounds, p, best.len).best.is_none()));
    }

    #[test]
    fn the_lower_bound_prunes() {
        let inst = Instance::generated(10, 1);
        let (_, nodes) = solve(&inst);
        let brute: u64 = (1..=9u64).product();
        assert!(nodes < brute / 4, "{nodes} nodes");
    }
}
