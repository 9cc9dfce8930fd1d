//! The differential test of tfw's caches: a generated repository under random edits, where
//! every answer a cache speeds up must be byte for byte the answer without caches.
//! `TFW_TEST_SEED` replays a failure; `TFW_DIFFERENTIAL_STEPS` runs longer.

use crate::caches::{Rng, answers, seed};
use crate::common::Test;
use std::path::Path;

const BACKEND: &str = "terraform {\n  backend \"local\" {}\n}\n";

/// A repository with what real ones have: nested and sub-stacks, a symlinked stack and a
/// symlinked `.tf` file, a local module, shared var files outside the stacks, backend files
/// that are also var files, and a remote-state dependency.
fn generated(rng: &mut Rng) -> Test {
    let settings = [
        "var_files = [\"{env}.tfvars\", { path = \"{root}/shared/{env}.tfvars\", optional = true }]\n",
        "var_files = [\"{env}.tfvars\", \"{env}.tfbackend\"]\n",
        "",
    ];
    let mut test = Test::new().write("tfw.toml", rng.pick(&settings));
    for stack in ["s0", "s1", "grp/s2", "s0/sub"] {
        let state = stack.replace('/', "-");
        test = test
            .write(
                &format!("{stack}/main.tf"),
                &format!("{BACKEND}variable \"env\" {{}}\nvariable \"size\" {{\n  type    = number\n  default = 1\n}}\n"),
            )
            .write(&format!("{stack}/stg.tfbackend"), &format!("path = \"{state}-stg.tfstate\"\n"))
            .write(&format!("{stack}/prd.tfbackend"), &format!("path = \"{state}-prd.tfstate\"\n"))
            .write(&format!("{stack}/stg.tfvars"), "env = \"stg\"\n")
            .write(&format!("{stack}/prd.tfvars"), "env = \"prd\"\nsize = 3\n");
    }
    test = test
        .write("shared/inputs.tf", "variable \"region\" {\n  default = \"eu\"\n}\n")
        .write("shared/stg.tfvars", "region = \"eu\"\n")
        .write("modules/m0/main.tf", "variable \"x\" {}\n")
        .write(
            "s0/module.tf",
            "module \"m0\" {\n  source = \"../modules/m0\"\n  x      = 1\n}\n",
        )
        .write(
            "s1/remote.tf",
            "data \"terraform_remote_state\" \"s0\" {\n  backend = \"local\"\n  config = {\n    path = \"../s0/s0-stg.tfstate\"\n  }\n}\n",
        );
    std::os::unix::fs::symlink("../shared/inputs.tf", test.path("grp/s2/inputs.tf")).unwrap();
    std::os::unix::fs::symlink("grp/s2", test.path("linked")).unwrap();
    test.git(&["init", "-q"]);
    test.git(&["add", "-A"]);
    test.git(&["commit", "-qm", "generated"]);
    test
}

/// Every file an edit may touch, and names an edit may create.
const FILES: &[&str] = &[
    "tfw.toml",
    "s0/main.tf",
    "s0/stg.tfvars",
    "s0/prd.tfbackend",
    "s0/module.tf",
    "s0/sub/stg.tfbackend",
    "s0/qa.tfvars",
    "s0/qa.tfbackend",
    "s1/main.tf",
    "s1/remote.tf",
    "s1/terraform.tfvars",
    "s1/x.auto.tfvars",
    "s1/stg.tfbackend",
    "grp/s2/prd.tfvars",
    "grp/s2/inputs.tf",
    "shared/inputs.tf",
    "shared/stg.tfvars",
    "shared/prd.tfvars",
    "modules/m0/main.tf",
];

const CONTENTS: &[&str] = &[
    "env = \"stg\"\n",
    "env = \"prd\"\nsize = \"big\"\n",
    "path = \"s0-stg.tfstate\"\n",
    "path = \"s1-stg.tfstate\"\n",
    "region = \"us\"\n",
    "variable \"region\" {}\n",
    "terraform {\n  backend \"local\" {}\n}\nvariable \"env\" {}\n",
    "variable \"x\" {\n  type = string\n}\n",
    "envs = [\"stg\", \"prd\"]\n",
    "exclude = [\"grp/**\"]\n",
    "this is = = not hcl\n",
    "",
];

/// One random edit, described for the failure message.
fn edit(test: &Test, rng: &mut Rng) -> String {
    let file = rng.pick(FILES);
    let path = test.path(file);
    let other = test.path(rng.pick(FILES));
    match rng.below(10) {
        0 => {
            let _ = std::fs::remove_file(&path);
            format!("delete {file}")
        }
        1 => {
            let _ = std::fs::rename(&path, &other);
            format!("rename {file} to {}", other.display())
        }
        2 => {
            let _ = std::fs::remove_file(&path);
            let _ = std::os::unix::fs::symlink(&other, &path);
            format!("symlink {file} to {}", other.display())
        }
        3 => {
            use std::os::unix::fs::PermissionsExt;
            let mode = 0o644 | (rng.below(2) as u32 * 0o111);
            let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode));
            format!("chmod {mode:o} {file}")
        }
        4 => same_size_edit(&path).map_or(format!("no same-size edit of {file}"), |_| {
            format!("same-size edit of {file}, mtime restored")
        }),
        5 => {
            test.git(&["add", "-A"]);
            "git add -A".into()
        }
        6 => {
            test.git(&["add", "-A"]);
            test.git(&["commit", "-qm", "step", "--allow-empty"]);
            "git commit".into()
        }
        7 => {
            let _ = std::process::Command::new("git")
                .args(["rm", "-q", "--cached", "--ignore-unmatch", file])
                .current_dir(test.path(""))
                .output();
            format!("git rm --cached {file}")
        }
        _ => {
            let content = rng.pick(CONTENTS);
            if let Some(dir) = path.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            let _ = std::fs::write(&path, content);
            format!("write {file}: {content:?}")
        }
    }
}

/// Changes one byte of `path` keeping its size and modification time (what git's stat data
/// cannot see, save for the change time).
fn same_size_edit(path: &Path) -> Option<()> {
    let metadata = std::fs::symlink_metadata(path).ok()?;
    if !metadata.is_file() || metadata.len() == 0 {
        return None;
    }
    let mut bytes = std::fs::read(path).ok()?;
    let at = bytes.iter().position(u8::is_ascii_alphabetic)?;
    bytes[at] = if bytes[at] == b'z' { b'y' } else { b'z' };
    std::fs::write(path, bytes).ok()?;
    let file = std::fs::File::options().write(true).open(path).ok()?;
    file.set_modified(metadata.modified().ok()?).ok()
}

/// Flips one bit of a random cache file in the git dir.
fn corrupt_a_cache(test: &Test, rng: &mut Rng) -> Option<String> {
    let caches: Vec<_> = std::fs::read_dir(test.path(".git"))
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            name.starts_with("tfw-") && name != "tfw-key"
        })
        .collect();
    if caches.is_empty() {
        return None;
    }
    let cache = &caches[rng.below(caches.len())];
    let mut bytes = std::fs::read(cache).ok()?;
    if bytes.is_empty() {
        return None;
    }
    let at = rng.below(bytes.len());
    bytes[at] ^= 1 << rng.below(8);
    std::fs::write(cache, bytes).ok()?;
    Some(format!("flip a bit of byte {at} of {}", cache.display()))
}

#[test]
fn answers_with_caches_are_the_answers_without() {
    let steps: usize = std::env::var("TFW_DIFFERENTIAL_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(14);
    let seed = seed();
    let mut rng = Rng::new(seed);
    let test = generated(&mut rng);
    let commands: &[&[&str]] = &[
        &["check"],
        &["stacks"],
        &["affected", "--base", "HEAD"],
        &[
            "affected", "--base", "HEAD", "--head", "HEAD", "--format", "json",
        ],
        &["atlantis"],
        &["--all", "--dry-run", "stg", "plan"],
    ];
    let mut history = Vec::new();
    for step in 0..steps {
        let change = match step % 5 {
            4 => corrupt_a_cache(&test, &mut rng).unwrap_or_else(|| edit(&test, &mut rng)),
            _ => edit(&test, &mut rng),
        };
        history.push(change);
        let without = answers(&test, commands, false);
        let with = answers(&test, commands, true);
        if with != without {
            let diff = similar::TextDiff::from_lines(&without, &with)
                .unified_diff()
                .header("without caches", "with caches")
                .to_string();
            panic!(
                "TFW_TEST_SEED={seed}: after\n  {}\nanswers differ:\n{diff}",
                history.join("\n  ")
            );
        }
    }
}
