//! A real Redis Cluster of our own: three masters and three replicas on
//! free ports (each with its bus port, + 10000, free too), created with
//! `redis-cli --cluster create … --cluster-replicas 1 --cluster-yes`, each
//! node killed when dropped. What tests fail a master of, and ask which
//! master owns a key's slot.
//!
//! The nodes time out in 1 s and a replica may always take over (however
//! long it was cut off), so a killed master's replica replaces it in a few
//! seconds.

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::redis::{RedisServer, connect, in_sync};
use crate::temp::free_port_pairs;

/// Masters, and replicas (one per master).
pub const MASTERS: usize = 3;
pub const NODES: usize = 2 * MASTERS;
/// Slots of a Redis Cluster.
pub const SLOTS: u16 = 16_384;
/// Longest wait for the cluster to form, or to fail over.
const FORM_LIMIT: Duration = Duration::from_secs(30);

/// Six `redis-server --cluster-enabled yes` on 127.0.0.1.
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
}

/// One line of `CLUSTER NODES`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterNode {
    pub id: String,
    pub port: u16,
    pub master: bool,
    /// The master it replicates (replicas only).
    pub master_id: Option<String>,
    /// Flagged `fail` (or `fail?`) by the node asked.
    pub failing: bool,
    /// Slot ranges it serves, inclusive (masters only).
    pub slots: Vec<(u16, u16)>,
}

impl RedisCluster {
    /// Starts the six nodes, creates the cluster and waits until every
    /// node says `cluster_state:ok`; panics if it cannot.
    pub fn start() -> RedisCluster {
        RedisCluster::try_start().unwrap_or_else(|err| panic!("{err:#}"))
    }

    /// [`RedisCluster::start`], retrying with other ports when one was
    /// taken between picking and binding.
    pub fn try_start() -> anyhow::Result<RedisCluster> {
        for _ in 0..3 {
            let Some(nodes) = start_nodes(&free_port_pairs(NODES))? else {
                continue;
            };
            let cluster = RedisCluster { nodes };
            cluster.create()?;
            cluster.wait_formed()?;
            return Ok(cluster);
        }
        bail!("could not start 6 redis-server nodes (is redis-server installed?)")
    }

    /// `redis-cli --cluster create`: slots split over the first three,
    /// one replica each for the others.
    fn create(&self) -> anyhow::Result<()> {
        let output = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(self.nodes.iter().map(|n| format!("127.0.0.1:{}", n.port())))
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .output()
            .context("cannot run redis-cli (apt-get install redis-tools)")?;
        if !output.status.success() {
            bail!(
                "redis-cli --cluster create failed: {}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(())
    }

    /// Waits until every node says `cluster_state:ok` and sees three
    /// masters serving every slot and three replicas, and every replica is
    /// in sync with its master.
    fn wait_formed(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + FORM_LIMIT;
        for node in &self.nodes {
            loop {
                let seen = node_view(node.port());
                if let Ok((true, nodes)) = &seen
                    && complete(nodes, MASTERS)
                    && nodes.iter().filter(|n| n.master_id.is_some()).count() == NODES - MASTERS
                    && nodes
                        .iter()
                        .all(|n| n.port != node.port() || n.master || in_sync(n.port))
                {
                    break;
                }
                if Instant::now() > deadline {
                    bail!(
                        "the cluster did not form within {FORM_LIMIT:?}; node {} says {seen:?}",
                        node.port()
                    );
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Ok(())
    }

    /// The ports of every node, running or not.
    pub fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(RedisServer::port).collect()
    }

    /// `redis://127.0.0.1:PORT` of every running node: seeds for a client.
    pub fn urls(&self) -> Vec<String> {
        self.running().map(RedisServer::url).collect()
    }

    fn running(&self) -> impl Iterator<Item = &RedisServer> {
        self.nodes.iter().filter(|node| node.pid().is_some())
    }

    fn node(&self, port: u16) -> &RedisServer {
        let found = self.nodes.iter().find(|node| node.port() == port);
        found.unwrap_or_else(|| panic!("no node of this cluster on port {port}"))
    }

    /// The process id of the node on `port`, while it runs.
    pub fn pid(&self, port: u16) -> Option<u32> {
        self.node(port).pid()
    }

    /// Kills the node on `port` (SIGKILL, by its process id).
    pub fn kill(&mut self, port: u16) {
        let node = self.nodes.iter_mut().find(|node| node.port() == port);
        node.unwrap_or_else(|| panic!("no node on port {port}"))
            .kill();
    }

    /// The cluster as a running node sees it (`CLUSTER NODES`).
    pub fn nodes(&self) -> Vec<ClusterNode> {
        let node = self.running().next().expect("a running node");
        node_view(node.port())
            .unwrap_or_else(|err| panic!("CLUSTER NODES on {}: {err:#}", node.port()))
            .1
    }

    /// The slot of `key` (`CLUSTER KEYSLOT`).
    pub fn slot(&self, key: &str) -> u16 {
        let node = self.running().next().expect("a running node");
        ::redis::cmd("CLUSTER")
            .arg("KEYSLOT")
            .arg(key)
            .query(&mut node.connection())
            .expect("CLUSTER KEYSLOT")
    }

    /// The master that serves `key`'s slot now.
    pub fn master_of(&self, key: &str) -> ClusterNode {
        let slot = self.slot(key);
        owner(&self.nodes(), slot).unwrap_or_else(|| panic!("no master serves slot {slot}"))
    }

    /// After a kill: waits until every running node says
    /// `cluster_state:ok` and that running masters serve every slot (a
    /// killed master's replica has taken over); returns the port of the
    /// master that serves `slot` now.
    pub fn wait_failover(&self, slot: u16) -> u16 {
        let running: Vec<u16> = self.running().map(RedisServer::port).collect();
        let deadline = Instant::now() + FORM_LIMIT;
        loop {
            let views: Vec<_> = running.iter().map(|port| node_view(*port)).collect();
            let settled: Option<Vec<Vec<ClusterNode>>> = views
                .iter()
                .map(|view| match view {
                    Ok((true, nodes)) => Some(only(nodes, &running)),
                    _ => None,
                })
                .collect();
            if let Some(settled) = settled
                && settled.iter().all(|nodes| complete(nodes, MASTERS))
            {
                return owner(&settled[0], slot).expect("a complete view").port;
            }
            assert!(
                Instant::now() < deadline,
                "no failover within {FORM_LIMIT:?}: {views:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Starts a node on each port; `None` (and the others stopped) when one
/// port was taken meanwhile.
fn start_nodes(ports: &[u16]) -> anyhow::Result<Option<Vec<RedisServer>>> {
    let mut nodes = Vec::new();
    for &port in ports {
        let args = [
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            "1000",
            "--cluster-replica-validity-factor",
            "0",
            // A replica's first sync starts at once, not 5 s later.
            "--repl-diskless-sync-delay",
            "0",
        ];
        match RedisServer::try_start_on(port, false, &args)? {
            Some(node) => nodes.push(node),
            None => return Ok(None),
        }
    }
    Ok(Some(nodes))
}

/// Whether the node on `port` says `cluster_state:ok`, and its `CLUSTER
/// NODES`.
fn node_view(port: u16) -> anyhow::Result<(bool, Vec<ClusterNode>)> {
    let mut connection = connect(port, Duration::from_secs(1))?;
    let info: String = ::redis::cmd("CLUSTER").arg("INFO").query(&mut connection)?;
    let nodes: String = ::redis::cmd("CLUSTER")
        .arg("NODES")
        .query(&mut connection)?;
    Ok((
        info.lines().any(|line| line.trim() == "cluster_state:ok"),
        parse_nodes(&nodes)?,
    ))
}

/// The nodes on `ports`.
fn only(nodes: &[ClusterNode], ports: &[u16]) -> Vec<ClusterNode> {
    nodes
        .iter()
        .filter(|n| ports.contains(&n.port))
        .cloned()
        .collect()
}

/// `masters` masters none of which is failing serve every slot between
/// them, and every other node is a replica.
fn complete(nodes: &[ClusterNode], masters: usize) -> bool {
    let serving: Vec<&ClusterNode> = nodes
        .iter()
        .filter(|n| n.master && !n.failing && !n.slots.is_empty())
        .collect();
    let slots: u32 = serving
        .iter()
        .flat_map(|n| &n.slots)
        .map(|(low, high)| u32::from(high - low) + 1)
        .sum();
    serving.len() == masters && slots == u32::from(SLOTS) && nodes.iter().all(|n| !n.failing)
}

/// The master (not failing) that serves `slot`.
pub fn owner(nodes: &[ClusterNode], slot: u16) -> Option<ClusterNode> {
    nodes
        .iter()
        .find(|n| n.master && !n.failing && n.slots.iter().any(|(l, h)| (*l..=*h).contains(&slot)))
        .cloned()
}

/// Parses `CLUSTER NODES`: `<id> <ip:port@cport[,host]> <flags> <master>
/// <ping> <pong> <epoch> <link> <slot>…`, where a slot is `N`, `N-M`, or
/// `[N->-id]` / `[N-<-id]` for one being moved (skipped).
pub fn parse_nodes(text: &str) -> anyhow::Result<Vec<ClusterNode>> {
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| parse_node(line).with_context(|| format!("bad CLUSTER NODES line {line:?}")))
        .collect()
}

fn parse_node(line: &str) -> anyhow::Result<ClusterNode> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let [
        id,
        address,
        flags,
        master,
        _ping,
        _pong,
        _epoch,
        _link,
        slots @ ..,
    ] = &fields[..]
    else {
        bail!("fewer than 8 fields");
    };
    let host_port = address.split(['@', ',']).next().unwrap_or_default();
    let port = host_port.rsplit_once(':').context("no port")?.1.parse()?;
    let flags: Vec<&str> = flags.split(',').collect();
    let mut ranges = Vec::new();
    for slot in slots.iter().filter(|slot| !slot.starts_with('[')) {
        let (low, high) = slot.split_once('-').unwrap_or((slot, slot));
        ranges.push((low.parse()?, high.parse()?));
    }
    Ok(ClusterNode {
        id: (*id).to_owned(),
        port,
        master: flags.contains(&"master"),
        master_id: (*master != "-").then(|| (*master).to_owned()),
        failing: flags.iter().any(|flag| flag.starts_with("fail")),
        slots: ranges,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NODES_TEXT: &str = "\
07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004@40004 slave e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 0 1426238317239 4 connected
67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 127.0.0.1:30002@40002,node-2 master - 0 1426238316232 2 connected 5461-10922
292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f 127.0.0.1:30003@40003 master - 0 1426238318243 3 connected 10923-16383 [93->-e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca]
6ec23923021cf3ffec47632106199cb7f496ce01 127.0.0.1:30005@40005 slave 67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 0 1426238316232 5 connected
824fe116063bc5fcf9f4ffd895bc17aee7731ac3 127.0.0.1:30006@40006 slave 292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f 0 1426238317741 6 connected
e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001@40001 myself,master - 0 0 1 connected 0-5460
";

    #[test]
    fn parses_cluster_nodes_and_finds_a_slots_owner() {
        let nodes = parse_nodes(NODES_TEXT).unwrap();
        assert_eq!(nodes.len(), 6);
        assert_eq!(
            nodes[1].port, 30002,
            "the hostname after the comma is not the port"
        );
        assert_eq!(
            nodes[2].slots,
            vec![(10923, 16383)],
            "a slot being moved is skipped"
        );
        assert!(nodes[5].master && nodes[5].master_id.is_none());
        assert_eq!(
            nodes[0].master_id.as_deref(),
            Some("e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca")
        );
        assert!(complete(&nodes, MASTERS));
        assert_eq!(owner(&nodes, 0).unwrap().port, 30001);
        assert_eq!(owner(&nodes, 5461).unwrap().port, 30002);
        assert_eq!(owner(&nodes, 16383).unwrap().port, 30003);
        assert!(parse_nodes("abc 127.0.0.1:1@2 master").is_err());
    }

    #[test]
    fn a_failing_master_leaves_the_cluster_incomplete() {
        let text = NODES_TEXT.replace("myself,master", "master,fail");
        let nodes = parse_nodes(&text).unwrap();
        assert!(nodes[5].failing);
        assert!(!complete(&nodes, MASTERS));
        assert_eq!(owner(&nodes, 0), None);
        let others = [30001, 30003, 30004, 30005, 30006];
        assert!(!complete(&only(&nodes, &others), MASTERS), "slots missing");
    }
}
