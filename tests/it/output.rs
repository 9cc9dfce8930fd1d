//! tfw's output and files on a full disk: a write that fails exits 74, never a panic (101),
//! and every file tfw writes is whole or not there, with no temporary file left behind.

use crate::common::{STACK, Test};
use std::path::Path;
use std::process::Stdio;

/// A repository with two stacks and a commit, where every subcommand has something to do.
fn repository() -> Test {
    let test = Test::stack().files("datadog/", STACK).write("tfw.toml", "");
    test.git(&["init", "-q"]);
    test.git(&["add", "-A"]);
    test.git(&["commit", "-qm", "init"]);
    test
}

const COMMANDS: &[&[&str]] = &[
    &["--help"],
    &["--version"],
    &["help"],
    &["envs"],
    &["envs", "--format", "json"],
    &["stacks"],
    &["check"],
    &["check", "--format", "json"],
    &["atlantis"],
    &["atlantis", "--check"],
    &["completions", "bash"],
    &["__complete", "--", "s"],
    &["diff", "stg", "prd"],
    &["affected", "--base", "HEAD"],
    &["graph", "stg"],
    &["stg", "plan"],
    &["-n", "stg", "plan"],
    &["--all", "stg", "plan"],
    &["--all", "-j", "2", "stg", "plan"],
    &["--all", "-n", "stg", "plan"],
    &["prd", "apply"],
    &["nosuchenv", "plan"],
    &["--no-such-option"],
];

fn full() -> Stdio {
    std::fs::File::options()
        .write(true)
        .open("/dev/full")
        .unwrap()
        .into()
}

#[test]
fn every_subcommand_exits_74_when_its_output_cannot_be_written() {
    let test = repository().env(
        "FAKE_TF_STDOUT_plan",
        "Plan: 1 to add, 0 to change, 0 to destroy.\n",
    );
    for args in COMMANDS {
        let normal = test.command().args(*args).output().unwrap();
        for stream in ["stdout", "stderr"] {
            let mut command = test.command();
            command.args(*args);
            let (written, output) = if stream == "stdout" {
                let output = command
                    .stdout(full())
                    .stderr(Stdio::piped())
                    .output()
                    .unwrap();
                (!normal.stdout.is_empty(), output)
            } else {
                let output = command
                    .stderr(full())
                    .stdout(Stdio::piped())
                    .output()
                    .unwrap();
                (!normal.stderr.is_empty(), output)
            };
            let code = output.status.code();
            let seen = String::from_utf8_lossy(if stream == "stdout" {
                &output.stderr
            } else {
                &output.stdout
            })
            .into_owned();
            assert_ne!(
                code,
                Some(101),
                "tfw {args:?} with {stream} full panicked: {seen}"
            );
            assert!(!seen.contains("panicked"), "tfw {args:?}: {seen}");
            if stream == "stdout" && *args == ["stg", "plan"] {
                // terraform's own stdout, not tfw's: its exit code passes through, as ever.
                assert_ne!(code, Some(0), "tfw {args:?} with {stream} full: {seen}");
            } else if written {
                assert_eq!(code, Some(74), "tfw {args:?} with {stream} full: {seen}");
            } else {
                assert_eq!(
                    code,
                    normal.status.code(),
                    "tfw {args:?} with {stream} full: {seen}"
                );
            }
        }
    }
}

/// Every file under `dir` whose name says it is a temporary one tfw left behind.
fn leftovers(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.file_type().unwrap().is_dir() {
                dirs.push(entry.path());
            } else if name.contains(".tmp") || name.contains("stamp.") {
                found.push(entry.path().display().to_string());
            }
        }
    }
    found
}

#[test]
fn atlantis_output_on_a_full_disk_keeps_the_old_file_and_leaves_no_temporary() {
    let test = Test::stack()
        .write("atlantis.yaml", "version: 3\n")
        .file_size_limit(16);
    let run = test
        .run_with(["atlantis", "--output", "atlantis.yaml"])
        .status(70)
        .stderr_contains("writing atlantis.yaml");
    assert_eq!(
        std::fs::read_to_string(test.path("atlantis.yaml")).unwrap(),
        "version: 3\n",
        "{}",
        run.stderr()
    );
    assert_eq!(leftovers(test.dir.path()), Vec::<String>::new());
}

#[test]
fn report_and_init_stamp_on_a_full_disk_leave_no_temporary() {
    // The fake's log would hit the limit too: it writes nowhere.
    let test = Test::stack()
        .env("FAKE_TF_LOG", "/dev/null")
        .file_size_limit(16);
    test.run_with(["--all", "--report", "report.json", "stg", "plan"])
        .status(74)
        .stderr_contains("writing the report")
        .stderr_contains("could not record the init");
    assert!(!test.path("report.json").exists());
    assert_eq!(leftovers(test.dir.path()), Vec::<String>::new());
}

#[test]
fn caches_on_a_full_disk_leave_no_temporary_in_the_git_dir() {
    let test = repository().file_size_limit(16);
    test.run_with(["check"]).status(0);
    test.run_with(["affected", "--base", "HEAD"]).status(0);
    assert_eq!(leftovers(test.dir.path()), Vec::<String>::new());
}
