//! http 3: a REST service of to-do items whose data lives in SQLite.
//!
//! The database belongs to a synchronous actor (a thread of its own, where
//! `rusqlite`'s blocking calls are fine); the handlers, on every worker,
//! reach it by RPC. The data outlives the process: a restart keeps it.
//!
//! | request | answer |
//! |---|---|
//! | `GET /todos` | all items |
//! | `POST /todos` `{"title": ".."}` | 201 and the new item |
//! | `GET /todos/{id}` | the item, or 404 |
//! | `PUT /todos/{id}` `{"title": "..", "done": true}` (either field) | the changed item, or 404 |
//! | `DELETE /todos/{id}` | 204, or 404 |
//!
//! ```text
//! cargo run -p kiln-http --example http_3_todo -- [address] [database file, default todo.sqlite]
//! curl -d '{"title":"write docs"}' http://127.0.0.1:7080/todos
//! curl -X PUT -d '{"done":true}' http://127.0.0.1:7080/todos/1
//! ```

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Request, Response, StatusCode};
use kiln::actor::actor_fn;
use kiln::actor_ref::rpc::RpcMessage;
use kiln::supervisor::SupervisorStrategy;
use kiln::{ActorRef, from_message, sync};
use kiln_http::server::{Server, ServerConfig};
use kiln_http::{PathParams, Router};
use kiln_rt::net::ServerError;
use kiln_rt::{ActorOptions, Runtime, RuntimeRef, SyncActorOptions};
use rusqlite::OptionalExtension;
use serde::{Deserialize, Serialize};

/// A to-do item.
#[derive(Clone, Debug, Serialize)]
struct Todo {
    id: i64,
    title: String,
    done: bool,
}

/// A change to an item: the fields given.
#[derive(Debug, Default, Deserialize)]
struct Change {
    title: Option<String>,
    done: Option<bool>,
}

/// A new item.
#[derive(Debug, Deserialize)]
struct New {
    title: String,
}

/// What a database call answers: the value, or the SQLite error's text.
type Reply<T> = Result<T, String>;

/// The store's messages: one RPC per operation.
enum StoreMessage {
    List(RpcMessage<(), Reply<Vec<Todo>>>),
    Get(RpcMessage<i64, Reply<Option<Todo>>>),
    Create(RpcMessage<String, Reply<Todo>>),
    Update(RpcMessage<(i64, Change), Reply<Option<Todo>>>),
    Delete(RpcMessage<i64, Reply<bool>>),
}

from_message!(
    StoreMessage::List(()) -> Reply<Vec<Todo>>,
    StoreMessage::Get(i64) -> Reply<Option<Todo>>,
    StoreMessage::Create(String) -> Reply<Todo>,
    StoreMessage::Update((i64, Change)) -> Reply<Option<Todo>>,
    StoreMessage::Delete(i64) -> Reply<bool>,
);

/// The synchronous actor that owns the database; runs until every
/// reference to it is gone (the servers stopped).
fn store(
    mut ctx: sync::Context<StoreMessage, kiln_rt::access::Sync>,
    path: PathBuf,
) -> Result<(), String> {
    let db = rusqlite::Connection::open(&path)
        .map_err(|err| format!("can't open {}: {err}", path.display()))?;
    db.execute_batch(
        "CREATE TABLE IF NOT EXISTS todos (
             id INTEGER PRIMARY KEY AUTOINCREMENT,
             title TEXT NOT NULL,
             done INTEGER NOT NULL DEFAULT 0
         )",
    )
    .map_err(|err| err.to_string())?;
    while let Ok(msg) = ctx.receive_next() {
        // A caller that stopped waiting is no concern of the store.
        match msg {
            StoreMessage::List(RpcMessage { response, .. }) => {
                let _ = response.respond(list(&db).map_err(text));
            }
            StoreMessage::Get(RpcMessage {
                request: id,
                response,
            }) => {
                let _ = response.respond(get(&db, id).map_err(text));
            }
            StoreMessage::Create(RpcMessage {
                request: title,
                response,
            }) => {
                let _ = response.respond(create(&db, title).map_err(text));
            }
            StoreMessage::Update(RpcMessage {
                request: (id, change),
                response,
            }) => {
                let _ = response.respond(update(&db, id, change).map_err(text));
            }
            StoreMessage::Delete(RpcMessage {
                request: id,
                response,
            }) => {
                let deleted = db.execute("DELETE FROM todos WHERE id = ?1", [id]);
                let _ = response.respond(deleted.map(|n| n > 0).map_err(text));
            }
        }
    }
    Ok(())
}

fn list(db: &rusqlite::Connection) -> rusqlite::Result<Vec<Todo>> {
    let mut query = db.prepare("SELECT id, title, done FROM todos ORDER BY id")?;
    let rows = query.query_map([], row)?;
    rows.collect()
}

fn get(db: &rusqlite::Connection, id: i64) -> rusqlite::Result<Option<Todo>> {
    db.query_row("SELECT id, title, done FROM todos WHERE id = ?1", [id], row)
        .optional()
}

fn create(db: &rusqlite::Connection, title: String) -> rusqlite::Result<Todo> {
    db.execute("INSERT INTO todos (title) VALUES (?1)", [&title])?;
    Ok(Todo {
        id: db.last_insert_rowid(),
        title,
        done: false,
    })
}

fn update(db: &rusqlite::Connection, id: i64, change: Change) -> rusqlite::Result<Option<Todo>> {
    if let Some(title) = change.title {
        db.execute("UPDATE todos SET title = ?1 WHERE id = ?2", (title, id))?;
    }
    if let Some(done) = change.done {
        db.execute("UPDATE todos SET done = ?1 WHERE id = ?2", (done, id))?;
    }
    get(db, id)
}

/// A row as a [`Todo`].
fn row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Todo> {
    Ok(Todo {
        id: row.get(0)?,
        title: row.get(1)?,
        done: row.get(2)?,
    })
}

fn text(err: rusqlite::Error) -> String {
    err.to_string()
}

/// An error response: status and a one-line text.
type Failure = (StatusCode, String);

/// Asks the store; a stopped store or a database error is a 500.
async fn ask<Req, Res>(store: &ActorRef<StoreMessage>, request: Req) -> Result<Res, Failure>
where
    StoreMessage: From<RpcMessage<Req, Reply<Res>>>,
{
    match store.rpc(request).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(err)) => Err((
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("database error: {err}\n"),
        )),
        Err(err) => Err((
            StatusCode::SERVICE_UNAVAILABLE,
            format!("store unavailable: {err}\n"),
        )),
    }
}

/// A JSON response with `status`.
fn json<T: Serialize>(status: StatusCode, value: &T) -> Response<Bytes> {
    let mut response = Response::new(Bytes::from(
        serde_json::to_vec(value).expect("serialisable"),
    ));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The `{id}` of a routed request.
fn id(request: &Request<Bytes>) -> Result<i64, Failure> {
    let id = request
        .extensions()
        .get::<PathParams>()
        .and_then(|p| p.get("id"))
        .unwrap_or("");
    id.parse()
        .map_err(|_| (StatusCode::NOT_FOUND, format!("no item '{id}'\n")))
}

/// The JSON body of a request.
fn body<'a, T: Deserialize<'a>>(request: &'a Request<Bytes>) -> Result<T, Failure> {
    serde_json::from_slice(request.body())
        .map_err(|err| (StatusCode::BAD_REQUEST, format!("invalid JSON: {err}\n")))
}

fn not_found(id: i64) -> Failure {
    (StatusCode::NOT_FOUND, format!("no item {id}\n"))
}

/// The routes, each with a reference to the store.
fn router(store: ActorRef<StoreMessage>) -> Result<Router, kiln_http::router::RouteError> {
    let (s1, s2, s3, s4, s5) = (
        store.clone(),
        store.clone(),
        store.clone(),
        store.clone(),
        store,
    );
    Router::builder()
        .get("/todos", move |_| {
            let store = s1.clone();
            async move {
                ask(&store, ())
                    .await
                    .map(|todos: Vec<Todo>| json(StatusCode::OK, &todos))
            }
        })
        .post("/todos", move |request| {
            let store = s2.clone();
            async move {
                let new: New = body(&request)?;
                let todo: Todo = ask(&store, new.title).await?;
                Ok::<_, Failure>(json(StatusCode::CREATED, &todo))
            }
        })
        .get("/todos/{id}", move |request| {
            let store = s3.clone();
            async move {
                let id = id(&request)?;
                let todo: Option<Todo> = ask(&store, id).await?;
                todo.map(|todo| json(StatusCode::OK, &todo))
                    .ok_or_else(|| not_found(id))
            }
        })
        .put("/todos/{id}", move |request| {
            let store = s4.clone();
            async move {
                let id = id(&request)?;
                let change: Change = body(&request)?;
                let todo: Option<Todo> = ask(&store, (id, change)).await?;
                todo.map(|todo| json(StatusCode::OK, &todo))
                    .ok_or_else(|| not_found(id))
            }
        })
        .delete("/todos/{id}", move |request| {
            let store = s5.clone();
            async move {
                let id = id(&request)?;
                let deleted: bool = ask(&store, id).await?;
                if deleted {
                    Ok(StatusCode::NO_CONTENT)
                } else {
                    Err(not_found(id))
                }
            }
        })
        .build()
}

fn server_supervisor(err: ServerError) -> SupervisorStrategy<()> {
    eprintln!("{err}; restarting the server");
    SupervisorStrategy::Restart(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let address: SocketAddr = args.next().as_deref().unwrap_or("127.0.0.1:7080").parse()?;
    let path = PathBuf::from(args.next().unwrap_or_else(|| "todo.sqlite".to_owned()));

    let mut runtime = Runtime::setup().use_all_cores().build()?;
    let options = SyncActorOptions::default().with_thread_name("sqlite");
    // A store that can't open its database stops; the handlers then answer 503.
    let supervisor = |err: String| {
        eprintln!("store failed: {err}");
        SupervisorStrategy::Stop
    };
    let store = runtime.spawn_sync_actor(supervisor, actor_fn(store), path, options)?;
    let server = Server::new(address, router(store)?, ServerConfig::default())?;
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
