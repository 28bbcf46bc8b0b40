//! Runs example 14 (`rt_14_metrics`) on a free port: scrapes its metrics
//! over HTTP, sends a bad request (logged with the actor's name), makes it
//! log its metrics with SIGUSR2, and stops it with SIGINT.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::thread;
use std::time::Duration;

mod util;

use util::example;
use util::server::ServerExample;
use util::timeout::TIMEOUT;

/// Sends `request` and reads the whole response.
fn request(address: SocketAddr, request: &str) -> String {
    let mut stream = TcpStream::connect_timeout(&address, TIMEOUT).expect("can't connect");
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("no response");
    response
}

#[test]
fn example_14_metrics() {
    let mut command = Command::new(example("rt_14_metrics"));
    command.arg("127.0.0.1:0").env_remove("RUST_LOG");
    let mut child = ServerExample::spawn("rt_14_metrics", command);
    let address = child.address;
    // A readable log line: time, level, thread, target, message.
    let started = child.wait_for_stderr_line("serving metrics at");
    assert!(
        started.contains(" INFO  [main] rt_14_metrics: "),
        "{started}"
    );

    // The metrics, in Prometheus' text format. The tickers send every 10
    // ms: wait until some messages went through.
    thread::sleep(Duration::from_millis(100));
    let response = request(address, "GET /metrics HTTP/1.1\r\nHost: test\r\n\r\n");
    let (head, body) = response.split_once("\r\n\r\n").expect("no header end");
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(
        head.contains("Content-Type: text/plain; version=0.0.4"),
        "{head}"
    );
    let mut samples = std::collections::HashMap::new();
    for line in body.lines().filter(|l| !l.starts_with('#')) {
        let (name, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line}"));
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("{line}"));
        samples.insert(name.to_owned(), value);
    }
    let sample = |name: &str| {
        *samples
            .get(name)
            .unwrap_or_else(|| panic!("no {name} in\n{body}"))
    };
    let rt = "runtime=\"metrics-example\"";
    // Per worker: its server, counter and ticker, and the connection actor
    // answering this request on one of them.
    let actors = sample(&format!("kiln_actors{{{rt},kind=\"thread-local\"}}"));
    assert!((6.0..=7.0).contains(&actors), "{body}");
    for worker in 0..2 {
        let label = format!("{{{rt},worker=\"{worker}\"}}");
        assert!(
            sample(&format!("kiln_worker_actors{label}")) >= 3.0,
            "{body}"
        );
        assert!(
            sample(&format!("kiln_worker_polls_total{label}")) > 0.0,
            "{body}"
        );
        assert!(
            sample(&format!("kiln_worker_messages_received_total{label}")) > 0.0,
            "{body}"
        );
        assert!(
            sample(&format!("kiln_worker_timers_pending{label}")) >= 1.0,
            "{body}"
        );
        assert!(
            sample(&format!("kiln_worker_cpu_seconds_total{label}")) >= 0.0,
            "{body}"
        );
    }
    let submitted: f64 = (0..2)
        .map(|w| {
            sample(&format!(
                "kiln_worker_io_submitted_total{{{rt},worker=\"{w}\"}}"
            ))
        })
        .sum();
    assert!(submitted >= 1.0, "the listeners' accepts: {body}");
    assert!(sample(&format!("kiln_uptime_seconds{{{rt}}}")) > 0.0);

    // Another path: 404.
    let response = request(address, "GET /other HTTP/1.1\r\n\r\n");
    assert!(
        response.starts_with("HTTP/1.1 404 Not Found\r\n"),
        "{response}"
    );

    // Not a GET: the connection actor fails, and the log names it.
    let _ = request(address, "HELLO\r\n\r\n");
    let failed = child.wait_for_stderr_line("failed, stopping it");
    assert!(
        failed.contains(" WARN  [metrics-example:worker:")
            && failed.contains(
                "actor 'serve_metrics' failed, stopping it: not an HTTP GET request: 'HELLO'"
            ),
        "{failed}"
    );

    // SIGUSR2: the coordinator logs the metrics, a line for the runtime and
    // one per worker.
    child.signal(libc::SIGUSR2);
    let runtime_line = child.wait_for_stderr_line("runtime 'metrics-example': up ");
    assert!(
        runtime_line.contains(" INFO  [main] kiln_rt::metrics: "),
        "{runtime_line}"
    );
    let worker_0 = child.wait_for_stderr_line("kiln_rt::metrics: worker 0: ");
    assert!(worker_0.contains("messages"), "{worker_0}");
    child.wait_for_stderr_line("kiln_rt::metrics: worker 1: ");

    // It logs: stopped by hand, its log checked.
    child.signal(libc::SIGINT);
    let exit = child.exit(TIMEOUT);
    assert!(
        !exit.stderr.contains("no actor receives it"),
        "SIGUSR2 is not an unhandled signal: {}",
        exit.stderr
    );
    exit.assert_success("stopped\n");
}
