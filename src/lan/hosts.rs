//! `faultline lan <scenario> --hosts cluster.toml`: the plan for running a scenario on
//! machines the user owns. The hosts file is a cluster file (addresses, multicast group,
//! interface) naming the scenario's nodes; this writes the cluster file every host needs
//! (the hosts' addresses with the scenario's settings) and the drop-rules files of the fault
//! schedule, and prints the command for each host and each fault in time order.
//! `faultline collect` gathers the traces afterwards.

use std::path::Path;

use faultline_sim::faults::drop_rules::DropRules;
use faultline_sim::scenario::{InputError, WorldAction};
use faultline_sim::NodeId;

use super::ScenarioFile;
use crate::cluster::Cluster;
use crate::registry::Registry;

/// Where each host keeps its node's files, as printed in the commands.
pub const REMOTE_DIR: &str = "faultline-data";

/// Loads a hosts file and checks that it names the scenario's nodes, in order.
pub fn load_hosts(
    registry: &Registry,
    loaded: &ScenarioFile,
    hosts_file: &Path,
) -> Result<Cluster, InputError> {
    let hosts = Cluster::load(hosts_file, registry)?;
    let src = hosts.source();
    let names = loaded.scenario.node_names();
    if hosts.file.protocol != loaded.scenario.protocol {
        return Err(src.error(
            "protocol",
            format!(
                "the scenario {} runs `{}`",
                loaded.file, loaded.scenario.protocol
            ),
        ));
    }
    if hosts.file.nodes.len() != names.len() {
        return Err(src.error(
            "nodes",
            format!(
                "{} nodes, but the scenario {} has {} ({})",
                hosts.file.nodes.len(),
                loaded.file,
                names.len(),
                names.join(", ")
            ),
        ));
    }
    let roles = loaded.scenario.node_roles();
    for (i, (node, name)) in hosts.file.nodes.iter().zip(&names).enumerate() {
        if node.name != *name {
            return Err(src.error(
                &format!("nodes[{i}].name"),
                format!(
                    "expected `{name}`: the scenario's nodes are, in order, {}",
                    names.join(", ")
                ),
            ));
        }
        let role = roles[i].name;
        if node.role != role {
            return Err(src.error(
                &format!("nodes[{i}].role"),
                format!("`{name}` is a {role} in the scenario"),
            ));
        }
    }
    Ok(hosts)
}

/// Writes the plan's files under `out` and prints it; returns the exit code.
pub fn plan_command(
    registry: &Registry,
    loaded: &ScenarioFile,
    scenario_path: &Path,
    hosts_file: &Path,
    out: &Path,
) -> i32 {
    let hosts = match load_hosts(registry, loaded, hosts_file) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let s = &loaded.scenario;
    let names = s.node_names();
    let addrs: Vec<_> = hosts.file.nodes.iter().map(|n| n.addr).collect();
    let cluster = loaded.cluster_file(&addrs, hosts.file.multicast, hosts.file.interface);
    let written = std::fs::create_dir_all(out)
        .and_then(|()| toml::to_string(&cluster).map_err(std::io::Error::other))
        .and_then(|text| std::fs::write(out.join("cluster.toml"), text));
    if let Err(e) = written {
        eprintln!("error: cannot write {}: {e}", out.display());
        return 2;
    }
    let host = |n: NodeId| addrs[n.0 as usize].ip();
    let command = |i: usize| {
        format!(
            "faultline node {} --config cluster.toml --id {} --dir {REMOTE_DIR} --drop-rules {REMOTE_DIR}/drop-rules.toml",
            s.protocol, names[i]
        )
    };
    println!(
        "faultline lan: {} / {} on {} hosts of {}",
        s.protocol,
        s.name,
        names.len(),
        hosts_file.display()
    );
    println!(
        "1. Copy {} and the faultline binary to every host.",
        out.join("cluster.toml").display()
    );
    println!("2. Start every node at once (time zero of the schedule):");
    for (i, node) in hosts.file.nodes.iter().enumerate() {
        println!("   on {:<15} {}", node.addr.ip().to_string(), command(i));
    }
    println!(
        "3. Apply the faults on time ({:.1} s in all):",
        s.duration_ms as f64 / 1000.0
    );
    let mut cut = std::collections::BTreeMap::new();
    let mut loss = s.network.loss;
    let mut step = 0;
    for (at_ms, action) in s.schedule() {
        let at = format!("{:>7.1} s", at_ms as f64 / 1000.0);
        let rules_changed = !matches!(
            action,
            WorldAction::Crash(_)
                | WorldAction::Restart(_)
                | WorldAction::Byzantine(..)
                | WorldAction::Pause(..)
                | WorldAction::Resume(_)
                | WorldAction::NetOpen(_)
                | WorldAction::NetClose(_)
                | WorldAction::Submit(..)
        );
        match action {
            WorldAction::Crash(n) => {
                println!(
                    "   {at}  on {}: kill -9 the node {} (crash)",
                    host(n),
                    names[n.0 as usize]
                );
            }
            WorldAction::Restart(n) => println!(
                "   {at}  on {}: run {}'s command again (restart from {REMOTE_DIR}/{}.durable)",
                host(n),
                names[n.0 as usize],
                names[n.0 as usize]
            ),
            // Cuts compose: a link stays cut while any partition in force cuts it.
            WorldAction::Cut(links) => {
                for l in links {
                    *cut.entry(l).or_insert(0u32) += 1;
                }
            }
            WorldAction::Heal(links) => {
                for l in links {
                    if let Some(n) = cut.get_mut(&l) {
                        *n -= 1;
                        if *n == 0 {
                            cut.remove(&l);
                        }
                    }
                }
            }
            WorldAction::Loss(rate) => loss = rate.max(s.network.loss),
            WorldAction::Byzantine(n, _) => println!(
                "   {at}  {}: a Byzantine behaviour, which runs in the simulator only (skipped)",
                names[n.0 as usize]
            ),
            WorldAction::Pause(n, _) => println!(
                "   {at}  on {}: kill -STOP {}'s process (pause)",
                host(n),
                names[n.0 as usize]
            ),
            WorldAction::Resume(n) => println!(
                "   {at}  on {}: kill -CONT {}'s process (resume)",
                host(n),
                names[n.0 as usize]
            ),
            WorldAction::NetOpen(_) | WorldAction::NetClose(_) => {
                println!("   {at}  a network window, which runs in the simulator only (skipped)")
            }
            WorldAction::Submit(n, _) => println!(
                "   {at}  {}: submitted commands, which run in the simulator only (skipped)",
                names[n.0 as usize]
            ),
        }
        if rules_changed {
            step += 1;
            let file = out.join(format!("drop-rules-{step}.toml"));
            let rules = DropRules {
                loss,
                cut: cut
                    .iter()
                    .map(|((a, b), _): (&(NodeId, NodeId), _)| {
                        [names[a.0 as usize].clone(), names[b.0 as usize].clone()]
                    })
                    .collect(),
            };
            if let Err(e) = rules.write(&file) {
                eprintln!("error: cannot write {}: {e}", file.display());
                return 2;
            }
            println!(
                    "   {at}  on every host: copy {} to {REMOTE_DIR}/drop-rules.toml ({} links cut, {:.0}% loss)",
                    file.display(),
                    cut.len(),
                    loss * 100.0
                );
        }
    }
    println!(
        "4. At {:.1} s stop every node (Ctrl-C), then gather and judge the traces:",
        s.duration_ms as f64 / 1000.0
    );
    println!(
        "   faultline collect {} --hosts {} --out {}",
        scenario_path.display(),
        hosts_file.display(),
        out.join("report").display()
    );
    println!("   (scp from each host's {REMOTE_DIR}/; or --from DIR if you copied the *.trace.jsonl files yourself)");
    0
}
