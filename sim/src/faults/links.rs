//! Which directed links are cut, and by how many faults. Faults compose: a link is cut while
//! any fault in force cuts it, so healing one partition never reopens a link another one
//! still cuts (a plain on/off table did, and datagrams crossed links a partition still cut).

use crate::node::NodeId;

/// Most faults that may cut one link at once; past it a cut is refused loudly (a schedule
/// that stacks this many partitions on one link is a bug in whatever generated it).
const CUTS_PER_LINK_MAX: u16 = u16::MAX - 1;

/// The cuts in force on every directed link of `nodes` nodes.
#[derive(Clone, Debug)]
pub struct LinkTable {
    /// Number of nodes; ids are `0..nodes`.
    nodes: usize,
    /// `cuts[from * nodes + to]`: how many faults in force cut the link.
    cuts: Vec<u16>,
}

impl LinkTable {
    /// No link cut.
    pub fn new(nodes: usize) -> Self {
        LinkTable {
            nodes,
            cuts: vec![0; nodes * nodes],
        }
    }

    fn index(&self, from: NodeId, to: NodeId) -> Option<usize> {
        let (f, t) = (from.0 as usize, to.0 as usize);
        (f < self.nodes && t < self.nodes).then_some(f * self.nodes + t)
    }

    /// One more fault cuts each of `links`; returns the links that were open until now
    /// (what the trace records as cut). Links to unknown ids are ignored.
    pub fn cut(&mut self, links: &[(NodeId, NodeId)]) -> Vec<(NodeId, NodeId)> {
        let mut opened_before = Vec::new();
        for &(from, to) in links {
            let Some(i) = self.index(from, to) else {
                continue;
            };
            assert!(
                self.cuts[i] < CUTS_PER_LINK_MAX,
                "link #{}->#{} cut by {} faults at once",
                from.0,
                to.0,
                self.cuts[i]
            );
            if self.cuts[i] == 0 {
                opened_before.push((from, to));
            }
            self.cuts[i] += 1;
        }
        opened_before
    }

    /// One fault fewer cuts each of `links` (each must have been cut by [`LinkTable::cut`]);
    /// returns the links no fault cuts any more (what the trace records as healed).
    pub fn heal(&mut self, links: &[(NodeId, NodeId)]) -> Vec<(NodeId, NodeId)> {
        let mut reopened = Vec::new();
        for &(from, to) in links {
            let Some(i) = self.index(from, to) else {
                continue;
            };
            // A heal without its cut would let a later heal reopen another fault's cut.
            assert!(
                self.cuts[i] > 0,
                "link #{}->#{} healed more often than cut",
                from.0,
                to.0
            );
            self.cuts[i] -= 1;
            if self.cuts[i] == 0 {
                reopened.push((from, to));
            }
        }
        reopened
    }

    /// Heals every link at once (drop rules replace the whole table).
    pub fn clear(&mut self) {
        self.cuts.fill(0);
    }

    /// Whether any fault cuts the directed link.
    pub fn is_cut(&self, from: NodeId, to: NodeId) -> bool {
        self.index(from, to).is_some_and(|i| self.cuts[i] > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(i: u16) -> NodeId {
        NodeId(i)
    }

    #[test]
    fn a_link_stays_cut_while_any_partition_cuts_it() {
        let mut t = LinkTable::new(3);
        // Partition A cuts 0->1 and 0->2; partition B cuts 0->1 and 1->2.
        let a = [(n(0), n(1)), (n(0), n(2))];
        let b = [(n(0), n(1)), (n(1), n(2))];
        assert_eq!(t.cut(&a), a.to_vec());
        assert_eq!(t.cut(&b), vec![(n(1), n(2))], "0->1 was already cut");
        // Healing A reopens only what B does not cut. A plain on/off table reopened 0->1
        // here, and this assertion is what fails with it.
        assert_eq!(t.heal(&a), vec![(n(0), n(2))]);
        assert!(t.is_cut(n(0), n(1)), "B still cuts 0->1");
        assert!(!t.is_cut(n(0), n(2)));
        assert_eq!(t.heal(&b), vec![(n(0), n(1)), (n(1), n(2))]);
        assert!(!t.is_cut(n(0), n(1)) && !t.is_cut(n(1), n(2)));
    }

    #[test]
    fn directions_are_separate_and_unknown_ids_ignored() {
        let mut t = LinkTable::new(2);
        t.cut(&[(n(0), n(1)), (n(5), n(0))]);
        assert!(t.is_cut(n(0), n(1)));
        assert!(!t.is_cut(n(1), n(0)));
        assert!(!t.is_cut(n(5), n(0)));
    }

    #[test]
    #[should_panic(expected = "healed more often than cut")]
    fn a_heal_without_its_cut_is_a_bug() {
        LinkTable::new(2).heal(&[(n(0), n(1))]);
    }
}
