//! The conformance table (`tests/util/table.rs`) against a running server
//! over TCP: every row's status, and whether the connection closes.

use std::io::Write;
use std::net::Shutdown;
use std::time::Duration;

use bytes::Bytes;
use http::Request;
use kiln_http::server::ServerConfig;

mod util;

use util::{TestServer, connect, is_closed, read_response, table};

/// Answers with the length of the body it got.
async fn length(request: Request<Bytes>) -> String {
    format!("{}", request.body().len())
}

#[test]
fn conformance_table_over_tcp() {
    let config = ServerConfig::default().with_max_body_size(table::MAX_BODY_SIZE);
    let server = TestServer::handler(length, config);
    let mut failures = Vec::new();
    for (name, raw, status, close) in table::rows() {
        let mut stream = connect(server.address);
        stream.write_all(&raw).unwrap();
        let cut_short = name.ends_with("cut short");
        if cut_short {
            stream.shutdown(Shutdown::Write).unwrap();
        }
        let response = read_response(&mut stream);
        let got = match (&response, cut_short) {
            (None, true) => "no answer, closed".to_owned(),
            (None, false) => "closed without an answer".to_owned(),
            (Some(r), _) => format!(
                "{} (close: {})",
                r.status,
                is_closed(&mut stream, Duration::from_millis(300))
            ),
        };
        let expected = if cut_short {
            "no answer, closed".to_owned()
        } else {
            format!("{status} (close: {close})")
        };
        if got != expected {
            failures.push(format!("{name}: expected {expected}, got {got}"));
        }
        if let Some(response) = response
            && status == 200
        {
            let said_close = response.header("connection") == Some("close");
            if said_close != close {
                failures.push(format!(
                    "{name}: Connection: close header is {said_close}, expected {close}"
                ));
            }
        }
    }
    server.stop();
    assert!(
        failures.is_empty(),
        "{} rows failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
