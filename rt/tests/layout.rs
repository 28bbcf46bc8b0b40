//! The layout rules of docs/architecture.md, checked against the source, so that the note stays
//! true:
//!
//! - no import circle between the files of kiln-inbox, kiln, kiln-rt, kiln-http or kiln-remote
//!   (a file's arrows are the `crate::`, `super::` and `self::` paths in its code and its private
//!   `use` items, each leading to the file that defines what it names: a re-export (`pub use`,
//!   `pub(crate) use`) is followed to its source and is not an arrow of the file that makes it,
//!   unless that file uses the name in its own code too, and declaring a child module is not an
//!   arrow; test files, which look at their parent's private parts, are left out);
//! - in kiln-rt, the engine (`rt/src/runtime/`) reaches out only to the vocabulary files (the
//!   types every layer names: errors, signals, spawn options, metrics' data types, the trace
//!   format), never up to the public surface that is built on it;
//! - the vocabulary files import nothing of the crate but other vocabulary files.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// kiln-rt's vocabulary: files below both the engine and the public surface.
const VOCABULARY: &[&str] = &[
    "error.rs",
    "io/driver.rs",
    "signal.rs",
    "spawn/options.rs",
    "metrics.rs",
    "metrics/prometheus.rs",
    "trace/format.rs",
    "trace/read.rs",
];

/// A crate's source files (relative to `src`) and the files each one's code reaches.
struct Graph {
    arrows: BTreeMap<String, BTreeSet<String>>,
}

impl Graph {
    fn of_crate(src: &Path) -> Graph {
        let mut files = Vec::new();
        collect_files(src, src, &mut files);
        let mut crate_files = CrateFiles {
            known: files.iter().cloned().collect(),
            aliases: BTreeMap::new(),
        };
        let mut codes = BTreeMap::new();
        for file in &files {
            let text = fs::read_to_string(src.join(file)).unwrap();
            let mut code = strip_comments_and_strings(&text);
            // An inline test module looks at its parent's private parts, like a test file.
            if let Some(at) = code.find("#[cfg(test)]\nmod tests {") {
                code.truncate(at);
            }
            let (uses, reexports) = use_items(&code);
            let mut aliases = BTreeMap::new();
            for path in reexports {
                if let Some(name) = path.last() {
                    aliases.insert(name.clone(), path);
                }
            }
            crate_files.aliases.insert(file.clone(), aliases);
            codes.insert(file.clone(), (code, uses));
        }
        let mut arrows = BTreeMap::new();
        for file in &files {
            if is_test_file(file) {
                continue;
            }
            let (code, uses) = &codes[file];
            // A name the file re-exports and also uses in its own code is an
            // arrow of the file too (`pub use body::Body;` then `Body::new()`).
            let own_code = without_use_items(code);
            let reexported = crate_files.aliases[file]
                .iter()
                .filter(|(name, _)| uses_name(&own_code, name))
                .map(|(_, path)| path.clone());
            let mut to = BTreeSet::new();
            for path in uses.iter().cloned().chain(paths_in(code)).chain(reexported) {
                if let Some(target) = crate_files.resolve(file, &path, 0)
                    && target != *file
                    && !is_test_file(&target)
                {
                    to.insert(target);
                }
            }
            arrows.insert(file.clone(), to);
        }
        Graph { arrows }
    }

    /// The strongly connected components with more than one file (Tarjan's algorithm).
    fn circles(&self) -> Vec<Vec<String>> {
        struct State<'g> {
            graph: &'g Graph,
            index: BTreeMap<&'g str, usize>,
            low: BTreeMap<&'g str, usize>,
            stack: Vec<&'g str>,
            on_stack: BTreeSet<&'g str>,
            next: usize,
            found: Vec<Vec<String>>,
        }
        fn visit<'g>(state: &mut State<'g>, node: &'g str) {
            state.index.insert(node, state.next);
            state.low.insert(node, state.next);
            state.next += 1;
            state.stack.push(node);
            state.on_stack.insert(node);
            let graph = state.graph;
            for next in graph.arrows.get(node).into_iter().flatten() {
                let next = next.as_str();
                if !graph.arrows.contains_key(next) {
                    continue;
                }
                if !state.index.contains_key(next) {
                    visit(state, next);
                    let low = state.low[node].min(state.low[next]);
                    state.low.insert(node, low);
                } else if state.on_stack.contains(next) {
                    let low = state.low[node].min(state.index[next]);
                    state.low.insert(node, low);
                }
            }
            if state.low[node] == state.index[node] {
                let mut component = Vec::new();
                loop {
                    let member = state.stack.pop().unwrap();
                    state.on_stack.remove(member);
                    component.push(member.to_owned());
                    if member == node {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    state.found.push(component);
                }
            }
        }
        let mut state = State {
            graph: self,
            index: BTreeMap::new(),
            low: BTreeMap::new(),
            stack: Vec::new(),
            on_stack: BTreeSet::new(),
            next: 0,
            found: Vec::new(),
        };
        for node in self.arrows.keys() {
            if !state.index.contains_key(node.as_str()) {
                visit(&mut state, node);
            }
        }
        state.found
    }
}

fn collect_files(root: &Path, dir: &Path, files: &mut Vec<String>) {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect_files(root, &path, files);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            let relative = path.strip_prefix(root).unwrap();
            files.push(relative.to_string_lossy().replace('\\', "/"));
        }
    }
}

fn is_test_file(file: &str) -> bool {
    file == "tests.rs" || file.ends_with("/tests.rs") || file.contains("/tests/")
}

/// `text` with comments, string and character literals blanked out, so that only code is left.
fn strip_comments_and_strings(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(b"//") {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
        } else if bytes[i..].starts_with(b"/*") {
            let mut depth = 0;
            while i < bytes.len() {
                if bytes[i..].starts_with(b"/*") {
                    depth += 1;
                    i += 2;
                } else if bytes[i..].starts_with(b"*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if bytes[i] == b'"' {
            i += 1;
            while i < bytes.len() && bytes[i] != b'"' {
                if bytes[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if bytes[i] == b'r' && bytes[i..].starts_with(b"r#\"") {
            let end = text[i + 3..]
                .find("\"#")
                .map_or(bytes.len(), |at| i + 3 + at + 2);
            i = end;
            out.push_str("\"\"");
        } else {
            out.push(bytes[i] as char);
            i += 1;
        }
    }
    out
}

/// The `use` items of `code`, expanded into paths: the private ones, and the re-exports (`pub
/// use`, `pub(crate) use`).
fn use_items(code: &str) -> (Vec<Vec<String>>, Vec<Vec<String>>) {
    let (mut uses, mut reexports) = (Vec::new(), Vec::new());
    let mut from = 0;
    while let Some(at) = find_use(&code[from..]) {
        let at = from + at;
        let item = &code[at..];
        let end = item.find(';').unwrap_or(item.len());
        let tree = item[..end].trim_start_matches("use").trim();
        let mut expanded = Vec::new();
        expand(tree, &mut Vec::new(), &mut expanded);
        let line_start = code[..at].rfind(['\n', ';', '{', '}']).map_or(0, |i| i + 1);
        let public = code[line_start..at].trim_start().starts_with("pub");
        if public {
            reexports.extend(expanded);
        } else {
            uses.extend(expanded);
        }
        from = at + end;
    }
    (uses, reexports)
}

/// `code` without its `use` items and module declarations (`mod name;`).
fn without_use_items(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut from = 0;
    while let Some(at) = find_use(&code[from..]) {
        let at = from + at;
        out.push_str(&code[from..at]);
        from = code[at..].find(';').map_or(code.len(), |end| at + end + 1);
    }
    out.push_str(&code[from..]);
    out.lines()
        .filter(|line| {
            let line = line.trim_start();
            let line = line.strip_prefix("pub(crate) ").unwrap_or(line);
            let line = line.strip_prefix("pub ").unwrap_or(line);
            !(line.starts_with("mod ") && line.trim_end().ends_with(';'))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether the identifier `name` appears in `code` as a whole word.
fn uses_name(code: &str, name: &str) -> bool {
    code.match_indices(name).any(|(at, _)| {
        let before = code[..at].bytes().next_back();
        let after = code[at + name.len()..].bytes().next();
        !before.is_some_and(is_ident_byte) && !after.is_some_and(is_ident_byte)
    })
}

/// The paths in expressions and types of `code` that start with `crate` or `super`.
fn paths_in(code: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        if at > 0 && is_ident_byte(code.as_bytes()[at - 1]) {
            continue;
        }
        if code[..at].trim_end().ends_with("use") {
            continue;
        }
        paths.push(path_at(&code[at..]));
    }
    for (at, _) in code.match_indices("super::") {
        if at > 0 && (is_ident_byte(code.as_bytes()[at - 1]) || code.as_bytes()[at - 1] == b':') {
            continue;
        }
        if code[..at].trim_end().ends_with("use") {
            continue;
        }
        paths.push(path_at(&code[at..]));
    }
    paths
}

fn find_use(code: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(at) = code[from..].find("use ") {
        let at = from + at;
        let before = code[..at].chars().next_back();
        if before.is_none_or(|c| !c.is_alphanumeric() && c != '_') {
            return Some(at);
        }
        from = at + 4;
    }
    None
}

fn is_ident_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

/// The path (`a::b::c`) at the start of `code`.
fn path_at(code: &str) -> Vec<String> {
    let end = code
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(code.len());
    code[..end]
        .split("::")
        .filter(|segment| !segment.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Expands a `use` tree into paths.
fn expand(tree: &str, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    let tree = tree.trim();
    if let Some(open) = tree.find('{') {
        let head = &tree[..open];
        let close = tree.rfind('}').unwrap_or(tree.len());
        let inner = &tree[open + 1..close];
        let added: Vec<String> = head
            .split("::")
            .map(str::trim)
            .filter(|segment| !segment.is_empty())
            .map(str::to_owned)
            .collect();
        let len = prefix.len();
        prefix.extend(added);
        for part in split_top_level(inner) {
            expand(part, prefix, out);
        }
        prefix.truncate(len);
    } else {
        let tree = tree.split(" as ").next().unwrap_or(tree);
        let mut path = prefix.clone();
        path.extend(
            tree.split("::")
                .map(str::trim)
                .filter(|segment| !segment.is_empty() && *segment != "*")
                .map(str::to_owned),
        );
        out.push(path);
    }
}

fn split_top_level(inner: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (at, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
}

/// The module path of `file` (`a/b.rs` → `["a", "b"]`, `lib.rs` → `[]`).
fn module_of(file: &str) -> Vec<String> {
    let without = file.trim_end_matches(".rs");
    if without == "lib" || without == "main" {
        return Vec::new();
    }
    without
        .trim_end_matches("/mod")
        .split('/')
        .map(str::to_owned)
        .collect()
}

/// A crate's files and the names each re-exports.
struct CrateFiles {
    known: BTreeSet<String>,
    /// Per file: re-exported name → the path it re-exports (relative to that file).
    aliases: BTreeMap<String, BTreeMap<String, Vec<String>>>,
}

impl CrateFiles {
    /// The file of a module path, if there is one.
    fn file_of(&self, module: &[String]) -> Option<String> {
        if module.is_empty() {
            return self.known.contains("lib.rs").then(|| "lib.rs".to_owned());
        }
        let joined = module.join("/");
        [format!("{joined}.rs"), format!("{joined}/mod.rs")]
            .into_iter()
            .find(|candidate| self.known.contains(candidate))
    }

    /// The file that defines what `path`, written in `file`, names: the deepest module on the
    /// path, following re-exports.
    fn resolve(&self, file: &str, path: &[String], depth: usize) -> Option<String> {
        if depth > 16 {
            return None;
        }
        let mut module = module_of(file);
        let mut rest = path;
        match rest.first().map(String::as_str) {
            Some("crate") => {
                module.clear();
                rest = &rest[1..];
            }
            Some("super") => {
                while rest.first().is_some_and(|s| s == "super") {
                    module.pop();
                    rest = &rest[1..];
                }
            }
            Some("self") => rest = &rest[1..],
            Some(first) => {
                // Relative: a child module of this file, or nothing of this crate.
                let mut child = module.clone();
                child.push(first.to_owned());
                self.file_of(&child)?;
            }
            None => return None,
        }
        let mut current = self.file_of(&module)?;
        for (i, segment) in rest.iter().enumerate() {
            module.push(segment.clone());
            if let Some(found) = self.file_of(&module) {
                current = found;
                continue;
            }
            // Not a module: an item of `current`, or one it re-exports.
            let alias = self.aliases.get(&current).and_then(|a| a.get(segment));
            return match alias {
                Some(target) if target.last() == Some(segment) => {
                    let mut followed = target.clone();
                    followed.extend(rest[i + 1..].iter().cloned());
                    self.resolve(&current, &followed, depth + 1)
                        .or(Some(current))
                }
                _ => Some(current),
            };
        }
        Some(current)
    }
}

fn crate_src(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(name)
        .join("src")
}

/// The crates whose files must not import each other in a circle.
const CRATES: &[&str] = &["inbox", "kiln", "rt", "http", "remote"];

#[test]
fn no_import_circle_in_any_crate() {
    let mut report = String::new();
    for name in CRATES {
        let graph = Graph::of_crate(&crate_src(name));
        for circle in graph.circles() {
            report.push_str(&format!("{name}/src: {}\n", circle.join(" <-> ")));
            for from in &circle {
                for to in graph.arrows[from].iter().filter(|to| circle.contains(to)) {
                    report.push_str(&format!("    {from} -> {to}\n"));
                }
            }
        }
    }
    assert!(report.is_empty(), "import circles:\n{report}");
}

#[test]
fn the_engine_reaches_only_the_vocabulary() {
    let graph = Graph::of_crate(&crate_src("rt"));
    let mut report = String::new();
    for (file, targets) in &graph.arrows {
        let engine = file.starts_with("runtime/");
        let vocabulary = VOCABULARY.contains(&file.as_str());
        if !engine && !vocabulary {
            continue;
        }
        for target in targets {
            let allowed = VOCABULARY.contains(&target.as_str())
                || (engine && (target.starts_with("runtime/") || target == "runtime.rs"));
            if !allowed {
                report.push_str(&format!("{file} -> {target}\n"));
            }
        }
    }
    assert!(
        report.is_empty(),
        "arrows up from the engine or the vocabulary:\n{report}"
    );
}

/// A crate of `files` (path, text) written to a fresh directory, as its `src`.
fn crate_of(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let src = std::env::temp_dir().join(format!("kiln-layout-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&src);
    for (path, text) in files {
        let path = src.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }
    src
}

#[test]
fn a_reexported_name_used_by_its_file_is_an_arrow() {
    // `client` re-exports `body::Body` and makes one; `client/body` uses a
    // helper of `client`: a circle, although `client` names `Body` only
    // through its re-export.
    let src = crate_of(
        "reexport",
        &[
            ("lib.rs", "pub mod client;\n"),
            (
                "client.rs",
                "mod body;\npub use body::Body;\npub(crate) fn helper() {}\npub fn make() -> Body { Body }\n",
            ),
            (
                "client/body.rs",
                "use crate::client::helper;\npub struct Body;\nfn f() { helper() }\n",
            ),
        ],
    );
    let graph = Graph::of_crate(&src);
    assert_eq!(
        graph.circles(),
        [vec!["client.rs".to_owned(), "client/body.rs".to_owned()]]
    );
    fs::remove_dir_all(src).unwrap();
}

#[test]
fn the_checker_sees_arrows() {
    // The rules above pass trivially if the checker finds no arrows: make sure it does.
    let graph = Graph::of_crate(&crate_src("rt"));
    let worker = &graph.arrows["runtime/worker.rs"];
    assert!(worker.contains("runtime/scheduler.rs"), "{worker:?}");
    let code = strip_comments_and_strings("use crate::a::{b, c::{d, e as f}}; // crate::x\n");
    let (paths, _) = use_items(&code);
    assert!(paths.contains(&vec!["crate".into(), "a".into(), "c".into(), "e".into()]));
    assert!(
        !paths.iter().any(|p| p.contains(&"x".to_owned())),
        "{paths:?}"
    );
}
