//! CI across envs: `--all` over several envs at once, the matrix summary, the drift sweep's
//! exit codes, the `--report` JSON, the Markdown summary and GitHub's files, and progress.

use crate::common::terminal::Terminal;
use crate::common::{Run, STACK, Test};
use serde_json::Value;
use std::process::Stdio;

/// `network/` and `app/` (app depends on network), each with dev, prd and stg; no root stack.
fn repo() -> Test {
    Test::new()
        .write("tfw.toml", "[stacks.\"app\"]\ndepends_on = [\"network\"]\n")
        .files("network/", STACK)
        .files("app/", STACK)
}

/// `(stack dir, env)` of each call of `command`, in order.
fn pairs(run: &Run, command: &str) -> Vec<(String, String)> {
    run.calls
        .iter()
        .filter(|c| c.argv[0] == command)
        .map(|c| {
            let dir = c.cwd.file_name().unwrap().to_string_lossy().into_owned();
            let env = c
                .data_dir()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_string();
            (dir, env)
        })
        .collect()
}

fn pair(stack: &str, env: &str) -> (String, String) {
    (stack.to_string(), env.to_string())
}

/// The summary's lines from its header row (`stack …`) to the totals line.
fn matrix(stderr: &str) -> Vec<String> {
    let lines: Vec<&str> = stderr.lines().collect();
    let start = lines
        .iter()
        .rposition(|l| l.starts_with("stack "))
        .unwrap_or_else(|| panic!("no matrix in {stderr}"));
    lines[start..]
        .iter()
        .take_while(|l| !l.is_empty())
        .map(|l| l.to_string())
        .collect()
}

#[test]
fn several_envs_run_in_one_go_in_dependency_order_per_env() {
    let test = repo();
    let run = test.run_with(["--all", "stg,prd", "plan"]).status(0);
    assert_eq!(
        pairs(&run, "plan"),
        [
            pair("network", "stg"),
            pair("app", "stg"),
            pair("network", "prd"),
            pair("app", "prd"),
        ]
    );
    let matrix = matrix(&run.stderr());
    assert_eq!(matrix[0], "stack    stg  prd", "{matrix:?}");
    assert_eq!(matrix[1], "network  ok   ok", "{matrix:?}");
    assert_eq!(matrix[2], "app      ok   ok", "{matrix:?}");
    assert!(matrix[3].starts_with("4 ok, 0 failed, 0 with changes, 0 destroying; "));
    assert_eq!(
        run.stderr().matches("\nstack ").count(),
        1,
        "one summary: {}",
        run.stderr()
    );
}

#[test]
fn a_star_is_every_env_of_every_stack_and_a_glob_some() {
    let test = repo()
        .write("app/weu-dev.tfbackend", "")
        .write("app/weu-dev.tfvars", "");
    let run = test.run_with(["--all", "*", "plan"]).status(0);
    assert_eq!(pairs(&run, "plan").len(), 7);
    assert_eq!(matrix(&run.stderr())[0], "stack    dev  prd  stg  weu-dev");
    assert!(
        matrix(&run.stderr())[1].ends_with("  -"),
        "network has no weu-dev: {:?}",
        matrix(&run.stderr())
    );
    let run = test.run_with(["--all", "weu-*,s*", "plan"]).status(0);
    assert_eq!(
        pairs(&run, "plan"),
        [
            pair("app", "weu-dev"),
            pair("network", "stg"),
            pair("app", "stg")
        ]
    );
    test.run_with(["--all", "eu-*", "plan"])
        .status(64)
        .stderr_contains("`eu-*` matches no env of any stack");
    let run = test.run_with(["--all", "stg,prod", "plan"]).status(64);
    assert!(
        run.stderr().contains("did you mean `prd`?"),
        "{}",
        run.stderr()
    );
    assert!(run.calls.is_empty());
    // Names are still checked before any file is read.
    test.run_with(["--all", "stg,../prd", "plan"]).status(64);
}

#[test]
fn a_dependency_that_fails_in_one_env_skips_its_dependents_there_only() {
    let test = repo().env("FAKE_TF_EXIT_plan_network_prd", "1");
    let run = test.run_with(["--all", "stg,prd", "plan"]).status(1);
    assert_eq!(
        pairs(&run, "plan"),
        [
            pair("network", "stg"),
            pair("app", "stg"),
            pair("network", "prd")
        ]
    );
    let stderr = run.stderr();
    let matrix = matrix(&stderr);
    assert_eq!(matrix[1], "network  ok   failed 1", "{matrix:?}");
    assert_eq!(matrix[2], "app      ok   skipped", "{matrix:?}");
    assert!(matrix[3].starts_with("2 ok, 2 failed, "), "{matrix:?}");
    assert!(
        stderr.contains(
            "failed:\n  network (prd): exit 1\n  app (prd): skipped: dependency network failed\n"
        ),
        "{stderr}"
    );
}

#[test]
fn jobs_run_pairs_of_different_envs_at_once() {
    // Each plan waits until both run at once.
    let run = Test::stack()
        .meet("plan", 2)
        .run_with(["--all", "-j", "2", "stg,dev", "plan"])
        .status(0);
    assert_eq!(pairs(&run, "plan").len(), 2);
    assert_eq!(
        run.overlaps, ["plan"; 2],
        "the one stack's two envs ran at once"
    );
}

#[test]
fn a_protected_env_in_the_set_is_refused_without_a_terminal_before_anything_runs() {
    let test = repo();
    let run = test.run_with(["--all", "stg,prd", "apply"]).status(77);
    assert!(run.calls.is_empty(), "{:?}", run.lines());
    let run = test
        .run_with(["--all", "--confirm", "prd", "stg,prd", "apply"])
        .status(0);
    assert_eq!(pairs(&run, "apply").len(), 4);
}

#[test]
fn a_protected_env_in_the_set_asks_once_listing_its_stacks() {
    let test = repo();
    let mut command = test.command();
    command
        .args(["--all", "stg,prd", "apply"])
        .env("NO_COLOR", "1")
        .stdin(Stdio::inherit());
    let mut terminal = Terminal::spawn(command);
    let shown = terminal.expect("Type `prd` to continue");
    terminal.send_line("prd");
    let rest = terminal.expect_end();
    let run = test.finish(std::process::Command::new("true").output().unwrap());
    assert_eq!(shown.matches("  stack:").count(), 2, "{shown}");
    assert!(
        shown.contains("/network") && shown.contains("/app"),
        "{shown}"
    );
    assert!(
        !shown.contains("==> "),
        "nothing ran before the answer: {shown}"
    );
    assert!(!rest.contains("Type `"), "asked once: {rest}");
    assert_eq!(pairs(&run, "apply").len(), 4, "{rest}");
}

#[test]
fn affected_narrows_the_pairs_of_every_env() {
    let test = repo();
    test.git(&["init", "-q"]);
    test.git(&["add", "-A"]);
    test.git(&["commit", "-qm", "init"]);
    std::fs::write(test.path("app/prd.tfvars"), "env = \"changed\"\n").unwrap();
    let run = test
        .run_with(["--all", "--affected=HEAD", "*", "plan"])
        .status(0);
    assert_eq!(pairs(&run, "plan"), [pair("app", "prd")]);
    std::fs::write(test.path("network/main.tf"), "# changed\n").unwrap();
    let run = test
        .run_with(["--all", "--affected=HEAD", "stg,prd", "plan"])
        .status(0);
    // network's own change (every env), and app's dependents of it.
    assert_eq!(
        pairs(&run, "plan"),
        [
            pair("network", "stg"),
            pair("app", "stg"),
            pair("network", "prd"),
            pair("app", "prd"),
        ]
    );
}

/// A repo whose pairs' plans say what `outputs` gives (`(dir, env, stdout, stderr, exit)`).
fn planned(outputs: &[(&str, &str, &str, &str, i32)]) -> Test {
    outputs
        .iter()
        .fold(repo(), |test, (dir, env, stdout, stderr, exit)| {
            test.env(&format!("FAKE_TF_STDOUT_plan_{dir}_{env}"), stdout)
                .env(&format!("FAKE_TF_STDERR_plan_{dir}_{env}"), stderr)
                .env(&format!("FAKE_TF_EXIT_plan_{dir}_{env}"), exit.to_string())
        })
}

const ADD_2_CHANGE_1: &str = "\nPlan: 2 to add, 1 to change, 0 to destroy.\n";
const DESTROY_3: &str = "\nPlan: 0 to add, 0 to change, 3 to destroy.\n";
const NO_CHANGES: &str = "\nNo changes. Your infrastructure matches the configuration.\n";
const OUTPUTS: &str = "\nChanges to Outputs:\n  + url = \"x\"\n\nYou can apply this plan to save these new output values\n";

#[test]
fn the_matrix_shows_each_pairs_result_totals_and_the_failures_again() {
    for jobs in ["1", "3"] {
        let test = planned(&[
            ("network", "stg", ADD_2_CHANGE_1, "", 2),
            ("network", "prd", NO_CHANGES, "", 0),
            ("network", "dev", OUTPUTS, "", 2),
            ("app", "stg", DESTROY_3, "", 2),
            (
                "app",
                "prd",
                "",
                "╷\n│ Error: Unsupported argument\n│\n│   on main.tf line 3\n╵\n",
                1,
            ),
            ("app", "dev", NO_CHANGES, "", 0),
        ]);
        let run = test
            .run_with([
                "--all",
                "-j",
                jobs,
                "stg,prd,dev",
                "plan",
                "-detailed-exitcode",
            ])
            .status(1);
        let stderr = run.stderr();
        let matrix = matrix(&stderr);
        assert_eq!(
            matrix[..3],
            [
                "stack    stg         prd         dev",
                "network  +2 ~1 -0    no changes  outputs",
                "app      +0 ~0 -3 !  failed 1    no changes",
            ],
            "-j {jobs}: {stderr}"
        );
        assert!(
            matrix[3].starts_with("5 ok, 1 failed, 3 with changes, 1 destroying; "),
            "{matrix:?}"
        );
        assert!(
            stderr.contains("failed:\n  app (prd): exit 1: Error: Unsupported argument\n"),
            "-j {jobs}: {stderr}"
        );
    }
}

#[test]
fn a_no_at_terraforms_prompt_is_cancelled() {
    let test = Test::stack()
        .env("FAKE_TF_STDOUT_apply", "\nApply cancelled.\n")
        .env("FAKE_TF_EXIT_apply", "1");
    let run = test.run_with(["--all", "stg", "apply"]).status(1);
    let matrix = matrix(&run.stderr());
    assert_eq!(matrix[1], ".      cancelled", "{matrix:?}");
    assert!(matrix[2].starts_with("0 ok, 0 failed, 0 with changes, 0 destroying, 1 cancelled; "));
}

#[test]
fn drift_exit_codes_across_pairs() {
    // (the pairs whose `plan -detailed-exitcode` does not exit 0, with their code; tfw's code)
    type Exits<'a> = &'a [(&'a str, &'a str, i32)];
    let table: &[(Exits, i32)] = &[
        (&[], 0),
        (&[("app", "prd", 2)], 2),
        (&[("app", "prd", 2), ("network", "stg", 2)], 2),
        (&[("app", "prd", 1)], 1),
        (&[("app", "prd", 2), ("network", "dev", 1)], 1),
        (&[("network", "stg", 1), ("app", "dev", 2)], 1),
    ];
    for (exits, expected) in table {
        for jobs in ["1", "4"] {
            let test = exits.iter().fold(repo(), |test, (dir, env, code)| {
                test.env(&format!("FAKE_TF_EXIT_plan_{dir}_{env}"), code.to_string())
            });
            let run = test.run_with(["--all", "-j", jobs, "*", "plan", "-detailed-exitcode"]);
            assert_eq!(
                run.code(),
                *expected,
                "{exits:?} -j {jobs}: {}",
                run.stderr()
            );
        }
    }
}

#[test]
fn the_report_is_versioned_json_with_envs_counts_and_totals() {
    let test = planned(&[
        ("network", "stg", ADD_2_CHANGE_1, "", 2),
        ("network", "prd", DESTROY_3, "", 2),
        ("app", "stg", OUTPUTS, "", 2),
        ("app", "prd", "", "Error: boom\n", 1),
    ]);
    let run = test
        .run_with([
            "--all",
            "-j",
            "2",
            "--report",
            "report.json",
            "stg,prd",
            "plan",
            "-detailed-exitcode",
        ])
        .status(1);
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(test.path("report.json")).unwrap()).unwrap();
    assert_eq!(report["version"], 1, "{}", run.stderr());
    assert_eq!(report["command"], "plan");
    assert_eq!(report["envs"], serde_json::json!(["stg", "prd"]));
    let pairs = report["pairs"].as_array().unwrap();
    let find = |stack: &str, env: &str| {
        pairs
            .iter()
            .find(|p| p["stack"] == stack && p["env"] == env)
            .unwrap_or_else(|| panic!("no {stack} {env} in {report}"))
    };
    assert_eq!(
        find("network", "stg")["changes"],
        serde_json::json!({"add": 2, "change": 1, "destroy": 0, "outputs": false})
    );
    assert_eq!(find("network", "stg")["result"], "changes");
    assert_eq!(find("network", "stg")["exit_code"], 2);
    assert_eq!(find("network", "prd")["destroys"], true);
    assert_eq!(find("app", "stg")["result"], "outputs");
    assert_eq!(find("app", "stg")["changes"]["outputs"], true);
    assert_eq!(find("app", "prd")["result"], "failed");
    assert_eq!(find("app", "prd")["error"], "exit 1: Error: boom");
    assert_eq!(find("app", "prd")["changes"], Value::Null);
    assert!(find("app", "prd")["seconds"].as_f64().unwrap() >= 0.0);
    let totals = &report["totals"];
    for (key, value) in [
        ("pairs", 4),
        ("ok", 3),
        ("failed", 1),
        ("with_changes", 3),
        ("destroying", 1),
        ("skipped", 0),
        ("cancelled", 0),
        ("interrupted", 0),
        ("add", 2),
        ("change", 1),
        ("destroy", 3),
    ] {
        assert_eq!(totals[key], value, "{key}: {totals}");
    }
    assert!(report["seconds"].as_f64().is_some());
}

#[test]
fn the_markdown_summary_is_a_matrix_with_each_plan_collapsed() {
    let test = planned(&[
        ("network", "stg", ADD_2_CHANGE_1, "", 2),
        ("network", "prd", DESTROY_3, "", 2),
        ("app", "stg", "```\nfenced | text\n", "", 0),
        ("app", "prd", "", "Error: boom\n", 1),
    ]);
    test.run_with([
        "--all",
        "--summary",
        "summary.md",
        "stg,prd",
        "plan",
        "-detailed-exitcode",
    ])
    .status(1);
    let markdown = std::fs::read_to_string(test.path("summary.md")).unwrap();
    for line in [
        "### tfw stg,prd plan\n",
        "\n| stack | stg | prd |\n|---|---|---|\n",
        "\n| `network` | +2 ~1 -0 | **+0 ~0 -3 !** |\n",
        "\n| `app` | no changes | **failed 1** |\n",
        "\n3 ok, 1 failed, 2 with changes, 1 destroying; ",
        "\n<details><summary>network (stg): +2 ~1 -0</summary>\n\n```\n\nPlan: 2 to add, 1 to change, 0 to destroy.\n```\n\n</details>\n",
        // A fence longer than any run of backticks in the plan.
        "\n````\n```\nfenced | text\n````\n",
    ] {
        assert!(markdown.contains(line), "{line:?} not in:\n{markdown}");
    }
    assert_eq!(markdown.matches("<details>").count(), 4);
    assert!(
        markdown.contains("\n- app (prd): exit 1: Error: boom\n"),
        "{markdown}"
    );
}

#[test]
fn the_markdown_stays_under_65000_characters_cutting_the_longest_plans_first() {
    let huge = format!(
        "{}\nPlan: 1 to add, 0 to change, 0 to destroy.\n",
        "x".repeat(90_000)
    );
    let long = format!(
        "{}\nPlan: 1 to add, 0 to change, 0 to destroy.\n",
        "y".repeat(40_000)
    );
    let short = "short plan\nNo changes.\n";
    let test = planned(&[
        ("network", "stg", &huge, "", 2),
        ("network", "prd", &long, "", 2),
        ("app", "stg", short, "", 0),
        ("app", "prd", short, "", 0),
    ]);
    test.run_with([
        "--all",
        "--summary",
        "summary.md",
        "stg,prd",
        "plan",
        "-detailed-exitcode",
    ])
    .status(2);
    let markdown = std::fs::read_to_string(test.path("summary.md")).unwrap();
    let length = markdown.chars().count();
    assert!((60_000..65_000).contains(&length), "{length} characters");
    assert!(
        markdown.contains(
            "The longest outputs below were cut to keep this summary under 65,000 characters."
        ),
        "said so"
    );
    assert_eq!(
        markdown.matches("short plan\nNo changes.").count(),
        2,
        "short plans whole"
    );
    let kept = |c: char| {
        let runs = markdown.split(|x| x != c);
        runs.map(str::len).max().unwrap_or(0)
    };
    // Cut to one length: the long plan and the huge one keep as many characters each.
    assert!(
        kept('x') < 90_000 && kept('y') < 40_000,
        "{} {}",
        kept('x'),
        kept('y')
    );
    assert_eq!(kept('x'), kept('y'));
    assert_eq!(
        markdown
            .matches("… (cut to keep this summary under the size limit)")
            .count(),
        2
    );
}

#[test]
fn under_github_actions_the_step_summary_and_outputs_are_written() {
    let test = planned(&[("network", "prd", DESTROY_3, "", 2)]);
    std::fs::write(test.path("step-summary.md"), "earlier step\n").unwrap();
    std::fs::write(test.path("output"), "other=1\n").unwrap();
    let (summary, output) = (test.path("step-summary.md"), test.path("output"));
    let test = test
        .env("GITHUB_STEP_SUMMARY", summary)
        .env("GITHUB_OUTPUT", output);
    test.run_with(["--all", "stg,prd", "plan", "-detailed-exitcode"])
        .status(2);
    let summary = std::fs::read_to_string(test.path("step-summary.md")).unwrap();
    assert!(
        summary.starts_with("earlier step\n### tfw stg,prd plan\n"),
        "{summary}"
    );
    assert!(
        summary.contains("| `network` | no changes | **+0 ~0 -3 !** |"),
        "{summary}"
    );
    assert_eq!(
        std::fs::read_to_string(test.path("output")).unwrap(),
        "other=1\nhas_changes=true\nhas_destroys=true\nfailed=false\n"
    );
    let test = test.env("FAKE_TF_EXIT_plan_app_stg", "1");
    test.run_with(["--all", "stg", "plan"]).status(1);
    assert!(
        std::fs::read_to_string(test.path("output"))
            .unwrap()
            .ends_with("has_changes=false\nhas_destroys=false\nfailed=true\n")
    );
}

/// A committed stack with two problems: `dev.tfvars` missing, `stg.tfvars:2` undeclared.
fn with_problems() -> Test {
    let test = Test::stack().write("stg.tfvars", "env = \"stg\"\ninstnace = 1\n");
    test.git(&["init", "-q"]);
    test.git(&["add", "-A"]);
    test.git(&["commit", "-qm", "init"]);
    test.git(&["rm", "-q", "dev.tfvars"]);
    test
}

#[test]
fn check_annotates_the_problems_under_github_actions() {
    let test = with_problems();
    let expected = [
        "dev.tfvars: missing (env dev)",
        "stg.tfvars:2: instnace is not a variable of this stack",
    ];
    let text = test.run_with(["check"]).status(1).stdout();
    assert_eq!(
        text.lines().count(),
        2,
        "no annotations outside GitHub: {text}"
    );
    assert!(text.starts_with(expected[0]), "{text}");
    let annotations = [
        "::error file=dev.tfvars,title=tfw check%3A missing::missing (env dev)",
        "::error file=stg.tfvars,line=2,title=tfw check%3A undeclared::instnace is not a variable of this stack",
    ];
    for run in [
        test.run_with(["check", "--format", "github"]),
        with_problems()
            .env("GITHUB_ACTIONS", "true")
            .run_with(["check"]),
    ] {
        let run = run.status(1);
        let lines: Vec<String> = run.stdout().lines().map(str::to_string).collect();
        assert_eq!(lines.len(), 4, "{lines:?}");
        assert!(
            lines[1].starts_with(expected[1]),
            "the text stays: {lines:?}"
        );
        assert_eq!(lines[2], annotations[0]);
        assert!(lines[3].starts_with(annotations[1]), "{lines:?}");
    }
}

#[test]
fn check_writes_gitlab_code_quality_json() {
    let run = with_problems()
        .run_with(["check", "--format", "gitlab"])
        .status(1);
    let issues: Value = serde_json::from_str(&run.stdout()).unwrap();
    let issues = issues.as_array().expect("a list");
    assert_eq!(issues.len(), 2);
    // GitLab's Code Quality format: these fields, these types, unique fingerprints.
    let mut fingerprints = std::collections::BTreeSet::new();
    for issue in issues {
        assert!(issue["description"].is_string(), "{issue}");
        assert!(issue["check_name"].is_string(), "{issue}");
        assert!(fingerprints.insert(issue["fingerprint"].as_str().unwrap().to_string()));
        assert!(
            ["info", "minor", "major", "critical", "blocker"]
                .contains(&issue["severity"].as_str().unwrap()),
            "{issue}"
        );
        assert!(issue["location"]["path"].is_string(), "{issue}");
        assert!(issue["location"]["lines"]["begin"].as_u64().unwrap() >= 1);
    }
    assert_eq!(issues[1]["check_name"], "undeclared");
    assert_eq!(issues[1]["location"]["path"], "stg.tfvars");
    assert_eq!(issues[1]["location"]["lines"]["begin"], 2);
    let again = with_problems()
        .run_with(["check", "--format", "gitlab"])
        .stdout();
    assert_eq!(again, run.stdout(), "fingerprints are stable");
}

#[test]
fn no_color_and_color_never_pass_no_color_to_the_commands_taking_it() {
    for (flags, env, expected) in [
        (&[][..], None, false),
        (&[][..], Some(""), true),
        (&[][..], Some("1"), true),
        (&["--color", "never"][..], None, true),
        (&["--color", "always"][..], Some("1"), false),
        (&["--color", "auto"][..], Some("1"), true),
    ] {
        let test = match env {
            Some(value) => Test::stack().env("NO_COLOR", value),
            None => Test::stack(),
        };
        let mut args: Vec<&str> = flags.to_vec();
        args.extend(["stg", "plan", "-out=tfplan"]);
        let run = test.run_with(&args).status(0);
        for call in &run.calls {
            assert_eq!(
                call.line().ends_with(" -no-color"),
                expected,
                "{flags:?} NO_COLOR={env:?}: {}",
                call.line()
            );
        }
        assert_eq!(run.calls.len(), 2, "init and plan");
        let run = test
            .run_with(flags.iter().chain(&["stg", "version"]))
            .status(0);
        assert_eq!(run.lines(), ["version"], "version takes no -no-color");
    }
    let run = Test::stack()
        .env("NO_COLOR", "1")
        .run_with(["stg", "plan", "-no-color"])
        .status(0);
    assert_eq!(run.lines()[1].matches("-no-color").count(), 1, "not twice");
}

#[test]
fn tfws_own_colour_follows_color() {
    let plan = "Plan: 0 to add, 0 to change, 1 to destroy.\n";
    let test = Test::stack().env("FAKE_TF_STDOUT_plan", plan);
    let run = test
        .run_with(["--color", "always", "--all", "stg", "plan"])
        .status(0);
    assert!(
        run.stderr().contains("\x1b[1;31m+0 ~0 -1\x1b[0m"),
        "destroys in red: {}",
        run.stderr()
    );
    let run = test
        .run_with(["--color", "always", "nope", "plan"])
        .status(64);
    assert!(
        run.stderr().contains("\x1b[1;31merror:"),
        "{}",
        run.stderr()
    );
    for flags in [&["--color", "never"][..], &[]] {
        let run = test
            .run_with(flags.iter().chain(&["--all", "stg", "plan"]))
            .status(0);
        assert!(!run.stderr().contains('\x1b'), "{}", run.stderr());
        assert!(
            run.stderr().contains("\n.      +0 ~0 -1 !\n"),
            "{}",
            run.stderr()
        );
    }
}

#[test]
fn without_a_terminal_each_finished_pair_gets_a_line() {
    for jobs in ["1", "2"] {
        let run = repo()
            .env("FAKE_TF_STDOUT_plan_app_prd", ADD_2_CHANGE_1)
            .run_with(["--all", "-j", jobs, "stg,prd", "plan"])
            .status(0);
        let stderr = run.stderr();
        let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("tfw: [")).collect();
        assert_eq!(lines.len(), 4, "-j {jobs}: {stderr}");
        assert!(
            lines.iter().any(|l| l.starts_with("tfw: [4/4] ")),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.contains("] app (prd): +2 ~1 -0 in ") && l.ends_with(" s")),
            "{lines:?}"
        );
        assert!(!stderr.contains('\x1b'), "nothing redrawn: {stderr:?}");
    }
    let run = repo()
        .run_with(["--all", "-q", "stg,prd", "plan"])
        .status(0);
    assert!(!run.stderr().contains("tfw: ["), "-q: {}", run.stderr());
}

#[test]
fn without_a_terminal_a_heartbeat_says_what_still_runs() {
    let release = crate::common::tempdir();
    let file = release.path().join("go");
    let test = Test::stack()
        .env("FAKE_TF_HOLD_plan", &file)
        .env("TFW_HEARTBEAT_SECONDS", "0.2");
    let tfw = test.spawn(["--all", "stg", "plan"]);
    tfw.wait_for_stderr("tfw: [0/1] still running (");
    tfw.wait_for_stderr("): . (stg)\n");
    std::fs::write(&file, "").unwrap();
    let (code, stderr) = tfw.wait();
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("tfw: [1/1] . (stg): ok in "), "{stderr}");
}

#[test]
fn ctrl_c_says_which_pairs_it_waits_for() {
    let test = repo().env("FAKE_TF_BLOCK", "plan");
    let tfw = test.spawn(["--all", "stg,prd", "plan"]);
    test.wait_for_ready();
    // Ctrl-C as the terminal sends it: to tfw and terraform, each its own.
    tfw.signal(libc::SIGINT);
    assert_eq!(unsafe { libc::kill(test.terraform_pid(), libc::SIGINT) }, 0);
    tfw.wait_for_stderr(
        "tfw: interrupted: waiting for network (stg) to stop; starting no other (a second Ctrl-C is passed on to terraform, which then stops at once)\n",
    );
    std::fs::write(test.path("stopped"), "").unwrap();
    let (code, stderr) = tfw.wait();
    assert_eq!(code, 130, "{stderr}");
    let run = test.finish(std::process::Command::new("true").output().unwrap());
    assert_eq!(pairs(&run, "plan"), [pair("network", "stg")]);
}

/// Runs tfw with `args` in a pseudo-terminal, every plan held until `go` exists; `during`
/// sees the session while they are held. Returns all the screen showed.
fn at_a_terminal(args: &[&str], during: impl FnOnce(&mut Terminal)) -> String {
    let release = crate::common::tempdir();
    let go = release.path().join("go");
    let test = repo().env("FAKE_TF_HOLD_plan", &go);
    let mut command = test.command();
    command.args(args);
    let mut terminal = Terminal::spawn(command);
    during(&mut terminal);
    std::fs::write(&go, "").unwrap();
    terminal.expect_end()
}

#[test]
fn at_a_terminal_a_live_block_shows_each_running_pair_and_the_count() {
    let mut seen = String::new();
    let rest = at_a_terminal(&["--all", "-j", "2", "stg,prd", "plan"], |terminal| {
        seen += &terminal.expect("    running network (prd) (");
        seen += &terminal.expect("[0/4] done");
        // The first block may be drawn before the second pair starts: the next one has both.
        while !seen.contains("    running network (stg) (") {
            seen += &terminal.expect("[0/4] done");
        }
    });
    // Redrawn in place: the block goes up and is cleared before the next.
    assert!(rest.contains("\x1b[J"), "{rest:?}");
    assert!(rest.contains("[4/4] done"), "{rest:?}");
    assert!(
        !rest.contains("tfw: [1/4]"),
        "no plain lines at a terminal: {rest:?}"
    );
    assert!(rest.contains("4 ok, 0 failed"), "{rest:?}");
}

#[test]
fn at_a_terminal_with_one_job_the_headers_carry_the_count() {
    let rest = at_a_terminal(&["--all", "stg,prd", "plan"], |terminal| {
        terminal.expect("==> network (stg) (1/4)");
    });
    for header in [
        "==> app (stg) (2/4)",
        "==> network (prd) (3/4)",
        "==> app (prd) (4/4)",
    ] {
        assert!(rest.contains(header), "{header}: {rest:?}");
    }
}

#[test]
fn the_documented_ci_examples_are_the_files_in_examples_ci() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let docs: String = ["docs/ci.md", "docs/stacks.md"]
        .iter()
        .map(|page| std::fs::read_to_string(root.join(page)).unwrap())
        .collect();
    let mut files: Vec<_> = std::fs::read_dir(root.join("examples/ci"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{files:?}");
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            docs.contains(&format!("```yaml\n{text}```\n")),
            "docs/ci.md and docs/stacks.md lack {} as a yaml block of its own",
            file.display()
        );
    }
}
