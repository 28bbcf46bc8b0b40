//! http 2: a router: handlers by method and path, path parameters, JSON
//! bodies with serde, and the answers no route gives (404, 405 with
//! `Allow`).
//!
//! ```text
//! cargo run -p kiln-http --example http_2_routes -- [address]
//! curl http://127.0.0.1:7080/hello/world
//! curl -d '{"numbers":[1,2,3]}' http://127.0.0.1:7080/sum
//! curl -X DELETE -i http://127.0.0.1:7080/hello/world   # 405, Allow: GET, HEAD
//! ```

use std::io;
use std::net::SocketAddr;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Request, Response, StatusCode};
use kiln::supervisor::SupervisorStrategy;
use kiln_http::server::{Server, ServerConfig};
use kiln_http::{PathParams, Router};
use kiln_rt::net::ServerError;
use kiln_rt::{ActorOptions, Runtime, RuntimeRef};
use serde::{Deserialize, Serialize};

/// `GET /hello/{name}`.
async fn hello(request: Request<Bytes>) -> String {
    let params = request.extensions().get::<PathParams>().expect("routed");
    format!("Hello, {}!\n", params.get("name").unwrap_or("stranger"))
}

#[derive(Deserialize)]
struct Numbers {
    numbers: Vec<i64>,
}

#[derive(Serialize)]
struct Sum {
    sum: i64,
}

/// `POST /sum`: `{"numbers": [..]}` to `{"sum": n}`.
async fn sum(request: Request<Bytes>) -> Result<Response<Bytes>, (StatusCode, String)> {
    let numbers: Numbers = serde_json::from_slice(request.body())
        .map_err(|err| (StatusCode::BAD_REQUEST, format!("invalid JSON: {err}\n")))?;
    let sum = numbers
        .numbers
        .iter()
        .try_fold(0_i64, |sum, &n| sum.checked_add(n))
        .ok_or((
            StatusCode::UNPROCESSABLE_ENTITY,
            "the sum overflows\n".to_owned(),
        ))?;
    Ok(json(&Sum { sum }))
}

/// `GET /files/{*path}`: the rest of the path.
async fn file(request: Request<Bytes>) -> String {
    let params = request.extensions().get::<PathParams>().expect("routed");
    format!("file '{}'\n", params.get("path").unwrap_or(""))
}

/// A JSON response.
fn json<T: Serialize>(value: &T) -> Response<Bytes> {
    let body = serde_json::to_vec(value).expect("serialisable");
    let mut response = Response::new(Bytes::from(body));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn server_supervisor(err: ServerError) -> SupervisorStrategy<()> {
    eprintln!("{err}; restarting the server");
    SupervisorStrategy::Restart(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let address: SocketAddr = std::env::args()
        .nth(1)
        .as_deref()
        .unwrap_or("127.0.0.1:7080")
        .parse()?;
    let router = Router::builder()
        .get("/", |_| async {
            "routes: GET /hello/{name}, POST /sum, GET /files/{*path}\n"
        })
        .get("/hello/{name}", hello)
        .post("/sum", sum)
        .get("/files/{*path}", file)
        .build()?;
    let mut runtime = Runtime::setup().use_all_cores().build()?;
    let server = Server::new(address, router, ServerConfig::default())?;
    let address = server.local_addr();
    runtime.run_on_workers(move |mut rt: RuntimeRef| -> io::Result<()> {
        let server_ref =
            rt.try_spawn_local(server_supervisor, server, (), ActorOptions::default())?;
        rt.receive_signals(server_ref.try_map());
        Ok(())
    })?;
    println!("listening on {address}");
    runtime.start()?;
    println!("stopped");
    Ok(())
}
