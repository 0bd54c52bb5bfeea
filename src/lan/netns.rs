//! The private test LAN: one network namespace per node, each with one veth link to a switch
//! namespace that holds the bridges. Nothing is made in the caller's own namespace, so
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
    /// Number of node namespaces.
    nodes: usize,
    /// Namespaces made so far (removed on drop).
    made: Vec<String>,
    /// Bridges made in the switch namespace: `br0` joins everyone, one more per group cut off.
    bridges: usize,
    /// The bridge each node's port is on.
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
    /// Builds a LAN of `nodes` namespaces on one bridge, every link up, every node with
    /// its address and a multicast route. On error, whatever was made is removed.
    pub fn build(nodes: usize) -> Result<Lan, String> {
        remove_stale();
        let mut lan = Lan {
            prefix: format!("fl{}", std::process::id()),
            nodes,
            made: Vec::new(),
            bridges: 0,
            port_bridge: vec![0; nodes],
        };
        let sw = lan.switch();
        lan.add_namespace(&sw)?;
        lan.ensure_bridge(0)?;
        for i in 0..nodes {
            let ns = lan.namespace(i);
            lan.add_namespace(&ns)?;
            let port = format!("p{i}");
            ip(&[
                "link", "add", &port, "netns", &sw, "type", "veth", "peer", "name", "eth0",
                "netns", &ns,
            ])?;
            ip(&["-n", &sw, "link", "set", &port, "master", "br0", "up"])?;
            let addr = format!("{}/24", lan.address(i));
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

    /// Node `i`'s namespace name.
    pub fn namespace(&self, i: usize) -> String {
        format!("{}n{i}", self.prefix)
    }

    /// Node `i`'s address.
    pub fn address(&self, i: usize) -> Ipv4Addr {
        Ipv4Addr::new(SUBNET[0], SUBNET[1], SUBNET[2], i as u8 + 1)
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

    /// Puts node `i`'s port on bridge `k`: nodes on different bridges cannot reach each
    /// other at all, unicast or multicast, until their ports share a bridge again.
    pub fn set_bridge(&mut self, i: usize, k: usize) -> Result<(), String> {
        if self.port_bridge[i] == k {
            return Ok(());
        }
        self.ensure_bridge(k)?;
        let (sw, port, br) = (self.switch(), format!("p{i}"), format!("br{k}"));
        ip(&["-n", &sw, "link", "set", &port, "master", &br])?;
        self.port_bridge[i] = k;
        Ok(())
    }

    /// The number of nodes.
    pub fn nodes(&self) -> usize {
        self.nodes
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
    use super::stale_owner;

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
