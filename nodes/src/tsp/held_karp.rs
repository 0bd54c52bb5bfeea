//! The sequential exact solver the checks trust: Held-Karp dynamic programming over subsets,
//! O(2^n n^2), independent of the branch and bound it judges.

use super::instance::{Instance, Tour};

/// Most cities Held-Karp is asked to solve: 2^19 x 19 states of 9 bytes are 90 MB and
/// about a second (the optimum of `tests/data/tsp/rand20.tsp`); the checks ask it for far
/// fewer (see `protocol.rs`).
pub const HELD_KARP_CITIES_MAX: usize = 20;

/// The optimal tour of `inst` (at most [`HELD_KARP_CITIES_MAX`] cities).
pub fn held_karp(inst: &Instance) -> Tour {
    let n = inst.n;
    assert!(
        n <= HELD_KARP_CITIES_MAX,
        "{n} cities is too many for Held-Karp"
    );
    // best[set][last]: the shortest path from city 0 through `set` (cities 1..n as bits
    // 0..n-1), ending at `last` (in set).
    let m = n - 1;
    let full = (1usize << m) - 1;
    let mut best = vec![u64::MAX; (1 << m) * m];
    let mut from = vec![u8::MAX; (1 << m) * m];
    for c in 0..m {
        best[(1 << c) * m + c] = inst.d(0, c as u8 + 1);
    }
    for set in 1..=full {
        for last in 0..m {
            let here = best[set * m + last];
            if set & (1 << last) == 0 || here == u64::MAX {
                continue;
            }
            for next in 0..m {
                if set & (1 << next) != 0 {
                    continue;
                }
                let to = set | (1 << next);
                let len = here + inst.d(last as u8 + 1, next as u8 + 1);
                if len < best[to * m + next] {
                    best[to * m + next] = len;
                    from[to * m + next] = last as u8;
                }
            }
        }
    }
    let (mut last, len) = (0..m)
        .map(|c| (c, best[full * m + c] + inst.d(c as u8 + 1, 0)))
        .min_by_key(|(_, len)| *len)
        .expect("at least two cities besides city 0");
    let mut cities = Vec::with_capacity(n);
    let mut set = full;
    while set != 0 {
        cities.push(last as u8 + 1);
        let prev = from[set * m + last];
        set &= !(1 << last);
        last = prev as usize;
    }
    cities.push(0);
    cities.reverse();
    let tour = Tour { len, cities };
    debug_assert_eq!(inst.tour_len(&tour.cities), tour.len);
    tour
}
