//! Keeping an even sample of a stream of unknown length in bounded memory.
//!
//! A timeline is built while a run goes on, before anyone knows how long it will be, and a
//! picture can only show so much. Items are numbered as they come (an ordinal); only those
//! whose ordinal is a multiple of the stride are kept, and when more than the budget are kept
//! the stride doubles and every other one goes. What stays is an even sample of everything
//! seen, deterministic, never more than the budget. Items with the same ordinal (the
//! deliveries of one multicast) are kept or dropped together. Ordinals may come out of order
//! (deliveries overtake each other): what is kept depends on the ordinal alone.

/// An even sample of at most `cap` items.
#[derive(Debug)]
pub(crate) struct Thinned<T> {
    /// The kept items with their ordinals, in the order they were offered.
    items: Vec<(u64, T)>,
    /// Ordinals that are multiples of this are kept; a power of two.
    stride: u64,
    /// Most items kept.
    cap: usize,
}

impl<T> Thinned<T> {
    /// An empty sample that keeps at most `cap` items.
    pub(crate) fn new(cap: usize) -> Self {
        Thinned {
            items: Vec::new(),
            stride: 1,
            cap: cap.max(1),
        }
    }

    /// Whether an item numbered `ordinal` would be kept now (it may go later).
    pub(crate) fn admits(&self, ordinal: u64) -> bool {
        ordinal.is_multiple_of(self.stride)
    }

    /// Offers an item; it is kept if its ordinal is admitted.
    pub(crate) fn offer(&mut self, ordinal: u64, item: T) {
        if !self.admits(ordinal) {
            return;
        }
        self.items.push((ordinal, item));
        while self.items.len() > self.cap && self.stride < 1 << 62 {
            self.stride *= 2;
            let stride = self.stride;
            self.items.retain(|(o, _)| o.is_multiple_of(stride));
        }
        // Only ordinal 0 survives every doubling: a group bigger than the budget is cut.
        self.items.truncate(self.cap);
        assert!(self.items.len() <= self.cap, "a sample keeps its budget");
    }

    /// Number of items kept.
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// The current stride: one item in this many is kept.
    pub(crate) fn stride(&self) -> u64 {
        self.stride
    }

    /// The kept items, in the order they came.
    pub(crate) fn into_items(self) -> impl Iterator<Item = T> {
        self.items.into_iter().map(|(_, item)| item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_an_even_sample_within_budget() {
        let mut s = Thinned::new(100);
        for i in 0..1_000_000u64 {
            s.offer(i, i);
            assert!(s.len() <= 100);
        }
        let kept: Vec<u64> = s.into_items().collect();
        assert!(kept.len() >= 50, "{}", kept.len());
        let gaps: Vec<u64> = kept.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps.iter().all(|&g| g == gaps[0]), "evenly spaced");
    }

    #[test]
    fn groups_are_kept_whole() {
        let mut s = Thinned::new(40);
        for i in 0..1_000u64 {
            for to in 0..4 {
                s.offer(i, (i, to));
            }
        }
        let kept: Vec<(u64, i32)> = s.into_items().collect();
        assert_eq!(kept.len() % 4, 0);
        for group in kept.chunks(4) {
            assert!(group.iter().all(|(i, _)| *i == group[0].0));
        }
    }

    #[test]
    fn a_group_bigger_than_the_budget_is_cut() {
        let mut s = Thinned::new(3);
        for to in 0..10 {
            s.offer(0, to);
        }
        assert_eq!(s.len(), 3);
    }
}
