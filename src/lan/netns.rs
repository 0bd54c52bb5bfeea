//! The private test LAN: one network namespace per host (a node of its own unless the
//! protocol places several nodes on one host), each with one veth link to a switch namespace
//! that holds the bridges. Nothing is made in the caller's own namespace, so
//! deleting this run's namespaces removes every link and bridge with them.
//!
//! Names carry the supervisor's pid (`fl<pid>sw`, `fl<pid>n0`, ...), so runs never collide,
//! and namespaces left by a supervisor that was SIGKILLed are recognised and removed by the
//! next run.

use std::net::Ipv4Addr;
use std::process::Command;

/// The subnet every node's address is in (namespaces are private: it cannot clash).
const SUBNET: [u8; 3] = [10, 77, 0];

/// One run's namespaces, links and bridges; dropping it removes them all.
pub struct Lan {
    /// Name prefix of this run: `fl<pid>`.
    prefix: String,
    /// The namespace (host) of each node.
    namespace_of: Vec<usize>,
    /// Number of host namespaces.
    hosts: usize,
    /// Namespaces made so far (removed on drop).
    made: Vec<String>,
    /// Bridges made in the switch namespace: `br0` joins everyone, one more per group cut off.
    bridges: usize,
    /// The bridge each host's port is on.
    port_bridge: Vec<usize>,
}

/// Runs `ip` with `args`; an error names the command and what `ip` said.
fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run `ip` (install iproute2): {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`ip {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl Lan {
    /// Builds a LAN with one namespace per host on one bridge (`namespace_of` gives each
    /// node's host, numbered from 0), every link up, every host with its address and a
    /// multicast route. On error, whatever was made is removed.
    pub fn build(namespace_of: &[usize]) -> Result<Lan, String> {
        remove_stale();
        let hosts = namespace_of.iter().max().map_or(0, |m| m + 1);
        let mut lan = Lan {
            prefix: format!("fl{}", std::process::id()),
            namespace_of: namespace_of.to_vec(),
            hosts,
            made: Vec::new(),
            bridges: 0,
            port_bridge: vec![0; hosts],
        };
        let sw = lan.switch();
        lan.add_namespace(&sw)?;
        lan.ensure_bridge(0)?;
        for i in 0..hosts {
            let ns = lan.host_namespace(i);
            lan.add_namespace(&ns)?;
            let port = format!("p{i}");
            ip(&[
                "link", "add", &port, "netns", &sw, "type", "veth", "peer", "name", "eth0",
                "netns", &ns,
            ])?;
            ip(&["-n", &sw, "link", "set", &port, "master", "br0", "up"])?;
            let addr = format!("{}/24", host_address(i));
            ip(&["-n", &ns, "addr", "add", &addr, "dev", "eth0"])?;
            ip(&["-n", &ns, "link", "set", "lo", "up"])?;
            ip(&["-n", &ns, "link", "set", "eth0", "up"])?;
            // The group's datagrams leave by eth0: nodes join and send on "any interface".
            ip(&["-n", &ns, "route", "add", "224.0.0.0/4", "dev", "eth0"])?;
        }
        Ok(lan)
    }

    /// The switch namespace's name.
    fn switch(&self) -> String {
        format!("{}sw", self.prefix)
    }

    /// Host `k`'s namespace name.
    fn host_namespace(&self, k: usize) -> String {
        format!("{}n{k}", self.prefix)
    }

    /// Node `i`'s namespace name.
    pub fn namespace(&self, i: usize) -> String {
        self.host_namespace(self.namespace_of[i])
    }

    /// Node `i`'s address (its host's).
    pub fn address(&self, i: usize) -> Ipv4Addr {
        host_address(self.namespace_of[i])
    }

    /// Node `i`'s place among the nodes of its host (0 for the first), so that each gets a
    /// port of its own.
    pub fn slot(&self, i: usize) -> usize {
        let host = self.namespace_of[i];
        self.namespace_of[..i]
            .iter()
            .filter(|&&h| h == host)
            .count()
    }

    /// The number of host namespaces.
    pub fn namespaces(&self) -> usize {
        self.hosts
    }

    /// Whether nodes may be put on bridges by `group` (a bridge per node): only when every
    /// host's nodes are in one group, since a host has one port.
    pub fn keeps_hosts_whole(&self, group: &[usize]) -> bool {
        keeps_hosts_whole(&self.namespace_of, group)
    }

    /// The most nodes a LAN holds (one /24).
    pub const NODES_MAX: usize = 250;

    fn add_namespace(&mut self, name: &str) -> Result<(), String> {
        ip(&["netns", "add", name])?;
        self.made.push(name.to_string());
        Ok(())
    }

    fn ensure_bridge(&mut self, k: usize) -> Result<(), String> {
        let sw = self.switch();
        while self.bridges <= k {
            let br = format!("br{}", self.bridges);
            // Snooping off: with no IGMP querier on this LAN a snooping bridge may stop
            // forwarding the group's datagrams; flooding them is what a small switch does.
            ip(&[
                "-n",
                &sw,
                "link",
                "add",
                &br,
                "type",
                "bridge",
                "mcast_snooping",
                "0",
            ])?;
            ip(&["-n", &sw, "link", "set", &br, "up"])?;
            self.bridges += 1;
        }
        Ok(())
    }

    /// Puts node `i`'s host's port on bridge `k`: nodes on different bridges cannot reach
    /// each other at all, unicast or multicast, until their ports share a bridge again.
    pub fn set_bridge(&mut self, i: usize, k: usize) -> Result<(), String> {
        let host = self.namespace_of[i];
        if self.port_bridge[host] == k {
            return Ok(());
        }
        self.ensure_bridge(k)?;
        let (sw, port, br) = (self.switch(), format!("p{host}"), format!("br{k}"));
        ip(&["-n", &sw, "link", "set", &port, "master", &br])?;
        self.port_bridge[host] = k;
        Ok(())
    }

    /// Removes every namespace this run made (links and bridges go with them).
    pub fn remove(&mut self) {
        for name in self.made.drain(..).rev() {
            if let Err(e) = ip(&["netns", "del", &name]) {
                eprintln!("warning: {e}");
            }
        }
    }
}

/// Whether every host's nodes are in one group.
fn keeps_hosts_whole(namespace_of: &[usize], group: &[usize]) -> bool {
    (0..group.len())
        .all(|i| (0..i).all(|j| namespace_of[i] != namespace_of[j] || group[i] == group[j]))
}

/// Host `k`'s address.
fn host_address(k: usize) -> Ipv4Addr {
    Ipv4Addr::new(SUBNET[0], SUBNET[1], SUBNET[2], k as u8 + 1)
}

impl Drop for Lan {
    fn drop(&mut self) {
        self.remove();
    }
}

/// Removes namespaces named like ours (`fl<pid>sw`, `fl<pid>n<i>`) whose supervisor is gone:
/// a run that was SIGKILLed could not clean up after itself.
fn remove_stale() {
    let Ok(entries) = std::fs::read_dir("/run/netns") else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let Some(pid) = stale_owner(&name) else {
            continue;
        };
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            eprintln!("faultline lan: removing namespace {name} left by a run that died");
            let _ = ip(&["netns", "del", &name]);
        }
    }
}

/// The supervisor pid in a namespace name of ours, if it is one.
fn stale_owner(name: &str) -> Option<u32> {
    let rest = name.strip_prefix("fl")?;
    let digits = rest.find(|c: char| !c.is_ascii_digit())?;
    let (pid, tail) = rest.split_at(digits);
    let ours = tail == "sw"
        || tail
            .strip_prefix('n')
            .is_some_and(|i| !i.is_empty() && i.chars().all(|c| c.is_ascii_digit()));
    if ours {
        pid.parse().ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::{keeps_hosts_whole, stale_owner};

    #[test]
    fn bridges_cut_between_hosts_never_inside_one() {
        // Nodes 0 and 1 on host 0, node 2 on host 1.
        let hosts = [0, 0, 1];
        assert!(keeps_hosts_whole(&hosts, &[0, 0, 1]));
        assert!(keeps_hosts_whole(&hosts, &[0, 0, 0]));
        assert!(!keeps_hosts_whole(&hosts, &[0, 1, 1]), "splits host 0");
    }

    #[test]
    fn recognises_only_our_namespace_names() {
        assert_eq!(stale_owner("fl123sw"), Some(123));
        assert_eq!(stale_owner("fl123n4"), Some(123));
        assert_eq!(stale_owner("fl123n"), None);
        assert_eq!(stale_owner("flannel"), None);
        assert_eq!(stale_owner("fl12x"), None);
        assert_eq!(stale_owner("docker"), None);
    }
}
