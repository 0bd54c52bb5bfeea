//! Delta debugging (Zeller's ddmin): the smallest sublist of items that still makes a test
//! fail, found by removing chunks and keeping every removal that keeps the failure.

/// The shrunk list: removing any single remaining item makes `fails` false, or the budget of
/// test runs ran out. `fails(items)` must be true at the start.
pub fn ddmin<T: Clone>(
    items: &[T],
    runs_max: usize,
    mut fails: impl FnMut(&[T]) -> bool,
) -> Vec<T> {
    let mut current = items.to_vec();
    let mut chunks = 2usize;
    let mut runs = 0;
    while current.len() >= 2 && runs < runs_max {
        let size = current.len().div_ceil(chunks);
        let mut reduced = false;
        // Complements first: removing one chunk at a time shrinks fastest when one or two
        // items matter, which is what a fault schedule usually comes down to.
        for start in (0..current.len()).step_by(size) {
            if runs >= runs_max {
                break;
            }
            let end = (start + size).min(current.len());
            let complement: Vec<T> = current[..start]
                .iter()
                .chain(&current[end..])
                .cloned()
                .collect();
            runs += 1;
            if fails(&complement) {
                current = complement;
                chunks = (chunks - 1).max(2);
                reduced = true;
                break;
            }
        }
        if !reduced {
            if chunks >= current.len() {
                break;
            }
            chunks = (chunks * 2).min(current.len());
        }
    }
    if current.len() == 1 && runs < runs_max && fails(&[]) {
        current.clear();
    }
    current
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_two_items_that_matter() {
        let items: Vec<u32> = (0..40).collect();
        let mut runs = 0;
        let min = ddmin(&items, 1000, |s| {
            runs += 1;
            s.contains(&7) && s.contains(&31)
        });
        assert_eq!(min, vec![7, 31]);
        assert!(runs < 120, "{runs} runs");
    }

    #[test]
    fn empty_when_nothing_matters_and_stops_at_the_budget() {
        assert_eq!(ddmin(&[1, 2, 3], 100, |_| true), Vec::<i32>::new());
        let items: Vec<u32> = (0..100).collect();
        let mut runs = 0;
        let _ = ddmin(&items, 5, |s| {
            runs += 1;
            s.len() > 50
        });
        assert!(runs <= 5);
    }
}
