//! What a gateway under test answers, whether it runs in this process
//! ([`crate::Gateway`]) or as a child ([`crate::GatewayProcess`]): its
//! URLs, one value of its `/metrics`, and whether its bus is up. Metrics
//! and readiness are read on the metrics address when it has one
//! (`--metrics-listen`), which is also how a test reaches a gateway that
//! takes connections from a load balancer only (`--proxy-protocol`).

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use crate::http;

/// A gateway listening on `addr()`.
pub trait Served {
    /// The address of its HTTP and WebSocket listener.
    fn addr(&self) -> SocketAddr;

    /// Where it serves `/metrics` and `/readyz`: its metrics address, or
    /// [`Served::addr`].
    fn operations_addr(&self) -> SocketAddr {
        self.addr()
    }

    /// `http://ADDR`.
    fn url(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// The dashboard's WebSocket endpoint.
    fn ws_url(&self) -> String {
        format!("ws://{}/dashboard/ws", self.addr())
    }

    /// The URL of `path` on the gateway.
    fn http(&self, path: &str) -> String {
        format!("{}{path}", self.url())
    }

    /// One value of the Prometheus text at `/metrics` (`name` with its
    /// labels); panics when it is missing.
    fn metric(&self, name: &str) -> impl Future<Output = f64> + Send {
        let (addr, name) = (self.operations_addr(), name.to_owned());
        async move {
            let fetched = tokio::task::spawn_blocking(move || {
                http::get(addr, "/metrics", Duration::from_secs(10))
            })
            .await
            .expect("the /metrics request ran");
            let (status, body) = fetched.expect("GET /metrics");
            assert_eq!(status, 200, "GET /metrics: {body}");
            http::prometheus_value(&body, &name)
                .unwrap_or_else(|| panic!("metric {name} missing in:\n{body}"))
        }
    }

    /// Waits, at most `limit`, until `/readyz` answers 200: the bus link is
    /// up (for Redis: subscribed and following the stream).
    fn wait_bus_up(&self, limit: Duration) -> impl Future<Output = ()> + Send {
        let addr = self.operations_addr();
        async move {
            tokio::task::spawn_blocking(move || {
                http::wait_for_status(addr, "/readyz", limit, |status| status == 200)
            })
            .await
            .expect("the /readyz wait ran")
            .unwrap_or_else(|err| panic!("timed out waiting for the bus to be up: {err:#}"));
        }
    }
}
