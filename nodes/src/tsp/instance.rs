//! A TSP instance: a symmetric matrix of integer distances between cities, whichever way it
//! was given (a TSPLIB file, or generated from a seed), and the length of a tour over it.

use serde::{Deserialize, Serialize};

/// Most cities an instance may have: tours travel as bytes, visited sets as `u32` bit masks.
pub const CITIES_MAX: usize = 32;
/// Fewest cities a tour problem has.
pub const CITIES_MIN: usize = 3;
/// Largest distance between two cities: sums of a tour stay far from `u64` overflow.
pub const DISTANCE_MAX: u64 = 1 << 32;

/// A symmetric instance: `n` cities, distances `dist[i * n + j]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instance {
    /// Its name (the TSPLIB `NAME`, or `random-<n>-<seed>`).
    pub name: String,
    /// How many cities.
    pub n: usize,
    /// Distances, row by row.
    pub dist: Vec<u64>,
}

/// A tour: every city once, starting at city 0, with its length.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Tour {
    /// Its length (first, so that tours order by length).
    pub len: u64,
    /// The cities in order, from city 0.
    pub cities: Vec<u8>,
}

impl Instance {
    /// An instance from a full matrix; `None` unless it is square, symmetric, zero on the
    /// diagonal, within the size bounds and every distance within [`DISTANCE_MAX`].
    pub fn from_matrix(name: &str, n: usize, dist: Vec<u64>) -> Option<Instance> {
        let inst = Instance {
            name: name.to_string(),
            n,
            dist,
        };
        inst.is_valid().then_some(inst)
    }

    /// Whether the instance keeps the invariants [`Instance::from_matrix`] asks for (one
    /// that arrived over the wire must be checked before use).
    pub fn is_valid(&self) -> bool {
        let n = self.n;
        (CITIES_MIN..=CITIES_MAX).contains(&n)
            && self.dist.len() == n * n
            && (0..n).all(|i| {
                self.dist[i * n + i] == 0
                    && (0..n).all(|j| {
                        self.dist[i * n + j] == self.dist[j * n + i]
                            && self.dist[i * n + j] <= DISTANCE_MAX
                    })
            })
    }

    /// `n` cities at random integer points of a 1000 x 1000 square, Euclidean distances
    /// rounded as TSPLIB's `EUC_2D`; the same seed gives the same instance on every
    /// machine (a splitmix64 sequence, no library's generator).
    pub fn generated(n: usize, seed: u64) -> Instance {
        assert!((CITIES_MIN..=CITIES_MAX).contains(&n), "{n} cities");
        let mut state = seed;
        let mut next = move || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        let points: Vec<(f64, f64)> = (0..n)
            .map(|_| ((next() % 1000) as f64, (next() % 1000) as f64))
            .collect();
        let mut dist = vec![0; n * n];
        for i in 0..n {
            for j in 0..n {
                dist[i * n + j] = super::tsplib::euc_2d(points[i], points[j]);
            }
        }
        Instance::from_matrix(&format!("random-{n}-{seed}"), n, dist)
            .expect("Euclidean distances are symmetric")
    }

    /// The distance between cities `a` and `b`.
    pub fn d(&self, a: u8, b: u8) -> u64 {
        self.dist[a as usize * self.n + b as usize]
    }

    /// The length of the closed tour through `cities` in order.
    pub fn tour_len(&self, cities: &[u8]) -> u64 {
        if cities.is_empty() {
            return 0;
        }
        let legs: u64 = cities.windows(2).map(|w| self.d(w[0], w[1])).sum();
        legs + self.d(cities[cities.len() - 1], cities[0])
    }

    /// Why `tour` is not a valid tour of this instance with its stated length, if it is not.
    pub fn judge(&self, tour: &Tour) -> Result<(), String> {
        if tour.cities.len() != self.n {
            return Err(format!(
                "the tour visits {} cities, the instance has {}",
                tour.cities.len(),
                self.n
            ));
        }
        let mut seen = vec![false; self.n];
        for &c in &tour.cities {
            match seen.get_mut(c as usize) {
                None => return Err(format!("the tour names city {c}, out of range")),
                Some(true) => return Err(format!("the tour visits city {c} twice")),
                Some(s) => *s = true,
            }
        }
        if tour.cities[0] != 0 {
            return Err("the tour does not start at city 0".into());
        }
        let len = self.tour_len(&tour.cities);
        if len != tour.len {
            return Err(format!(
                "the tour claims length {}, its cities add up to {len}",
                tour.len
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_instance_is_the_same_for_a_seed_and_symmetric() {
        let a = Instance::generated(9, 3);
        assert_eq!(a, Instance::generated(9, 3));
        assert_ne!(a, Instance::generated(9, 4));
        assert!(a.is_valid());
    }

    #[test]
    fn a_tour_is_judged_for_permutation_and_length() {
        let inst = Instance::from_matrix(
            "sq",
            4,
            vec![0, 1, 2, 1, 1, 0, 1, 2, 2, 1, 0, 1, 1, 2, 1, 0],
        )
        .unwrap();
        let good = Tour {
            len: 4,
            cities: vec![0, 1, 2, 3],
        };
        assert_eq!(inst.judge(&good), Ok(()));
        let wrong_len = Tour {
            len: 3,
            ..good.clone()
        };
        assert!(inst.judge(&wrong_len).unwrap_err().contains("add up to 4"));
        let twice = Tour {
            len: 4,
            cities: vec![0, 1, 1, 3],
        };
        assert!(inst.judge(&twice).unwrap_err().contains("twice"));
        assert!(Instance::from_matrix("x", 2, vec![0, 1, 1, 0]).is_none());
        assert!(Instance::from_matrix("x", 3, vec![0, 1, 2, 1, 0, 1, 3, 1, 0]).is_none());
    }
}
