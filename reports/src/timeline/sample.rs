//! Choosing which message arrows to draw when there are too many to read.
//!
//! Thousands of heartbeats turn the lanes into a solid smear and make the SVG
//! huge, while the few messages that explain an election are what a reader
//! is after. So election traffic (the protocol's message kinds mark it) is kept first and the rest is thinned evenly,
//! by position in the input, which keeps the result deterministic.

use std::collections::BTreeMap;

use crate::model::Arrow;

/// At most this many arrows are drawn: more make a smear, and a big SVG that is slow to draw.
pub const MAX_ARROWS: usize = 400;

/// `k` indices spread evenly over `items`, in order.
fn even_sample(items: &[usize], k: usize) -> Vec<usize> {
    if k >= items.len() {
        return items.to_vec();
    }
    (0..k).map(|i| items[i * items.len() / k]).collect()
}

/// Up to `k` of `items`, thinned by whole sends: messages from one sender at
/// one instant with one label (a multicast) are kept or dropped together.
/// Thinning single messages instead aliases with the multicast's fan-out (a
/// stride of 4 over a leader's heartbeats to 4 followers keeps only the ones
/// to a single follower), which misrepresents the traffic.
fn sample_sends(messages: &[Arrow], items: &[usize], k: usize) -> Vec<usize> {
    if k >= items.len() {
        return items.to_vec();
    }
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut group_of: BTreeMap<(usize, u64, &str), usize> = BTreeMap::new();
    for &i in items {
        let m = &messages[i];
        let key = (m.from_lane, m.sent_ms.to_bits(), m.label.as_str());
        let g = *group_of.entry(key).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[g].push(i);
    }
    let all: Vec<usize> = (0..groups.len()).collect();
    // Rounded up so the budget is filled; the trim below evens out the excess.
    let n_groups = (k * groups.len()).div_ceil(items.len());
    let mut kept: Vec<usize> = even_sample(&all, n_groups.max(1))
        .into_iter()
        .flat_map(|g| groups[g].iter().copied())
        .collect();
    kept.sort_unstable();
    // Groups kept may be larger than average; the budget is a hard bound.
    even_sample(&kept, k)
}

/// Indices (ascending) of the arrows to draw among `drawable`, which are the
/// indices of arrows that can be drawn at all. Election traffic gets up to
/// four fifths of the budget so that a storm of votes still leaves room to
/// see the ordinary traffic around it.
pub fn choose_arrows(messages: &[Arrow], drawable: &[usize], budget: usize) -> Vec<usize> {
    if drawable.len() <= budget {
        return drawable.to_vec();
    }
    let (priority, others): (Vec<usize>, Vec<usize>) =
        drawable.iter().partition(|&&i| messages[i].election);
    let priority_budget = if others.is_empty() {
        budget
    } else {
        budget - budget / 5
    };
    let mut chosen = sample_sends(messages, &priority, priority_budget);
    let rest = budget - chosen.len();
    chosen.extend(sample_sends(messages, &others, rest));
    chosen.sort_unstable();
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arrow(label: &str) -> Arrow {
        Arrow {
            from_lane: 0,
            to_lane: 1,
            sent_ms: 0.0,
            recv_ms: 1.0,
            label: label.into(),
            dropped: false,
            election: false,
        }
    }

    #[test]
    fn keeps_election_messages_and_respects_budget() {
        let mut msgs: Vec<Arrow> = (0..1000).map(|_| arrow("HEARTBEAT")).collect();
        msgs[500] = Arrow {
            election: true,
            ..arrow("COORD")
        };
        let all: Vec<usize> = (0..msgs.len()).collect();
        let chosen = choose_arrows(&msgs, &all, 100);
        assert_eq!(chosen.len(), 100);
        assert!(chosen.contains(&500));
        assert!(chosen.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn keeps_multicasts_whole() {
        // 300 broadcasts from lane 0 to lanes 1..=4.
        let msgs: Vec<Arrow> = (0..1200)
            .map(|i| Arrow {
                to_lane: 1 + i % 4,
                sent_ms: (i / 4) as f64 * 10.0,
                ..arrow("HEARTBEAT")
            })
            .collect();
        let all: Vec<usize> = (0..msgs.len()).collect();
        let chosen = choose_arrows(&msgs, &all, 100);
        assert!(chosen.len() <= 100);
        for lane in 1..=4 {
            let n = chosen.iter().filter(|&&i| msgs[i].to_lane == lane).count();
            assert!(n >= 20, "lane {lane} got {n}");
        }
    }
}
