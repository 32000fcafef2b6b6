//! Where the channel's Redis is, asked anew at every connection, so that
//! after a failover the next reconnect finds the new primary:
//!
//! - `redis://host:port/db`: one server;
//! - `redis+sentinel://host:port,host:port/<service>`: the primary a set of
//!   Sentinels names for `<service>` (Debian's `redis-sentinel`);
//! - `redis+cluster://host:port,host:port`: the master of a Redis Cluster
//!   that owns the slot of the channel's hash tag (`{<channel>}`: every key
//!   of the channel lives there, keys.rs), found with `CLUSTER SLOTS` on the
//!   first seed node that answers.
//!
//! Pub/sub needs no routing: a classic `PUBLISH` reaches the subscribers of
//! every node of a cluster, and a Sentinel's primary is where services
//! publish. The gateway uses classic pub/sub: existing services publish on
//! the channel with plain `PUBLISH`, which sharded pub/sub would not see.

use redis::aio::MultiplexedConnection;
use redis::sentinel::{SentinelClient, SentinelServerType};
use redis::{AsyncConnectionConfig, Client, ErrorKind, RedisError, RedisResult};

use super::{COMMAND_TIMEOUT, CONNECT_TIMEOUT};

/// See the module documentation.
pub enum Endpoint {
    Single(Client),
    Sentinel(tokio::sync::Mutex<SentinelClient>),
    Cluster {
        seeds: Vec<Client>,
        /// A key of the channel's slot (`CLUSTER KEYSLOT` finds the slot).
        key: String,
    },
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Endpoint::Single(_) => "Endpoint::Single",
            Endpoint::Sentinel(_) => "Endpoint::Sentinel",
            Endpoint::Cluster { .. } => "Endpoint::Cluster",
        })
    }
}

impl Endpoint {
    /// The endpoint of `url` for `channel`; an error says what is wrong.
    pub fn parse(url: &str, channel: &str) -> Result<Endpoint, String> {
        if let Some(rest) = url.strip_prefix("redis+sentinel://") {
            let (hosts, service) = rest.split_once('/').unwrap_or((rest, ""));
            if service.is_empty() {
                return Err(
                    "a Sentinel URL names its service: redis+sentinel://host:port,…/<service>"
                        .into(),
                );
            }
            let sentinels = seed_urls(hosts)?;
            let client = SentinelClient::build(
                sentinels,
                service.to_owned(),
                None,
                SentinelServerType::Master,
            )
            .map_err(|err| err.to_string())?;
            return Ok(Endpoint::Sentinel(tokio::sync::Mutex::new(client)));
        }
        if let Some(hosts) = url.strip_prefix("redis+cluster://") {
            let seeds = seed_urls(hosts.trim_end_matches('/'))?
                .iter()
                .map(|url| Client::open(url.as_str()).map_err(|err| err.to_string()))
                .collect::<Result<Vec<_>, _>>()?;
            let key = super::Keys::for_channel(channel).settings;
            return Ok(Endpoint::Cluster { seeds, key });
        }
        Client::open(url)
            .map(Endpoint::Single)
            .map_err(|err| err.to_string())
    }

    /// A client of the server to talk to now.
    pub async fn client(&self) -> RedisResult<Client> {
        match self {
            Endpoint::Single(client) => Ok(client.clone()),
            Endpoint::Sentinel(sentinel) => {
                let mut sentinel = sentinel.lock().await;
                within(sentinel.async_get_client()).await
            }
            Endpoint::Cluster { seeds, key } => slot_master(seeds, key).await,
        }
    }

    /// A multiplexed connection, with `config`, to the server to talk to now.
    pub async fn connect(
        &self,
        config: &AsyncConnectionConfig,
    ) -> RedisResult<MultiplexedConnection> {
        let client = self.client().await?;
        client
            .get_multiplexed_async_connection_with_config(config)
            .await
    }
}

/// `host:port,host:port` as `redis://` URLs.
fn seed_urls(hosts: &str) -> Result<Vec<String>, String> {
    let urls: Vec<String> = hosts
        .split(',')
        .map(str::trim)
        .filter(|host| !host.is_empty())
        .map(|host| format!("redis://{host}"))
        .collect();
    if urls.is_empty() {
        return Err("no host:port given".into());
    }
    for url in &urls {
        Client::open(url.as_str()).map_err(|err| format!("{url}: {err}"))?;
    }
    Ok(urls)
}

async fn within<T>(work: impl Future<Output = RedisResult<T>>) -> RedisResult<T> {
    tokio::time::timeout(CONNECT_TIMEOUT + COMMAND_TIMEOUT, work)
        .await
        .unwrap_or_else(|_| Err(RedisError::from((ErrorKind::Io, "no answer in time"))))
}

/// The master that owns `key`'s slot, asked of the first seed that answers.
async fn slot_master(seeds: &[Client], key: &str) -> RedisResult<Client> {
    let mut last = RedisError::from((ErrorKind::Io, "no cluster seed answered"));
    for seed in seeds {
        match within(ask_slot_master(seed, key)).await {
            Ok(client) => return Ok(client),
            Err(err) => last = err,
        }
    }
    Err(last)
}

async fn ask_slot_master(seed: &Client, key: &str) -> RedisResult<Client> {
    let mut connection = seed.get_multiplexed_async_connection().await?;
    let slot: i64 = redis::cmd("CLUSTER")
        .arg("KEYSLOT")
        .arg(key)
        .query_async(&mut connection)
        .await?;
    let slots: redis::Value = redis::cmd("CLUSTER")
        .arg("SLOTS")
        .query_async(&mut connection)
        .await?;
    let (host, port) = master_of(&slots, slot)
        .ok_or_else(|| RedisError::from((ErrorKind::Io, "no master owns the channel's slot")))?;
    Client::open(format!("redis://{host}:{port}"))
}

/// The master (host, port) of `slot` in a `CLUSTER SLOTS` reply: entries of
/// `[start, end, [host, port, id…], replicas…]`.
fn master_of(slots: &redis::Value, slot: i64) -> Option<(String, i64)> {
    let redis::Value::Array(ranges) = slots else {
        return None;
    };
    ranges.iter().find_map(|range| {
        let redis::Value::Array(parts) = range else {
            return None;
        };
        let (Some(redis::Value::Int(start)), Some(redis::Value::Int(end))) =
            (parts.first(), parts.get(1))
        else {
            return None;
        };
        if !(start..=end).contains(&&slot) {
            return None;
        }
        let Some(redis::Value::Array(master)) = parts.get(2) else {
            return None;
        };
        let host = match master.first()? {
            redis::Value::BulkString(bytes) => String::from_utf8(bytes.clone()).ok()?,
            redis::Value::SimpleString(text) => text.clone(),
            _ => return None,
        };
        let redis::Value::Int(port) = master.get(1)? else {
            return None;
        };
        Some((host, *port))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_one_server_sentinels_or_cluster_seeds() {
        assert!(matches!(
            Endpoint::parse("redis://127.0.0.1:6379", "c"),
            Ok(Endpoint::Single(_))
        ));
        assert!(matches!(
            Endpoint::parse(
                "redis+sentinel://127.0.0.1:26379,127.0.0.1:26380/mymaster",
                "c"
            ),
            Ok(Endpoint::Sentinel(_))
        ));
        assert!(
            Endpoint::parse("redis+sentinel://127.0.0.1:26379", "c")
                .unwrap_err()
                .contains("service")
        );
        let Ok(Endpoint::Cluster { seeds, key }) =
            Endpoint::parse("redis+cluster://127.0.0.1:7000,127.0.0.1:7001", "c")
        else {
            panic!("a cluster")
        };
        assert_eq!(seeds.len(), 2);
        assert_eq!(key, "tactical-link:{c}:settings");
        assert!(Endpoint::parse("redis+cluster://", "c").is_err());
        assert!(Endpoint::parse("http://x", "c").is_err());
    }

    #[test]
    fn the_master_of_a_slot_is_read_from_cluster_slots() {
        let bulk = |s: &str| redis::Value::BulkString(s.as_bytes().to_vec());
        let range = |start, end, port| {
            redis::Value::Array(vec![
                redis::Value::Int(start),
                redis::Value::Int(end),
                redis::Value::Array(vec![bulk("127.0.0.1"), redis::Value::Int(port), bulk("id")]),
                redis::Value::Array(vec![
                    bulk("127.0.0.1"),
                    redis::Value::Int(port + 3),
                    bulk("r"),
                ]),
            ])
        };
        let slots = redis::Value::Array(vec![
            range(0, 5460, 7000),
            range(5461, 10922, 7001),
            range(10923, 16383, 7002),
        ]);
        assert_eq!(master_of(&slots, 6000), Some(("127.0.0.1".into(), 7001)));
        assert_eq!(master_of(&slots, 16383), Some(("127.0.0.1".into(), 7002)));
        assert_eq!(master_of(&redis::Value::Nil, 1), None);
    }
}
