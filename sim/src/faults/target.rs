//! Fault targets named at run time, as Jepsen's nemesis names them (`@leader`, `@minority`),
//! the conditions a fault may wait for (`when = "up < 3"`), and the cluster as its nodes
//! report it ([`View`]), from which both are decided at the instant the fault acts.

use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::node::NodeId;
use crate::protocol::Role;
use crate::trace::Ev;

/// Who a fault acts on, as written in a scenario (`"s3"`, `"@leader"`, `"@servers"`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// One node, by name.
    Node(NodeId),
    /// The leader: the up node that names itself leader (with several, the one most up
    /// nodes follow; ties to the lowest id). Nobody when there is none.
    Leader,
    /// One random up fault-target node that is not the leader.
    Follower,
    /// One random fault-target node: an up one for a crash, a down one for a restart.
    Random,
    /// A random minority of the fault-target nodes: `(n - 1) / 2` of `n`.
    Minority,
    /// A random majority of the fault-target nodes: `n / 2 + 1` of `n`.
    Majority,
    /// Every fault-target node.
    All,
    /// Every node of a role, by the role's count key (`@servers`, `@clients`).
    Role(&'static str),
    /// In a partition: every node not in another group (or side) of it.
    Rest,
    /// `$name`: the nodes the latest turn of a fault with `label = "name"` resolved to
    /// (nobody before one has); kept by the injector, which resolves it.
    Label(String),
}

impl Target {
    /// Reads `text`: a node name of `names`, or `@` and a target word or a role's count key
    /// of `roles`. The error says what is known.
    pub fn parse(text: &str, names: &[String], roles: &[Role]) -> Result<Target, String> {
        if let Some(label) = text.strip_prefix('$') {
            return check_label(label).map(|()| Target::Label(label.to_string()));
        }
        let Some(word) = text.strip_prefix('@') else {
            return names
                .iter()
                .position(|n| n == text)
                .map(|i| Target::Node(NodeId(i as u16)))
                .ok_or_else(|| format!("no node named `{text}` (nodes are {})", names.join(", ")));
        };
        Ok(match word {
            "leader" => Target::Leader,
            "follower" => Target::Follower,
            "random" => Target::Random,
            "minority" => Target::Minority,
            "majority" => Target::Majority,
            "all" => Target::All,
            "rest" => Target::Rest,
            _ => match roles.iter().find(|r| r.count_key == word) {
                Some(role) => Target::Role(role.count_key),
                None => {
                    let keys: Vec<String> =
                        roles.iter().map(|r| format!("@{}", r.count_key)).collect();
                    return Err(format!(
                        "unknown target `{text}` (targets are a node name, @leader, @follower, @random, @minority, @majority, @all, @rest, $label, {})",
                        keys.join(", ")
                    ));
                }
            },
        })
    }

    /// Whether it names the same nodes whenever it is resolved.
    pub fn is_static(&self) -> bool {
        matches!(self, Target::Node(_) | Target::Role(_) | Target::All)
    }
}

/// Whether `text` names a target resolved at run time rather than a node.
pub fn is_dynamic(text: &str) -> bool {
    text.starts_with('@') || text.starts_with('$')
}

/// Longest label.
const LABEL_CHARS_MAX: usize = 32;

/// Whether `label` may name a label: 1 to 32 lowercase letters, digits, `-` and `_`.
pub fn check_label(label: &str) -> Result<(), String> {
    let ok = (1..=LABEL_CHARS_MAX).contains(&label.len())
        && (label.bytes())
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{label}` is not a label (1 to {LABEL_CHARS_MAX} lowercase letters, digits, `-`, `_`)"
        ))
    }
}

/// A comparison of a count of fault-target nodes with a number.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Compare {
    /// `<`
    Less,
    /// `<=`
    AtMost,
    /// `>`
    More,
    /// `>=`
    AtLeast,
    /// `==`
    Equal,
    /// `!=`
    Differ,
}

impl Compare {
    fn holds(self, a: usize, b: usize) -> bool {
        match self {
            Compare::Less => a < b,
            Compare::AtMost => a <= b,
            Compare::More => a > b,
            Compare::AtLeast => a >= b,
            Compare::Equal => a == b,
            Compare::Differ => a != b,
        }
    }
}

/// What must hold for a fault to act (`when = "..."`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Condition {
    /// `"leader"`: some up node leads.
    Leader,
    /// `"no leader"`: no up node leads.
    NoLeader,
    /// `"up < 3"`: how many fault-target nodes are up, compared.
    Up(Compare, usize),
    /// `"down >= 1"`: how many fault-target nodes are down, compared.
    Down(Compare, usize),
    /// `"role candidate"`: some up node last reported this role.
    Role(String),
}

impl Condition {
    /// Reads a condition; the error shows the forms there are.
    pub fn parse(text: &str) -> Result<Condition, String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let bad = || {
            format!(
                "`{text}` is not a condition (one of: \"leader\", \"no leader\", \"up < N\", \"down >= N\" with < <= > >= == !=, \"role NAME\")"
            )
        };
        Ok(match words.as_slice() {
            ["leader"] => Condition::Leader,
            ["no", "leader"] => Condition::NoLeader,
            ["role", name] => Condition::Role(name.to_string()),
            [what @ ("up" | "down"), op, n] => {
                let op = match *op {
                    "<" => Compare::Less,
                    "<=" => Compare::AtMost,
                    ">" => Compare::More,
                    ">=" => Compare::AtLeast,
                    "==" => Compare::Equal,
                    "!=" => Compare::Differ,
                    _ => return Err(bad()),
                };
                let n: usize = n.parse().map_err(|_| bad())?;
                if *what == "up" {
                    Condition::Up(op, n)
                } else {
                    Condition::Down(op, n)
                }
            }
            _ => return Err(bad()),
        })
    }

    /// Whether it holds in `view`.
    pub fn holds(&self, view: &View) -> bool {
        match self {
            Condition::Leader => view.leader().is_some(),
            Condition::NoLeader => view.leader().is_none(),
            Condition::Up(op, n) => op.holds(view.targets_up(), *n),
            Condition::Down(op, n) => op.holds(view.targets().len() - view.targets_up(), *n),
            Condition::Role(role) => (0..view.up.len())
                .any(|i| view.up[i] && view.role[i].as_deref() == Some(role.as_str())),
        }
    }
}

/// The cluster as its nodes report it: who is up, what role each last reported, whom each
/// follows. Fed the trace's records as they are appended.
#[derive(Clone, Debug)]
pub struct View {
    /// `up[node]`: the node runs.
    up: Vec<bool>,
    /// The role each node last reported since it started (`None` before any).
    role: Vec<Option<String>>,
    /// The leader each node last reported following since it started.
    follows: Vec<Option<NodeId>>,
    /// Each node's role's count key ("servers"), from the scenario.
    role_key: Vec<&'static str>,
    /// `target[node]`: the node's role is a fault target.
    target: Vec<bool>,
}

impl View {
    /// Every node up, no report yet; `roles[node]` is each node's role in the scenario.
    pub fn new(roles: &[&'static Role]) -> View {
        let n = roles.len();
        View {
            up: vec![true; n],
            role: vec![None; n],
            follows: vec![None; n],
            role_key: roles.iter().map(|r| r.count_key).collect(),
            target: roles.iter().map(|r| r.fault_target).collect(),
        }
    }

    /// Takes in one record of `node`; true when it changed what conditions see.
    pub fn observe<E>(&mut self, node: NodeId, ev: &Ev<E>) -> bool {
        let i = node.0 as usize;
        if i >= self.up.len() {
            return false;
        }
        match ev {
            Ev::Crash => {
                self.up[i] = false;
                self.role[i] = None;
                self.follows[i] = None;
            }
            Ev::Restart => self.up[i] = true,
            Ev::Role { role } => self.role[i] = Some(role.clone()),
            Ev::Leader { leader } => self.follows[i] = *leader,
            _ => return false,
        }
        true
    }

    /// Whether `node` is up.
    pub fn is_up(&self, node: NodeId) -> bool {
        self.up.get(node.0 as usize).copied().unwrap_or(false)
    }

    /// The leader now, if any (see [`Target::Leader`]).
    pub fn leader(&self) -> Option<NodeId> {
        let n = self.up.len();
        let claims = (0..n).filter(|&i| self.up[i] && self.follows[i] == Some(NodeId(i as u16)));
        let followers = |l: usize| {
            (0..n)
                .filter(|&j| self.up[j] && self.follows[j] == Some(NodeId(l as u16)))
                .count()
        };
        // max_by_key keeps the last of equals; reversed ids make the lowest win.
        claims
            .rev()
            .max_by_key(|&l| followers(l))
            .map(|l| NodeId(l as u16))
    }

    /// The fault-target nodes, in id order.
    fn targets(&self) -> Vec<NodeId> {
        (0..self.up.len())
            .filter(|&i| self.target[i])
            .map(|i| NodeId(i as u16))
            .collect()
    }

    fn targets_up(&self) -> usize {
        (0..self.up.len())
            .filter(|&i| self.target[i] && self.up[i])
            .count()
    }

    /// The nodes `target` names now, for a fault of `kind`, leaving out `taken` (nodes an
    /// earlier group or side of the same fault already holds) where it draws at random.
    /// [`Target::Rest`] is resolved by the caller, who knows the other groups.
    pub fn resolve(
        &self,
        target: &Target,
        kind: Act,
        taken: &[NodeId],
        rng: &mut ChaCha8Rng,
    ) -> Vec<NodeId> {
        let free = |pool: Vec<NodeId>| -> Vec<NodeId> {
            pool.into_iter().filter(|n| !taken.contains(n)).collect()
        };
        let pick = |pool: Vec<NodeId>, k: usize, rng: &mut ChaCha8Rng| -> Vec<NodeId> {
            let mut chosen: Vec<NodeId> = pool.choose_multiple(rng, k).copied().collect();
            chosen.sort();
            chosen
        };
        match target {
            Target::Node(n) => vec![*n],
            Target::Leader => self.leader().into_iter().collect(),
            Target::Follower => {
                let leader = self.leader();
                let pool = free(self.targets())
                    .into_iter()
                    .filter(|n| self.is_up(*n) && Some(*n) != leader)
                    .collect();
                pick(pool, 1, rng)
            }
            Target::Random => {
                let pool: Vec<NodeId> = free(self.targets())
                    .into_iter()
                    .filter(|n| match kind {
                        Act::Crash | Act::Submit => self.is_up(*n),
                        Act::Restart => !self.is_up(*n),
                        Act::Cut => true,
                    })
                    .collect();
                pick(pool, 1, rng)
            }
            Target::Minority | Target::Majority => {
                let all = self.targets().len();
                let k = if *target == Target::Minority {
                    all.saturating_sub(1) / 2
                } else {
                    all / 2 + 1
                };
                let pool = free(self.targets());
                let k = k.min(pool.len());
                pick(pool, k, rng)
            }
            Target::All => self.targets(),
            Target::Role(key) => (0..self.up.len())
                .filter(|&i| self.role_key[i] == *key)
                .map(|i| NodeId(i as u16))
                .collect(),
            // The injector knows the labels and resolves them itself.
            Target::Label(_) => Vec::new(),
            Target::Rest => {
                let all = self.up.len() as u16;
                (0..all)
                    .map(NodeId)
                    .filter(|n| !taken.contains(n))
                    .collect()
            }
        }
    }
}

/// What a fault does to the nodes it resolves, which decides whom `@random` picks.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Act {
    /// Crash: `@random` picks an up node.
    Crash,
    /// Restart: `@random` picks a down node.
    Restart,
    /// A partition: `@random` picks any node.
    Cut,
    /// Submitted commands: `@random` picks an up node.
    Submit,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    const ROLES: &[Role] = crate::protocol::SERVERS_AND_CLIENTS;

    /// Five servers and one client.
    fn view() -> View {
        let roles: Vec<&'static Role> = [0, 0, 0, 0, 0, 1].iter().map(|&i| &ROLES[i]).collect();
        View::new(&roles)
    }

    fn names() -> Vec<String> {
        ["s1", "s2", "s3", "s4", "s5", "c1"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    fn note(v: &mut View, node: u16, leader: Option<u16>) {
        v.observe::<()>(
            NodeId(node),
            &Ev::Leader {
                leader: leader.map(NodeId),
            },
        );
    }

    #[test]
    fn targets_parse_and_unknown_ones_say_what_is_known() {
        let n = names();
        assert_eq!(Target::parse("s3", &n, ROLES), Ok(Target::Node(NodeId(2))));
        assert_eq!(Target::parse("@leader", &n, ROLES), Ok(Target::Leader));
        assert_eq!(
            Target::parse("@clients", &n, ROLES),
            Ok(Target::Role("clients"))
        );
        let err = Target::parse("@leeder", &n, ROLES).unwrap_err();
        assert!(err.contains("@leader") && err.contains("@servers"), "{err}");
        assert!(Target::parse("s9", &n, ROLES)
            .unwrap_err()
            .contains("s1, s2"));
    }

    #[test]
    fn the_leader_is_the_up_node_that_leads_and_most_follow() {
        let mut v = view();
        assert_eq!(v.leader(), None);
        note(&mut v, 1, Some(1));
        note(&mut v, 3, Some(3));
        note(&mut v, 4, Some(3));
        assert_eq!(v.leader(), Some(NodeId(3)), "s4 has a follower, s2 none");
        v.observe::<()>(NodeId(3), &Ev::Crash);
        assert_eq!(v.leader(), Some(NodeId(1)), "a crashed node leads nobody");
        v.observe::<()>(NodeId(3), &Ev::Restart);
        assert_eq!(
            v.leader(),
            Some(NodeId(1)),
            "a restarted node has not claimed again"
        );
        note(&mut v, 0, Some(0));
        note(&mut v, 1, Some(0));
        assert_eq!(v.leader(), Some(NodeId(0)));
    }

    #[test]
    fn random_picks_respect_what_the_fault_does_and_what_is_taken() {
        let mut v = view();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        v.observe::<()>(NodeId(2), &Ev::Crash);
        for _ in 0..20 {
            assert_eq!(
                v.resolve(&Target::Random, Act::Restart, &[], &mut rng),
                [NodeId(2)]
            );
            let up = v.resolve(&Target::Random, Act::Crash, &[NodeId(0)], &mut rng);
            assert!(
                up.len() == 1 && up[0] != NodeId(2) && up[0] != NodeId(0),
                "{up:?}"
            );
            assert!(up[0].0 < 5, "clients are not fault targets");
        }
        assert_eq!(
            v.resolve(&Target::Minority, Act::Cut, &[], &mut rng).len(),
            2
        );
        assert_eq!(
            v.resolve(&Target::Majority, Act::Cut, &[], &mut rng).len(),
            3
        );
        assert_eq!(v.resolve(&Target::All, Act::Cut, &[], &mut rng).len(), 5);
        assert_eq!(
            v.resolve(&Target::Role("clients"), Act::Cut, &[], &mut rng),
            [NodeId(5)]
        );
        assert_eq!(
            v.resolve(&Target::Rest, Act::Cut, &[NodeId(0), NodeId(1)], &mut rng),
            [NodeId(2), NodeId(3), NodeId(4), NodeId(5)]
        );
        assert!(v
            .resolve(&Target::Leader, Act::Crash, &[], &mut rng)
            .is_empty());
    }

    #[test]
    fn conditions_parse_and_judge_the_view() {
        let mut v = view();
        let up_lt_5 = Condition::parse("up < 5").unwrap();
        let leader = Condition::parse("leader").unwrap();
        assert!(
            !up_lt_5.holds(&v),
            "five servers up; the client does not count"
        );
        assert!(!leader.holds(&v));
        assert!(Condition::parse("no leader").unwrap().holds(&v));
        v.observe::<()>(NodeId(4), &Ev::Crash);
        assert!(up_lt_5.holds(&v));
        assert!(Condition::parse("down == 1").unwrap().holds(&v));
        note(&mut v, 0, Some(0));
        assert!(leader.holds(&v));
        v.observe::<()>(
            NodeId(1),
            &Ev::Role {
                role: "candidate".into(),
            },
        );
        assert!(Condition::parse("role candidate").unwrap().holds(&v));
        assert!(!Condition::parse("role leader").unwrap().holds(&v));
        for bad in ["up", "up << 3", "up < x", "leaders", ""] {
            assert!(Condition::parse(bad).is_err(), "{bad}");
        }
    }
}
