//! Sub-stacks: discovery, `tfw stacks`, `tfw envs`, and `--all` across them.

use crate::common::{STACK, Test};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A repo with a root stack, `datadog/`, `metabase` (a symlink to `platform/metabase`), a
/// `modules/` dir and a stray `.terraform/` copy of a stack: three stacks.
fn repo() -> Test {
    let test = Test::new()
        .write("tfw.toml", "")
        .files("", STACK)
        .files("datadog/", STACK)
        .files("platform/metabase/", STACK)
        .write("modules/net/main.tf", "")
        .files(".terraform/modules/copy/", STACK);
    std::os::unix::fs::symlink("platform/metabase", test.path("metabase")).unwrap();
    test
}

fn cwd_names(run: &crate::common::Run, root: &std::path::Path) -> Vec<String> {
    let root = root.canonicalize().unwrap();
    run.calls
        .iter()
        .filter(|c| c.argv[0] != "init")
        .map(|c| c.cwd.strip_prefix(&root).unwrap().display().to_string())
        .collect()
}

#[test]
fn stacks_lists_each_stack_once_root_first() {
    let test = repo();
    let run = test.run_with(["stacks"]).status(0);
    assert_eq!(
        run.stdout(),
        ".\tdev prd stg\ndatadog\tdev prd stg\nplatform/metabase\tdev prd stg\n"
    );
    let run = test.run_with(["stacks", "--format", "json"]).status(0);
    let json: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
    let names: Vec<&str> = json["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["root", "datadog", "platform/metabase"]);
    assert_eq!(
        json["stacks"][1]["envs"],
        serde_json::json!(["dev", "prd", "stg"])
    );
    assert_eq!(
        PathBuf::from(json["root"].as_str().unwrap()),
        test.dir.path()
    );
}

#[test]
fn stacks_reports_missing_env_files_and_per_stack_envs() {
    let test = repo().remove("datadog/prd.tfvars").write(
        "tfw.toml",
        "[stacks.\"platform/metabase\"]\nenvs = [\"stg\"]\n",
    );
    let run = test.run_with(["stacks"]).status(0);
    assert!(
        run.stdout()
            .contains("datadog\tdev prd stg\n  missing: datadog/prd.tfvars (env prd)\n"),
        "{}",
        run.stdout()
    );
    assert!(
        run.stdout().contains("platform/metabase\tstg\n"),
        "{}",
        run.stdout()
    );
    let run = test.run_with(["stacks", "--format", "json"]).status(0);
    let json: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
    assert_eq!(
        json["stacks"][1]["missing"],
        serde_json::json!([{"env": "prd", "file": "datadog/prd.tfvars"}])
    );
}

#[test]
fn envs_of_a_sub_stack() {
    let test = repo()
        .remove("datadog/dev.tfbackend")
        .current_dir("datadog");
    let run = test.run_with(["envs", "--format", "json"]).status(0);
    assert_eq!(run.stdout(), "[\"prd\",\"stg\"]\n");
}

#[test]
fn all_runs_each_stack_in_order_with_a_summary() {
    let test = repo();
    let run = test.run_with(["--all", "stg", "plan"]).status(0);
    assert_eq!(
        cwd_names(&run, test.dir.path()),
        ["", "datadog", "platform/metabase"]
    );
    let stderr = run.stderr();
    for header in [
        "==> . (stg) (1/3)",
        "==> datadog (stg) (2/3)",
        "==> platform/metabase (stg) (3/3)",
    ] {
        assert!(stderr.contains(header), "{stderr}");
    }
    assert!(stderr.contains("\nstack              stg\n"), "{stderr}");
    assert!(stderr.contains("\ndatadog            ok\n"), "{stderr}");
    assert!(
        stderr.contains("\n3 ok, 0 failed, 0 with changes, 0 destroying; "),
        "{stderr}"
    );
}

#[test]
fn all_runs_from_inside_a_sub_stack_too() {
    let test = repo().current_dir("datadog");
    test.git(&["init", "-q"]);
    let run = test.run_with(["--all", "dev", "output"]).status(0);
    assert_eq!(
        run.calls.iter().filter(|c| c.argv[0] == "output").count(),
        3
    );
}

#[test]
fn all_skips_stacks_without_the_env_and_rejects_unknown_envs() {
    let test = repo().remove("datadog/prd.tfbackend");
    let run = test.run_with(["--all", "prd", "plan"]).status(0);
    assert_eq!(cwd_names(&run, test.dir.path()), ["", "platform/metabase"]);
    test.run_with(["--all", "prod", "plan"])
        .status(64)
        .stderr_contains("did you mean `prd`?");
}

#[test]
fn all_exit_code_merges_changes_and_failures() {
    let test = repo().env("FAKE_TF_EXIT_plan_datadog", "2");
    let run = test
        .run_with(["--all", "stg", "plan", "-detailed-exitcode"])
        .status(2);
    assert!(
        run.stderr().contains("\ndatadog            changes\n"),
        "{}",
        run.stderr()
    );
    assert!(
        run.stderr().contains("\n.                  no changes\n"),
        "{}",
        run.stderr()
    );
    let test = repo()
        .env("FAKE_TF_EXIT_plan_datadog", "2")
        .env("FAKE_TF_EXIT_plan_metabase", "1");
    let run = test.run_with(["--all", "stg", "plan"]).status(1);
    assert_eq!(
        run.calls.iter().filter(|c| c.argv[0] == "plan").count(),
        3,
        "keeps going after a failure"
    );
}

#[test]
fn a_stack_tfw_cannot_run_fails_alone() {
    let test = repo().remove("datadog/stg.tfvars");
    let run = test
        .run_with(["--all", "stg", "plan"])
        .status(1)
        .stderr_contains("datadog/stg.tfvars");
    assert_eq!(cwd_names(&run, test.dir.path()), ["", "platform/metabase"]);
}

#[test]
fn fail_fast_starts_no_new_stack() {
    let test = repo().env("FAKE_TF_EXIT_plan_datadog", "1");
    let run = test
        .run_with(["--all", "--fail-fast", "stg", "plan"])
        .status(1);
    assert_eq!(cwd_names(&run, test.dir.path()), ["", "datadog"]);
    assert!(
        run.stderr().contains("platform/metabase  skipped"),
        "{}",
        run.stderr()
    );
}

#[test]
fn jobs_run_stacks_in_parallel() {
    // Each plan waits until all three run at once.
    let run = repo()
        .meet("plan", 3)
        .run_with(["--all", "-j", "3", "stg", "plan"])
        .status(0);
    assert_eq!(run.overlaps, ["plan"; 3]);
}

#[test]
fn one_job_runs_one_stack_at_a_time() {
    // Each plan waits for another one: the first is let go only after a heartbeat of tfw's
    // came while it waited, time enough for a second stack to start.
    let test = repo().meet("plan", 2).env("TFW_HEARTBEAT_SECONDS", "0.1");
    let tfw = test.spawn(["--all", "-j", "1", "stg", "plan"]);
    let plan_runs = || {
        std::fs::read_dir(test.path("meet"))
            .unwrap()
            .any(|e| e.unwrap().file_name() != "go")
    };
    crate::common::wait_until("a plan", plan_runs);
    let beats = tfw.stderr().matches("still running").count();
    crate::common::wait_until("a heartbeat", || {
        tfw.stderr().matches("still running").count() > beats || test.path("meet/go").exists()
    });
    std::fs::write(test.path("meet/go"), "").unwrap();
    let (code, stderr) = tfw.wait();
    assert_eq!(code, 0, "{stderr}");
    let run = test.finish(std::process::Command::new("true").output().unwrap());
    assert_eq!(run.calls.len(), 6, "{:?}", run.lines());
    assert!(run.overlaps.is_empty(), "{:?}", run.overlaps);
}

#[test]
fn parallel_output_is_grouped_per_stack() {
    // The three plans write their lines in step: ungrouped, they would interleave.
    let test = repo().meet("plan", 3).env("FAKE_TF_LINES_plan", "6");
    let run = test.run_with(["--all", "-j", "3", "stg", "plan"]).status(0);
    let stdout = run.stdout();
    // Each stack's lines form one block: once a stack's lines stop, they never come back.
    let owners: Vec<&str> = stdout
        .lines()
        .filter_map(|l| {
            l.split_once(" out ")
                .or(l.split_once(" err "))
                .map(|(d, _)| d)
        })
        .collect();
    assert_eq!(owners.len(), 36, "{stdout}");
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    let mut blocks = 0;
    for (i, owner) in owners.iter().enumerate() {
        if i == 0 || owners[i - 1] != *owner {
            blocks += 1;
            *seen.entry(owner).or_default() += 1;
        }
    }
    assert_eq!(blocks, 3, "{stdout}");
    assert!(seen.values().all(|n| *n == 1));
    for header in [
        "==> . (stg)",
        "==> datadog (stg)",
        "==> platform/metabase (stg)",
    ] {
        assert!(stdout.contains(header), "{stdout}");
    }
}

#[test]
fn protected_env_is_confirmed_once_for_all_stacks() {
    let test = repo();
    let run = test.run_with(["--all", "prd", "apply"]).status(77);
    assert!(run.calls.is_empty());
    let run = test
        .run_with(["--all", "--confirm", "prd", "prd", "apply"])
        .status(0);
    assert_eq!(run.calls.iter().filter(|c| c.argv[0] == "apply").count(), 3);
}

#[test]
fn ctrl_c_stops_the_running_stack_gracefully_and_starts_no_other() {
    let test = repo()
        .args(["--all", "stg", "plan"])
        .env("FAKE_TF_BLOCK", "plan");
    let run = test.interrupt(libc::SIGINT, true).status(130);
    assert_eq!(run.signals, ["SIGINT"]);
    assert_eq!(cwd_names(&run, test.dir.path()), [""]);
    assert!(
        run.stderr().contains("\ndatadog            skipped\n"),
        "{}",
        run.stderr()
    );
}

#[test]
fn symlinks_to_the_filesystem_root_or_outside_are_reported_not_followed() {
    let outside = crate::common::tempdir();
    std::fs::write(outside.path().join("main.tf"), "").unwrap();
    std::fs::write(outside.path().join("stg.tfbackend"), "").unwrap();
    let test = Test::new()
        .write("tfw.toml", "")
        .files("", crate::common::STACK);
    std::os::unix::fs::symlink("/", test.path("rootfs")).unwrap();
    std::os::unix::fs::symlink(outside.path(), test.path("sibling")).unwrap();
    let run = test.run_with(["stacks"]).status(0);
    assert_eq!(run.stdout(), ".\tdev prd stg\n");
    assert!(
        run.stderr()
            .contains("rootfs points outside the repository (/): not followed"),
        "{}",
        run.stderr()
    );
    assert!(
        run.stderr().contains("sibling points outside"),
        "{}",
        run.stderr()
    );
    let all = test
        .run_with(["--all", "--dry-run", "stg", "plan"])
        .status(0);
    assert!(!all.stdout().contains("sibling"), "{}", all.stdout());
}

#[test]
fn no_stacks_is_said_not_silent() {
    let test = Test::new()
        .write(
            "tfw.toml",
            "backend_config = \"env/{env}/backend.tfvars\"\n",
        )
        .write("main.tf", "")
        .write("stg.tfbackend", "");
    for args in [&["check"][..], &["atlantis"]] {
        let run = test.run_with(args).status(1);
        assert!(
            run.stderr().contains("no stacks found in")
                && run
                    .stderr()
                    .contains("backend configs named `env/<env>/backend.tfvars`"),
            "{args:?}: {}",
            run.stderr()
        );
    }
    let run = test.run_with(["stacks"]).status(0);
    assert_eq!(run.stdout(), "");
    assert!(
        run.stderr().contains("tfw: note: no stacks found"),
        "{}",
        run.stderr()
    );
}

#[test]
fn the_summary_has_each_plans_changes_and_a_report() {
    for jobs in ["1", "2"] {
        let test = repo().env(
            "FAKE_TF_STDOUT_plan",
            "Plan: 1 to add, 2 to change, 0 to destroy.\n",
        );
        let report = test.path("report.json");
        let run = test
            .run_with([
                "--all",
                "-j",
                jobs,
                "--report",
                report.to_str().unwrap(),
                "stg",
                "plan",
            ])
            .status(0);
        assert!(
            run.stderr().contains("+1 ~2 -0"),
            "-j {jobs}: {}",
            run.stderr()
        );
        assert!(
            run.stdout().contains("Plan: 1 to add") || jobs == "2",
            "-j 1 passes terraform's stdout through: {}",
            run.stdout()
        );
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
        let pair = &json["pairs"][0];
        assert_eq!(json["version"], 1);
        assert_eq!(pair["stack"], ".");
        assert_eq!(pair["env"], "stg");
        assert_eq!(pair["exit_code"], 0);
        assert_eq!(pair["result"], "changes");
        assert_eq!(
            pair["changes"],
            serde_json::json!({"add": 1, "change": 2, "destroy": 0, "outputs": false})
        );
    }
}

/// A committed repository holding the quickstart stack.
fn committed() -> Test {
    let test = Test::stack();
    test.git(&["init", "-q"]);
    test.git(&["add", "-A"]);
    test.git(&["commit", "-qm", "init"]);
    test
}

#[test]
fn a_corrupt_git_index_is_an_error_naming_it_for_every_command_that_lists() {
    let test = committed();
    let garbage: Vec<u8> = (0..100u32).map(|i| (i * 37 + 11) as u8).collect();
    std::fs::write(test.path(".git/index"), garbage).unwrap();
    for args in [
        &["check"][..],
        &["stacks"],
        &["envs"],
        &["stg", "plan"],
        &["--all", "stg", "plan"],
        &["atlantis"],
        &["affected", "--base", "HEAD"],
    ] {
        let run = test.run_with(args).status(70);
        assert!(
            run.stderr().contains(".git/index") && run.stderr().contains("index file corrupt"),
            "tfw {args:?}: {}",
            run.stderr()
        );
        assert!(run.calls.is_empty(), "tfw {args:?} ran {:?}", run.lines());
    }
}

#[test]
fn three_hundred_damaged_git_indexes_never_crash_tfw() {
    let test = committed();
    let index = std::fs::read(test.path(".git/index")).unwrap();
    for i in 0..300usize {
        let mut damaged = index.clone();
        match i % 3 {
            0 => damaged.truncate(i * index.len() / 300),
            1 => damaged[i * 7 % index.len()] ^= 1 << (i % 8),
            _ => damaged
                .splice(i % index.len()..i % index.len(), [0xff; 3])
                .for_each(drop),
        }
        std::fs::write(test.path(".git/index"), &damaged).unwrap();
        let run = test.run_with(["stacks"]);
        assert!(
            matches!(run.code(), 0 | 70),
            "damage {i}: exit {}: {}",
            run.code(),
            run.stderr()
        );
    }
}

#[test]
fn dry_run_headers_quote_a_stack_name_as_the_commands_are() {
    let test = Test::new().write("tfw.toml", "").files("a\nb/", STACK);
    let run = test.run_with(["--all", "-n", "stg", "plan"]).status(0);
    assert!(
        run.stdout().contains("# stack: $'a\\nb'"),
        "{}",
        run.stdout()
    );
    assert!(
        !run.stdout().lines().any(|l| l.starts_with('b')),
        "a line of its own, as a shell would run it: {}",
        run.stdout()
    );
}
