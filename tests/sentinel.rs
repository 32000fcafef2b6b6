//! Gateways on `redis+sentinel://` (a primary, its replica, three
//! sentinels on free ports) while the primary fails, with clients on both
//! gateways, a durable publisher (`WAIT` for one replica) at a steady pace,
//! plain `PUBLISH` as existing services send, and `/readyz` polled
//! throughout (testkit::failover):
//!
//! - killed (SIGKILL): the sentinels promote the replica, the gateways
//!   follow it, readiness is 503 for a bounded time and 200 after;
//! - frozen (SIGSTOP): the sockets stay open and silent, the classic dead
//!   subscription; readiness must go red (ping and probe timeouts), the
//!   gateways must move to the promoted replica, and once the old primary
//!   runs again (SIGCONT; the sentinels demote it) nothing of theirs stays
//!   on it or goes back.
//!
//! In both, every client ends with every event a publish was told
//! succeeded, and every event of the stream, exactly once in stream order
//! (clients resume); and readiness told the truth: whenever a gateway said
//! 200, the next event published reached its clients within
//! [`DELIVERY_BOUND`].

use std::time::Duration;

use tactical_link::bus::redis::Keys;
use testkit::failover::{Scene, plain_publish, recorded, stream_ids_with_plain};
use testkit::{RedisSentinel, Served, Signal, eventually};

const CHANNEL: &str = "system_events";
/// Longest a gateway may say 503 around the failover: the sentinels' down
/// time (1 s) and election (a failed one is tried again after twice the
/// failover timeout, 6 s), the gateway's reconnect back-off (at most 1 s
/// here) and a busy machine. (A frozen primary is 200 until found out:
/// [`DELIVERY_BOUND`] covers that.)
const OUTAGE_BOUND: Duration = Duration::from_secs(15);
/// Longest from a 200 on `/readyz` to the next event published reaching
/// the gateway's clients: a frozen primary found out (6 s), the
/// publisher's own command timeout (5 s) when it was sent there, the
/// reconnects, and a busy machine.
const DELIVERY_BOUND: Duration = Duration::from_secs(17);

/// How the primary fails.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Failure {
    Kill,
    Freeze,
}

async fn fail_over(failure: Failure) {
    let mut deployment = RedisSentinel::start();
    let sentinels: Vec<String> = (deployment.sentinel_ports().iter())
        .map(|port| format!("127.0.0.1:{port}"))
        .collect();
    let name = deployment.master_name();
    let url = format!("redis+sentinel://{}/{name}", sentinels.join(","));
    let scene = Scene::start(&url, CHANNEL).await;
    scene.more_events(20, "events before the failure").await;
    let old = deployment.primary().port();
    plain_publish(old, CHANNEL, r#"{"type":"failover.plain","n":1}"#);
    // Recorded, then on the replica: a publish told succeeded after it
    // waited for the replica to hold everything before.
    recorded(old, CHANNEL, "failover.plain").await;
    scene.more_events(20, "events after the plain one").await;

    let old_pid = deployment.primary().pid().unwrap();
    match failure {
        Failure::Kill => deployment.kill_primary(),
        Failure::Freeze => testkit::process::send(old_pid, Signal::Stop),
    }
    let new = tokio::task::block_in_place(|| deployment.wait_failover());
    // Both gateways have moved: ready again, and delivering.
    scene.all_ready().await;
    scene.more_events(20, "events after the failover").await;
    if failure == Failure::Freeze {
        testkit::process::send(old_pid, Signal::Cont);
        demoted(old, new).await;
    }
    plain_publish(new, CHANNEL, r#"{"type":"failover.plain","n":2}"#);
    scene
        .more_events(20, "events after the old primary is back")
        .await;
    for (g, gateway) in scene.gateways.iter().enumerate() {
        let lost = gateway.metric("tactical_link_bus_disconnects_total").await;
        assert!(lost >= 1.0, "gateway {g} never said its link was down");
    }

    let outcome = scene.finish().await;
    let ids = stream_ids_with_plain(new, CHANNEL, "failover.plain", 2);
    let measured = outcome.check(&ids, OUTAGE_BOUND, DELIVERY_BOUND);
    if failure == Failure::Kill {
        // A killed primary is seen at once, and not replaced at once.
        assert!(measured.outages.iter().all(Option::is_some), "{measured:?}");
    } else {
        assert_nothing_on(old);
    }
    eprintln!("{failure:?}: {measured:?}");
}

/// Waits until the old primary, running again, is a replica of the new one.
async fn demoted(old: u16, new: u16) {
    let replica_of_new = async || {
        tokio::task::spawn_blocking(move || {
            let info = testkit::redis::connect(old, Duration::from_secs(1)).and_then(|mut c| {
                redis::cmd("INFO")
                    .arg("replication")
                    .query::<String>(&mut c)
            });
            info.is_ok_and(|info| {
                info.contains("role:slave")
                    && info.contains(&format!("master_port:{new}"))
                    && info.contains("master_link_status:up")
            })
        })
        .await
        .unwrap()
    };
    eventually(
        Duration::from_secs(20),
        "the old primary demoted",
        replica_of_new,
    )
    .await;
}

/// No gateway connection is left on the demoted old primary: none
/// subscribed to the channel or the probe there, none reading the stream
/// or writing.
fn assert_nothing_on(port: u16) {
    let mut connection = testkit::redis::connect(port, Duration::from_secs(2)).unwrap();
    let probe = Keys::for_channel(CHANNEL).probe;
    let subscribers: Vec<(String, i64)> = redis::cmd("PUBSUB")
        .arg("NUMSUB")
        .arg(CHANNEL)
        .arg(&probe)
        .query(&mut connection)
        .unwrap();
    assert!(
        subscribers.iter().all(|(_, n)| *n == 0),
        "subscriptions left on the demoted primary: {subscribers:?}"
    );
    let clients: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query(&mut connection)
        .unwrap();
    let commands = ["cmd=xread", "cmd=evalsha", "cmd=set", "cmd=hset"];
    let ours: Vec<&str> = (clients.lines())
        .filter(|line| commands.iter().any(|c| line.contains(c)))
        .collect();
    assert!(
        ours.is_empty(),
        "gateway connections left on the demoted primary: {ours:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateways_follow_a_killed_primarys_promoted_replica_with_truthful_readiness() {
    fail_over(Failure::Kill).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateways_leave_a_frozen_primary_and_never_go_back_to_it() {
    fail_over(Failure::Freeze).await;
}
