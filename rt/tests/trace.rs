//! Tracing: a recorded trace, converted by the `kiln-trace` tool, is valid
//! JSON with the expected events, nested by time, with actor names; user
//! events carry their actor's id; with tracing off nothing is recorded and
//! nothing allocated.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::HashMap;
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use kiln::supervisor::NoSupervisor;
use kiln::{ActorRef, actor, actor_fn};
use kiln_rt::Spawn;
use kiln_rt::access::Sync;
use kiln_rt::timer::Timer;
use kiln_rt::trace::{Attribute, Event, Recording, ThreadKind, Trace};
use kiln_rt::{ActorOptions, Runtime, RuntimeRef, SyncActorOptions, ThreadLocal, ThreadSafe};
use serde_json::Value;

mod util;

use util::temp_dir::TempDir;

/// Counts the allocations of each thread.
struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count_allocation() {
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

/// Allocations made on this thread so far.
fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

// SAFETY: forwards every call to the system allocator unchanged; counting
// touches only a thread-local integer, which allocates nothing.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_allocation();
        // SAFETY: the caller upholds `alloc`'s contract, passed on as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_allocation();
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_allocation();
        // SAFETY: as for `alloc`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as for `alloc`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// The path of the `kiln-trace` binary, built (if it is not up to date) in
/// this test binary's target directory and profile.
fn kiln_trace() -> PathBuf {
    let mut dir = std::env::current_exe().unwrap();
    dir.pop();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let profile = dir.file_name().unwrap().to_owned();
    let target_dir = dir.parent().unwrap();
    let mut cargo = Command::new(env!("CARGO"));
    cargo.args([
        "build",
        "--quiet",
        "-p",
        "kiln-trace",
        "--bin",
        "kiln-trace",
    ]);
    cargo.arg("--target-dir").arg(target_dir);
    if profile == "release" {
        cargo.arg("--release");
    }
    let status = cargo.status().expect("can't run cargo");
    assert!(status.success(), "building kiln-trace failed");
    dir.join("kiln-trace")
}

/// Converts the trace at `trace` with `kiln-trace chrome` and parses it.
fn convert(trace: &Path) -> Value {
    let json = trace.with_extension("json");
    let output = Command::new(kiln_trace())
        .arg("chrome")
        .arg(trace)
        .arg(&json)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "kiln-trace failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(&json).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("invalid JSON ({err}):\n{text}"))
}

// The scenario traced: on each of two workers a driver sends jobs down a
// chain of stages, which record "handle" events with a "work" event inside;
// the last stages send to a thread-safe sink; a synchronous actor records an
// event too. (No signal: the test harness's threads do not block them.)

const STAGES: usize = 3;
const JOBS: u64 = 5;

async fn driver(ctx: actor::Context<Infallible, ThreadLocal>, first: ActorRef<u64>) {
    for job in 0..JOBS {
        Timer::after(ctx.runtime_ref().clone(), Duration::from_millis(1)).await;
        first.send(job).await.unwrap();
    }
}

async fn stage(mut ctx: actor::Context<u64, ThreadLocal>, index: usize, next: ActorRef<u64>) {
    while let Ok(job) = ctx.receive_next().await {
        let handle = ctx.start_trace();
        assert!(handle.is_some(), "tracing is on");
        let work = ctx.start_trace();
        std::hint::black_box((0..1000u64).sum::<u64>());
        ctx.finish_trace(work, "work", &[("stage", &index)]);
        ctx.finish_trace(
            handle,
            "handle",
            &[
                ("stage", &index),
                ("job", &job),
                ("negative", &-1i32),
                ("ratio", &0.5f64),
                ("text", &"with \"quotes\""),
                ("flag", &true),
            ],
        );
        let _ = next.send(job).await;
    }
}

async fn sink(mut ctx: actor::Context<u64, ThreadSafe>) {
    while let Ok(job) = ctx.receive_next().await {
        let timing = ctx.start_trace();
        ctx.finish_trace(timing, "sink", &[("job", &job)]);
    }
}

fn sync_tracer(mut ctx: kiln::sync::Context<(), Sync>) {
    let timing = ctx.start_trace();
    let _ = ctx.receive_next();
    ctx.finish_trace(timing, "waited for a message", &[]);
}

/// Records the scenario into `path`.
fn record(path: &Path) -> Recording {
    let mut runtime = Runtime::setup()
        .with_name("trace-test")
        .num_threads(2)
        .enable_tracing(path)
        .build()
        .unwrap();
    let sink = runtime.spawn(NoSupervisor, actor_fn(sink), (), ActorOptions::default());
    let sync = runtime
        .spawn_sync_actor(
            NoSupervisor,
            actor_fn(sync_tracer),
            (),
            SyncActorOptions::default().with_thread_name("sync-tracer"),
        )
        .unwrap();
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            let mut next = sink;
            for index in (0..STAGES).rev() {
                next = rt.spawn_local(
                    NoSupervisor,
                    actor_fn(stage),
                    (index, next),
                    ActorOptions::default(),
                );
            }
            rt.spawn_local(
                NoSupervisor,
                actor_fn(driver),
                next,
                ActorOptions::default(),
            );
            Ok(())
        })
        .unwrap();
    sync.try_send(()).unwrap();
    drop(sync);
    runtime.start().unwrap();
    kiln_rt::trace::read(path).unwrap()
}

/// Checks that the complete events of each track nest: each starts after
/// the one before it ends, or ends within it.
fn assert_nested(events: &[&Value]) {
    // In nanoseconds: the JSON has microseconds with three decimals.
    let nanos = |value: &Value| (value.as_f64().unwrap() * 1000.0).round() as i64;
    let mut tracks: HashMap<(u64, u64), Vec<(i64, i64, &str)>> = HashMap::new();
    for event in events.iter().filter(|e| e["ph"] == "X") {
        let ts = nanos(&event["ts"]);
        let dur = nanos(&event["dur"]);
        assert!(dur >= 0, "{event}");
        let track = (
            event["pid"].as_u64().unwrap(),
            event["tid"].as_u64().unwrap(),
        );
        tracks
            .entry(track)
            .or_default()
            .push((ts, ts + dur, event["name"].as_str().unwrap()));
    }
    assert!(!tracks.is_empty());
    for (track, mut spans) in tracks {
        // Parents first: by start, longest first.
        spans.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        let mut open: Vec<(i64, i64, &str)> = Vec::new();
        for span in spans {
            while open.last().is_some_and(|parent| parent.1 <= span.0) {
                open.pop();
            }
            if let Some(parent) = open.last() {
                assert!(
                    span.1 <= parent.1,
                    "on track {track:?}, {span:?} overlaps {parent:?} without nesting in it"
                );
            }
            open.push(span);
        }
    }
}

#[test]
fn converted_trace_is_valid_json_with_the_expected_events_nested_and_named() {
    let dir = TempDir::new("trace-converted");
    let path = dir.join("converted.trace");
    let recording = record(&path);
    let json = convert(&path);
    let events: Vec<&Value> = json["traceEvents"].as_array().unwrap().iter().collect();

    // A track per recording thread, named.
    let thread_names: Vec<&str> = events
        .iter()
        .filter(|e| e["ph"] == "M" && e["name"] == "thread_name" && e["pid"] == 1)
        .map(|e| e["args"]["name"].as_str().unwrap())
        .collect();
    for name in [
        "trace-test:worker:0",
        "trace-test:worker:1",
        "coordinator",
        "sync-tracer",
    ] {
        assert!(thread_names.contains(&name), "{thread_names:?}");
    }

    // Polls of every actor, named, with ids.
    let polls: Vec<&&Value> = events.iter().filter(|e| e["cat"] == "poll").collect();
    for name in ["driver", "stage", "sink"] {
        assert!(
            polls
                .iter()
                .any(|p| p["name"] == name && p["args"]["actor"] == name),
            "no poll of {name}"
        );
    }
    let stage_polls = polls.iter().filter(|p| p["name"] == "stage").count();
    assert!(stage_polls >= 2 * STAGES * JOBS as usize, "{stage_polls}");
    assert!(polls.iter().all(|p| {
        p["args"]["actor_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty())
    }));
    assert!(
        polls
            .iter()
            .any(|p| p["name"] == "sink" && p["args"]["kind"] == "thread-safe")
    );

    // Scheduling, sleeps, timers and the signal.
    let named = |name: &str| events.iter().filter(|e| e["name"] == name).count();
    assert!(named("run thread-local") > 0);
    assert!(named("run thread-safe") > 0);
    assert!(named("sleep") > 0);
    assert!(named("timers expired") > 0);

    // User events, with their actor's name and id and their attributes.
    let user: Vec<&&Value> = events.iter().filter(|e| e["cat"] == "user").collect();
    let handles: Vec<&&&Value> = user.iter().filter(|e| e["name"] == "handle").collect();
    assert_eq!(handles.len(), 2 * STAGES * JOBS as usize);
    for handle in &handles {
        let args = &handle["args"];
        assert_eq!(args["actor"], "stage");
        assert_eq!(args["negative"], -1);
        assert_eq!(args["ratio"], 0.5);
        assert_eq!(args["text"], "with \"quotes\"");
        assert_eq!(args["flag"], true);
        assert!(args["job"].as_u64().unwrap() < JOBS);
        assert!(args["stage"].as_u64().unwrap() < STAGES as u64);
    }
    assert_eq!(
        user.iter().filter(|e| e["name"] == "work").count(),
        2 * STAGES * JOBS as usize
    );
    let sinks: Vec<&&&Value> = user.iter().filter(|e| e["name"] == "sink").collect();
    assert_eq!(sinks.len(), 2 * JOBS as usize);
    assert!(sinks.iter().all(|e| e["args"]["actor"] == "sink"));
    let waited: Vec<&&&Value> = user
        .iter()
        .filter(|e| e["name"] == "waited for a message")
        .collect();
    assert_eq!(waited.len(), 1);
    assert_eq!(waited[0]["args"]["actor"], "sync_tracer");
    assert!(
        waited[0]["args"]["actor_id"]
            .as_str()
            .unwrap()
            .starts_with("sync.")
    );

    // Each actor's events are on its own track, named after it.
    let actor_tracks: Vec<&str> = events
        .iter()
        .filter(|e| e["ph"] == "M" && e["name"] == "thread_name" && e["pid"] == 2)
        .map(|e| e["args"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        actor_tracks
            .iter()
            .filter(|n| n.starts_with("stage "))
            .count(),
        2 * STAGES
    );
    assert!(actor_tracks.iter().any(|n| n.starts_with("sink ")));

    // Every track nests by time; "work" sits inside "handle".
    assert_nested(&events);
    let span = |event: &Value| {
        let nanos = |value: &Value| (value.as_f64().unwrap() * 1000.0).round() as i64;
        (
            nanos(&event["ts"]),
            nanos(&event["ts"]) + nanos(&event["dur"]),
        )
    };
    for handle in &handles {
        let (start, end) = span(handle);
        let inside = user.iter().any(|w| {
            let (w_start, w_end) = span(w);
            w["name"] == "work" && w["tid"] == handle["tid"] && w_start >= start && w_end <= end
        });
        assert!(inside, "no work event inside {handle}");
    }
    assert!(recording.threads.len() >= 4);
    // Every thread's stream names the runtime's I/O driver: the one
    // `KILN_IO_DRIVER` forces, if it does.
    let driver = recording.threads[0].io_driver;
    assert!(driver.is_some(), "no driver recorded");
    for thread in &recording.threads {
        assert_eq!(thread.io_driver, driver, "{}", thread.name);
    }
    if let Ok(Some(forced)) = kiln_rt::io::IoDriver::from_env()
        && forced != kiln_rt::io::IoDriver::Auto
    {
        assert_eq!(driver, Some(forced));
    }
}

#[test]
fn user_events_carry_their_actors_id() {
    let dir = TempDir::new("trace-ids");
    let path = dir.join("ids.trace");
    let recording = record(&path);
    let mut checked = HashMap::new();
    for thread in &recording.threads {
        let polls: Vec<(u64, &str, u64, u64)> = thread
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Poll {
                    actor,
                    name,
                    start,
                    end,
                    ..
                } => Some((*actor, &**name, *start, *end)),
                _ => None,
            })
            .collect();
        let names: HashMap<u64, &str> = thread
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Actor { actor, name } => Some((*actor, &**name)),
                _ => None,
            })
            .collect();
        for event in &thread.events {
            let Event::User {
                actor,
                description,
                attributes,
                start,
                end,
            } = event
            else {
                continue;
            };
            assert_ne!(*actor, 0, "{event:?}");
            let name = if thread.kind == ThreadKind::SyncActor {
                // A synchronous actor's events: named by the thread's actor.
                names[actor]
            } else {
                // Made during a poll of the same actor, on the same thread.
                let poll = polls
                    .iter()
                    .find(|(id, _, s, e)| id == actor && s <= start && end <= e)
                    .unwrap_or_else(|| panic!("no poll of actor {actor} around {event:?}"));
                poll.1
            };
            let expected = match &**description {
                "handle" | "work" => "stage",
                "sink" => "sink",
                "waited for a message" => "sync_tracer",
                other => panic!("unexpected event {other}"),
            };
            assert_eq!(name, expected, "{event:?}");
            if &**description == "handle" {
                assert_eq!(attributes[4].1, Attribute::Str("with \"quotes\"".into()));
            }
            *checked.entry(expected).or_insert(0) += 1;
        }
    }
    let per_stage = (2 * STAGES * JOBS as usize) as i32;
    assert_eq!(checked["stage"], 2 * per_stage);
    assert_eq!(checked["sink"], 2 * JOBS as i32);
    assert_eq!(checked["sync_tracer"], 1);
}

/// Ping-pong partner: replies to each number.
async fn ponger(mut ctx: actor::Context<(u64, ActorRef<u64>), ThreadLocal>) {
    while let Ok((n, reply)) = ctx.receive_next().await {
        let _ = reply.send(n).await;
    }
}

/// Plays `rounds` of ping-pong and reports the allocations of this thread
/// in the steady state (after a warm-up), and those of 1,000 calls of
/// `start_trace` and `finish_trace`.
async fn pinger(
    mut ctx: actor::Context<u64, ThreadLocal>,
    ponger: ActorRef<(u64, ActorRef<u64>)>,
    result: mpsc::Sender<(u64, u64, bool)>,
) {
    let me = ctx.actor_ref();
    let mut counted_from = 0;
    for n in 0..2_000u64 {
        if n == 200 {
            counted_from = allocations();
        }
        ponger.send((n, me.clone())).await.unwrap();
        assert_eq!(ctx.receive_next().await.unwrap(), n);
    }
    let ping_pong = allocations() - counted_from;

    let before = allocations();
    let mut recorded = false;
    for i in 0..1_000u64 {
        let timing = ctx.start_trace();
        recorded |= timing.is_some();
        ctx.finish_trace(timing, "nothing", &[("i", &i), ("text", &"some text")]);
    }
    let trace_calls = allocations() - before;
    result.send((ping_pong, trace_calls, recorded)).unwrap();
}

async fn thread_safe_tracer(
    ctx: actor::Context<(), ThreadSafe>,
    result: mpsc::Sender<(u64, u64, bool)>,
) {
    let before = allocations();
    let mut recorded = false;
    for i in 0..1_000u64 {
        let timing = ctx.start_trace();
        recorded |= timing.is_some();
        ctx.finish_trace(timing, "nothing", &[("i", &i)]);
    }
    result.send((0, allocations() - before, recorded)).unwrap();
}

#[test]
fn tracing_disabled_records_nothing_and_allocates_nothing() {
    let mut runtime = Runtime::setup().build().unwrap();
    let (sender, results) = mpsc::channel();
    runtime.spawn(
        NoSupervisor,
        actor_fn(thread_safe_tracer),
        sender.clone(),
        ActorOptions::default(),
    );
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            let ponger =
                rt.spawn_local(NoSupervisor, actor_fn(ponger), (), ActorOptions::default());
            rt.spawn_local(
                NoSupervisor,
                actor_fn(pinger),
                (ponger, sender.clone()),
                ActorOptions::default(),
            );
            Ok(())
        })
        .unwrap();
    runtime.start().unwrap();
    let results: Vec<(u64, u64, bool)> = results.try_iter().collect();
    assert_eq!(results.len(), 2);
    for (ping_pong, trace_calls, recorded) in results {
        assert!(!recorded, "start_trace returned a timing with tracing off");
        assert_eq!(trace_calls, 0, "start_trace/finish_trace allocated");
        assert_eq!(ping_pong, 0, "the worker allocated while running actors");
    }

    // The same with tracing on: timings, and a trace of the events.
    let dir = TempDir::new("trace-on");
    let path = dir.join("on.trace");
    let mut runtime = Runtime::setup().enable_tracing(&path).build().unwrap();
    let (sender, results) = mpsc::channel();
    runtime
        .run_on_workers(move |mut rt: RuntimeRef| -> Result<(), Infallible> {
            let ponger =
                rt.spawn_local(NoSupervisor, actor_fn(ponger), (), ActorOptions::default());
            rt.spawn_local(
                NoSupervisor,
                actor_fn(pinger),
                (ponger, sender.clone()),
                ActorOptions::default(),
            );
            Ok(())
        })
        .unwrap();
    runtime.start().unwrap();
    let (_, _, recorded) = results.recv().unwrap();
    assert!(recorded, "start_trace returned no timing with tracing on");
    let recording = kiln_rt::trace::read(&path).unwrap();
    let user_events = recording
        .threads
        .iter()
        .flat_map(|t| &t.events)
        .filter(|e| matches!(e, Event::User { .. }))
        .count();
    assert_eq!(user_events, 1_000);
}

#[test]
fn a_trace_file_that_cannot_be_created_fails_the_build() {
    let err = Runtime::setup()
        .enable_tracing("/nonexistent-dir/for/sure/trace.bin")
        .build()
        .unwrap_err();
    assert!(
        err.to_string().contains("can't create the trace file"),
        "{err}"
    );
}
