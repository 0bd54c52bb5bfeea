//! Branch and bound over tour prefixes: the exact search a worker runs on one subproblem
//! (every tour that starts with a fixed prefix), in slices it can resume, and the
//! sequential solver over the whole.
//!
//! The lower bound of a partial path is Held and Karp's 1-tree bound, on the part still to
//! travel: the path from its last city through every unvisited city back to city 0 is a
//! spanning tree of the unvisited cities plus one edge from each end, so its length is at
//! least a minimum spanning tree of the unvisited cities plus the cheapest edge from each
//! end into them (from city 0 alone, the two cheapest). Edge costs carry node penalties
//! (`d(i, j) + pi_i + pi_j`): every completion pays each unvisited city's penalty twice and
//! each end's once whatever its order, so the bound stays a bound for any penalties, and
//! the penalties chosen once at the root by subgradient ascent make the trees look like
//! tours and the bound tight.
//!
//! A search begins with a bound to beat; the sequential solver starts from a heuristic tour
//! (nearest neighbour, then 2-opt and Or-opt), so it only has to prove it or find better.

use super::instance::{Instance, Tour};

/// Fixed point of the penalised costs: distances count `SCALE` units each, so penalties
/// finer than a unit of distance keep their effect on instances of small distances.
const SCALE: i64 = 64;
/// Subgradient steps at the root: each is one 1-tree (n^2), microseconds on 32 cities.
const ASCENT_STEPS_MAX: usize = 400;
/// Steps without a better bound after which the step size halves.
const ASCENT_STALL: usize = 12;
/// Largest penalty: with distances up to 2^32 (2^38 scaled) sums of 32 penalised edges
/// stay far from `i64` overflow.
const PENALTY_MAX: f64 = (1u64 << 42) as f64;
/// Passes of local search a heuristic tour gets at most (each improves it, so a pass
/// count is only a guard).
const IMPROVE_PASSES_MAX: usize = 10_000;

/// What searching one subproblem found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    /// The best tour under the prefix that is shorter than the bound given, if any.
    pub best: Option<Tour>,
    /// Search nodes expanded (partial paths looked at).
    pub nodes: u64,
}

/// The penalised edge costs of an instance, the parts of its lower bound.
pub struct Bounds {
    /// Cities.
    n: usize,
    /// `SCALE * d(i, j) + pi_i + pi_j`, row by row.
    cost: Vec<i64>,
    /// The node penalties `pi` (scaled).
    pi: Vec<i64>,
}

impl Bounds {
    /// The bound parts of `inst`, with penalties from a subgradient ascent at the root.
    pub fn new(inst: &Instance) -> Bounds {
        let mut bounds = Bounds::with_penalties(inst, vec![0; inst.n]);
        let upper = start_tour(inst).len as f64 * SCALE as f64;
        let mut pi = vec![0f64; inst.n];
        let (mut best_lb, mut best_pi) = (i64::MIN, bounds.pi.clone());
        let (mut step, mut stall) = (2.0f64, 0);
        for _ in 0..ASCENT_STEPS_MAX {
            let (tree, degree) = bounds.one_tree();
            let lb = tree - 2 * bounds.pi.iter().sum::<i64>();
            if lb > best_lb {
                (best_lb, best_pi, stall) = (lb, bounds.pi.clone(), 0);
            } else {
                stall += 1;
                if stall >= ASCENT_STALL {
                    (step, stall) = (step / 2.0, 0);
                }
            }
            let norm: i64 = degree.iter().map(|&g| (g - 2) * (g - 2)).sum();
            let gap = upper - lb as f64;
            // A tree that is a tour, or a bound at the start tour, proves it: nothing to gain.
            if norm == 0 || gap <= 0.0 || step < 1e-3 {
                break;
            }
            let t = step * gap / norm as f64;
            for (p, g) in pi.iter_mut().zip(&degree) {
                *p = (*p + t * (g - 2) as f64).clamp(-PENALTY_MAX, PENALTY_MAX);
            }
            bounds = Bounds::with_penalties(inst, pi.iter().map(|p| p.round() as i64).collect());
        }
        Bounds::with_penalties(inst, best_pi)
    }

    /// The bound parts of `inst` with penalties `pi` (scaled).
    fn with_penalties(inst: &Instance, pi: Vec<i64>) -> Bounds {
        let n = inst.n;
        let mut cost = vec![0; n * n];
        for i in 0..n {
            for j in 0..n {
                cost[i * n + j] = SCALE * inst.d(i as u8, j as u8) as i64 + pi[i] + pi[j];
            }
        }
        Bounds { n, cost, pi }
    }

    /// The penalised cost of edge `i`-`j`.
    fn c(&self, i: usize, j: usize) -> i64 {
        self.cost[i * self.n + j]
    }

    /// The 1-tree of the whole instance (a minimum spanning tree of cities 1.. and the two
    /// cheapest edges of city 0), penalised: its cost and every city's degree in it.
    fn one_tree(&self) -> (i64, Vec<i64>) {
        let n = self.n;
        let mut degree = vec![0i64; n];
        let mut cost = 0;
        // Prim from city 1 over cities 1..n.
        let mut in_tree = vec![false; n];
        let mut key = vec![i64::MAX; n];
        let mut parent = vec![usize::MAX; n];
        key[1] = 0;
        for _ in 1..n {
            let u = (1..n)
                .filter(|&c| !in_tree[c])
                .min_by_key(|&c| (key[c], c))
                .expect("a city is left");
            in_tree[u] = true;
            if parent[u] != usize::MAX {
                cost += key[u];
                degree[u] += 1;
                degree[parent[u]] += 1;
            }
            for v in 1..n {
                if !in_tree[v] && self.c(u, v) < key[v] {
                    key[v] = self.c(u, v);
                    parent[v] = u;
                }
            }
        }
        let mut edges: Vec<(i64, usize)> = (1..n).map(|c| (self.c(0, c), c)).collect();
        edges.sort_unstable();
        for &(c, v) in &edges[..2] {
            cost += c;
            degree[0] += 1;
            degree[v] += 1;
        }
        (cost, degree)
    }

    /// A lower bound on the length of every path from `last` through every city of
    /// `open` (a bit set, not empty) to `first`: the penalised spanning tree of `open`, the
    /// cheapest edge from each end into it, less the penalties every such path pays.
    fn completion(&self, first: usize, last: usize, open: u32) -> u64 {
        let mut cities = [0usize; 32];
        let mut k = 0;
        let mut penalties = self.pi[first] + self.pi[last];
        for (c, &p) in self.pi.iter().enumerate() {
            if open & (1 << c) != 0 {
                cities[k] = c;
                k += 1;
                penalties += 2 * p;
            }
        }
        let cities = &cities[..k];
        // Prim over the open cities.
        let mut key = [i64::MAX; 32];
        let mut in_tree = [false; 32];
        let mut tree = 0;
        key[0] = 0;
        for _ in 0..k {
            let mut u = usize::MAX;
            for i in 0..k {
                if !in_tree[i] && (u == usize::MAX || key[i] < key[u]) {
                    u = i;
                }
            }
            in_tree[u] = true;
            tree += key[u];
            for v in 0..k {
                let c = self.c(cities[u], cities[v]);
                if !in_tree[v] && c < key[v] {
                    key[v] = c;
                }
            }
        }
        let ends = if first == last {
            // The whole tour is open: city 0 needs its two edges, to two cities.
            let (mut a, mut b) = (i64::MAX, i64::MAX);
            for &c in cities {
                let e = self.c(first, c);
                if e < a {
                    (a, b) = (e, a);
                } else if e < b {
                    b = e;
                }
            }
            a + b
        } else {
            let near = |end: usize| cities.iter().map(|&c| self.c(end, c)).min();
            near(first).expect("open is not empty") + near(last).expect("open is not empty")
        };
        // A completion is never negative, whatever the penalties say.
        let scaled = (tree + ends - penalties).max(0);
        (scaled as u64).div_ceil(SCALE as u64)
    }
}

/// A resumable depth-first search of the tours under one prefix: [`Search::run`] expands
/// at most a given number of nodes and returns, keeping its stack, so that a worker can
/// hear its messages between slices.
#[derive(Clone, Debug)]
pub struct Search {
    /// Cities of the prefix: the search never backs up into it.
    prefix_len: usize,
    /// The path being extended: the prefix, then the cities chosen.
    path: Vec<u8>,
    /// The path's length at each of its cities.
    lens: Vec<u64>,
    /// The path's cities as bits.
    visited: u32,
    /// The cities still to try after each path of the stack, farthest first, so that the
    /// nearest is popped first; one frame per path with children left.
    children: Vec<u8>,
    /// Where each open path's children start in `children`.
    frames: Vec<usize>,
    /// The length to beat.
    best_len: u64,
    /// The best tour found, shorter than the bound given.
    best: Option<Tour>,
    /// Partial paths looked at.
    nodes: u64,
    /// Whether the prefix was looked at.
    started: bool,
}

impl Search {
    /// The search of the tours that start with `prefix` (from city 0), keeping only a tour
    /// shorter than `bound`.
    pub fn new(inst: &Instance, prefix: &[u8], bound: u64) -> Search {
        let mut lens = Vec::with_capacity(inst.n);
        let mut visited = 0;
        let mut len = 0;
        for (k, &c) in prefix.iter().enumerate() {
            visited |= 1 << c;
            if k > 0 {
                len += inst.d(prefix[k - 1], c);
            }
            lens.push(len);
        }
        let mut path = Vec::with_capacity(inst.n);
        path.extend_from_slice(prefix);
        Search {
            prefix_len: prefix.len(),
            path,
            lens,
            visited,
            children: Vec::new(),
            frames: Vec::new(),
            best_len: bound,
            best: None,
            nodes: 0,
            started: false,
        }
    }

    /// A shorter tour is known elsewhere: keep only tours shorter than `bound` from now on.
    pub fn tighten(&mut self, bound: u64) {
        if bound < self.best_len {
            self.best_len = bound;
            if self.best.as_ref().is_some_and(|b| b.len >= bound) {
                self.best = None;
            }
        }
    }

    /// Whether the search is over.
    pub fn done(&self) -> bool {
        self.started && self.frames.is_empty()
    }

    /// Nodes expanded so far.
    pub fn nodes(&self) -> u64 {
        self.nodes
    }

    /// What it found so far (everything, once [`Search::done`]).
    pub fn found(&self) -> Found {
        Found {
            best: self.best.clone(),
            nodes: self.nodes,
        }
    }

    /// Searches on for at most `nodes_max` (at least 1) nodes; whether the search is over.
    pub fn run(&mut self, inst: &Instance, bounds: &Bounds, nodes_max: u64) -> bool {
        let mut budget = nodes_max.max(1);
        if !self.started {
            self.started = true;
            budget -= 1;
            self.expand(inst, bounds);
        }
        while let Some(&start) = self.frames.last() {
            if self.children.len() == start {
                self.frames.pop();
                self.back_up();
                continue;
            }
            if budget == 0 {
                return false;
            }
            let c = self.children.pop().expect("the frame has children");
            let last = *self.path.last().expect("a path starts at city 0");
            let len = self.lens[self.lens.len() - 1] + inst.d(last, c);
            if len >= self.best_len {
                continue;
            }
            self.path.push(c);
            self.lens.push(len);
            self.visited |= 1 << c;
            budget -= 1;
            self.expand(inst, bounds);
        }
        true
    }

    /// Looks at the path: a whole tour is kept if shorter, a partial path opens a frame of
    /// its children unless its bound reaches the length to beat.
    fn expand(&mut self, inst: &Instance, bounds: &Bounds) {
        self.nodes += 1;
        let n = inst.n;
        let first = self.path[0];
        let last = *self.path.last().expect("a path starts at city 0");
        let len = self.lens[self.lens.len() - 1];
        if self.path.len() == n {
            let total = len + inst.d(last, first);
            if total < self.best_len {
                self.best_len = total;
                self.best = Some(Tour {
                    len: total,
                    cities: self.path.clone(),
                });
            }
            self.back_up();
            return;
        }
        let all = if n == 32 { u32::MAX } else { (1u32 << n) - 1 };
        let open = all & !self.visited;
        if len + bounds.completion(first as usize, last as usize, open) >= self.best_len {
            self.back_up();
            return;
        }
        // Nearest first: good tours early make the bound bite sooner.
        let start = self.children.len();
        self.children
            .extend((0..n as u8).filter(|c| open & (1 << c) != 0));
        self.children[start..].sort_by_key(|&c| std::cmp::Reverse((inst.d(last, c), c)));
        self.frames.push(start);
    }

    /// Takes the last city off the path, unless the path is the prefix.
    fn back_up(&mut self) {
        if self.path.len() > self.prefix_len {
            let c = self.path.pop().expect("longer than the prefix");
            self.lens.pop();
            self.visited &= !(1 << c);
        }
    }
}

/// The exact search of the tours that start with `prefix` (from city 0), keeping only a tour
/// shorter than `bound`, in one go.
pub fn search(inst: &Instance, bounds: &Bounds, prefix: &[u8], bound: u64) -> Found {
    let mut s = Search::new(inst, prefix, bound);
    s.run(inst, bounds, u64::MAX);
    s.found()
}

/// The whole problem searched on one thread from the heuristic start tour: the sequential
/// solver of the bench and of the checks for instances too large for Held-Karp.
pub fn solve(inst: &Instance) -> (Tour, u64) {
    let start = start_tour(inst);
    let found = search(inst, &Bounds::new(inst), &[0], start.len);
    (found.best.unwrap_or(start), found.nodes)
}

/// A good tour, fast: nearest neighbour from every city, each improved by 2-opt and Or-opt
/// until neither helps; the shortest, from city 0.
pub fn start_tour(inst: &Instance) -> Tour {
    let n = inst.n;
    let mut best: Option<Tour> = None;
    for from in 0..n as u8 {
        let mut order = nearest_neighbour(inst, from);
        for _ in 0..IMPROVE_PASSES_MAX {
            if !two_opt(inst, &mut order) && !or_opt(inst, &mut order) {
                break;
            }
        }
        let zero = order.iter().position(|&c| c == 0).expect("every city");
        order.rotate_left(zero);
        let tour = Tour {
            len: inst.tour_len(&order),
            cities: order,
        };
        if best.as_ref().is_none_or(|b| tour < *b) {
            best = Some(tour);
        }
    }
    best.expect("an instance has cities")
}

/// The tour that always goes to the nearest city not yet visited, from `from`.
fn nearest_neighbour(inst: &Instance, from: u8) -> Vec<u8> {
    let n = inst.n;
    let mut order = vec![from];
    let mut seen = vec![false; n];
    seen[from as usize] = true;
    for _ in 1..n {
        let last = order[order.len() - 1];
        let next = (0..n as u8)
            .filter(|&c| !seen[c as usize])
            .min_by_key(|&c| (inst.d(last, c), c))
            .expect("a city is left");
        seen[next as usize] = true;
        order.push(next);
    }
    order
}

/// One 2-opt move if one shortens the closed tour `order` (two edges replaced by the two
/// that reverse the stretch between them); whether it did.
fn two_opt(inst: &Instance, order: &mut [u8]) -> bool {
    let n = order.len();
    let d = |a: u8, b: u8| inst.d(a, b) as i64;
    for i in 0..n.saturating_sub(2) {
        for j in i + 2..n {
            if i == 0 && j == n - 1 {
                continue;
            }
            let (a, b, c, e) = (order[i], order[i + 1], order[j], order[(j + 1) % n]);
            if d(a, c) + d(b, e) < d(a, b) + d(c, e) {
                order[i + 1..=j].reverse();
                return true;
            }
        }
    }
    false
}

/// One Or-opt move if one shortens the closed tour `order` (a stretch of one to three
/// cities moved elsewhere, either way round); whether it did.
fn or_opt(inst: &Instance, order: &mut Vec<u8>) -> bool {
    let n = order.len();
    let d = |a: u8, b: u8| inst.d(a, b) as i64;
    for seg in 1..=3.min(n.saturating_sub(3)) {
        for i in 0..=n - seg {
            let (prev, next) = (order[(i + n - 1) % n], order[(i + seg) % n]);
            let (s0, s1) = (order[i], order[i + seg - 1]);
            let gain = d(prev, s0) + d(s1, next) - d(prev, next);
            let mut rest: Vec<u8> = order[..i].to_vec();
            rest.extend_from_slice(&order[i + seg..]);
            let m = rest.len();
            for p in 0..m {
                let (a, b) = (rest[p], rest[(p + 1) % m]);
                if a == prev && b == next {
                    continue;
                }
                let forward = d(a, s0) + d(s1, b) - d(a, b);
                let backward = d(a, s1) + d(s0, b) - d(a, b);
                if forward.min(backward) < gain {
                    let mut moved = order[i..i + seg].to_vec();
                    if backward < forward {
                        moved.reverse();
                    }
                    rest.splice(p + 1..p + 1, moved);
                    *order = rest;
                    return true;
                }
            }
        }
    }
    false
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
        for seed in 0..240u64 {
            let n = if seed % 20 == 19 {
                13 + (seed as usize / 20) % 2
            } else {
                4 + (seed as usize % 9)
            };
            let inst = Instance::generated(n, seed);
            let (tour, _) = solve(&inst);
            assert_eq!(inst.judge(&tour), Ok(()));
            assert_eq!(tour.len, held_karp(&inst).len, "{n} cities, seed {seed}");
        }
    }

    #[test]
    fn the_start_tour_is_a_tour_and_never_shorter_than_the_optimum() {
        for seed in 0..40u64 {
            let inst = Instance::generated(3 + seed as usize % 10, seed);
            let tour = start_tour(&inst);
            assert_eq!(inst.judge(&tour), Ok(()));
            assert!(tour.len >= held_karp(&inst).len);
        }
    }

    #[test]
    fn the_bound_never_exceeds_the_best_completion() {
        // Every partial path of small instances: the bound against every completion.
        for seed in 0..30u64 {
            let n = 4 + seed as usize % 5;
            let inst = Instance::generated(n, 1000 + seed);
            let bounds = Bounds::new(&inst);
            for depth in 0..n - 1 {
                for prefix in prefixes(n, depth) {
                    let best = best_completion(&inst, &prefix);
                    let len = inst.tour_len(&prefix) - inst.d(prefix[prefix.len() - 1], 0);
                    let open = (0..n as u32)
                        .filter(|c| !prefix.contains(&(*c as u8)))
                        .fold(0, |m, c| m | 1 << c);
                    let last = prefix[prefix.len() - 1] as usize;
                    let bound = len + bounds.completion(0, last, open);
                    assert!(bound <= best, "seed {seed}, {prefix:?}: {bound} > {best}");
                }
            }
        }
    }

    /// The shortest tour under `prefix`, by trying every order of the rest.
    fn best_completion(inst: &Instance, prefix: &[u8]) -> u64 {
        let rest: Vec<u8> = (0..inst.n as u8).filter(|c| !prefix.contains(c)).collect();
        let mut best = u64::MAX;
        permute(&mut rest.clone(), 0, &mut |order| {
            let cities: Vec<u8> = prefix.iter().chain(order.iter()).copied().collect();
            best = best.min(inst.tour_len(&cities));
        });
        best
    }

    fn permute(items: &mut Vec<u8>, k: usize, visit: &mut dyn FnMut(&[u8])) {
        if k == items.len() {
            visit(items);
            return;
        }
        for i in k..items.len() {
            items.swap(k, i);
            permute(items, k + 1, visit);
            items.swap(k, i);
        }
    }

    #[test]
    fn the_subproblems_cover_the_search_and_their_best_is_the_optimum() {
        for seed in [7, 8, 9] {
            let inst = Instance::generated(9, seed);
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
    }

    #[test]
    fn a_search_in_slices_finds_what_one_search_finds() {
        let inst = Instance::generated(11, 3);
        let bounds = Bounds::new(&inst);
        for prefix in prefixes(inst.n, 1) {
            let whole = search(&inst, &bounds, &prefix, u64::MAX);
            let mut s = Search::new(&inst, &prefix, u64::MAX);
            let mut slices = 0;
            while !s.run(&inst, &bounds, 3) {
                slices += 1;
                assert!(slices < 1_000_000);
            }
            assert!(s.done());
            assert_eq!(s.found(), whole, "{prefix:?}");
        }
    }

    #[test]
    fn a_bound_tightened_mid_search_is_kept_to() {
        let inst = Instance::generated(11, 5);
        let bounds = Bounds::new(&inst);
        let optimum = held_karp(&inst).len;
        let mut s = Search::new(&inst, &[0], u64::MAX);
        s.run(&inst, &bounds, 1);
        // Someone found the optimum: nothing shorter exists, so nothing is reported.
        s.tighten(optimum);
        while !s.run(&inst, &bounds, 5) {}
        assert_eq!(s.found().best, None);
    }

    #[test]
    fn the_lower_bound_prunes() {
        let inst = Instance::generated(10, 1);
        let (_, nodes) = solve(&inst);
        let brute: u64 = (1..=9u64).product();
        assert!(nodes < brute / 1000, "{nodes} nodes");
    }
}
