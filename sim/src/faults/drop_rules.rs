//! Drop rules for real nodes: the faults a kernel cannot apply between network namespaces
//! (one-way cuts, random loss: no netem here), as a small file a supervisor writes and every
//! real node re-reads when it changes. The node's driver already asks its [`Nemesis`] about
//! every datagram, so a rule drops the datagram at the receiver and the trace says why.

use serde::{Deserialize, Serialize};

use crate::faults::nemesis::Nemesis;
use crate::node::NodeId;

/// The drop rules in force.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DropRules {
    /// Probability that a datagram is lost, on every link (0 for none).
    #[serde(default)]
    pub loss: f64,
    /// Directed links cut, as `[from, to]` node names.
    #[serde(default)]
    pub cut: Vec<[String; 2]>,
}

impl DropRules {
    /// The file's text.
    pub fn to_toml(&self) -> String {
        let mut text =
            String::from("# faultline drop rules: the nodes re-read this file when it changes.\n");
        text += &toml::to_string(self).unwrap_or_default();
        text
    }

    /// Parses the file's text.
    pub fn parse(text: &str) -> Result<DropRules, String> {
        let rules: DropRules = toml::from_str(text).map_err(|e| e.to_string())?;
        if !(0.0..=1.0).contains(&rules.loss) {
            return Err(format!("loss {} is not between 0 and 1", rules.loss));
        }
        Ok(rules)
    }

    /// Writes the file so that a reader sees the old rules or the new ones, never half.
    pub fn write(&self, path: &std::path::Path) -> std::io::Result<()> {
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, self.to_toml())?;
        std::fs::rename(tmp, path)
    }

    /// Puts these rules in force: every link they do not cut is restored. Names nobody
    /// knows are ignored (the file may come from a cluster with more nodes).
    pub fn apply(&self, nemesis: &mut Nemesis, names: &[String]) {
        let id = |name: &str| {
            names
                .iter()
                .position(|n| n == name)
                .map(|i| NodeId(i as u16))
        };
        let cut: Vec<(NodeId, NodeId)> = self
            .cut
            .iter()
            .filter_map(|[from, to]| Some((id(from)?, id(to)?)))
            .collect();
        nemesis.set_cuts(&cut);
        nemesis.set_loss_fault(self.loss);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::nemesis::Arrival;
    use crate::trace::DropReason;

    #[test]
    fn rules_round_trip_and_replace_the_previous_ones() {
        let names: Vec<String> = ["s1", "s2", "s3"].iter().map(|s| s.to_string()).collect();
        let rules = DropRules {
            loss: 0.0,
            cut: vec![["s1".into(), "s2".into()], ["x9".into(), "s1".into()]],
        };
        let parsed = DropRules::parse(&rules.to_toml()).unwrap();
        assert_eq!(parsed, rules);
        let mut nemesis = Nemesis::new(3, 0.0, 1);
        parsed.apply(&mut nemesis, &names);
        assert_eq!(
            nemesis.arrival(NodeId(0), NodeId(1), ""),
            Arrival::Drop(DropReason::Partition)
        );
        assert_eq!(
            nemesis.arrival(NodeId(1), NodeId(0), ""),
            Arrival::Deliver,
            "one way only"
        );
        DropRules::default().apply(&mut nemesis, &names);
        assert_eq!(
            nemesis.arrival(NodeId(0), NodeId(1), ""),
            Arrival::Deliver,
            "healed"
        );
        assert!(DropRules::parse("loss = 2.0").is_err());
        assert!(DropRules::parse("los = 0.1").is_err());
    }
}
