//! Shell completions, driven through real shells against fixture stacks.

use crate::common::{STACK, Test};
use std::path::Path;
use std::process::Command;

const SHELLS: &[(&str, &str)] = &[("bash", "tfw.bash"), ("zsh", "_tfw"), ("fish", "tfw.fish")];

fn script_path(file: &str) -> String {
    format!("{}/completions/{file}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn committed_scripts_are_what_the_binary_prints() {
    for (shell, file) in SHELLS {
        let run = Test::new().run_with(["completions", shell]).status(0);
        let committed = std::fs::read_to_string(script_path(file)).unwrap();
        assert_eq!(
            run.stdout(),
            committed,
            "completions/{file} is stale: run scripts/completions"
        );
    }
    for shell in ["powershell", "elvish"] {
        let run = Test::new().run_with(["completions", shell]).status(0);
        assert!(run.stdout().contains("tfw __complete --"), "{shell}");
    }
}

/// A dir with the built tfw in it, for the shells' PATH.
fn tfw_bin(test: &Test) -> String {
    let bin = test.path("tfw-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let _ = std::os::unix::fs::symlink(crate::common::TFW, bin.join("tfw"));
    format!("{}:/usr/bin:/bin", bin.display())
}

/// What `shell` offers for the command line `line` (the cursor at its end) in `dir`.
fn offered(shell: &str, test: &Test, dir: &Path, line: &str) -> Vec<String> {
    let words: Vec<&str> = if line.ends_with(' ') {
        line.split_whitespace().chain([""]).collect()
    } else {
        line.split_whitespace().collect()
    };
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let (program, code) = match shell {
        "bash" => (
            "bash",
            format!(
                "source {}; COMP_WORDS=({}); COMP_CWORD={}; _tfw; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
                script_path("tfw.bash"),
                quoted.join(" "),
                words.len() - 1
            ),
        ),
        // The completion system itself needs a terminal: stand in for its two builtins.
        "zsh" => (
            "zsh",
            format!(
                "compdef() {{ : }}; compadd() {{ print -l -- \"${{(@P)2}}\" }}; _files() {{ print FILES }}; source {}; words=({}); CURRENT={}; _tfw",
                script_path("_tfw"),
                quoted.join(" "),
                words.len()
            ),
        ),
        "fish" => (
            "fish",
            format!("source {}; complete -C'{line}'", script_path("tfw.fish")),
        ),
        other => panic!("{other}"),
    };
    let output = Command::new(program)
        .args(["-c", &code])
        .current_dir(dir)
        .env_clear()
        .env("PATH", tfw_bin(test))
        .env("HOME", test.dir.path())
        .env("GIT_CEILING_DIRECTORIES", test.dir.path().parent().unwrap())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{shell}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut lines: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        // fish prints `candidate<TAB>description`.
        .map(|l| l.split('\t').next().unwrap().to_string())
        .collect();
    lines.sort();
    lines
}

/// Whether `shell` runs here. A missing one fails the test, unless `TFW_TEST_SKIP_SHELLS=1`
/// says to skip zsh and fish: a test that cannot run must not pass.
fn installed(shell: &str) -> bool {
    let found = Command::new(shell)
        .args(["-c", "exit 0"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        // bash is also what the other tests here complete with.
        let skippable = shell != "bash";
        assert!(
            skippable && std::env::var_os("TFW_TEST_SKIP_SHELLS").is_some_and(|v| v == "1"),
            "{shell} is missing: apt-get install {shell}{}",
            if skippable {
                ", or set TFW_TEST_SKIP_SHELLS=1"
            } else {
                ""
            }
        );
        eprintln!(
            "note: {shell} is missing: its completions are not tested (TFW_TEST_SKIP_SHELLS=1)"
        );
    }
    found
}

#[test]
fn every_shell_offers_envs_subcommands_commands_and_state_subcommands() {
    let test = Test::stack().write(".git/HEAD", "").files(
        "other/",
        &[("main.tf", ""), ("qa.tfbackend", ""), ("uat.tfbackend", "")],
    );
    let dir = test.dir.path();
    for (shell, _) in SHELLS.iter().filter(|(shell, _)| installed(shell)) {
        let first = offered(shell, &test, dir, "tfw ");
        for expected in [
            "stg",
            "dev",
            "prd",
            "check",
            "stacks",
            "envs",
            "atlantis",
            "completions",
        ] {
            assert!(
                first.contains(&expected.to_string()),
                "{shell}: `tfw <TAB>` lacks {expected}: {first:?}"
            );
        }
        assert_eq!(
            offered(shell, &test, dir, "tfw s"),
            ["stacks", "stg"],
            "{shell}"
        );
        assert_eq!(
            offered(shell, &test, dir, "tfw stg pl"),
            ["plan"],
            "{shell}"
        );
        assert!(
            offered(shell, &test, dir, "tfw stg state ").contains(&"mv".to_string()),
            "{shell}"
        );
        let other = offered(shell, &test, &test.path("other"), "tfw ");
        assert!(
            other.contains(&"uat".to_string()) && !other.contains(&"stg".to_string()),
            "{shell}: {other:?}"
        );
        let chdir = offered(shell, &test, dir, "tfw -C other q");
        assert_eq!(chdir, ["qa"], "{shell}: -C is respected");
    }
}

#[test]
fn a_new_env_shows_up_without_regenerating_anything() {
    let test = Test::stack();
    assert!(!offered("bash", &test, test.dir.path(), "tfw q").contains(&"qa1".to_string()));
    let test = test.files("", &[("qa1.tfbackend", "")]);
    assert_eq!(offered("bash", &test, test.dir.path(), "tfw q"), ["qa1"]);
}

#[test]
fn files_complete_after_the_command() {
    let test = Test::stack().files("", STACK);
    assert!(
        offered("bash", &test, test.dir.path(), "tfw stg apply ").is_empty(),
        "bash falls back to file names"
    );
}

#[test]
fn every_shell_offers_tfws_options_before_the_env() {
    let test = Test::stack().write(".git/HEAD", "");
    let dir = test.dir.path();
    for (shell, _) in SHELLS.iter().filter(|(shell, _)| installed(shell)) {
        let dashes = offered(shell, &test, dir, "tfw --");
        for expected in ["--all", "--dry-run", "--chdir", "--quiet"] {
            assert!(
                dashes.contains(&expected.to_string()),
                "{shell}: `tfw --<TAB>` lacks {expected}: {dashes:?}"
            );
        }
        assert!(
            !dashes.iter().any(|o| !o.starts_with("--")),
            "{shell}: {dashes:?}"
        );
        let dash = offered(shell, &test, dir, "tfw -");
        for expected in ["-C", "-n", "--all"] {
            assert!(
                dash.contains(&expected.to_string()),
                "{shell}: `tfw -<TAB>` lacks {expected}: {dash:?}"
            );
        }
        assert_eq!(
            offered(shell, &test, dir, "tfw -q --dr"),
            ["--dry-run"],
            "{shell}: after another option"
        );
    }
}
