//! The house's layers, held against the code: `src/lib.rs` lists the top-level modules under
//! `// The ground.`, `// The core.` and `// The features.`; every `crate::` path in `src/` is an
//! edge, and no edge may run from a lower layer to a higher one, from one feature to another,
//! from `config` to anything but the ground, or close a circle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Layer {
    Ground,
    Core,
    Feature,
    Top,
}

/// Each top-level module's layer, read from the sections of `src/lib.rs`: a section runs from
/// its heading to the next blank line; a module outside every section (`cli`) is the top.
fn layers(lib: &str) -> BTreeMap<String, Layer> {
    let mut layer = Layer::Top;
    let mut layers = BTreeMap::new();
    for line in lib.lines() {
        match line.trim() {
            "// The ground." => layer = Layer::Ground,
            "// The core." => layer = Layer::Core,
            "// The features." => layer = Layer::Feature,
            // A blank line ends a section.
            "" => layer = Layer::Top,
            line => {
                if let Some(name) = line
                    .strip_prefix("mod ")
                    .or_else(|| line.strip_prefix("pub mod "))
                    .and_then(|rest| rest.strip_suffix(';'))
                {
                    layers.insert(name.to_string(), layer);
                }
            }
        }
    }
    layers
}

/// The top-level modules named by `crate::<name>` in `text`, comments left out.
fn imports(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or_default();
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                names.insert(name);
            }
            rest = after;
        }
    }
    names
}

/// Every edge between two different top-level modules: (from, to) → a file that makes it.
fn edges(src: &Path) -> BTreeMap<(String, String), String> {
    let mut edges = BTreeMap::new();
    let mut pending = vec![src.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = path.strip_prefix(src).unwrap();
            let module = relative
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_string();
            let text = std::fs::read_to_string(&path).unwrap();
            for to in imports(&text) {
                if to != module {
                    edges
                        .entry((module.clone(), to))
                        .or_insert_with(|| relative.display().to_string());
                }
            }
        }
    }
    edges
}

/// Why the edge `from` → `to` is wrong, if it is.
fn wrong(from: &str, to: &str, layers: &BTreeMap<String, Layer>) -> Option<String> {
    let (Some(&a), Some(&b)) = (layers.get(from), layers.get(to)) else {
        return Some(format!("`{to}` or `{from}` is not in src/lib.rs's layers"));
    };
    if b > a {
        return Some(format!("{a:?} imports {b:?}"));
    }
    if a == Layer::Feature && b == Layer::Feature {
        return Some("a feature imports another feature".into());
    }
    if from == "config" && b != Layer::Ground {
        return Some("config imports something above the ground".into());
    }
    None
}

/// A circle among `edges`, as the modules along it.
fn circle(edges: &BTreeSet<(String, String)>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeSet<(String, String)>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == node) {
            let mut circle = path[at..].to_vec();
            circle.push(node.to_string());
            return Some(circle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for (_, to) in edges.iter().filter(|(from, _)| from == node) {
            if let Some(circle) = visit(to, edges, path, done) {
                return Some(circle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    edges
        .iter()
        .find_map(|(from, _)| visit(from, edges, &mut Vec::new(), &mut done))
}

#[test]
fn no_import_runs_up_a_layer_across_features_or_round_a_circle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let layers = layers(&lib);
    for (name, layer) in [
        ("config", Layer::Core),
        ("repo", Layer::Core),
        ("cli", Layer::Top),
        ("error", Layer::Ground),
        ("check", Layer::Feature),
    ] {
        assert_eq!(layers.get(name), Some(&layer), "{name} in src/lib.rs");
    }
    let edges = edges(&src);
    let wrong: Vec<String> = edges
        .iter()
        .filter_map(|((from, to), file)| {
            wrong(from, to, &layers).map(|why| format!("{file}: {from} -> {to}: {why}"))
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "imports against the layers:\n{}",
        wrong.join("\n")
    );
    let pairs: BTreeSet<(String, String)> = edges.into_keys().collect();
    assert_eq!(
        circle(&pairs),
        None,
        "an import circle between top-level modules"
    );
}

#[test]
fn the_rules_catch_what_they_forbid() {
    let lib = "mod a;\n\n// The ground.\nmod error;\n\n// The core.\nmod config;\nmod repo;\n\n// The features.\nmod check;\nmod diff;\n\nmod cli;\n";
    let layers = layers(lib);
    assert_eq!(layers["cli"], Layer::Top);
    assert_eq!(layers["a"], Layer::Top);
    assert!(wrong("repo", "check", &layers).is_some());
    assert!(wrong("check", "diff", &layers).is_some());
    assert!(wrong("config", "repo", &layers).is_some());
    assert!(wrong("error", "repo", &layers).is_some());
    assert!(wrong("repo", "nowhere", &layers).is_some());
    assert_eq!(wrong("check", "repo", &layers), None);
    assert_eq!(wrong("cli", "check", &layers), None);
    assert_eq!(wrong("repo", "config", &layers), None);
    let edges: BTreeSet<(String, String)> = [("repo", "config"), ("config", "repo")]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert!(circle(&edges).is_some());
    assert_eq!(
        imports("use crate::repo::{Repo};\n// crate::check\nlet x = crate::lang::hcl::f();"),
        ["lang", "repo"].map(String::from).into()
    );
}
