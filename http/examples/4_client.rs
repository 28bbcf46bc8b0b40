//! http 4: the client: fetches a URL twice over one kept-alive connection
//! and prints the status, a header and the body of each response.
//!
//! ```text
//! cargo run -p kiln-http --example http_1_hello &
//! cargo run -p kiln-http --example http_4_client -- [url]   # default http://127.0.0.1:7080/plaintext
//! ```

use std::convert::Infallible;
use std::io;

use http::header;
use kiln::actor::{self, actor_fn};
use kiln::supervisor::SupervisorStrategy;
use kiln_http::client::{Client, ClientConfig};
use kiln_rt::access::ThreadLocal;
use kiln_rt::{ActorOptions, Runtime, RuntimeRef};

/// Fetches `url` twice with one client: the second request reuses the
/// connection of the first.
async fn fetch(ctx: actor::Context<Infallible, ThreadLocal>, url: String) -> io::Result<()> {
    let client = Client::new(ctx.runtime_ref().clone(), ClientConfig::default());
    for i in 1..=2 {
        let response = client.get(&url).await?;
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("none")
            .to_owned();
        println!("request {i}: {} ({content_type})", response.status());
        let body = response.into_body().recv_all().await?;
        println!("{}", String::from_utf8_lossy(&body).trim_end());
        println!(
            "idle connections in the pool: {}",
            client.idle_connections()
        );
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://127.0.0.1:7080/plaintext".to_owned());
    let mut runtime = Runtime::setup().build()?;
    runtime.run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
        let supervisor = |err: io::Error| {
            eprintln!("fetching failed: {err}");
            SupervisorStrategy::Stop
        };
        rt.spawn_local(supervisor, actor_fn(fetch), url, ActorOptions::default());
        Ok(())
    })?;
    runtime.start()?;
    Ok(())
}
