//! The fault schedule checked before anything runs: names and targets that exist, times
//! within the run, turns that make sense, partition groups that do not overlap, and no
//! crash of a node already down nor restart of one that is up, as far as the written
//! schedule tells (a fault resolved at run time leaves the state after it unknown; its own
//! no-ops are recorded in the trace instead, see `docs/faults.md`).

use super::{check_rate, Fault, InputError, Scenario, Source};
use crate::faults::net_rules::NetRule;
use crate::faults::target::{check_label, is_dynamic, Condition, Target};

/// Where a restart and a crash stand against each other in the written schedule.
struct UpDown {
    /// When.
    at_ms: u64,
    /// Its index among the faults.
    fault: usize,
    /// The node's name.
    node: String,
    /// Crash (true) or restart.
    crash: bool,
}

impl Scenario {
    pub(super) fn validate_faults(&self, src: &Source) -> Result<(), InputError> {
        let names = self.node_names();
        for (i, fault) in self.faults.iter().enumerate() {
            let at = |field: &str| format!("faults[{i}].{field}");
            let target = |field: &str, name: &str| {
                Target::parse(name, &names, self.roles).map_err(|e| src.error(&at(field), e))
            };
            let time = |field: &str, ms: u64| {
                if ms > self.duration_ms {
                    Err(src.error(
                        &at(field),
                        format!("{ms} is past the end of the run ({} ms)", self.duration_ms),
                    ))
                } else {
                    Ok(())
                }
            };
            match fault {
                Fault::Crash { node, at_ms, .. } | Fault::Restart { node, at_ms, .. } => {
                    if target("node", node)? == Target::Rest {
                        return Err(src.error(&at("node"), "`@rest` names the rest of a partition; a crash or restart names its nodes"));
                    }
                    time("at_ms", *at_ms)?;
                }
                Fault::Partition {
                    groups,
                    from,
                    to,
                    at_ms,
                    heal_ms,
                    ..
                } => {
                    time("at_ms", *at_ms)?;
                    if let Some(heal) = heal_ms {
                        time("heal_ms", *heal)?;
                        if heal <= at_ms {
                            return Err(src.error(&at("heal_ms"), "must be after at_ms"));
                        }
                    }
                    let one_way = !from.is_empty() || !to.is_empty();
                    if one_way != groups.is_empty() {
                        return Err(src.error(
                            &at("groups"),
                            "give either `groups` or both `from` and `to`",
                        ));
                    }
                    if one_way && (from.is_empty() || to.is_empty()) {
                        return Err(src.error(
                            &at(if from.is_empty() { "from" } else { "to" }),
                            "a one-way partition needs both `from` and `to`",
                        ));
                    }
                    let mut rests = 0;
                    for (field, list) in [
                        ("groups", groups.concat()),
                        ("from", from.clone()),
                        ("to", to.clone()),
                    ] {
                        for name in &list {
                            if target(field, name)? == Target::Rest {
                                rests += 1;
                            }
                        }
                    }
                    if rests > 1 {
                        return Err(src.error(&at(if one_way { "to" } else { "groups" }), "`@rest` may appear once in a partition: it is everyone the other groups leave"));
                    }
                    // Two groups that share a node say two things about its links.
                    let mut seen: Vec<&str> = Vec::new();
                    for group in groups {
                        let mut in_group: Vec<&str> = Vec::new();
                        for name in group.iter().filter(|n| !is_dynamic(n)) {
                            if seen.contains(&name.as_str()) {
                                return Err(src.error(
                                    &at("groups"),
                                    format!("`{name}` is in two groups: groups must not overlap"),
                                ));
                            }
                            in_group.push(name);
                        }
                        seen.extend(in_group);
                    }
                }
                Fault::Byzantine {
                    node,
                    rate,
                    from_ms,
                    until_ms,
                    ..
                } => {
                    if is_dynamic(node) {
                        return Err(src.error(
                            &at("node"),
                            "a Byzantine fault names its node (targets like `@leader` and `$label` are for crashes, restarts, partitions and submits)",
                        ));
                    }
                    target("node", node)?;
                    check_rate(src, &at("rate"), *rate)?;
                    time("from_ms", *from_ms)?;
                    if let Some(until) = until_ms {
                        time("until_ms", *until)?;
                        if until <= from_ms {
                            return Err(src.error(&at("until_ms"), "must be after from_ms"));
                        }
                    }
                }
                Fault::Loss {
                    rate,
                    from_ms,
                    until_ms,
                } => {
                    check_rate(src, &at("rate"), *rate)?;
                    time("from_ms", *from_ms)?;
                    time("until_ms", *until_ms)?;
                    if until_ms <= from_ms {
                        return Err(src.error(&at("until_ms"), "must be after from_ms"));
                    }
                }
                Fault::Network {
                    rules,
                    from_ms,
                    until_ms,
                } => {
                    time("from_ms", *from_ms)?;
                    time("until_ms", *until_ms)?;
                    if until_ms <= from_ms {
                        return Err(src.error(&at("until_ms"), "must be after from_ms"));
                    }
                    if rules.is_empty() {
                        return Err(src.error(
                            &at("rules"),
                            "name at least one rule (loss, delay_ms, reorder) for the window",
                        ));
                    }
                    self.validate_rules(src, &at("rules"), rules)?;
                }
                Fault::Submit {
                    node, at_ms, count, ..
                } => {
                    if !self.takes_submits {
                        return Err(src.error(
                            &at("kind"),
                            format!(
                                "protocol `{}` takes no submitted commands (`submit` is for \
                                 protocols with a command log, such as raft)",
                                self.protocol
                            ),
                        ));
                    }
                    if target("node", node)? == Target::Rest {
                        return Err(src.error(
                            &at("node"),
                            "`@rest` names the rest of a partition; a submit names its nodes",
                        ));
                    }
                    time("at_ms", *at_ms)?;
                    if *count == 0 || *count > super::SUBMIT_COUNT_MAX {
                        return Err(src.error(
                            &at("count"),
                            format!("must be 1..={}", super::SUBMIT_COUNT_MAX),
                        ));
                    }
                }
                Fault::Pause {
                    node,
                    at_ms,
                    resume_ms,
                } => {
                    if is_dynamic(node) {
                        return Err(src.error(
                            &at("node"),
                            "a pause names its node (targets like `@leader` and `$label` are for crashes, restarts, partitions and submits)",
                        ));
                    }
                    target("node", node)?;
                    time("at_ms", *at_ms)?;
                    time("resume_ms", *resume_ms)?;
                    if resume_ms <= at_ms {
                        return Err(src.error(&at("resume_ms"), "must be after at_ms"));
                    }
                }
            }
            self.validate_turns(src, i, fault)?;
        }
        self.validate_labels(src)?;
        self.validate_up_down(src)
    }

    /// Labels: well formed, and every `$label` named is some fault's `label`.
    fn validate_labels(&self, src: &Source) -> Result<(), InputError> {
        let bound = self.labels_bound();
        for (i, fault) in self.faults.iter().enumerate() {
            let at = |field: &str| format!("faults[{i}].{field}");
            let turns = fault.turns().unwrap_or_default();
            if let Some(label) = turns.label {
                check_label(label).map_err(|e| src.error(&at("label"), e))?;
            }
            for label in fault.labels_named() {
                if !bound.contains(&label) {
                    let names =
                        |list: &[String]| list.iter().any(|n| n.strip_prefix('$') == Some(label));
                    let field = match fault {
                        _ if names(turns.except) => "except",
                        Fault::Partition { from, .. } if names(from) => "from",
                        Fault::Partition { to, .. } if names(to) => "to",
                        Fault::Partition { .. } => "groups",
                        _ => "node",
                    };
                    let known = if bound.is_empty() {
                        "no fault has a `label`".to_string()
                    } else {
                        format!("labels are {}", bound.join(", "))
                    };
                    return Err(src.error(
                        &at(field),
                        format!("no fault is labelled `{label}` ({known})"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The labels some fault keeps what it resolved to under, each once.
    fn labels_bound(&self) -> Vec<&str> {
        let mut bound: Vec<&str> = (self.faults.iter())
            .filter_map(|f| f.turns().and_then(|t| t.label))
            .collect();
        bound.sort();
        bound.dedup();
        bound
    }

    /// Network rules at `path` (`network.rules`, `faults[2].rules`): known nodes, rates,
    /// ranges, and each rule doing something.
    pub(super) fn validate_rules(
        &self,
        src: &Source,
        path: &str,
        rules: &[NetRule],
    ) -> Result<(), InputError> {
        /// A rule's delay beyond this would outlast any run worth simulating.
        const DELAY_MS_MAX: u64 = 60_000;
        for (j, rule) in rules.iter().enumerate() {
            let at = |field: &str| format!("{path}[{j}].{field}");
            for (field, names) in [("from", &rule.from), ("to", &rule.to)] {
                if let Some(bad) = names.iter().find(|n| self.node_id(n).is_none()) {
                    return Err(src.error(
                        &at(field),
                        format!("no node `{bad}` (rules name nodes, not targets)"),
                    ));
                }
            }
            if let Some(bad) = rule.kinds.iter().find(|k| k.is_empty()) {
                return Err(src.error(&at("kinds"), format!("empty kind `{bad}`")));
            }
            check_rate(src, &at("loss"), rule.loss)?;
            check_rate(src, &at("reorder"), rule.reorder)?;
            if let Some(delay) = &rule.delay_ms {
                match delay[..] {
                    [lo, hi] if lo <= hi && hi <= DELAY_MS_MAX => {}
                    _ => {
                        return Err(src.error(
                            &at("delay_ms"),
                            format!("must be [min, max] with min <= max <= {DELAY_MS_MAX}"),
                        ))
                    }
                }
            }
            if (rule.reorder > 0.0) != (rule.reorder_ms > 0) {
                return Err(src.error(
                    &at(if rule.reorder > 0.0 { "reorder_ms" } else { "reorder" }),
                    "long reordering needs both `reorder` (the share held) and `reorder_ms` (how long)",
                ));
            }
            if rule.reorder_ms > DELAY_MS_MAX / 100 {
                return Err(src.error(
                    &at("reorder_ms"),
                    format!(
                        "at most {} (a hold reaches 100 times it)",
                        DELAY_MS_MAX / 100
                    ),
                ));
            }
            let delays = rule.delay_ms.as_ref().is_some_and(|d| d.last() > Some(&0));
            if rule.loss == 0.0 && !delays && rule.reorder == 0.0 {
                return Err(src.error(
                    &format!("{path}[{j}]"),
                    "the rule does nothing: give it loss, delay_ms or reorder",
                ));
            }
        }
        Ok(())
    }

    /// `[clocks]`: known nodes, skews and drifts within bounds.
    pub(super) fn validate_clocks(&self, src: &Source) -> Result<(), InputError> {
        use crate::runtime::node_clock::{DRIFT_PPM_RANGE, SKEW_MS_MAX};
        for (name, clock) in &self.clocks {
            let at = |field: &str| format!("clocks.{name}.{field}");
            if self.node_id(name).is_none() {
                return Err(src.error(&format!("clocks.{name}"), format!("no node `{name}`")));
            }
            if clock.skew_ms.abs() > SKEW_MS_MAX {
                return Err(src.error(&at("skew_ms"), format!("must be within ±{SKEW_MS_MAX}")));
            }
            if !DRIFT_PPM_RANGE.contains(&clock.drift_ppm) {
                return Err(src.error(
                    &at("drift_ppm"),
                    format!(
                        "must be {}..={} (half to double speed)",
                        DRIFT_PPM_RANGE.start(),
                        DRIFT_PPM_RANGE.end()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// `every_ms`, `times`, `jitter_ms`, `when` and `wait_ms` of fault `i`.
    fn validate_turns(&self, src: &Source, i: usize, fault: &Fault) -> Result<(), InputError> {
        let at = |field: &str| format!("faults[{i}].{field}");
        let Some(turns) = fault.turns() else {
            return Ok(());
        };
        if turns.every_ms == Some(0) {
            return Err(src.error(&at("every_ms"), "must be at least 1"));
        }
        match (turns.times, turns.every_ms) {
            (Some(0), _) => return Err(src.error(&at("times"), "must be at least 1")),
            (Some(n), None) if n > 1 => {
                return Err(src.error(&at("times"), "repeating needs `every_ms`, the period"))
            }
            _ => {}
        }
        if let Some(jitter) = turns.jitter_ms {
            let [lo, hi] = jitter else {
                return Err(src.error(
                    &at("jitter_ms"),
                    format!("must be two numbers [min, max], not {}", jitter.len()),
                ));
            };
            if lo > hi {
                return Err(src.error(&at("jitter_ms"), "must be [min, max] with min <= max"));
            }
            if turns.every_ms.is_some_and(|every| *hi >= every) {
                return Err(src.error(
                    &at("jitter_ms"),
                    "its max must be below `every_ms`, or turns would overtake each other",
                ));
            }
        }
        if let Some(when) = turns.when {
            Condition::parse(when).map_err(|e| src.error(&at("when"), e))?;
        }
        if turns.wait_ms.is_some() && turns.when.is_none() {
            return Err(src.error(&at("wait_ms"), "waits for `when`, which is not given"));
        }
        let names = self.node_names();
        for name in turns.except {
            let target =
                Target::parse(name, &names, self.roles).map_err(|e| src.error(&at("except"), e))?;
            if !matches!(
                target,
                Target::Node(_) | Target::Leader | Target::Role(_) | Target::Label(_)
            ) {
                return Err(src.error(
                    &at("except"),
                    format!(
                        "`{name}`: `except` names nodes (a name, @leader, a role, a $label), not a draw"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// No crash of a node that is down and no restart of one that is up, in the written
    /// schedule's order (time, then the file's order), up to the first crash or restart
    /// decided at run time.
    fn validate_up_down(&self, src: &Source) -> Result<(), InputError> {
        match self.up_down_conflicts().first() {
            None => Ok(()),
            Some((_, field, message)) => Err(src.error(field, message.clone())),
        }
    }

    /// The schedule without the crashes of down nodes and restarts of up ones that
    /// validation refuses: they change nothing in a run (the world ignores them), and
    /// removing faults (shrinking) leaves such orphans behind.
    pub fn drop_no_op_faults(&mut self) {
        // A fault naming a label that no fault keeps any more would act on nobody.
        loop {
            let bound: Vec<String> = self.labels_bound().into_iter().map(String::from).collect();
            let before = self.faults.len();
            (self.faults)
                .retain(|f| (f.labels_named().iter()).all(|l| bound.iter().any(|b| b == l)));
            if self.faults.len() == before {
                break;
            }
        }
        let mut no_ops: Vec<usize> = (self.up_down_conflicts().into_iter())
            .map(|(i, ..)| i)
            .collect();
        no_ops.sort();
        for i in no_ops.into_iter().rev() {
            self.faults.remove(i);
        }
    }

    /// Each static crash of a down node and restart of an up one: its index, field and
    /// what is wrong.
    fn up_down_conflicts(&self) -> Vec<(usize, String, String)> {
        let mut conflicts = Vec::new();
        let mut steps: Vec<UpDown> = Vec::new();
        let mut unknown_from_ms = u64::MAX;
        for (fault, f) in self.faults.iter().enumerate() {
            let (node, at_ms, crash) = match f {
                Fault::Crash { node, at_ms, .. } => (node, *at_ms, true),
                Fault::Restart { node, at_ms, .. } => (node, *at_ms, false),
                _ => continue,
            };
            if f.at_run_time() {
                unknown_from_ms = unknown_from_ms.min(at_ms);
                continue;
            }
            steps.push(UpDown {
                at_ms,
                fault,
                node: node.clone(),
                crash,
            });
        }
        steps.sort_by_key(|s| s.at_ms);
        let mut down_since: Vec<(String, u64)> = Vec::new();
        for step in steps.iter().take_while(|s| s.at_ms < unknown_from_ms) {
            let was_down = down_since.iter().position(|(n, _)| *n == step.node);
            let field = format!("faults[{}].node", step.fault);
            match (step.crash, was_down) {
                (true, None) => down_since.push((step.node.clone(), step.at_ms)),
                (false, Some(at)) => {
                    down_since.remove(at);
                }
                (true, Some(at)) => conflicts.push((
                    step.fault,
                    field,
                    format!(
                        "crash of `{}` at {} ms, but it is down since {} ms",
                        step.node, step.at_ms, down_since[at].1
                    ),
                )),
                (false, None) => conflicts.push((
                    step.fault,
                    field,
                    format!(
                        "restart of `{}` at {} ms, but it is up then (no crash before)",
                        step.node, step.at_ms
                    ),
                )),
            }
        }
        conflicts
    }
}

#[cfg(test)]
mod tests {
    use crate::scenario::{Fault, InputError, Scenario, ServersAndClients};

    /// Three servers and a client, with `faults` (TOML) appended.
    fn parse(faults: &str) -> Result<Scenario, InputError> {
        let text = format!(
            "name = \"t\"\nprotocol = \"group\"\nduration_ms = 10000\n[nodes]\nservers = 3\nclients = 1\n{faults}"
        );
        Scenario::parse("t.toml", &text, &ServersAndClients)
    }

    fn refused(faults: &str, field: &str, says: &str) {
        let err = parse(faults).expect_err("refused");
        assert_eq!(err.field, field, "{err}");
        assert!(err.line.is_some(), "{err}");
        assert!(err.message.contains(says), "{err}");
    }

    #[test]
    fn network_rules_windows_pauses_and_clocks_are_checked() {
        let ok = "[[network.rules]]\nkinds = [\"*REPLY\"]\nloss = 0.1\n\
                  [clocks]\ns2 = { skew_ms = -300, drift_ppm = 20000 }\n\
                  [[faults]]\nkind = \"network\"\nfrom_ms = 100\nuntil_ms = 900\n\
                  rules = [{ delay_ms = [0, 27] }, { reorder = 0.2, reorder_ms = 200 }]\n\
                  [[faults]]\nkind = \"pause\"\nnode = \"s1\"\nat_ms = 100\nresume_ms = 200\n";
        let s = parse(ok).unwrap();
        assert_eq!(s.network.rules.len(), 1);
        assert_eq!(s.clocks["s2"].drift_ppm, 20000);
        // A seed file embeds the scenario: it must come back the same.
        let again = toml::to_string(&s).unwrap();
        let back = Scenario::parse("t.toml", &again, &ServersAndClients).unwrap();
        assert_eq!(
            (back.network, back.clocks, back.faults),
            (s.network, s.clocks, s.faults)
        );
        refused(
            "[[network.rules]]\nto = [\"s9\"]\nloss = 0.1\n",
            "network.rules[0].to",
            "no node `s9`",
        );
        refused(
            "[[network.rules]]\nkinds = [\"HB\"]\n",
            "network.rules[0]",
            "does nothing",
        );
        refused(
            "[[network.rules]]\nreorder = 0.5\n",
            "network.rules[0].reorder_ms",
            "needs both",
        );
        refused(
            "[[network.rules]]\ndelay_ms = [5, 1]\n",
            "network.rules[0].delay_ms",
            "[min, max]",
        );
        refused(
            "[[faults]]\nkind = \"network\"\nfrom_ms = 100\nuntil_ms = 900\nrules = [{ loss = 1.5 }]\n",
            "faults[0].rules[0].loss",
            "probability",
        );
        refused(
            "[[faults]]\nkind = \"network\"\nfrom_ms = 100\nuntil_ms = 900\nrules = []\n",
            "faults[0].rules",
            "at least one rule",
        );
        refused(
            "[[faults]]\nkind = \"pause\"\nnode = \"s1\"\nat_ms = 300\nresume_ms = 200\n",
            "faults[0].resume_ms",
            "after at_ms",
        );
        refused(
            "[[faults]]\nkind = \"pause\"\nnode = \"@leader\"\nat_ms = 100\nresume_ms = 200\n",
            "faults[0].node",
            "names its node",
        );
        refused("[clocks]\ns7 = { skew_ms = 1 }\n", "clocks.s7", "no node");
        refused(
            "[clocks]\ns1 = { drift_ppm = -900000 }\n",
            "clocks.s1.drift_ppm",
            "half to double",
        );
    }

    #[test]
    fn a_restart_of_a_node_that_is_up_is_refused() {
        refused(
            "[[faults]]\nkind = \"restart\"\nnode = \"s2\"\nat_ms = 1000\n",
            "faults[0].node",
            "up then",
        );
        // After its crash it is fine; a second restart is not.
        let twice = "[[faults]]\nkind = \"crash\"\nnode = \"s2\"\nat_ms = 1000\n\
                     [[faults]]\nkind = \"restart\"\nnode = \"s2\"\nat_ms = 2000\n";
        parse(twice).unwrap();
        refused(
            &format!("{twice}[[faults]]\nkind = \"restart\"\nnode = \"s2\"\nat_ms = 3000\n"),
            "faults[2].node",
            "up then",
        );
    }

    #[test]
    fn a_crash_of_a_node_already_down_is_refused_in_time_order_not_file_order() {
        refused(
            "[[faults]]\nkind = \"crash\"\nnode = \"s1\"\nat_ms = 3000\n\
             [[faults]]\nkind = \"crash\"\nnode = \"s1\"\nat_ms = 1000\n",
            "faults[0].node",
            "down since 1000",
        );
    }

    #[test]
    fn after_a_run_time_crash_the_state_is_unknown_and_no_op_faults_drop() {
        parse(
            "[[faults]]\nkind = \"crash\"\nnode = \"@leader\"\nat_ms = 1000\n\
             [[faults]]\nkind = \"restart\"\nnode = \"s1\"\nat_ms = 2000\n",
        )
        .unwrap();
        let mut s = parse(
            "[[faults]]\nkind = \"crash\"\nnode = \"s1\"\nat_ms = 1000\n\
             [[faults]]\nkind = \"restart\"\nnode = \"s1\"\nat_ms = 2000\n",
        )
        .unwrap();
        s.faults.remove(0);
        s.drop_no_op_faults();
        assert!(s.faults.is_empty(), "the orphan restart goes too");
    }

    #[test]
    fn labels_and_except_are_checked_and_orphans_drop() {
        let good = "[[faults]]\nkind = \"crash\"\nnode = \"@leader\"\nat_ms = 1000\nlabel = \"old\"\n\
                    [[faults]]\nkind = \"crash\"\nnode = \"@follower\"\nexcept = [\"$old\", \"s1\", \"@leader\"]\nat_ms = 1000\n\
                    [[faults]]\nkind = \"restart\"\nnode = \"$old\"\nat_ms = 2000\n";
        let mut s = parse(good).unwrap();
        assert!(s.faults.iter().all(Fault::at_run_time));
        refused(
            "[[faults]]\nkind = \"restart\"\nnode = \"$gone\"\nat_ms = 2000\n",
            "faults[0].node",
            "no fault is labelled `gone` (no fault has a `label`)",
        );
        refused(
            "[[faults]]\nkind = \"crash\"\nnode = \"@leader\"\nat_ms = 1000\nlabel = \"old\"\n\
             [[faults]]\nkind = \"crash\"\nnode = \"@follower\"\nexcept = [\"$odl\"]\nat_ms = 1000\n",
            "faults[1].except",
            "labels are old",
        );
        refused(
            "[[faults]]\nkind = \"partition\"\nfrom = [\"s1\"]\nto = [\"$nobody\"]\nat_ms = 1000\n",
            "faults[0].to",
            "no fault is labelled `nobody`",
        );
        refused(
            "[[faults]]\nkind = \"crash\"\nnode = \"@leader\"\nat_ms = 1000\nlabel = \"Old One\"\n",
            "faults[0].label",
            "not a label",
        );
        refused(
            "[[faults]]\nkind = \"crash\"\nnode = \"@follower\"\nexcept = [\"@random\"]\nat_ms = 1000\n",
            "faults[0].except",
            "not a draw",
        );
        refused(
            "[[faults]]\nkind = \"pause\"\nnode = \"$x\"\nat_ms = 100\nresume_ms = 200\n",
            "faults[0].node",
            "names its node",
        );
        // Shrinking away the labelled crash leaves the restart of `$old` acting on nobody:
        // it goes too.
        s.faults.remove(0);
        s.drop_no_op_faults();
        assert!(s.faults.is_empty(), "{:?}", s.faults);
    }

    #[test]
    fn overlapping_partition_groups_are_refused() {
        refused(
            "[[faults]]\nkind = \"partition\"\ngroups = [[\"s1\", \"s2\"], [\"s2\", \"s3\"]]\nat_ms = 1000\n",
            "faults[0].groups",
            "`s2` is in two groups",
        );
        // One way, from and to may share nodes: that cuts the links among them.
        parse("[[faults]]\nkind = \"partition\"\nfrom = [\"s1\", \"s2\"]\nto = [\"s1\", \"s2\"]\nat_ms = 1000\n")
            .unwrap();
    }

    #[test]
    fn latency_must_be_two_numbers() {
        for bad in ["[1, 2, 3]", "[5]"] {
            let err = parse(&format!("[network]\nlatency_ms = {bad}\n")).expect_err(bad);
            assert_eq!(err.field, "network.latency_ms", "{err}");
            assert_eq!(err.line, Some(8), "{err}");
            assert!(err.message.contains("two numbers"), "{err}");
        }
        parse("[network]\nlatency_ms = [2, 3]\n").unwrap();
    }

    #[test]
    fn targets_and_turns_are_checked() {
        refused(
            "[[faults]]\nkind = \"crash\"\nnode = \"@leeder\"\nat_ms = 1000\n",
            "faults[0].node",
            "unknown target",
        );
        refused(
            "[[faults]]\nkind = \"crash\"\nnode = \"@rest\"\nat_ms = 1000\n",
            "faults[0].node",
            "@rest",
        );
        refused(
            "[[faults]]\nkind = \"crash\"\nnode = \"@leader\"\nat_ms = 1000\ntimes = 3\n",
            "faults[0].times",
            "every_ms",
        );
        refused(
            "[[faults]]\nkind = \"crash\"\nnode = \"@leader\"\nat_ms = 1000\nevery_ms = 500\njitter_ms = [0, 500]\n",
            "faults[0].jitter_ms",
            "below `every_ms`",
        );
        refused(
            "[[faults]]\nkind = \"crash\"\nnode = \"@leader\"\nat_ms = 1000\njitter_ms = [1, 2, 3]\n",
            "faults[0].jitter_ms",
            "two numbers",
        );
        refused(
            "[[faults]]\nkind = \"crash\"\nnode = \"@leader\"\nat_ms = 1000\nwhen = \"up < three\"\n",
            "faults[0].when",
            "not a condition",
        );
        refused(
            "[[faults]]\nkind = \"crash\"\nnode = \"s1\"\nat_ms = 1000\nwait_ms = 100\n",
            "faults[0].wait_ms",
            "when",
        );
        refused(
            "[[faults]]\nkind = \"byzantine\"\nnode = \"@leader\"\nbehaviour = \"forge\"\nfrom_ms = 1000\n",
            "faults[0].node",
            "names its node",
        );
        let s = parse(
            "[[faults]]\nkind = \"crash\"\nnode = \"@leader\"\nat_ms = 1000\nevery_ms = 700\ntimes = 20\njitter_ms = [0, 300]\nwhen = \"up >= 3\"\n\
             [[faults]]\nkind = \"partition\"\ngroups = [[\"@leader\"], [\"@rest\"]]\nat_ms = 1000\nheal_ms = 1500\n",
        )
        .unwrap();
        assert!(s.faults.iter().all(Fault::at_run_time));
        assert!(s.schedule().is_empty(), "nothing static to compile");
    }
}
