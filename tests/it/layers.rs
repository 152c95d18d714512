//! The layers ARCHITECTURE.md draws ("Layers and imports"), checked from the
//! code's own imports: every `crate::…` and `super::…` path in `src/`
//! (grouped `use crate::{a, b::{c, d}}` included), outside comments, files
//! named `tests.rs` and `#[cfg(test)] mod … { … }` blocks. The test fails,
//! naming the file, line and import, when a module imports one from a
//! higher layer, when two modules that must stay apart meet, or when the
//! imports go round in a circle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, bottom first. A module may import from its own layer and
/// the layers below; a name covers its submodules (`portal` is
/// `portal::http` too). Keep it in step with ARCHITECTURE.md.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "base",
        &[
            "error",
            "redact",
            "text",
            "output",
            "env",
            "clock",
            "shell_quote",
            "child",
            "runtime",
            "safe_fs",
            "region",
        ],
    ),
    (
        "data",
        &[
            "profile", "manifest", "catalog", "paths", "fix", "api_key", "settings",
        ],
    ),
    ("portal and stores", &["portal", "store"]),
    ("session", &["session"]),
    (
        "hosts, output shapes and prompts",
        &["openclaw", "openclaw_plugin", "json", "ui", "candidates"],
    ),
    ("command line", &["cli", "commands"]),
];

/// Not in a layer: they wire everything together (`bin/host.rs` is a
/// host, outside the library, that may use only its public API).
const UNRANKED: &[&str] = &["lib", "main", "fuzz_entry", "bin"];

/// Modules of one layer that must not import each other at all.
const APART: &[(&str, &str, &str)] = &[(
    "portal",
    "store",
    "the portal knows nothing of stores, and the stores nothing of HTTP",
)];

/// Imports allowed for now, each with the branch that removes it; the
/// test fails once one is gone, so that the list only shrinks. Empty: keep
/// it so.
const FOR_NOW: &[(&str, &str, &str)] = &[];

/// Where text may be written to stderr or stdout: the command line (a
/// library and its host decide what their users see).
const MAY_PRINT: &[&str] = &["commands", "ui", "output", "bin"];

#[test]
fn no_module_imports_a_higher_layer_and_no_imports_go_round() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = Graph::read(&src);
    let mut problems = Vec::new();
    for module in graph.files.keys() {
        if layer_of(module).is_none() && !UNRANKED.iter().any(|u| within(module, u)) {
            problems.push(format!(
                "{}: module `{module}` is in no layer; add it to LAYERS in \
                 tests/it/layers.rs and to ARCHITECTURE.md",
                graph.files[module].display()
            ));
        }
    }
    for ((from, to), import) in &graph.edges {
        if for_now(from, to).is_some() {
            continue;
        }
        let (Some(low), Some(high)) = (layer_of(from), layer_of(to)) else {
            continue;
        };
        if high > low {
            problems.push(format!(
                "{import}: `{from}` ({}) imports `{to}` from a higher layer ({}); \
                 a module may import only from its own layer or below",
                LAYERS[low].0, LAYERS[high].0
            ));
        }
        for (a, b, why) in APART {
            if (within(from, a) && within(to, b)) || (within(from, b) && within(to, a)) {
                problems.push(format!("{import}: `{from}` imports `{to}`, but {why}"));
            }
        }
    }
    for (from, to, why) in FOR_NOW {
        let used = graph
            .edges
            .keys()
            .any(|(f, t)| within(f, from) && within(t, to));
        if !used {
            problems.push(format!(
                "`{from}` no longer imports `{to}` ({why}): remove the exception from \
                 FOR_NOW in tests/it/layers.rs"
            ));
        }
    }
    problems.extend(graph.cycles());
    assert!(
        problems.is_empty(),
        "the imports break ARCHITECTURE.md's layers:\n  {}",
        problems.join("\n  ")
    );
}

/// The library is quiet: nothing below the command line prints (warnings
/// travel as values, `store::Warning`, and commands say them).
#[test]
fn only_the_command_line_prints() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut problems = Vec::new();
    for file in rust_files(&src) {
        let relative = file.strip_prefix(&src).expect("under src");
        let module = relative
            .with_extension("")
            .to_string_lossy()
            .replace('/', "::");
        if MAY_PRINT.iter().any(|m| within(&module, m)) || module.ends_with("tests") {
            continue;
        }
        let text = strip(&std::fs::read_to_string(&file).expect("source is readable"));
        for (n, line) in text.lines().enumerate() {
            for printer in [
                "say!(",
                "eprintln!(",
                "println!(",
                "eprint!(",
                "print!(",
                "dbg!(",
            ] {
                let at = line.find(printer);
                // `print!(` is also the tail of `eprint!(`/`println!(`'s
                // neighbours: only a whole macro name counts.
                let whole = at.is_some_and(|i| {
                    i == 0
                        || !line.as_bytes()[i - 1].is_ascii_alphanumeric()
                            && line.as_bytes()[i - 1] != b'_'
                });
                if whole {
                    problems.push(format!(
                        "{}:{} `{}`: only {} may print",
                        relative.display(),
                        n + 1,
                        line.trim(),
                        MAY_PRINT.join(", ")
                    ));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "printing below the command line:\n  {}",
        problems.join("\n  ")
    );
}

/// The parser itself: grouped imports, `super`, renames, and what is
/// skipped (comments, test blocks).
#[test]
fn imports_are_read_as_the_compiler_reads_them() {
    let text = "\
//! crate::ignored::in_a_comment
use crate::{a, b::{c, d as e}, f::self};
use super::g::{self, H};
fn x() { crate::i::J::k(); super::super::l(); }

#[cfg(test)]
mod tests {
    use crate::m;
}
";
    let found: Vec<String> = imports(&strip(text), &["s".into(), "t".into()])
        .into_iter()
        .map(|(path, line)| format!("{}@{line}", path.join("::")))
        .collect();
    assert_eq!(
        found,
        [
            "a@2",
            "b::c@2",
            "b::d@2",
            "f@2",
            "s::g@3",
            "s::g::H@3",
            "i::J::k@4",
            "l@4"
        ]
    );
}

/// Which layer `module` is in (its index in LAYERS).
fn layer_of(module: &str) -> Option<usize> {
    LAYERS
        .iter()
        .position(|(_, names)| names.iter().any(|name| within(module, name)))
}

/// Whether `module` is `name` or one of its submodules.
fn within(module: &str, name: &str) -> bool {
    module == name
        || module
            .strip_prefix(name)
            .is_some_and(|rest| rest.starts_with("::"))
}

fn for_now(from: &str, to: &str) -> Option<&'static str> {
    FOR_NOW
        .iter()
        .find(|(f, t, _)| within(from, f) && within(to, t))
        .map(|(_, _, why)| *why)
}

/// The crate's modules (one per file) and the imports between them.
struct Graph {
    files: BTreeMap<String, PathBuf>,
    /// (importer, imported) → the first such import, as `file:line path`.
    edges: BTreeMap<(String, String), String>,
}

impl Graph {
    fn read(src: &Path) -> Graph {
        let mut files = BTreeMap::new();
        for file in rust_files(src) {
            let relative = file.strip_prefix(src).expect("under src");
            let mut parts: Vec<String> = relative
                .with_extension("")
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            if parts.last().is_some_and(|p| p == "tests") {
                continue;
            }
            if parts.last().is_some_and(|p| p == "mod") {
                parts.pop();
            }
            files.insert(parts.join("::"), file);
        }
        let mut edges = BTreeMap::new();
        for (module, file) in &files {
            let text = std::fs::read_to_string(file).expect("a source file");
            let here: Vec<String> = module.split("::").map(str::to_string).collect();
            for (path, line) in imports(&strip(&text), &here) {
                // The longest prefix of the path that is a module.
                let target = (1..=path.len())
                    .rev()
                    .map(|k| path[..k].join("::"))
                    .find(|m| files.contains_key(m));
                let Some(target) = target else {
                    continue; // an item of the crate root, or a macro
                };
                // A submodule may use its parent's items: the parent is
                // the facade of its children, not a layer above them.
                if target == *module || within(module, &target) {
                    continue;
                }
                let shown = format!(
                    "src/{}:{line} `crate::{}`",
                    file.strip_prefix(src).expect("under src").display(),
                    path.join("::")
                );
                edges.entry((module.clone(), target)).or_insert(shown);
            }
        }
        Graph { files, edges }
    }

    /// Every circle of imports (but those FOR_NOW allows), each shown with
    /// the import that makes each step.
    fn cycles(&self) -> Vec<String> {
        let mut next: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (from, to) in self.edges.keys() {
            if for_now(from, to).is_none() {
                next.entry(from).or_default().push(to);
            }
        }
        let mut seen_in_cycle = BTreeSet::new();
        let mut found = Vec::new();
        for start in self.files.keys() {
            if seen_in_cycle.contains(start.as_str()) {
                continue;
            }
            if let Some(cycle) = shortest_cycle(&next, start) {
                seen_in_cycle.extend(cycle.iter().copied());
                let steps: Vec<String> = cycle
                    .windows(2)
                    .map(|w| {
                        let import = &self.edges[&(w[0].to_string(), w[1].to_string())];
                        format!("`{}` → `{}` ({import})", w[0], w[1])
                    })
                    .collect();
                found.push(format!("the imports go round: {}", steps.join(", ")));
            }
        }
        found
    }
}

/// The shortest path from `start` back to itself, as modules
/// (`[start, …, start]`).
fn shortest_cycle<'a>(
    next: &BTreeMap<&'a str, Vec<&'a str>>,
    start: &'a str,
) -> Option<Vec<&'a str>> {
    let mut came_from: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(at) = queue.pop_front() {
        for &to in next.get(at).into_iter().flatten() {
            if to == start {
                let mut path = vec![start, at];
                let mut back = at;
                while back != start {
                    back = came_from[back];
                    path.push(back);
                }
                path.reverse();
                return Some(path);
            }
            if !came_from.contains_key(to) {
                came_from.insert(to, at);
                queue.push_back(to);
            }
        }
    }
    None
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("src is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

/// The text with comment lines and `#[cfg(test)] mod … { … }` blocks
/// blanked (lines kept, so line numbers stay true). rustfmt puts a
/// top-level block's closing brace alone at the start of a line.
fn strip(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::with_capacity(lines.len());
    let mut in_test_block = false;
    for (i, line) in lines.iter().enumerate() {
        let test_block_starts = line.trim_end() == "#[cfg(test)]"
            && lines
                .get(i + 1)
                .is_some_and(|next| next.starts_with("mod ") && next.trim_end().ends_with('{'));
        if test_block_starts {
            in_test_block = true;
        }
        let blank = in_test_block || line.trim_start().starts_with("//");
        if in_test_block && *line == "}" {
            in_test_block = false;
        }
        out.push(if blank { "" } else { line });
    }
    out.join("\n")
}

/// Every `crate::…` and `super::…` path in `text`, relative to the crate
/// root, with its line; `here` is the module the text belongs to.
fn imports(text: &str, here: &[String]) -> Vec<(Vec<String>, usize)> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let rest = &bytes[i..];
        let starts_word = i == 0 || !is_word(bytes[i - 1]) && bytes[i - 1] != b'$';
        let base = if !starts_word {
            None
        } else if rest.starts_with(b"crate::") {
            Some((Vec::new(), "crate::".len()))
        } else if rest.starts_with(b"super::") {
            Some((
                here[..here.len().saturating_sub(1)].to_vec(),
                "super::".len(),
            ))
        } else {
            None
        };
        match base {
            Some((prefix, skip)) => {
                let line = bytes[..i].iter().filter(|b| **b == b'\n').count() + 1;
                let mut at = i + skip;
                let mut paths = Vec::new();
                tree(bytes, &mut at, prefix, &mut paths);
                found.extend(paths.into_iter().map(|p| (p, line)));
                i = at.max(i + 1);
            }
            None => i += 1,
        }
    }
    found
}

/// Reads one use tree at `at` (`a::b`, `{a, b::{c}}`, `self`, `*`, with
/// `as` renames), adding each full path to `out`.
fn tree(bytes: &[u8], at: &mut usize, mut prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    loop {
        skip_space(bytes, at);
        if bytes.get(*at) == Some(&b'{') {
            *at += 1;
            loop {
                skip_space(bytes, at);
                match bytes.get(*at) {
                    None => return,
                    Some(b'}') => {
                        *at += 1;
                        return;
                    }
                    Some(b',') => *at += 1,
                    Some(_) => {
                        let before = *at;
                        tree(bytes, at, prefix.clone(), out);
                        if *at == before {
                            *at += 1; // not a path: step over it
                        }
                    }
                }
            }
        }
        let word = read_word(bytes, at);
        match word.as_str() {
            "" | "self" => break,
            "super" => {
                prefix.pop();
            }
            _ => prefix.push(word),
        }
        skip_space(bytes, at);
        if bytes[*at..].starts_with(b"::") {
            *at += 2;
        } else {
            break;
        }
    }
    skip_space(bytes, at);
    if bytes[*at..].starts_with(b"as ") {
        *at += 3;
        skip_space(bytes, at);
        read_word(bytes, at);
    }
    out.push(prefix);
}

fn read_word(bytes: &[u8], at: &mut usize) -> String {
    let start = *at;
    while bytes.get(*at).is_some_and(|b| is_word(*b)) {
        *at += 1;
    }
    String::from_utf8_lossy(&bytes[start..*at]).into_owned()
}

fn skip_space(bytes: &[u8], at: &mut usize) {
    while bytes.get(*at).is_some_and(u8::is_ascii_whitespace) {
        *at += 1;
    }
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}
