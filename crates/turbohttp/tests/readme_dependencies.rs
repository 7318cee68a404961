//! The README's examples compile as the crate's front page, where every dev-dependency
//! is at hand; pasted into a new project they need the crates its dependency sentence
//! lists. This test keeps the sentence complete: every crate an example names is in it.

use std::collections::BTreeSet;

const README: &str = include_str!("../README.md");

/// The sentence before the first example that says what the examples need.
fn dependency_sentence() -> &'static str {
    let start = README
        .find("These examples compile as shown")
        .expect("the README says what its examples need");
    let end = start + README[start..].find("\n\n").unwrap();
    &README[start..end]
}

/// The crates the README's Rust blocks name: the first segment of each path.
fn crates_named() -> BTreeSet<String> {
    let mut named = BTreeSet::new();
    for block in README.split("```rust").skip(1) {
        let code = &block[..block.find("```").unwrap()];
        for (at, _) in code.match_indices("::") {
            let before = &code[..at];
            let ident_start = before
                .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .map_or(0, |i| i + 1);
            let ident = &before[ident_start..];
            let preceded_by = before[..ident_start].chars().next_back();
            // A path's first segment: not `a::b` (after `::`), not `.get::<T>()`.
            if ident.is_empty()
                || !ident.starts_with(|c: char| c.is_ascii_lowercase())
                || matches!(preceded_by, Some(':' | '.'))
            {
                continue;
            }
            named.insert(ident.replace('_', "-"));
        }
    }
    for builtin in [
        "std",
        "core",
        "alloc",
        "crate",
        "self",
        "super",
        "turbohttp",
    ] {
        named.remove(builtin);
    }
    named
}

#[test]
fn every_crate_an_example_uses_is_in_the_dependency_sentence() {
    let sentence = dependency_sentence();
    let named = crates_named();
    assert!(
        named.contains("tokio") && named.contains("hyper-util"),
        "{named:?}"
    );
    let missing: Vec<_> = named
        .iter()
        .filter(|c| !sentence.contains(&format!("`{c}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "not in the sentence: {missing:?}\n{sentence}"
    );
}
