//! The modules are layers that import one way: each module of `src/` may use (`crate::…`) only
//! its own layer and the layers before it in [`LAYERS`], the one place the order is written.
//! Test modules (`#[cfg(test)]` items) are left out: a test may borrow a fixture from anywhere.
//! ARCHITECTURE.md explains each layer.

use std::path::{Path, PathBuf};

/// The layers, first to last. A top-level module of `src/` (a file `src/x.rs` or a folder
/// `src/x/`) belongs to the layer that names it.
const LAYERS: &[&[&str]] = &[
    &["model"],
    &["probe"],
    &["results"],
    &["analysis"],
    &["race"],
    &["store"],
    &["run"],
    &["output"],
    &["command"],
    &["app", "exit", "lib", "main"],
];

fn rank(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// The top-level module a file of `src/` belongs to.
fn module_of(relative: &Path) -> String {
    let first = relative.components().next().unwrap();
    let name = first.as_os_str().to_string_lossy();
    name.strip_suffix(".rs").unwrap_or(&name).to_string()
}

/// `source` without its `#[cfg(test)]` items (a braced block, or an item ending in `;`) and
/// without comments.
fn production_code(source: &str) -> String {
    let mut out = String::new();
    let mut rest = source;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let after = &rest[at..];
        let (brace, semi) = (after.find('{'), after.find(';'));
        let end = match (brace, semi) {
            (Some(b), Some(s)) if s < b => s + 1,
            (Some(b), _) => {
                let mut depth = 0usize;
                let mut end = after.len();
                for (i, c) in after[b..].char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = b + i + 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                end
            }
            (None, Some(s)) => s + 1,
            (None, None) => after.len(),
        };
        rest = &after[end..];
    }
    out.push_str(rest);
    out.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every `crate::NAME` a file's production code uses, with its line.
fn uses(code: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for line in code.lines() {
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            let tail = &rest[at + "crate::".len()..];
            let name: String = tail
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.push((name, line.trim().to_string()));
            }
            rest = tail;
        }
    }
    found
}

/// Imports of `file` (relative to `src/`) that go against the order, as messages.
fn against_the_order(file: &Path, source: &str) -> Vec<String> {
    let module = module_of(file);
    let Some(mine) = rank(&module) else {
        return vec![format!(
            "{}: module `{module}` is in no layer of tests/layers.rs",
            file.display()
        )];
    };
    uses(&production_code(source))
        .into_iter()
        .filter_map(|(name, line)| match rank(&name) {
            Some(theirs) if theirs <= mine => None,
            Some(_) => Some(format!(
                "{}: `{module}` uses `{name}`, a later layer: {line}",
                file.display()
            )),
            None => Some(format!(
                "{}: `crate::{name}` is in no layer: {line}",
                file.display()
            )),
        })
        .collect()
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

#[test]
fn every_import_follows_the_layer_order() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 20, "found only {} files", files.len());
    let mut wrong = Vec::new();
    for file in &files {
        let source = std::fs::read_to_string(file).unwrap();
        wrong.extend(against_the_order(file.strip_prefix(&src).unwrap(), &source));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn an_upward_import_is_caught_and_a_test_module_is_not() {
    let model = Path::new("model/mode.rs");
    let upward = "use crate::race::page::SharedPage;\nfn f() {}\n";
    assert_eq!(against_the_order(model, upward).len(), 1);
    let in_a_path = "fn f() -> crate::output::format::Format { todo!() }\n";
    assert_eq!(against_the_order(model, in_a_path).len(), 1);
    let in_tests = "fn f() {}\n#[cfg(test)]\nmod tests {\n    use crate::race::page::SharedPage;\n    fn g() { if true { } }\n}\nfn h() {}\n";
    assert!(against_the_order(model, in_tests).is_empty());
    let after_tests = format!("{in_tests}use crate::app::main;\n");
    assert_eq!(against_the_order(model, &after_tests).len(), 1);
    let declared = "#[cfg(test)]\nmod fixture;\nuse crate::command::cli::Options;\n";
    assert_eq!(against_the_order(model, declared).len(), 1);
    let downward = "use crate::model::mode::Mode;\n";
    assert!(against_the_order(Path::new("output/human.rs"), downward).is_empty());
    assert_eq!(
        against_the_order(Path::new("newthing.rs"), downward).len(),
        1,
        "a module in no layer"
    );
}
