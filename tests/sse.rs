//! The SSE transport end to end: curl reads the stream and resumes with
//! `Last-Event-ID`; tickets let `EventSource` in once, never a JWT in a URL;
//! tenants see only theirs. The gateway serves from this process.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use testkit::{Gateway, Minter, Served, TempDir};

/// One SSE event: its id and its data.
#[derive(Debug)]
struct Event {
    id: Option<String>,
    data: Value,
}

/// `curl -N` on the stream, read line by line on a thread.
struct Curl {
    child: Child,
    events: std::sync::mpsc::Receiver<Event>,
}

impl Curl {
    fn open(url: &str, headers: &[(&str, &str)]) -> Curl {
        let mut command = Command::new("curl");
        command.args(["-sN", "--max-time", "60", url]);
        for (name, value) in headers {
            command.args(["-H", &format!("{name}: {value}")]);
        }
        let mut child = command.stdout(Stdio::piped()).spawn().expect("curl");
        let stdout = child.stdout.take().unwrap();
        let (sender, events) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut id = None;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(value) = line.strip_prefix("id: ") {
                    id = Some(value.to_owned());
                } else if let Some(data) = line.strip_prefix("data: ") {
                    let data = serde_json::from_str(data).unwrap_or(Value::Null);
                    if sender
                        .send(Event {
                            id: id.take(),
                            data,
                        })
                        .is_err()
                    {
                        return;
                    }
                }
            }
        });
        Curl { child, events }
    }

    /// The next event, at most 10 s away.
    fn next(&self) -> Event {
        self.events
            .recv_timeout(Duration::from_secs(10))
            .expect("an SSE event")
    }

    /// The next event of `kind`, skipping others.
    fn next_of(&self, kind: &str) -> Event {
        loop {
            let event = self.next();
            if event.data["type"] == kind {
                return event;
            }
        }
    }
}

impl Drop for Curl {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn publish(gateway: &Gateway, token: Option<&str>, event: Value) -> Value {
    let mut request = reqwest::Client::new()
        .post(gateway.http("/api/events"))
        .header("content-type", "application/json")
        .body(event.to_string());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 202);
    response.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_reads_the_stream_and_resumes_with_last_event_id() {
    let gateway = Gateway::start(&["serve"]);
    let url = gateway.http("/dashboard/sse");
    let stream = Curl::open(&url, &[]);
    assert_eq!(stream.next().data["type"], "welcome");
    assert_eq!(stream.next().data["type"], "snapshot");
    let first = publish(&gateway, None, json!({"type": "note", "n": 1})).await;
    let event = stream.next_of("event");
    assert_eq!(
        event.id.as_deref(),
        first["id"].as_str(),
        "id: carries the event id"
    );
    assert_eq!(event.data["event"]["n"], 1);
    drop(stream);
    // Missed while away: two events; the resume brings exactly those.
    publish(&gateway, None, json!({"type": "note", "n": 2})).await;
    publish(&gateway, None, json!({"type": "note", "n": 3})).await;
    let resumed = Curl::open(&url, &[("Last-Event-ID", first["id"].as_str().unwrap())]);
    assert_eq!(resumed.next().data["type"], "welcome");
    assert_eq!(resumed.next().data["replayed"], 2);
    assert_eq!(resumed.next().data["event"]["n"], 2);
    assert_eq!(resumed.next().data["event"]["n"], 3);
    assert_eq!(
        gateway.metric("tactical_link_sse_connections_total").await,
        2.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_lets_one_stream_in_and_tenants_see_only_theirs() {
    let dir = TempDir::new("tl-sse").unwrap();
    let secret = testkit::tokens::random_secret();
    let secret_file = dir.write("secret", &secret).unwrap();
    let gateway = Gateway::start(&["serve", "--jwt-secret-file", secret_file.to_str().unwrap()]);
    let minter = Minter::new(secret);
    let viewer = minter
        .mint("alice", Some("acme"), &["viewer"], Duration::from_secs(300))
        .unwrap();
    let admin = minter
        .mint("root", None, &["admin"], Duration::from_secs(300))
        .unwrap();
    let url = gateway.http("/dashboard/sse");
    let refused = reqwest::get(&url).await.unwrap();
    assert_eq!(refused.status(), 401, "no token, no ticket");
    let ticket: Value = reqwest::Client::new()
        .post(gateway.http("/api/sse-ticket"))
        .header("content-type", "application/json")
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ticket = ticket["ticket"].as_str().unwrap().to_owned();
    let with_ticket = format!("{url}?ticket={ticket}");
    let stream = Curl::open(&with_ticket, &[]);
    assert_eq!(stream.next().data["type"], "welcome");
    let authenticated = stream.next();
    assert_eq!(
        (
            authenticated.data["type"].as_str(),
            authenticated.data["sub"].as_str()
        ),
        (Some("authenticated"), Some("alice"))
    );
    assert_eq!(stream.next().data["type"], "snapshot");
    assert_eq!(
        reqwest::get(&with_ticket).await.unwrap().status(),
        401,
        "a ticket works once"
    );
    publish(
        &gateway,
        Some(&admin),
        json!({"type": "g", "tenant": "globex"}),
    )
    .await;
    publish(
        &gateway,
        Some(&admin),
        json!({"type": "a", "tenant": "acme"}),
    )
    .await;
    assert_eq!(
        stream.next_of("event").data["event"]["type"],
        "a",
        "globex's never came"
    );
    // A tool sends its token as a header instead.
    let tool = Curl::open(&url, &[("Authorization", &format!("Bearer {admin}"))]);
    assert_eq!(tool.next().data["type"], "welcome");
    assert_eq!(tool.next().data["sub"], "root");
}
