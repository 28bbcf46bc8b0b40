//! The code of kiln's documents, compiled and run: every Rust snippet of
//! `README.md` and of the guide (`docs/guide.md`) is a doctest
//! of this crate, so `cargo test --workspace --all-features` (and
//! `cargo test -p kiln-docs --doc`) fails when a document shows code that no
//! longer builds or no longer does what the text says.
//!
//! The snippets are written to be copied as they are: no hidden lines (a
//! Markdown viewer would show the `# ` lines rustdoc hides). A snippet that
//! serves until it is stopped is marked `no_run` (compiled, not run); one
//! with `#[test]` functions is marked `test_harness` (compiled as a test
//! crate, its tests run).
//!
//! The crate has no code of its own; `rt/tests/docs.rs` checks that no
//! Markdown file outside the ones included here shows Rust code that would
//! go unchecked.

#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct Readme;

#[cfg(doctest)]
#[doc = include_str!("../guide.md")]
struct Guide;
