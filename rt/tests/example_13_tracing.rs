//! Runs example 13 (`rt_13_tracing`) with a trace file of its own, checks
//! what it prints, and reads the trace it wrote back.

use std::collections::HashMap;
use std::process::Command;

use kiln_rt::trace::{Event, ThreadKind};

mod util;

use util::example;
use util::temp_dir::TempDir;

#[test]
fn example_13_tracing() {
    let dir = TempDir::new("example-13");
    let path = dir.join("example.trace");
    let output = Command::new(example("rt_13_tracing"))
        .arg(&path)
        .output()
        .expect("can't run example");
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "example failed: {}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let path_text = path.display();
    assert_eq!(
        stdout,
        format!(
            "the collector got 20 jobs through 2 chains of 4 actors\n\
             wrote the trace to {path_text}\n\
             convert it for Perfetto or chrome://tracing with\n  \
             cargo run -p kiln-trace -- chrome {path_text} trace.json\n\
             and open trace.json at https://ui.perfetto.dev (Open trace file) or in chrome://tracing (Load),\n\
             or draw it as an SVG timeline with\n  \
             cargo run -p kiln-trace -- svg {path_text} trace.svg\n"
        )
    );

    let recording = kiln_rt::trace::read(&path).unwrap();
    let kinds: Vec<ThreadKind> = recording.threads.iter().map(|t| t.kind).collect();
    assert!(kinds.contains(&ThreadKind::Worker(0)), "{kinds:?}");
    assert!(kinds.contains(&ThreadKind::Worker(1)), "{kinds:?}");
    assert!(kinds.contains(&ThreadKind::Coordinator), "{kinds:?}");
    let mut polls: HashMap<&str, usize> = HashMap::new();
    let mut user: HashMap<&str, usize> = HashMap::new();
    for event in recording.threads.iter().flat_map(|t| &t.events) {
        match event {
            Event::Poll { name, .. } => *polls.entry(name).or_default() += 1,
            Event::User { description, .. } => *user.entry(description).or_default() += 1,
            _ => {}
        }
    }
    for name in ["driver", "stage", "collector"] {
        assert!(polls.contains_key(name), "no poll of {name}: {polls:?}");
    }
    assert_eq!(user.get("handle job"), Some(&(2 * 4 * 10)), "{user:?}");
    assert_eq!(user.get("work"), Some(&(2 * 4 * 10)), "{user:?}");
    assert_eq!(user.get("collect"), Some(&20), "{user:?}");
}
