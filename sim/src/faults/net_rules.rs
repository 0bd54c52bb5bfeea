//! Network rules: loss, delay and long reordering for some messages only — by kind (the
//! message's label), by sender, by receiver — either all run long (`[[network.rules]]`) or
//! for a window (a `network` fault). A rule that names no kind, sender or receiver takes
//! every datagram.
//!
//! Loss is decided where every datagram's fate is ([`crate::faults::nemesis::Nemesis`]),
//! with the same per-link draw: a rule raises the loss rate of what it matches, and a
//! datagram no rule matches is decided exactly as before. Delay and reordering are decided
//! by the simulated network as the datagram leaves, from draws of their own, taken only for
//! datagrams a rule matches: a scenario without rules draws nothing new, and its trace keeps
//! its digest.

use serde::{Deserialize, Serialize};

use crate::faults::link_draws::Draw;
use crate::node::NodeId;

/// The Pareto shape of a long delay: heavy-tailed (a few messages wait far longer than the
/// rest), yet with a finite mean.
const REORDER_ALPHA: f64 = 1.5;

/// A long delay is at most this many times `reorder_ms`: a tail without end would hold
/// a message past any run.
const REORDER_SCALE_MAX: f64 = 100.0;

/// One rule as written.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetRule {
    /// Message kinds (labels, as the trace shows them) it takes; a `*` at the start or the
    /// end matches any run of characters (`"*REPLY"`). Every kind when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kinds: Vec<String>,
    /// Senders it takes, by node name; every sender when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub from: Vec<String>,
    /// Receivers it takes, by node name; every receiver when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub to: Vec<String>,
    /// Probability that a datagram it takes is lost (the highest rate in force wins).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub loss: f64,
    /// `[min, max]`: extra one-way delay in milliseconds, uniform, on top of the network's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<Vec<u64>>,
    /// The share of the datagrams it takes that are held back long (long reordering).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub reorder: f64,
    /// The scale of a long hold, in milliseconds: `reorder_ms` times a Pareto draw (shape
    /// 1.5: median ×1.6, one in a hundred past ×21), at most ×100.
    #[serde(default, skip_serializing_if = "is_zero_ms")]
    pub reorder_ms: u64,
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

fn is_zero_ms(x: &u64) -> bool {
    *x == 0
}

/// Whether `label` matches `pattern`: equal, or a `*` at either end matching any run.
pub fn kind_matches(pattern: &str, label: &str) -> bool {
    match (pattern.strip_prefix('*'), pattern.strip_suffix('*')) {
        _ if pattern == "*" => true,
        (Some(rest), _) if rest.ends_with('*') => label.contains(&rest[..rest.len() - 1]),
        (Some(suffix), _) => label.ends_with(suffix),
        (None, Some(prefix)) => label.starts_with(prefix),
        (None, None) => label == pattern,
    }
}

/// A rule with its nodes as ids, ready to judge datagrams.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// Kind patterns; every kind when empty.
    kinds: Vec<String>,
    /// Senders; every sender when empty.
    from: Vec<NodeId>,
    /// Receivers; every receiver when empty.
    to: Vec<NodeId>,
    /// Loss rate.
    loss: f64,
    /// Extra delay range, in microseconds (0, 0 for none).
    delay_us: (u64, u64),
    /// Share held back long.
    reorder: f64,
    /// Scale of a long hold, in microseconds.
    reorder_us: u64,
}

impl Rule {
    /// The rule `rule` with node names turned into ids by `id` (names are validated first;
    /// an unknown one matches nothing).
    pub fn compile(rule: &NetRule, id: impl Fn(&str) -> Option<NodeId>) -> Rule {
        let ids = |names: &[String]| -> Vec<NodeId> {
            names
                .iter()
                .map(|n| id(n).unwrap_or(NodeId(u16::MAX)))
                .collect()
        };
        let delay_us = match rule.delay_ms.as_deref() {
            Some([lo, hi]) => (lo * 1000, hi.max(lo) * 1000),
            _ => (0, 0),
        };
        Rule {
            kinds: rule.kinds.clone(),
            from: ids(&rule.from),
            to: ids(&rule.to),
            loss: rule.loss,
            delay_us,
            reorder: rule.reorder,
            reorder_us: rule.reorder_ms * 1000,
        }
    }

    /// Whether it takes a datagram of kind `label` from `from` to `to`.
    fn matches(&self, from: NodeId, to: NodeId, label: &str) -> bool {
        (self.from.is_empty() || self.from.contains(&from))
            && (self.to.is_empty() || self.to.contains(&to))
            && (self.kinds.is_empty() || self.kinds.iter().any(|k| kind_matches(k, label)))
    }

    /// Whether it delays anything.
    fn delays(&self) -> bool {
        self.delay_us.1 > 0 || (self.reorder > 0.0 && self.reorder_us > 0)
    }
}

/// The rules in force: the network's own and those of the windows open now.
#[derive(Clone, Debug, Default)]
pub struct Rules {
    /// The network's own rules, all run long.
    base: Vec<Rule>,
    /// The rules of each window open now, in the order they opened.
    windows: Vec<Vec<Rule>>,
}

impl Rules {
    /// The network's own rules.
    pub fn new(base: Vec<Rule>) -> Rules {
        Rules {
            base,
            windows: Vec::new(),
        }
    }

    /// No rule in force: every datagram is decided as if rules did not exist.
    pub fn is_empty(&self) -> bool {
        self.base.is_empty() && self.windows.is_empty()
    }

    /// A window opens with `rules`.
    pub fn open(&mut self, rules: Vec<Rule>) {
        self.windows.push(rules);
    }

    /// The window that opened with `rules` closes (the first such, when two are alike).
    pub fn close(&mut self, rules: &[Rule]) {
        if let Some(i) = self.windows.iter().position(|w| w == rules) {
            self.windows.remove(i);
        }
    }

    /// How many windows are open.
    pub fn windows_open(&self) -> usize {
        self.windows.len()
    }

    fn in_force(&self) -> impl Iterator<Item = &Rule> {
        self.base.iter().chain(self.windows.iter().flatten())
    }

    /// The highest loss rate of the rules that take this datagram (0 when none does).
    pub fn loss(&self, from: NodeId, to: NodeId, label: &str) -> f64 {
        self.in_force()
            .filter(|r| r.loss > 0.0 && r.matches(from, to, label))
            .map(|r| r.loss)
            .fold(0.0, f64::max)
    }

    /// Whether any rule in force may delay a datagram (else no draw is taken).
    pub fn delays(&self) -> bool {
        self.in_force().any(Rule::delays)
    }

    /// The extra delay of this datagram, in microseconds, from its own `draw`: each rule
    /// that takes it adds its delay, and holds it back long with its share.
    pub fn delay_us(&self, from: NodeId, to: NodeId, label: &str, draw: Draw) -> u64 {
        let mut total = 0u64;
        for (i, rule) in self.in_force().enumerate() {
            if !rule.delays() || !rule.matches(from, to, label) {
                continue;
            }
            let k = 3 * i as u64;
            if rule.delay_us.1 > 0 {
                total += draw.between(k, rule.delay_us.0, rule.delay_us.1);
            }
            if rule.reorder_us > 0 && draw.chance(k + 1, rule.reorder) {
                total += long_hold_us(rule.reorder_us, draw.value(k + 2));
            }
        }
        total
    }
}

/// A Pareto draw of scale `scale_us` from the uniform bits `bits`, capped.
fn long_hold_us(scale_us: u64, bits: u64) -> u64 {
    // In (0, 1]: never zero, so the power stays finite.
    let unit = ((bits >> 11) + 1) as f64 * (1.0 / (1u64 << 53) as f64);
    let factor = unit.powf(-1.0 / REORDER_ALPHA).min(REORDER_SCALE_MAX);
    (scale_us as f64 * factor) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::link_draws::LinkDraws;

    fn rule(text: &str) -> Rule {
        let rule: NetRule = toml::from_str(text).unwrap();
        Rule::compile(&rule, |n| {
            n.strip_prefix('s')
                .and_then(|i| i.parse::<u16>().ok())
                .map(|i| NodeId(i - 1))
        })
    }

    #[test]
    fn kinds_match_whole_labels_or_by_a_star_at_either_end() {
        assert!(kind_matches("VOTE", "VOTE"));
        assert!(!kind_matches("VOTE", "PRE_VOTE"));
        assert!(kind_matches("*REPLY", "APPEND_REPLY"));
        assert!(kind_matches("*REPLY", "REPLY"));
        assert!(!kind_matches("*REPLY", "REQUEST"));
        assert!(kind_matches("PRE_*", "PRE_VOTE_REPLY"));
        assert!(kind_matches("*VOTE*", "PRE_VOTE_REPLY"));
        assert!(kind_matches("*", "HB"));
    }

    #[test]
    fn a_replies_only_rule_loses_replies_only() {
        let rules = Rules::new(vec![rule("kinds = [\"*REPLY\", \"VOTE\"]\nloss = 0.5")]);
        let (a, b) = (NodeId(0), NodeId(1));
        assert_eq!(rules.loss(a, b, "APPEND_REPLY"), 0.5);
        assert_eq!(rules.loss(a, b, "VOTE"), 0.5);
        assert_eq!(rules.loss(a, b, "APPEND"), 0.0);
        assert_eq!(rules.loss(a, b, "REQUEST_VOTE"), 0.0);
        assert!(!rules.delays());
    }

    #[test]
    fn senders_and_receivers_narrow_a_rule_and_windows_come_and_go() {
        let one_way = rule("from = [\"s1\"]\nto = [\"s2\"]\nloss = 1.0");
        let mut rules = Rules::default();
        assert!(rules.is_empty());
        rules.open(vec![one_way.clone()]);
        assert_eq!(rules.loss(NodeId(0), NodeId(1), "X"), 1.0);
        assert_eq!(rules.loss(NodeId(1), NodeId(0), "X"), 0.0);
        assert_eq!(rules.loss(NodeId(0), NodeId(2), "X"), 0.0);
        assert_eq!(rules.windows_open(), 1);
        rules.close(&[one_way]);
        assert!(rules.is_empty());
        assert_eq!(rules.loss(NodeId(0), NodeId(1), "X"), 0.0);
    }

    #[test]
    fn delays_fall_in_range_and_long_holds_have_a_long_tail() {
        let rules = Rules::new(vec![
            rule("kinds = [\"HB\"]\ndelay_ms = [5, 9]"),
            rule("kinds = [\"APPEND\"]\nreorder = 0.5\nreorder_ms = 10"),
        ]);
        assert!(rules.delays());
        let mut draws = LinkDraws::new(2, 3, 9);
        let (a, b) = (NodeId(0), NodeId(1));
        for _ in 0..200 {
            let d = rules.delay_us(a, b, "HB", draws.next(0, 1));
            assert!((5000..=9000).contains(&d), "{d}");
            assert_eq!(rules.delay_us(a, b, "VOTE", draws.next(0, 1)), 0);
        }
        let holds: Vec<u64> = (0..4000)
            .map(|_| rules.delay_us(a, b, "APPEND", draws.next(0, 1)))
            .collect();
        let held = holds.iter().filter(|d| **d > 0).count();
        assert!((1800..2200).contains(&held), "about half held: {held}");
        assert!(holds
            .iter()
            .all(|d| *d == 0 || (10_000..=1_000_000).contains(d)));
        // A long tail: some holds are many times the scale.
        assert!(holds.iter().any(|d| *d > 100_000), "no long hold");
    }
}
