//! kiln-http against real clients and servers: curl (keep-alive, chunked
//! upload, 100-continue), Python's `http.client`, wrk (many keep-alive
//! connections, pipelining), hyper's client against kiln's server, and
//! kiln's client against hyper's server.
//!
//! curl, python3 and wrk come from the distribution (`apt-get install curl
//! python3 wrk`); a test whose tool is missing says so and passes.

use std::convert::Infallible;
use std::io;
use std::process::Command;

use bytes::Bytes;
use http::{Method, Request, Response};
use http_body_util::{BodyExt, Full};
use kiln::actor::{self, actor_fn};
use kiln_http::client::{Client, ClientConfig};
use kiln_http::server::{Connection, ServerConfig};
use kiln_rt::access::ThreadLocal;

mod util;

use util::{TestServer, output_of, run_local, send_each};

/// `/echo` streams the body back, anything else answers "hello".
async fn echo(_: actor::Context<Infallible, ThreadLocal>, conn: Connection) -> io::Result<()> {
    while let Some(request) = conn.next_request().await? {
        if request.uri().path() == "/echo" {
            conn.respond(Response::new(request.into_body())).await?;
        } else {
            conn.respond(Response::new("hello")).await?;
        }
    }
    Ok(())
}

/// Whether `tool` runs; says so if not.
fn have(tool: &str) -> bool {
    let found = Command::new(tool)
        .arg("--version")
        .output()
        // wrk prints its version with its usage and fails.
        .is_ok_and(|o| o.status.success() || tool == "wrk");
    if !found {
        eprintln!("{tool} is not installed: test skipped (apt-get install {tool})");
    }
    found
}

/// A file of `size` patterned bytes in the temporary directory.
fn data_file(name: &str, size: usize) -> (std::path::PathBuf, Vec<u8>) {
    let data: Vec<u8> = (0..size).map(|i| (i * 7 % 253) as u8).collect();
    let path = std::env::temp_dir().join(format!("kiln-http-{}-{name}", std::process::id()));
    std::fs::write(&path, &data).unwrap();
    (path, data)
}

/// Runs curl (verbose, with a time limit) with `args`; returns its output
/// and its verbose log.
fn curl(args: &[&str]) -> (Vec<u8>, String) {
    let output = Command::new("curl")
        .args(["-sv", "--max-time", "20"])
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "curl {args:?} failed: {stderr}");
    (output.stdout, stderr)
}

#[test]
fn curl_keep_alive_chunked_upload_and_100_continue() {
    if !have("curl") {
        return;
    }
    let server = TestServer::actor(actor_fn(echo), ServerConfig::default());
    let base = format!("http://{}", server.address);

    let (stdout, stderr) = curl(&[&format!("{base}/a"), &format!("{base}/b")]);
    assert_eq!(stdout, b"hellohello");
    assert!(
        stderr.contains("Re-using existing connection"),
        "no keep-alive: {stderr}"
    );

    let (path, data) = data_file("chunked", 3 * 1024 * 1024 + 17);
    let upload = format!("@{}", path.display());
    let echo = format!("{base}/echo");
    let (stdout, _) = curl(&[
        "-H",
        "Transfer-Encoding: chunked",
        "--data-binary",
        &upload,
        &echo,
    ]);
    assert!(
        stdout == data,
        "chunked upload echoed {} of {} bytes",
        stdout.len(),
        data.len()
    );

    let expect = ["-H", "Expect: 100-continue", "--expect100-timeout", "10"];
    let (stdout, stderr) = curl(&[&expect[..], &["--data-binary", &upload, &echo]].concat());
    assert!(
        stderr.contains("HTTP/1.1 100 Continue"),
        "no 100 Continue: {stderr}"
    );
    assert!(
        stdout == data,
        "100-continue upload echoed {} bytes",
        stdout.len()
    );
    let _ = std::fs::remove_file(path);
    server.stop();
}

#[test]
fn python_http_client() {
    if !have("python3") {
        return;
    }
    let server = TestServer::actor(actor_fn(echo), ServerConfig::default());
    let script = r#"
import http.client, sys
conn = http.client.HTTPConnection(sys.argv[1], int(sys.argv[2]), timeout=10)
for _ in range(3):
    conn.request("GET", "/")
    r = conn.getresponse()
    print(r.status, r.read().decode())
conn.request("POST", "/echo", body=b"x" * 100000)
r = conn.getresponse()
print(r.status, len(r.read()))
conn.request("POST", "/echo", body=iter([b"ab", b"cd"]), encode_chunked=True)
r = conn.getresponse()
print(r.status, r.getheader("transfer-encoding"), r.read().decode())
conn.request("HEAD", "/")
r = conn.getresponse()
print(r.status, r.getheader("content-length"), repr(r.read()))
"#;
    let address = [
        server.address.ip().to_string(),
        server.address.port().to_string(),
    ];
    let stdout = output_of(Command::new("python3").args(["-c", script]).args(&address));
    assert_eq!(
        String::from_utf8(stdout).unwrap(),
        "200 hello\n200 hello\n200 hello\n200 100000\n200 chunked abcd\n200 5 b''\n"
    );
    server.stop();
}

#[test]
fn hyper_client_against_kiln_server() {
    let server = TestServer::actor(actor_fn(echo), ServerConfig::default());
    let address = server.address;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let bodies = runtime.block_on(async move {
        let stream = tokio::net::TcpStream::connect(address).await.unwrap();
        let io = hyper_util::rt::TokioIo::new(stream);
        let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
        tokio::spawn(conn);
        let mut bodies = Vec::new();
        for (method, path, body) in [
            (Method::GET, "/", Bytes::new()),
            (Method::POST, "/echo", Bytes::from(vec![5; 200_000])),
            (Method::GET, "/", Bytes::new()),
        ] {
            let request = Request::builder()
                .method(method)
                .uri(path)
                .header("host", address.to_string())
                .body(Full::new(body))
                .unwrap();
            let response = tokio::time::timeout(util::TIMEOUT, sender.send_request(request))
                .await
                .expect("hyper timed out")
                .unwrap();
            assert_eq!(response.status(), 200);
            let body = response.into_body().collect().await.unwrap().to_bytes();
            bodies.push(body.len());
        }
        bodies
    });
    assert_eq!(bodies, [5, 200_000, 5]);
    server.stop();
}

#[test]
fn kiln_client_against_hyper_server() {
    use hyper::service::service_fn;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let address = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        runtime.block_on(async move {
            // Two connections at most: enough for this test.
            for _ in 0..2 {
                let Ok(Ok((stream, _))) =
                    tokio::time::timeout(util::TIMEOUT, listener.accept()).await
                else {
                    return;
                };
                tokio::spawn(async move {
                    let service =
                        service_fn(|request: Request<hyper::body::Incoming>| async move {
                            let method = request.method().clone();
                            let body = request.into_body().collect().await?.to_bytes();
                            let text = format!("{method} {}", body.len());
                            Ok::<_, hyper::Error>(Response::new(Full::new(Bytes::from(text))))
                        });
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, service)
                        .await;
                });
            }
            tokio::time::sleep(util::TIMEOUT).await;
        });
    });
    let got = run_local(move |rt| async move {
        let client = Client::new(rt, ClientConfig::default());
        let requests = vec![
            (Method::GET, Bytes::new()),
            (Method::POST, Bytes::from(vec![1; 70_000])),
            (Method::PUT, Bytes::from_static(b"abc")),
        ];
        send_each(&client, &format!("http://{address}/"), requests).await
    });
    assert_eq!(
        got,
        [
            ("GET 0".to_owned(), 1),
            ("POST 70000".to_owned(), 1),
            ("PUT 3".to_owned(), 1)
        ]
    );
    drop(server); // Ends with the process.
}

/// wrk over 32 keep-alive connections, plain and with 16 requests per
/// write: every answer a success, no socket error.
#[test]
fn wrk_keep_alive_and_pipelined() {
    if !have("wrk") {
        return;
    }
    let server = TestServer::actor(actor_fn(echo), ServerConfig::default());
    let script = std::env::temp_dir().join(format!("kiln-http-{}-wrk.lua", std::process::id()));
    std::fs::write(
        &script,
        "init = function(args)\n  local r = {}\n  for i = 1, 16 do r[i] = wrk.format() end\n  \
         req = table.concat(r)\nend\nrequest = function() return req end\n",
    )
    .unwrap();
    let url = format!("http://{}/", server.address);
    for pipelined in [false, true] {
        let mut wrk = Command::new("wrk");
        wrk.args(["-t1", "-c32", "-d1s", "--timeout", "5s"]);
        if pipelined {
            wrk.arg("-s").arg(&script);
        }
        let report = String::from_utf8(output_of(wrk.arg(&url))).unwrap();
        let requests: u64 = report
            .lines()
            .find_map(|l| {
                l.split(" requests in ")
                    .next()
                    .filter(|_| l.contains(" requests in "))
            })
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("no request count in {report}"));
        assert!(requests > 100, "{report}");
        assert!(!report.contains("Non-2xx"), "{report}");
        assert!(!report.contains("Socket errors"), "{report}");
    }
    let _ = std::fs::remove_file(script);
    server.stop();
}
