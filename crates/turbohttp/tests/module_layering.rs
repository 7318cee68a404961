//! The library's modules depend one way, from the bottom up: this test reads `src/`
//! and fails when an import climbs back up or goes round in a circle. Its table,
//! [`ALLOWED`], is the one ARCHITECTURE.md shows; keep the two equal.
//!
//! Three rules, checked on every line of code outside comments and `#[cfg(test)]`
//! modules:
//!
//! 1. A top-level module names another only through `crate::MODULE::…`, and only the
//!    modules [`ALLOWED`] gives it (never `crate::Item`: the root's re-exports would
//!    hide which module is used).
//! 2. No `super::super`: a file reaches outside its folder through `crate::`, where
//!    rule 1 sees it.
//! 3. Inside a folder, the files that name each other with `super::sibling` form no
//!    cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Each top-level module of `src/`, and those it may use. The order is the layering:
/// a module uses only modules above it in this list.
const ALLOWED: &[(&str, &[&str])] = &[
    ("alt_svc", &[]),
    ("host", &[]),
    ("scheme", &[]),
    ("resolve", &["host"]),
    ("dial", &["host"]),
    ("race", &["host", "resolve", "dial"]),
    ("transport", &["host", "scheme", "resolve", "dial", "race"]),
    ("proxy", &["host", "dial", "race", "transport"]),
    ("sim", &["resolve", "dial", "race"]),
    ("http3", &["dial"]),
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The file's code lines: comments dropped, and everything from its `#[cfg(test)]
/// `mod` on (unit tests reach for whatever they test); a `#[cfg(test)]` on a single
/// item does not end the code.
fn code_lines(text: &str) -> Vec<&str> {
    let lines: Vec<&str> = text.lines().collect();
    let end = lines
        .windows(2)
        .position(|w| w[0].trim() == "#[cfg(test)]" && w[1].trim_start().starts_with("mod "))
        .unwrap_or(lines.len());
    lines[..end]
        .iter()
        .copied()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect()
}

/// Every `prefix` followed by an identifier on `line`, as that identifier.
fn names_after<'a>(line: &'a str, prefix: &str) -> Vec<&'a str> {
    line.match_indices(prefix)
        .filter(|(at, _)| {
            // Only as a path's start: not `my_crate::`, not `a::crate::`.
            !line[..*at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':')
        })
        .map(|(at, _)| {
            let rest = &line[at + prefix.len()..];
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .filter(|name| !name.is_empty())
        .collect()
}

/// The file's top-level module and its path inside `src/`.
fn module_of(file: &Path) -> (String, String) {
    let relative = file
        .strip_prefix(src())
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let top = relative
        .split('/')
        .next()
        .unwrap()
        .trim_end_matches(".rs")
        .to_owned();
    (top, relative)
}

fn violations() -> Vec<String> {
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    files.sort();
    let mut found = Vec::new();
    // Folder -> (file stem -> siblings it names).
    let mut siblings: BTreeMap<PathBuf, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for file in &files {
        let (top, relative) = module_of(file);
        if relative == "lib.rs" {
            continue;
        }
        let Some(may_use) = allowed.get(top.as_str()) else {
            found.push(format!(
                "{relative}: module {top} is not in the layering table"
            ));
            continue;
        };
        let text = fs::read_to_string(file).unwrap();
        let folder = file.parent().unwrap().to_owned();
        let stem = file.file_stem().unwrap().to_string_lossy().into_owned();
        let sibling_stems: BTreeSet<String> = fs::read_dir(&folder)
            .unwrap()
            .map(|e| {
                let p = e.unwrap().path();
                p.file_stem().unwrap().to_string_lossy().into_owned()
            })
            .filter(|s| *s != "mod" && *s != stem)
            .collect();
        for (n, line) in code_lines(&text).into_iter().enumerate() {
            let at = format!("{relative}:{}", n + 1);
            for used in names_after(line, "crate::") {
                if used.starts_with(char::is_uppercase) {
                    found.push(format!("{at}: crate::{used} — name the module it lives in"));
                } else if used != top && !may_use.contains(&used) {
                    found.push(format!("{at}: {top} may not use crate::{used}"));
                }
            }
            if line.contains("super::super") {
                found.push(format!("{at}: super::super climbs out of the folder"));
            }
            if stem != "mod" {
                for used in names_after(line, "super::") {
                    if sibling_stems.contains(used) {
                        siblings
                            .entry(folder.clone())
                            .or_default()
                            .entry(stem.clone())
                            .or_default()
                            .insert(used.to_owned());
                    }
                }
            }
        }
    }
    for (folder, graph) in &siblings {
        if let Some(cycle) = find_cycle(graph) {
            found.push(format!(
                "{}: files name each other in a circle: {}",
                folder.strip_prefix(src()).unwrap().display(),
                cycle.join(" -> ")
            ));
        }
    }
    found
}

/// A cycle in `graph`, as the names along it, if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|n| n == node) {
            let mut cycle = path[start..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn modules_depend_one_way() {
    let found = violations();
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn every_module_of_src_is_in_the_table() {
    let mut tops: BTreeSet<String> = BTreeSet::new();
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    for file in &files {
        let (top, _) = module_of(file);
        if top != "lib" {
            tops.insert(top);
        }
    }
    let table: BTreeSet<String> = ALLOWED.iter().map(|(m, _)| (*m).to_owned()).collect();
    assert_eq!(tops, table);
}

#[test]
fn the_table_itself_is_layered() {
    // A module may use only modules listed before it: the table has no cycle.
    for (i, (module, uses)) in ALLOWED.iter().enumerate() {
        for used in *uses {
            let position = ALLOWED.iter().position(|(m, _)| m == used);
            assert!(
                position.is_some_and(|p| p < i),
                "{module} uses {used}, which is not above it"
            );
        }
    }
}

#[test]
fn the_checks_catch_what_they_are_for() {
    // The parsing the rules stand on.
    assert_eq!(
        names_after("use crate::race::{A, B}; x::crate::no", "crate::"),
        ["race"]
    );
    assert_eq!(
        names_after("let d = crate::Deadline;", "crate::"),
        ["Deadline"]
    );
    assert_eq!(code_lines("a\n// b\n#[cfg(test)]\nmod tests {}"), ["a"]);
    assert_eq!(
        code_lines("a\n#[cfg(test)]\nfn f() {}\nb"),
        ["a", "#[cfg(test)]", "fn f() {}", "b"]
    );
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a".to_owned(), BTreeSet::from(["b".to_owned()])),
        ("b".to_owned(), BTreeSet::from(["a".to_owned()])),
    ]
    .into();
    assert_eq!(find_cycle(&graph).unwrap(), ["a", "b", "a"]);
    let acyclic: BTreeMap<String, BTreeSet<String>> =
        [("a".to_owned(), BTreeSet::from(["b".to_owned()]))].into();
    assert_eq!(find_cycle(&acyclic), None);
}
