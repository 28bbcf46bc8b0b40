//! Runs the examples and checks what they print against
//! `examples/README.md`.

use std::path::PathBuf;
use std::process::Command;

/// The path of example `name`, built with cargo for this test's profile.
fn example(name: &str) -> PathBuf {
    let mut path = std::env::current_exe().expect("no test binary path");
    path.pop();
    if path.ends_with("deps") {
        path.pop();
    }
    let profile = path.file_name().expect("no profile directory").to_owned();
    let target_dir = path.parent().expect("no target directory").to_owned();
    let mut cargo = Command::new(env!("CARGO"));
    cargo.args(["build", "--quiet", "-p", "kiln-remote", "--example", name]);
    cargo.arg("--target-dir").arg(target_dir);
    if profile == "release" {
        cargo.arg("--release");
    }
    let status = cargo.status().expect("can't run cargo");
    assert!(status.success(), "building example {name} failed");
    path.join("examples").join(name)
}

/// Runs example `name` with `args`; returns its standard output.
fn run_example(name: &str, args: &[&str]) -> String {
    let output = Command::new(example(name))
        .args(args)
        .output()
        .unwrap_or_else(|err| panic!("can't run example {name}: {err}"));
    let stdout = String::from_utf8(output.stdout).expect("output is not UTF-8");
    assert!(
        output.status.success(),
        "example {name} failed: {}\nstdout:\n{stdout}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn example_1_cluster_demo() {
    let stdout = run_example("remote_1_cluster", &["--demo"]);
    let summary = stdout.lines().last().expect("no output");
    assert!(
        summary.starts_with(
            "summary: 3 nodes in 3 processes formed a cluster over mutual TLS and exchanged 6 greetings in "
        ),
        "{stdout}"
    );
    assert!(
        summary.contains("node-3 was killed with SIGKILL and declared dead by node-1 after "),
        "{summary}"
    );
    assert!(summary.contains(" and by node-2 after "), "{summary}");
    for (from, to) in [
        ("node-1", "node-2"),
        ("node-2", "node-3"),
        ("node-3", "node-1"),
    ] {
        let line = format!("  | {from}: {to} answered: hello {from}, from {to}\n");
        assert!(stdout.contains(&line), "no '{line}' in:\n{stdout}");
    }
}

#[test]
fn example_2_kv() {
    assert_eq!(
        run_example("remote_2_kv", &[]),
        "cluster of 3 nodes ready\n\
         wrote 300 keys through node-1\n\
         read all 300 keys back through node-3\n\
         node-1 holds 89 keys\n\
         node-2 holds 113 keys\n\
         node-3 holds 98 keys\n"
    );
}
