//! The documents checked against the code, so that every documented command
//! stays true:
//!
//! - every `cargo run ... --example NAME` in a Markdown file of the
//!   repository or in an example's header names an example of that package
//!   (`-p NAME`), or of any package of the workspace when none is named;
//! - every relative link of a Markdown file points at a file or folder of
//!   the repository;
//! - the Rust snippets of the Markdown files are compiled: the documents
//!   `kiln-docs` includes (`docs/src/lib.rs`: the README and the guide) run
//!   theirs as doctests, so every code block there says its language (an
//!   unlabelled one would be taken for Rust) and none is `ignore`d; no other
//!   Markdown file shows Rust code, which nothing would compile.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The repository's root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The workspace's packages: name → folder.
fn packages() -> BTreeMap<String, PathBuf> {
    let manifest = fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let members = manifest
        .split_once("members = [")
        .and_then(|(_, rest)| rest.split_once(']'))
        .map(|(members, _)| members)
        .expect("no workspace members");
    members
        .split(',')
        .map(|member| member.trim().trim_matches('"'))
        .filter(|member| !member.is_empty())
        .map(|member| {
            let dir = root().join(member);
            let manifest = fs::read_to_string(dir.join("Cargo.toml")).unwrap();
            let name = manifest
                .lines()
                .find_map(|line| line.strip_prefix("name = "))
                .map(|name| name.trim().trim_matches('"').to_owned())
                .expect("package without a name");
            (name, dir)
        })
        .collect()
}

/// The example targets of the package in `dir`: the `[[example]]` names, and
/// the files of `examples/` cargo discovers by themselves (unless
/// `autoexamples = false`).
fn examples(dir: &Path) -> BTreeSet<String> {
    let manifest = fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    let mut names = BTreeSet::new();
    let mut in_example = false;
    let mut declared_paths = BTreeSet::new();
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_example = line == "[[example]]";
            continue;
        }
        if in_example {
            if let Some(name) = line.strip_prefix("name = ") {
                names.insert(name.trim_matches('"').to_owned());
            }
            if let Some(path) = line.strip_prefix("path = ") {
                declared_paths.insert(path.trim_matches('"').to_owned());
            }
        }
    }
    if !manifest.contains("autoexamples = false")
        && let Ok(entries) = fs::read_dir(dir.join("examples"))
    {
        for entry in entries {
            let path = entry.unwrap().path();
            let relative = format!("examples/{}", path.file_name().unwrap().to_string_lossy());
            if path.extension().is_some_and(|ext| ext == "rs")
                && !declared_paths.contains(&relative)
            {
                names.insert(path.file_stem().unwrap().to_string_lossy().into_owned());
            }
        }
    }
    names
}

/// The Markdown files of the repository (not in `target` or hidden
/// folders).
fn markdown_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy();
        if name.starts_with('.') || name == "target" {
            continue;
        }
        if path.is_dir() {
            markdown_files(&path, out);
        } else if name.ends_with(".md") {
            out.push(path);
        }
    }
}

/// Every Markdown file of the repository with its text.
fn markdown_texts() -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    markdown_files(&root(), &mut files);
    files
        .into_iter()
        .map(|file| {
            let text = fs::read_to_string(&file).unwrap();
            (file, text)
        })
        .collect()
}

/// The header (`//!` lines) of every example file.
fn example_headers() -> Vec<(PathBuf, String)> {
    let mut headers = Vec::new();
    for dir in packages().values() {
        let Ok(entries) = fs::read_dir(dir.join("examples")) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|ext| ext == "rs") {
                let text = fs::read_to_string(&path).unwrap();
                let header: String = text
                    .lines()
                    .take_while(|line| line.starts_with("//!") || line.is_empty())
                    .map(|line| format!("{line}\n"))
                    .collect();
                headers.push((path, header));
            }
        }
    }
    headers
}

/// The `cargo run` commands in `text` that name an example: (package or
/// `None`, example).
fn example_commands(text: &str) -> Vec<(Option<String>, String)> {
    let mut commands = Vec::new();
    for (at, _) in text.match_indices("cargo run") {
        let line = text[at..].lines().next().unwrap_or("");
        // The command ends at a comment, a pipe or the end of inline code.
        let line = line.split(['#', '`', '|', ';', ')']).next().unwrap_or(line);
        let words: Vec<&str> = line.split_whitespace().collect();
        let value_of = |flag: &str| {
            words
                .iter()
                .position(|word| *word == flag)
                .and_then(|i| words.get(i + 1))
                .map(|value| value.to_string())
        };
        let package = value_of("-p").or_else(|| value_of("--package"));
        if let Some(example) = value_of("--example") {
            commands.push((package, example));
        }
    }
    commands
}

#[test]
fn every_documented_example_exists() {
    let packages = packages();
    let all: BTreeMap<String, BTreeSet<String>> = packages
        .iter()
        .map(|(name, dir)| (name.clone(), examples(dir)))
        .collect();
    let mut texts = markdown_texts();
    texts.extend(example_headers());
    let mut wrong = Vec::new();
    let mut checked = 0;
    for (file, text) in &texts {
        for (package, example) in example_commands(text) {
            checked += 1;
            let exists = match &package {
                Some(package) => all
                    .get(package)
                    .is_some_and(|names| names.contains(&example)),
                None => all.values().any(|names| names.contains(&example)),
            };
            if !exists {
                wrong.push(format!(
                    "{}: --example {example}{}",
                    file.strip_prefix(root()).unwrap_or(file).display(),
                    package.map(|p| format!(" (-p {p})")).unwrap_or_default()
                ));
            }
        }
    }
    assert!(checked > 10, "found only {checked} example commands");
    assert!(
        wrong.is_empty(),
        "documented examples that do not exist:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn every_relative_link_points_at_a_file() {
    let mut wrong = Vec::new();
    let mut checked = 0;
    for (file, text) in &markdown_texts() {
        let mut in_code = false;
        for line in text.lines() {
            if line.trim_start().starts_with("```") {
                in_code = !in_code;
                continue;
            }
            if in_code {
                continue;
            }
            for (at, _) in line.match_indices("](") {
                let rest = &line[at + 2..];
                let Some(end) = rest.find(')') else {
                    continue;
                };
                let target = rest[..end].split_whitespace().next().unwrap_or("");
                if target.is_empty()
                    || target.starts_with('#')
                    || target.contains("://")
                    || target.starts_with("mailto:")
                {
                    continue;
                }
                let path = target.split('#').next().unwrap();
                checked += 1;
                if !file.parent().unwrap().join(path).exists() {
                    wrong.push(format!(
                        "{}: {target}",
                        file.strip_prefix(root()).unwrap_or(file).display()
                    ));
                }
            }
        }
    }
    assert!(checked > 10, "found only {checked} relative links");
    assert!(
        wrong.is_empty(),
        "relative links to nothing:\n{}",
        wrong.join("\n")
    );
}

/// The Markdown files whose snippets `kiln-docs` runs as doctests: the
/// files its `lib.rs` includes (`include_str!`).
fn compiled_documents() -> BTreeSet<PathBuf> {
    let lib = root().join("docs/src/lib.rs");
    let text = fs::read_to_string(&lib).unwrap();
    let mut documents = BTreeSet::new();
    for (at, start) in text.match_indices("include_str!(\"") {
        let rest = &text[at + start.len()..];
        let path = &rest[..rest.find('"').expect("unterminated include_str!")];
        let file = lib.parent().unwrap().join(path);
        documents.insert(
            file.canonicalize()
                .unwrap_or_else(|err| panic!("{}: {err}", file.display())),
        );
    }
    documents
}

/// The opening fences of the code blocks of a Markdown text: line number and
/// info string (`rust no_run`, `sh`, or empty). Fences in block quotes count.
fn code_fences(text: &str) -> Vec<(usize, String)> {
    let mut fences = Vec::new();
    let mut in_code = false;
    for (index, line) in text.lines().enumerate() {
        let line = line.trim_start_matches([' ', '>']);
        if let Some(info) = line.strip_prefix("```") {
            if !in_code {
                fences.push((index + 1, info.trim().to_owned()));
            }
            in_code = !in_code;
        }
    }
    fences
}

/// The words of an info string as rustdoc reads them: split at commas and
/// white space.
fn info_words(info: &str) -> Vec<&str> {
    info.split([',', ' ', '\t'])
        .filter(|word| !word.is_empty())
        .collect()
}

#[test]
fn every_rust_snippet_is_compiled() {
    let compiled = compiled_documents();
    assert!(
        compiled.contains(&root().join("README.md").canonicalize().unwrap()),
        "kiln-docs does not include the README: {compiled:?}"
    );
    let mut wrong = Vec::new();
    let mut rust_snippets = 0;
    for (file, text) in &markdown_texts() {
        let is_compiled = compiled.contains(&file.canonicalize().unwrap());
        let name = file.strip_prefix(root()).unwrap_or(file).display();
        for (line, info) in code_fences(text) {
            let words = info_words(&info);
            let is_rust = words.first() == Some(&"rust");
            if is_compiled {
                if words.is_empty() {
                    wrong.push(format!(
                        "{name}:{line}: a code block without a language (rustdoc would compile it as Rust; say `text`, `sh`, ...)"
                    ));
                } else if is_rust && words.contains(&"ignore") {
                    wrong.push(format!("{name}:{line}: an ignored Rust snippet"));
                }
                rust_snippets += usize::from(is_rust);
            } else if is_rust {
                wrong.push(format!(
                    "{name}:{line}: Rust code that nothing compiles (include the file in docs/src/lib.rs, or show it in a compiled document)"
                ));
            }
        }
    }
    assert!(
        rust_snippets >= 4,
        "found only {rust_snippets} compiled Rust snippets"
    );
    assert!(
        wrong.is_empty(),
        "code blocks of the documents:\n{}",
        wrong.join("\n")
    );
}
