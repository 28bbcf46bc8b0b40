//! 2: A key-value store sharded over the nodes of a cluster by name.
//!
//! Each node runs a `shard` actor, registered as `kv-set-NODE` for sets
//! and `kv-get-NODE` for gets (a name has one message type). A key belongs
//! to the node that ranks highest for it under rendezvous hashing (each
//! node's score is a hash of the node's name and the key), so every node
//! finds the same owner from the member list alone, and a node joining or
//! leaving moves only the keys it wins or held. Clients on any node send
//! `Set` and `Get` requests to the owner with `RemoteRef::rpc`.
//!
//! The example runs three nodes on one runtime (in one process, to stay
//! short; `remote_1_cluster` shows processes) with mutual TLS, writes 300
//! keys through node-1, reads them back through node-3, and prints how the
//! keys spread:
//!
//! ```text
//! cargo run -p kiln-remote --example remote_2_kv
//! ```

use std::collections::HashMap;
use std::time::Duration;

use kiln::actor::{self, actor_fn};
use kiln::actor_ref::rpc::RpcMessage;
use kiln::from_message;
use kiln::supervisor::NoSupervisor;
use kiln_remote::test::TestCa;
use kiln_remote::{Config, Message, Node, RpcError, Security};
use kiln_rt::Runtime;
use kiln_rt::access::ThreadSafe;
use kiln_rt::spawn::{ActorOptions, Spawn};
use kiln_rt::timer::{Deadline, Timer};
use serde::{Deserialize, Serialize};

/// Stores `value` under `key`.
#[derive(Serialize, Deserialize)]
struct Set {
    key: String,
    value: String,
}

impl Message for Set {
    const NAME: &'static str = "kv-example.Set";
}

/// Asks for the value of `key`.
#[derive(Serialize, Deserialize)]
struct Get {
    key: String,
}

impl Message for Get {
    const NAME: &'static str = "kv-example.Get";
}

/// A value, if there is one (the answer to both).
#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Value(Option<String>);

impl Message for Value {
    const NAME: &'static str = "kv-example.Value";
}

/// What a shard receives: sets, gets, and a request for its size.
enum ShardMessage {
    Set(RpcMessage<Set, Value>),
    Get(RpcMessage<Get, Value>),
    Size(RpcMessage<(), usize>),
}

from_message!(
    ShardMessage::Set(Set) -> Value,
    ShardMessage::Get(Get) -> Value,
    ShardMessage::Size(()) -> usize,
);

/// One node's part of the store.
async fn shard(mut ctx: actor::Context<ShardMessage, ThreadSafe>) {
    let mut keys: HashMap<String, String> = HashMap::new();
    while let Ok(msg) = ctx.receive_next().await {
        match msg {
            ShardMessage::Set(RpcMessage { request, response }) => {
                let _ = response.respond(Value(keys.insert(request.key, request.value)));
            }
            ShardMessage::Get(RpcMessage { request, response }) => {
                let _ = response.respond(Value(keys.get(&request.key).cloned()));
            }
            ShardMessage::Size(RpcMessage { response, .. }) => {
                let _ = response.respond(keys.len());
            }
        }
    }
}

/// FNV-1a with MurmurHash3's finaliser (FNV alone mixes its high bits
/// poorly): a hash that is the same in every process, unlike std's, which
/// is seeded.
fn fnv(parts: &[&str]) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325_u64;
    for part in parts {
        for &byte in part.as_bytes().iter().chain(&[0xff]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    hash ^ (hash >> 33)
}

/// The node that owns `key`: the highest score among the cluster's nodes.
fn owner(node: &Node, key: &str) -> String {
    let mut nodes: Vec<String> = node.members().into_iter().map(|(name, _)| name).collect();
    nodes.push(node.name().to_owned());
    nodes
        .into_iter()
        .max_by_key(|name| fnv(&[name, key]))
        .expect("at least this node")
}

/// Sets `key` through whichever node `node` is.
async fn set(rt: &ThreadSafe, node: &Node, key: &str, value: &str) -> Result<Value, RpcError> {
    let shard = node
        .lookup::<Set>(&format!("kv-set-{}", owner(node, key)))
        .map_err(|_| RpcError::NotSent)?;
    let request = Set {
        key: key.to_owned(),
        value: value.to_owned(),
    };
    Deadline::after(
        rt.clone(),
        Duration::from_secs(5),
        shard.rpc::<Value>(request),
    )
    .await
}

/// Gets `key` through whichever node `node` is.
async fn get(rt: &ThreadSafe, node: &Node, key: &str) -> Result<Value, RpcError> {
    let shard = node
        .lookup::<Get>(&format!("kv-get-{}", owner(node, key)))
        .map_err(|_| RpcError::NotSent)?;
    let request = Get {
        key: key.to_owned(),
    };
    Deadline::after(
        rt.clone(),
        Duration::from_secs(5),
        shard.rpc::<Value>(request),
    )
    .await
}

/// Writes through node-1, reads through node-3, prints the spread.
async fn client(
    ctx: actor::Context<(), ThreadSafe>,
    nodes: Vec<Node>,
    sizes: Vec<kiln::ActorRef<ShardMessage>>,
) {
    let rt = ctx.runtime_ref().clone();
    // Wait until every node knows every shard.
    loop {
        let ready = nodes.iter().all(|node| {
            nodes.iter().all(|other| {
                node.lookup::<Get>(&format!("kv-get-{}", other.name()))
                    .is_ok()
            })
        });
        if ready {
            break;
        }
        Timer::after(rt.clone(), Duration::from_millis(10)).await;
    }
    println!("cluster of {} nodes ready", nodes.len());

    let keys = 300;
    for i in 0..keys {
        let previous = set(&rt, &nodes[0], &format!("key-{i}"), &format!("value-{i}")).await;
        assert_eq!(previous, Ok(Value(None)), "key-{i}");
    }
    println!("wrote {keys} keys through {}", nodes[0].name());
    for i in 0..keys {
        let value = get(&rt, &nodes[2], &format!("key-{i}")).await;
        assert_eq!(value, Ok(Value(Some(format!("value-{i}")))), "key-{i}");
    }
    println!("read all {keys} keys back through {}", nodes[2].name());
    for (node, shard) in nodes.iter().zip(&sizes) {
        let size = shard.rpc(()).await.unwrap_or(0);
        println!("{} holds {size} keys", node.name());
    }
    for node in &nodes {
        node.stop();
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ca = TestCa::new("kv example CA")?;
    let mut runtime = Runtime::setup().use_all_cores().build()?;
    let mut nodes: Vec<Node> = Vec::new();
    let mut shards = Vec::new();
    for name in ["node-1", "node-2", "node-3"] {
        let security = Security::MutualTls(ca.identity(name)?);
        let config = Config::new("kv", name, "127.0.0.1:0".parse()?, security)
            .with_seeds(nodes.first().map(Node::address));
        let node = Node::start(&mut runtime, config)?;
        let shard_ref = runtime.spawn(NoSupervisor, actor_fn(shard), (), ActorOptions::default());
        node.register_rpc::<Set, Value, _>(&format!("kv-set-{name}"), shard_ref.clone())?;
        node.register_rpc::<Get, Value, _>(&format!("kv-get-{name}"), shard_ref.clone())?;
        shards.push(shard_ref);
        nodes.push(node);
    }
    runtime.spawn(
        NoSupervisor,
        actor_fn(client),
        (nodes, shards),
        ActorOptions::default(),
    );
    runtime.start()?;
    Ok(())
}
