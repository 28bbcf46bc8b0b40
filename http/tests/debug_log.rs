//! Every limit and timeout a client runs into is logged at debug level,
//! with the client's address and the status it got (issue 18: "a log line
//! at debug level"). A logger of this test binary keeps kiln-http's lines.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Request;
use kiln_http::server::ServerConfig;
use log::{Level, LevelFilter, Log, Metadata, Record};

mod util;

use util::{TestServer, exchange, table};

/// kiln-http's debug lines so far.
static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Keep;

impl Log for Keep {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= Level::Debug && metadata.target().starts_with("kiln_http")
    }

    fn log(&self, record: &Record<'_>) {
        if self.enabled(record.metadata()) {
            LINES.lock().unwrap().push(record.args().to_string());
        }
    }

    fn flush(&self) {}
}

static LOGGER: Keep = Keep;

/// Waits for a line that contains all of `parts`.
fn wait_for_line(parts: &[&str]) -> Result<(), String> {
    let deadline = Instant::now() + util::TIMEOUT;
    while Instant::now() < deadline {
        if LINES
            .lock()
            .unwrap()
            .iter()
            .any(|line| parts.iter().all(|part| line.contains(part)))
        {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Err(format!(
        "no debug line with {parts:?} in {:#?}",
        LINES.lock().unwrap()
    ))
}

async fn length(request: Request<Bytes>) -> String {
    format!("{}", request.body().len())
}

#[test]
fn every_limit_and_timeout_is_logged_with_its_status() {
    log::set_logger(&LOGGER).unwrap();
    log::set_max_level(LevelFilter::Debug);
    let config = ServerConfig::default()
        .with_max_body_size(table::MAX_BODY_SIZE)
        .with_head_timeout(Duration::from_millis(200))
        .with_body_timeout(Duration::from_millis(200))
        .with_idle_timeout(Duration::from_millis(200));
    let server = TestServer::handler(length, config);
    let mut failures = Vec::new();
    // Every refused row of the conformance table, and the two timeouts.
    let mut cases: Vec<(String, Vec<u8>, u16)> = table::rows()
        .into_iter()
        .filter(|(name, _, status, _)| *status != 200 && !name.ends_with("cut short"))
        .map(|(name, raw, status, _)| (name.to_owned(), raw, status))
        .collect();
    cases.push(("slow head".into(), b"GET / HTTP/1.1\r\n".to_vec(), 408));
    cases.push((
        "slow body".into(),
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\nabc".to_vec(),
        408,
    ));
    for (name, raw, status) in cases {
        let (response, stream) = exchange(server.address, &raw);
        let peer = stream.local_addr().unwrap().to_string();
        match response {
            Some(response) if response.status == status => {
                if let Err(err) = wait_for_line(&[&peer, &status.to_string()]) {
                    failures.push(format!("{name}: {err}"));
                }
            }
            other => failures.push(format!("{name}: got {other:?}, expected {status}")),
        }
    }
    // The idle timeout closes without an answer, with a line.
    let (response, stream) = exchange(server.address, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(response.expect("no response").status, 200);
    let peer = stream.local_addr().unwrap().to_string();
    if let Err(err) = wait_for_line(&[&peer, "idle timeout"]) {
        failures.push(format!("idle timeout: {err}"));
    }
    server.stop();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
