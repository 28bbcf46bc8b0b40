//! Runs every example and checks what it prints against
//! `examples/README.md`'s expectations (kept here verbatim).

use std::path::PathBuf;
use std::process::Command;

/// Runs example `name` (built by `cargo test` next to this test binary, or
/// with `cargo build --example` if missing) and returns its standard output.
fn run_example(name: &str) -> String {
    let mut path = std::env::current_exe().expect("no test binary path");
    path.pop(); // The test binary.
    if path.ends_with("deps") {
        path.pop();
    }
    let binary: PathBuf = path.join("examples").join(name);
    if !binary.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "--example", name])
            .status()
            .expect("can't run cargo");
        assert!(status.success(), "building example {name} failed");
    }
    let output = Command::new(&binary)
        .output()
        .unwrap_or_else(|err| panic!("can't run example {}: {err}", binary.display()));
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
fn example_1_hello_world() {
    assert_eq!(
        run_example("1_hello_world"),
        "Hello, World!\nHello, kiln!\n"
    );
}

#[test]
fn example_2_rpc() {
    assert_eq!(
        run_example("2_rpc"),
        "count after adding 1, 2 and 3: 6\ncount after adding 10: 16\ncounter stopped\n"
    );
}

#[test]
fn example_3_sync_actor() {
    assert_eq!(
        run_example("3_sync_actor"),
        "1: first line\n2: second line\n3: third line\nwriter: all lines written\nwriter completed\n"
    );
}

#[test]
fn example_4_restart_supervisor() {
    let expected = "\
printer: started
printer: one
[WARN] actor 'printer' failed, restarting it (1 of 2 restarts within 5s left): first failure
printer: started
printer: two
[WARN] actor 'printer' failed, restarting it (0 of 2 restarts within 5s left): second failure
printer: started
printer: three
[WARN] actor 'printer' failed, stopping it (it was restarted 2 times within 5s): third failure
the printer stopped after an error
";
    assert_eq!(run_example("4_restart_supervisor"), expected);
}
