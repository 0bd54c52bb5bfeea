//! The fault schedule carried out as the run goes: the faults that name their nodes as
//! compiled ([`Scenario::schedule`]), and the ones decided at run time — targets such as
//! `@leader` resolved from what the nodes report at that instant ([`View`]), repeated turns,
//! delays drawn from the run's seed, turns that wait for a condition.
//!
//! The world asks for everything due at one instant and applies it at once, with no
//! simulated time and no delivery in between; it records what each run-time turn resolved
//! to ([`Effect::Resolved`]) before what it did, so the trace says who `@leader` was.

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::faults::target::{Act, Condition, Target, View};
use crate::node::NodeId;
use crate::scenario::schedule::{links_between, one_way_links};
use crate::scenario::{Fault, Scenario, WorldAction};

/// The purpose that keys the injector's draws ("NMSS"): apart from every other stream of
/// the run, so a scenario without run-time faults draws nothing from it.
const INJECTOR_DRAWS: u64 = 0x4E4D_5353;

/// Turns of one fault at most, whatever `times` or the run's length say.
const TURNS_MAX: u32 = 100_000;

/// What the world does or records, in order.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// A run-time fault's turn resolved to these nodes (see [`crate::trace::Ev::Resolved`]).
    Resolved {
        /// Its index among the scenario's faults.
        fault: u32,
        /// Who: one group for a crash or restart, the groups of a partition, `[from, to]`.
        groups: Vec<Vec<NodeId>>,
    },
    /// A run-time fault's turn did nothing.
    Skipped {
        /// Its index among the scenario's faults.
        fault: u32,
        /// Why, for people.
        reason: String,
    },
    /// A world action.
    Act(WorldAction),
}

/// Something due at a time.
#[derive(Clone, Debug)]
enum Item {
    /// A world action, as compiled or as a run-time partition's heal.
    Act(WorldAction),
    /// Turn `turn` (from 0) of run-time fault `fault`.
    Turn { fault: usize, turn: u32 },
    /// Turn `turn` of `fault` stops waiting for its condition.
    Expire { fault: usize, turn: u32 },
}

/// What a run-time fault does.
#[derive(Clone, Debug)]
enum What {
    /// Crash these.
    Crash(Vec<Target>),
    /// Restart these.
    Restart(Vec<Target>),
    /// Hand these this many commands each.
    Submit(Vec<Target>, u32),
    /// Cut between groups (the unlisted rest is one more), for `lasts_us` if given.
    Groups {
        groups: Vec<Vec<Target>>,
        lasts_us: Option<u64>,
    },
    /// Cut one way, for `lasts_us` if given.
    OneWay {
        from: Vec<Target>,
        to: Vec<Target>,
        lasts_us: Option<u64>,
    },
}

/// A run-time fault, read.
#[derive(Clone, Debug)]
struct Plan {
    /// What it does.
    what: What,
    /// The first turn's nominal time.
    at_ms: u64,
    /// The period, when it repeats.
    every_ms: Option<u64>,
    /// How many turns.
    times: u32,
    /// Each turn's delay, drawn from `[min, max]`.
    jitter_ms: Option<(u64, u64)>,
    /// What must hold, and its text for the trace.
    when: Option<(Condition, String)>,
    /// How long a turn waits for `when`.
    wait_us: u64,
    /// The label its turns keep what they resolved to under.
    label: Option<String>,
    /// Nodes its targets must not pick (names, `@leader`, roles, labels: nothing drawn).
    except: Vec<Target>,
}

/// The faults still to come.
pub struct Injector {
    /// The run-time faults, by the scenario's fault index (`None`: compiled statically).
    plans: Vec<Option<Plan>>,
    /// What is due, by time (µs) and then order of scheduling.
    queue: BTreeMap<(u64, u64), Item>,
    /// The next scheduling order number.
    seq: u64,
    /// Turns waiting for their condition, oldest first, as (fault, turn).
    waiting: Vec<(usize, u32)>,
    /// Delays and random targets, from the run's seed.
    rng: ChaCha8Rng,
    /// How many nodes there are.
    nodes: usize,
    /// The run's end: nothing is scheduled past it.
    duration_us: u64,
    /// What the latest turn of each labelled fault resolved to (`$label`).
    labels: BTreeMap<String, Vec<NodeId>>,
}

impl Injector {
    /// The schedule of a validated scenario, drawing under `seed`.
    pub fn new(scenario: &Scenario, seed: u64) -> Injector {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(INJECTOR_DRAWS);
        let names = scenario.node_names();
        let target =
            |t: &String| Target::parse(t, &names, scenario.roles).expect("targets are validated");
        let targets = |ts: &[String]| ts.iter().map(target).collect::<Vec<_>>();
        let duration_us = scenario.duration_ms * 1000;
        let mut plans = Vec::with_capacity(scenario.faults.len());
        let mut first: Vec<(u64, Item)> = Vec::new();
        for (i, fault) in scenario.faults.iter().enumerate() {
            if !fault.at_run_time() {
                plans.push(None);
                first.extend(
                    (scenario.actions_of(fault).into_iter())
                        .map(|(at_ms, act)| (at_ms * 1000, Item::Act(act))),
                );
                continue;
            }
            let turns = fault
                .turns()
                .expect("only faults with turns run at run time");
            let lasts_us = |heal_ms: &Option<u64>| heal_ms.map(|h| (h - turns.at_ms) * 1000);
            let what = match fault {
                Fault::Crash { node, .. } => What::Crash(vec![target(node)]),
                Fault::Restart { node, .. } => What::Restart(vec![target(node)]),
                Fault::Submit { node, count, .. } => What::Submit(vec![target(node)], *count),
                Fault::Partition {
                    groups,
                    from,
                    to,
                    heal_ms,
                    ..
                } if groups.is_empty() => What::OneWay {
                    from: targets(from),
                    to: targets(to),
                    lasts_us: lasts_us(heal_ms),
                },
                Fault::Partition {
                    groups, heal_ms, ..
                } => What::Groups {
                    groups: groups.iter().map(|g| targets(g)).collect(),
                    lasts_us: lasts_us(heal_ms),
                },
                Fault::Byzantine { .. }
                | Fault::Loss { .. }
                | Fault::Network { .. }
                | Fault::Pause { .. } => unreachable!("no turns"),
            };
            let times = match (turns.every_ms, turns.times) {
                (None, _) => 1,
                (Some(_), Some(n)) => n,
                (Some(_), None) => TURNS_MAX,
            };
            let plan = Plan {
                what,
                at_ms: turns.at_ms,
                every_ms: turns.every_ms,
                times: times.min(TURNS_MAX),
                jitter_ms: turns.jitter_ms.map(|j| (j[0], j[1])),
                when: turns
                    .when
                    .map(|w| (Condition::parse(w).expect("validated"), w.to_string())),
                wait_us: turns.wait_ms.unwrap_or(0) * 1000,
                label: turns.label.map(str::to_string),
                except: turns.except.iter().map(target).collect(),
            };
            if let Some(at_us) = plan.turn_us(0, &mut rng) {
                first.push((at_us, Item::Turn { fault: i, turn: 0 }));
            }
            plans.push(Some(plan));
        }
        // The file's order breaks ties between faults at one instant.
        first.sort_by_key(|(at, _)| *at);
        let mut injector = Injector {
            plans,
            queue: BTreeMap::new(),
            seq: 0,
            waiting: Vec::new(),
            rng,
            nodes: names.len(),
            duration_us,
            labels: BTreeMap::new(),
        };
        for (at_us, item) in first {
            injector.push(at_us, item);
        }
        injector
    }

    fn push(&mut self, at_us: u64, item: Item) {
        if at_us <= self.duration_us {
            self.queue.insert((at_us, self.seq), item);
            self.seq += 1;
        }
    }

    /// When the next thing is due, if anything is.
    pub fn next_at_us(&self) -> Option<u64> {
        self.queue.keys().next().map(|(at, _)| *at)
    }

    /// Whether a turn waits for its condition: the world then tells the injector whenever
    /// what the nodes report changes ([`Injector::retry`]).
    pub fn is_waiting(&self) -> bool {
        !self.waiting.is_empty()
    }

    /// Everything due by `at_us` (what [`Injector::next_at_us`] said), taken at `now_us`
    /// with the cluster as `view` shows it, in order.
    pub fn take_due(&mut self, at_us: u64, now_us: u64, view: &View) -> Vec<Effect> {
        let mut out = Vec::new();
        // What the turns of this instant decide on: the view as the earlier ones leave it.
        let mut view = view.clone();
        while let Some(entry) = self.queue.first_entry() {
            if entry.key().0 > at_us {
                break;
            }
            let done = out.len();
            match entry.remove() {
                Item::Act(act) => out.push(Effect::Act(act)),
                Item::Turn { fault, turn } => self.turn(fault, turn, now_us, &view, &mut out),
                Item::Expire { fault, turn } => {
                    let Some(at) = self.waiting.iter().position(|w| *w == (fault, turn)) else {
                        continue;
                    };
                    self.waiting.remove(at);
                    let plan = self.plan(fault);
                    let when = plan.when.as_ref().map_or("", |(_, w)| w.as_str());
                    let reason = format!("`{when}` did not hold within {} ms", plan.wait_us / 1000);
                    out.push(Effect::Skipped {
                        fault: fault as u32,
                        reason,
                    });
                }
            }
            account(&mut view, &out[done..]);
        }
        out
    }

    /// The waiting turns whose condition holds now, carried out at `now_us`.
    pub fn retry(&mut self, now_us: u64, view: &View) -> Vec<Effect> {
        let mut out = Vec::new();
        let mut view = view.clone();
        let mut i = 0;
        while i < self.waiting.len() {
            let (fault, _) = self.waiting[i];
            let holds = (self.plan(fault).when.as_ref()).is_none_or(|(c, _)| c.holds(&view));
            if holds {
                self.waiting.remove(i);
                let done = out.len();
                self.act(fault, now_us, &view, &mut out);
                account(&mut view, &out[done..]);
            } else {
                i += 1;
            }
        }
        out
    }

    fn plan(&self, fault: usize) -> &Plan {
        self.plans[fault].as_ref().expect("a run-time fault")
    }

    /// Turn `turn` of `fault` is due: schedules the next one, then acts, waits or skips.
    fn turn(&mut self, fault: usize, turn: u32, now_us: u64, view: &View, out: &mut Vec<Effect>) {
        let plan = self.plans[fault].clone().expect("a run-time fault");
        if turn + 1 < plan.times {
            if let Some(at_us) = plan.turn_us(turn + 1, &mut self.rng) {
                self.push(
                    at_us,
                    Item::Turn {
                        fault,
                        turn: turn + 1,
                    },
                );
            }
        }
        match &plan.when {
            Some((condition, _)) if condition.holds(view) => self.act(fault, now_us, view, out),
            None => self.act(fault, now_us, view, out),
            Some((_, text)) if plan.wait_us == 0 => out.push(Effect::Skipped {
                fault: fault as u32,
                reason: format!("`{text}` does not hold"),
            }),
            Some(_) => {
                self.waiting.push((fault, turn));
                self.push(now_us + plan.wait_us, Item::Expire { fault, turn });
            }
        }
    }

    /// Resolves `fault`'s targets in `view` and says what it does, at `now_us`.
    fn act(&mut self, fault: usize, now_us: u64, view: &View, out: &mut Vec<Effect>) {
        let plan = self.plan(fault);
        let (what, label, except) = (plan.what.clone(), plan.label.clone(), plan.except.clone());
        let except = self.resolve_group(&except, Act::Cut, &[], &[], view);
        let index = fault as u32;
        let skip = |reason: &str| Effect::Skipped {
            fault: index,
            reason: reason.to_string(),
        };
        let (groups, actions, heal) = match &what {
            What::Crash(targets) | What::Restart(targets) | What::Submit(targets, _) => {
                let kind = match what {
                    What::Crash(_) => Act::Crash,
                    What::Restart(_) => Act::Restart,
                    _ => Act::Submit,
                };
                let nodes = self.resolve_group(targets, kind, &[], &except, view);
                self.bind(&label, &nodes);
                if nodes.is_empty() {
                    out.push(skip("no node matched"));
                    return;
                }
                let actions = (nodes.iter())
                    .map(|n| match what {
                        What::Crash(_) => WorldAction::Crash(*n),
                        What::Restart(_) => WorldAction::Restart(*n),
                        What::Submit(_, count) => WorldAction::Submit(*n, count),
                        What::Groups { .. } | What::OneWay { .. } => unreachable!(),
                    })
                    .collect();
                (vec![nodes], actions, None)
            }
            What::Groups { groups, lasts_us } => {
                let resolved = self.resolve_groups(groups, &except, view);
                self.bind(&label, &resolved[0]);
                let links = links_between(self.nodes, &resolved);
                if links.is_empty() {
                    out.push(skip("the groups cut no link"));
                    return;
                }
                (
                    resolved,
                    vec![WorldAction::Cut(links.clone())],
                    lasts_us.map(|l| (l, links)),
                )
            }
            What::OneWay { from, to, lasts_us } => {
                let sides = self.resolve_groups(&[from.clone(), to.clone()], &except, view);
                self.bind(&label, &sides[0]);
                let links = one_way_links(&sides[0], &sides[1]);
                if links.is_empty() {
                    out.push(skip("no link from `from` to `to`"));
                    return;
                }
                (
                    sides,
                    vec![WorldAction::Cut(links.clone())],
                    lasts_us.map(|l| (l, links)),
                )
            }
        };
        out.push(Effect::Resolved {
            fault: index,
            groups,
        });
        out.extend(actions.into_iter().map(Effect::Act));
        if let Some((lasts_us, links)) = heal {
            self.push(now_us + lasts_us, Item::Act(WorldAction::Heal(links)));
        }
    }

    /// Keeps `nodes` under `label`, if the fault has one: a turn that matched nobody leaves
    /// nobody there.
    fn bind(&mut self, label: &Option<String>, nodes: &[NodeId]) {
        if let Some(label) = label {
            self.labels.insert(label.clone(), nodes.to_vec());
        }
    }

    /// The nodes of one group of targets, each once, in id order, none of `except` (but
    /// where `@rest` puts them).
    fn resolve_group(
        &mut self,
        targets: &[Target],
        kind: Act,
        taken: &[NodeId],
        except: &[NodeId],
        view: &View,
    ) -> Vec<NodeId> {
        let mut nodes: Vec<NodeId> = Vec::new();
        for target in targets {
            let rest = *target == Target::Rest;
            let mut taken_now = taken.to_vec();
            taken_now.extend(&nodes);
            if !rest {
                taken_now.extend(except);
            }
            let found = match target {
                Target::Label(label) => self.labels.get(label).cloned().unwrap_or_default(),
                _ => view.resolve(target, kind, &taken_now, &mut self.rng),
            };
            nodes.extend(found.into_iter().filter(|n| rest || !except.contains(n)));
        }
        nodes.sort();
        nodes.dedup();
        nodes
    }

    /// Groups (or the two sides of a one-way cut) resolved in order, `@rest` last; a node
    /// stays in the first group that names it.
    fn resolve_groups(
        &mut self,
        groups: &[Vec<Target>],
        except: &[NodeId],
        view: &View,
    ) -> Vec<Vec<NodeId>> {
        let mut resolved: Vec<Vec<NodeId>> = vec![Vec::new(); groups.len()];
        let mut taken: Vec<NodeId> = Vec::new();
        for rest_pass in [false, true] {
            for (i, group) in groups.iter().enumerate() {
                let targets: Vec<Target> = (group.iter())
                    .filter(|t| (**t == Target::Rest) == rest_pass)
                    .cloned()
                    .collect();
                let nodes = self.resolve_group(&targets, Act::Cut, &taken, except, view);
                let new: Vec<NodeId> = nodes.into_iter().filter(|n| !taken.contains(n)).collect();
                taken.extend(&new);
                resolved[i].extend(new);
                resolved[i].sort();
            }
        }
        resolved
    }
}

/// `view` as crashes and restarts among `effects` leave it, so that a later turn of the same
/// instant does not pick a node an earlier one just restarted, nor count it down.
fn account(view: &mut View, effects: &[Effect]) {
    for effect in effects {
        match effect {
            Effect::Act(WorldAction::Crash(n)) => {
                view.observe::<()>(*n, &crate::trace::Ev::Crash);
            }
            Effect::Act(WorldAction::Restart(n)) => {
                view.observe::<()>(*n, &crate::trace::Ev::Restart);
            }
            _ => {}
        }
    }
}

impl Plan {
    /// When turn `turn` is due, in µs: its nominal time plus its drawn delay.
    fn turn_us(&self, turn: u32, rng: &mut ChaCha8Rng) -> Option<u64> {
        let nominal = self.at_ms + self.every_ms.unwrap_or(0).checked_mul(turn as u64)?;
        let delay = self.jitter_ms.map_or(0, |(lo, hi)| rng.gen_range(lo..=hi));
        Some(nominal.checked_add(delay)?.saturating_mul(1000))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::ServersAndClients;

    fn scenario(faults: &str) -> Scenario {
        let text = format!(
            "name = \"t\"\nprotocol = \"group\"\nduration_ms = 10000\n[nodes]\nservers = 5\nclients = 1\n{faults}"
        );
        Scenario::parse("t.toml", &text, &ServersAndClients).unwrap_or_else(|e| panic!("{e}"))
    }

    fn view(s: &Scenario) -> View {
        View::new(&s.node_roles())
    }

    /// `node` says it follows `leader`.
    fn note(v: &mut View, node: u16, leader: Option<u16>) {
        v.observe::<()>(
            NodeId(node),
            &crate::trace::Ev::Leader {
                leader: leader.map(NodeId),
            },
        );
    }

    /// Runs the injector to the end with a view that never changes (but for the crashes
    /// and restarts it asks for), returning every effect with its time.
    fn drain(s: &Scenario, seed: u64, view: &mut View) -> Vec<(u64, Effect)> {
        let mut inj = Injector::new(s, seed);
        let mut out = Vec::new();
        while let Some(at) = inj.next_at_us() {
            for e in inj.take_due(at, at, view) {
                if let Effect::Act(WorldAction::Crash(n)) = &e {
                    view.observe::<()>(*n, &crate::trace::Ev::Crash);
                }
                if let Effect::Act(WorldAction::Restart(n)) = &e {
                    view.observe::<()>(*n, &crate::trace::Ev::Restart);
                }
                out.push((at, e));
            }
        }
        out
    }

    #[test]
    fn static_faults_come_out_as_compiled_and_simultaneous_ones_together() {
        let s = scenario(
            "[[faults]]\nkind = \"crash\"\nnode = \"s1\"\nat_ms = 1000\n\
             [[faults]]\nkind = \"partition\"\ngroups = [[\"s2\"]]\nat_ms = 1000\nheal_ms = 2000\n",
        );
        let mut inj = Injector::new(&s, 1);
        assert_eq!(inj.next_at_us(), Some(1_000_000));
        let due = inj.take_due(1_000_000, 1_000_000, &view(&s));
        assert_eq!(due.len(), 2, "both faults of the instant at once: {due:?}");
        assert_eq!(due[0], Effect::Act(WorldAction::Crash(NodeId(0))));
        assert_eq!(inj.next_at_us(), Some(2_000_000));
    }

    #[test]
    fn leader_crash_resolves_to_the_leader_or_skips_without_one() {
        let s = scenario("[[faults]]\nkind = \"crash\"\nnode = \"@leader\"\nat_ms = 1000\n");
        let mut v = view(&s);
        v.observe::<()>(
            NodeId(3),
            &crate::trace::Ev::Leader {
                leader: Some(NodeId(3)),
            },
        );
        let effects = drain(&s, 1, &mut v);
        assert_eq!(
            effects,
            [
                (
                    1_000_000,
                    Effect::Resolved {
                        fault: 0,
                        groups: vec![vec![NodeId(3)]]
                    }
                ),
                (1_000_000, Effect::Act(WorldAction::Crash(NodeId(3)))),
            ]
        );
        let effects = drain(&s, 1, &mut view(&s));
        assert!(
            matches!(&effects[..], [(_, Effect::Skipped { fault: 0, .. })]),
            "{effects:?}"
        );
    }

    #[test]
    fn turns_of_one_instant_see_what_the_earlier_ones_did() {
        // Three servers down; two restarts of `@random` at one instant bring back two
        // different ones, and a third waiting for "up < 2" then finds two up.
        let s = scenario(
            "[[faults]]\nkind = \"restart\"\nnode = \"@random\"\nat_ms = 1000\n\
             [[faults]]\nkind = \"restart\"\nnode = \"@random\"\nat_ms = 1000\n\
             [[faults]]\nkind = \"restart\"\nnode = \"@random\"\nat_ms = 1000\nwhen = \"up < 2\"\n",
        );
        for seed in 0..50 {
            let mut v = view(&s);
            for n in [0, 1, 2] {
                v.observe::<()>(NodeId(n), &crate::trace::Ev::Crash);
            }
            let mut inj = Injector::new(&s, seed);
            let effects = inj.take_due(1_000_000, 1_000_000, &v);
            let restarted: Vec<NodeId> = (effects.iter())
                .filter_map(|e| match e {
                    Effect::Act(WorldAction::Restart(n)) => Some(*n),
                    _ => None,
                })
                .collect();
            assert_eq!(restarted.len(), 2, "seed {seed}: {effects:?}");
            assert_ne!(
                restarted[0], restarted[1],
                "seed {seed}: one node picked twice"
            );
            assert!(
                matches!(effects.last(), Some(Effect::Skipped { fault: 2, .. })),
                "seed {seed}: {effects:?}"
            );
        }
    }

    #[test]
    fn repeated_turns_with_jitter_stay_within_their_window_and_are_seeded() {
        let s = scenario(
            "[[faults]]\nkind = \"crash\"\nnode = \"@random\"\nat_ms = 1000\nevery_ms = 700\ntimes = 5\njitter_ms = [0, 300]\n\
             [[faults]]\nkind = \"restart\"\nnode = \"@random\"\nat_ms = 1350\nevery_ms = 700\ntimes = 5\n",
        );
        let a = drain(&s, 7, &mut view(&s));
        assert_eq!(a, drain(&s, 7, &mut view(&s)), "same seed, same turns");
        assert_ne!(a, drain(&s, 8, &mut view(&s)), "another seed, other draws");
        let crashes: Vec<u64> = (a.iter())
            .filter(|(_, e)| matches!(e, Effect::Act(WorldAction::Crash(_))))
            .map(|(t, _)| *t)
            .collect();
        assert_eq!(crashes.len(), 5);
        for (k, t) in crashes.iter().enumerate() {
            let nominal = (1000 + 700 * k as u64) * 1000;
            assert!((nominal..=nominal + 300_000).contains(t), "turn {k} at {t}");
        }
        // Each restart brings back the one node down, never an up one.
        let mut down = None;
        for (_, e) in &a {
            match e {
                Effect::Act(WorldAction::Crash(n)) => down = Some(*n),
                Effect::Act(WorldAction::Restart(n)) => assert_eq!(Some(*n), down.take()),
                _ => {}
            }
        }
    }

    #[test]
    fn a_turn_waits_for_its_condition_or_gives_up() {
        let s = scenario(
            "[[faults]]\nkind = \"crash\"\nnode = \"@leader\"\nat_ms = 1000\nwhen = \"leader\"\nwait_ms = 500\n",
        );
        let mut v = view(&s);
        let mut inj = Injector::new(&s, 1);
        assert!(inj.take_due(1_000_000, 1_000_000, &v).is_empty());
        assert!(inj.is_waiting());
        assert!(inj.retry(1_100_000, &v).is_empty(), "still no leader");
        v.observe::<()>(
            NodeId(1),
            &crate::trace::Ev::Leader {
                leader: Some(NodeId(1)),
            },
        );
        let effects = inj.retry(1_200_000, &v);
        assert_eq!(effects[1], Effect::Act(WorldAction::Crash(NodeId(1))));
        assert!(!inj.is_waiting());
        // The expiry still comes due, and does nothing now.
        assert_eq!(inj.next_at_us(), Some(1_500_000));
        assert!(inj.take_due(1_500_000, 1_500_000, &v).is_empty());

        let mut inj = Injector::new(&s, 1);
        let v = view(&s);
        inj.take_due(1_000_000, 1_000_000, &v);
        let effects = inj.take_due(1_500_000, 1_500_000, &v);
        assert!(
            matches!(&effects[..], [Effect::Skipped { .. }]),
            "{effects:?}"
        );
    }

    #[test]
    fn a_label_keeps_whom_a_turn_hit_and_except_leaves_them_out() {
        // s2 leads. The partition cuts a follower off and labels it; the crash of the
        // leader labels s2; a crash of `@follower` except the cut one must take the other
        // follower of three; the restart of `$old` brings back s2, nobody else.
        let s = scenario(
            "[[faults]]\nkind = \"partition\"\ngroups = [[\"@follower\"]]\nat_ms = 1000\nlabel = \"cut\"\n\
             [[faults]]\nkind = \"crash\"\nnode = \"@leader\"\nat_ms = 2000\nlabel = \"old\"\n\
             [[faults]]\nkind = \"crash\"\nnode = \"@follower\"\nexcept = [\"$cut\", \"s4\", \"s5\"]\nat_ms = 2000\n\
             [[faults]]\nkind = \"restart\"\nnode = \"$old\"\nat_ms = 3000\n",
        );
        let mut seen_cut = Vec::new();
        for seed in 0..40 {
            let mut v = view(&s);
            for n in 0..5 {
                note(&mut v, n, Some(1));
            }
            let effects = drain(&s, seed, &mut v);
            let Effect::Resolved { groups, .. } = &effects[0].1 else {
                panic!("{effects:?}")
            };
            let cut = groups[0][0];
            assert_ne!(cut, NodeId(1), "the leader is no follower");
            seen_cut.push(cut);
            let crashed: Vec<NodeId> = (effects.iter())
                .filter_map(|(_, e)| match e {
                    Effect::Act(WorldAction::Crash(n)) => Some(*n),
                    _ => None,
                })
                .collect();
            assert_eq!(crashed[0], NodeId(1), "seed {seed}: {effects:?}");
            let other = crashed.get(1).copied();
            if cut == NodeId(0) || cut == NodeId(2) {
                // One of s1, s3 is cut; the other is the only follower left to crash.
                let left = if cut == NodeId(0) {
                    NodeId(2)
                } else {
                    NodeId(0)
                };
                assert_eq!(other, Some(left), "seed {seed}: {effects:?}");
            } else {
                assert!(
                    other.is_some_and(|o| o == NodeId(0) || o == NodeId(2)),
                    "seed {seed}: {effects:?}"
                );
            }
            let restarted: Vec<NodeId> = (effects.iter())
                .filter_map(|(_, e)| match e {
                    Effect::Act(WorldAction::Restart(n)) => Some(*n),
                    _ => None,
                })
                .collect();
            assert_eq!(restarted, [NodeId(1)], "seed {seed}: {effects:?}");
        }
        seen_cut.sort();
        seen_cut.dedup();
        assert!(
            seen_cut.len() > 1,
            "the cut follower is drawn: {seen_cut:?}"
        );
    }

    #[test]
    fn a_label_whose_turn_matched_nobody_names_nobody() {
        let s = scenario(
            "[[faults]]\nkind = \"crash\"\nnode = \"@leader\"\nat_ms = 1000\nlabel = \"l\"\n\
             [[faults]]\nkind = \"restart\"\nnode = \"$l\"\nat_ms = 2000\n",
        );
        let effects = drain(&s, 1, &mut view(&s));
        assert!(
            matches!(
                &effects[..],
                [
                    (_, Effect::Skipped { fault: 0, .. }),
                    (_, Effect::Skipped { fault: 1, .. })
                ]
            ),
            "{effects:?}"
        );
    }

    #[test]
    fn a_run_time_partition_heals_exactly_the_links_it_cut() {
        let s = scenario(
            "[[faults]]\nkind = \"partition\"\ngroups = [[\"@leader\"], [\"@rest\"]]\nat_ms = 1000\nheal_ms = 1500\nevery_ms = 1000\ntimes = 2\n",
        );
        let mut v = view(&s);
        v.observe::<()>(
            NodeId(0),
            &crate::trace::Ev::Leader {
                leader: Some(NodeId(0)),
            },
        );
        let effects = drain(&s, 1, &mut v);
        let Effect::Resolved { groups, .. } = &effects[0].1 else {
            panic!("{effects:?}")
        };
        assert_eq!(groups[0], [NodeId(0)]);
        assert_eq!(groups[1].len(), 5, "everyone else, the client too");
        let Effect::Act(WorldAction::Cut(cut)) = &effects[1].1 else {
            panic!()
        };
        assert_eq!(cut.len(), 10, "s1 both ways with five others");
        assert_eq!(
            effects[2],
            (1_500_000, Effect::Act(WorldAction::Heal(cut.clone())))
        );
        assert_eq!(effects[3].0, 2_000_000, "second turn");
    }
}
