//! Protected environments: nothing touches their state without a deliberate confirmation.

use crate::common::Test;
use crate::common::terminal::Terminal;
use std::fs;
use std::process::Stdio;

const GUARDED: &[&[&str]] = &[
    &["apply"],
    &["apply", "-destroy"],
    &["destroy"],
    &["import", "a.b", "id"],
    &["refresh"],
    &["state", "mv", "a", "b"],
    &["state", "rm", "a"],
    &["state", "push", "f"],
    &["state", "replace-provider", "a", "b"],
    &["taint", "a"],
    &["untaint", "a"],
    &["force-unlock", "1"],
    &["workspace", "delete", "x"],
    &["workspace", "new", "x"],
    // `env` is terraform's old name of `workspace`.
    &["env", "delete", "victim"],
    &["env", "new", "x"],
    &["test"],
    // A command tfw does not know may change state: it asks.
    &["frobnicate"],
    &["init", "-migrate-state"],
    &["init", "-force-copy"],
];

fn prd(command: &[&str]) -> Vec<String> {
    std::iter::once("prd")
        .chain(command.iter().copied())
        .map(String::from)
        .collect()
}

#[test]
fn guarded_commands_on_prd_are_refused_without_a_terminal() {
    for command in GUARDED {
        let run = Test::stack().args(prd(command)).run();
        assert_eq!(run.code(), 77, "{command:?}: {}", run.stderr());
        assert!(
            run.calls.is_empty(),
            "{command:?}: terraform ran {:?}",
            run.lines()
        );
        assert!(run.stderr().contains("--confirm prd"), "{}", run.stderr());
        assert!(run.stderr().contains("TFW_CONFIRM=prd"), "{}", run.stderr());
    }
}

#[test]
fn saved_plan_apply_on_prd_is_refused_too() {
    let run = Test::stack()
        .write("tfplan", "PK\u{3}\u{4}")
        .args(["prd", "apply", "tfplan"])
        .run()
        .status(77);
    assert!(run.calls.is_empty());
}

#[test]
fn chdir_is_refused_before_anything_runs() {
    for all in [false, true] {
        for words in [
            &[
                "prd",
                "-chdir=.",
                "apply",
                "-auto-approve",
                "-var-file=prd.tfvars",
            ][..],
            &["prd", "-chdir=.", "destroy"],
            &["stg", "-chdir", ".", "plan"],
            &["stg", "--chdir=sub", "plan"],
        ] {
            let args: Vec<&str> = all
                .then_some("--all")
                .into_iter()
                .chain(words.iter().copied())
                .collect();
            let run = Test::stack()
                .args(&args)
                .env("TFW_CONFIRM", "prd")
                .run()
                .status(64)
                .stderr_contains("tfw -C <DIR>");
            assert!(
                run.calls.is_empty(),
                "{args:?}: terraform ran {:?}",
                run.lines()
            );
        }
    }
}

#[test]
fn an_alias_runs_like_its_command() {
    let run = Test::stack().args(["stg", "env", "list"]).run().status(0);
    assert_eq!(run.lines()[1], "env list", "no var file, after init");
}

#[test]
fn a_plan_made_for_another_env_is_never_applied() {
    let plan = include_bytes!("../fixtures/prd-1.0.3.tfplan");
    let test = Test::stack();
    fs::write(test.path("tfplan"), plan).unwrap();
    // Made for prd's state: stg refuses it, even confirmed; prd takes it once confirmed.
    for args in [
        &["stg", "apply", "tfplan"][..],
        &["--confirm", "stg", "stg", "apply", "-input=false", "tfplan"],
    ] {
        let run = test
            .run_with(args)
            .status(77)
            .stderr_contains("`tfplan` was planned against another state than stg's");
        assert!(
            run.calls.is_empty(),
            "{args:?}: terraform ran {:?}",
            run.lines()
        );
    }
    test.run_with(["prd", "apply", "tfplan"]).status(77);
    let run = test
        .run_with(["--confirm", "prd", "prd", "apply", "tfplan"])
        .status(0);
    assert_eq!(run.lines()[1], "apply tfplan");
}

#[test]
fn read_only_commands_on_prd_never_ask() {
    let read_only: &[&[&str]] = &[
        &["plan"],
        &["output"],
        &["show"],
        &["state", "list"],
        &["state", "show", "a"],
        &["state", "pull"],
        &["console"],
        &["validate"],
        &["graph"],
        &["providers"],
        &["fmt"],
        &["init", "-upgrade"],
        &["env", "list"],
        &["workspace", "select", "default"],
        &["-version"],
        &["version"],
        // terraform shows apply's help and does nothing else.
        &["-help", "apply"],
    ];
    for command in read_only {
        let run = Test::stack().args(prd(command)).run();
        assert_eq!(run.code(), 0, "{command:?}: {}", run.stderr());
        assert!(!run.calls.is_empty());
    }
}

#[test]
fn the_token_must_name_this_very_env() {
    for bad in ["stg", "1", "yes", "true", "PRD"] {
        let run = Test::stack()
            .args(["--confirm", bad, "prd", "apply"])
            .run()
            .status(77);
        assert!(run.calls.is_empty(), "{bad}");
        let run = Test::stack()
            .env("TFW_CONFIRM", bad)
            .args(["prd", "apply"])
            .run()
            .status(77);
        assert!(run.calls.is_empty(), "{bad}");
    }
    let run = Test::stack()
        .args(["--confirm", "prd", "prd", "apply", "-auto-approve"])
        .run()
        .status(0);
    assert_eq!(run.lines()[1], "apply -var-file=prd.tfvars -auto-approve");
    let run = Test::stack()
        .env("TFW_CONFIRM", "prd")
        .args(["prd", "destroy"])
        .run()
        .status(0);
    assert_eq!(
        run.lines()[1],
        "destroy -var-file=prd.tfvars",
        "tfw never adds -auto-approve"
    );
}

#[test]
fn protected_list_comes_from_tfw_toml() {
    let test = Test::stack().write("tfw.toml", "protected = [\"stg\"]\n");
    test.run_with(["stg", "apply"]).status(77);
    test.run_with(["prd", "apply"]).status(0);
}

#[test]
fn unprotected_envs_never_ask() {
    Test::stack().args(["stg", "destroy"]).run().status(0);
}

#[test]
fn dry_run_shows_that_confirmation_is_required() {
    let run = Test::stack()
        .without_terraform()
        .args(["-n", "prd", "apply"])
        .run()
        .status(0);
    assert!(
        run.stdout()
            .starts_with("# confirmation required: prd is protected"),
        "{}",
        run.stdout()
    );
    assert!(run.calls.is_empty());
}

/// Runs `tfw prd apply` in a pseudo-terminal, types `answer` at the prompt.
fn answer_prompt(answer: &str) -> (i32, Vec<String>, String) {
    answer_prompt_in(Test::stack(), &["prd", "apply"], answer)
}

fn answer_prompt_in(test: Test, args: &[&str], answer: &str) -> (i32, Vec<String>, String) {
    at_prompt(test, args, |terminal| terminal.send_line(answer))
}

/// Runs tfw in a pseudo-terminal up to the prompt, lets `act` answer, and returns the exit
/// code, the terraform calls and the screen (`<PROMPT>` where the prompt was).
fn at_prompt(
    test: Test,
    args: &[&str],
    act: impl FnOnce(&mut Terminal),
) -> (i32, Vec<String>, String) {
    let test = test.write(
        "prd.tfbackend",
        "bucket = \"acme-state\"\nkey = \"prd/terraform.tfstate\"\nsecret_key = \"hunter2\"\n",
    );
    let mut command = test.command();
    // Plain `error:` labels: colour at a terminal is tested on its own.
    command
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::inherit());
    let mut terminal = Terminal::spawn(command);
    let shown = terminal.expect("Type `prd` to continue");
    act(&mut terminal);
    let rest = terminal.expect_end();
    let code = terminal.wait().code().expect("tfw exited by signal");
    let run = test.finish(std::process::Command::new("true").output().unwrap());
    (code, run.lines(), format!("{shown}<PROMPT>{rest}"))
}

#[test]
fn at_a_terminal_end_of_input_refuses_on_a_line_of_its_own() {
    let (code, lines, screen) = at_prompt(Test::stack(), &["prd", "apply"], |terminal| {
        terminal.send_control('d');
    });
    assert_eq!(code, 77, "{screen}");
    assert!(lines.is_empty(), "terraform ran {lines:?}");
    let after = &screen[screen.find("<PROMPT>").unwrap()..];
    assert!(
        after.contains("\ntfw: error: not confirmed (end of input)"),
        "{screen:?}"
    );
}

/// At the prompt, `signal` reaches tfw (sent by `send`): no terraform, a line of its own.
fn signal_at_prompt(test: Test, send: impl FnOnce(&mut Terminal)) -> (i32, String) {
    let (code, lines, screen) = at_prompt(test, &["prd", "apply"], send);
    assert!(lines.is_empty(), "terraform ran {lines:?}");
    (code, screen)
}

#[test]
fn at_a_terminal_ctrl_c_refuses_with_130_and_a_message() {
    let (code, screen) = signal_at_prompt(Test::stack(), |terminal| {
        terminal.send_control('c');
    });
    assert_eq!(code, 130, "{screen}");
    assert!(
        screen.contains("\ntfw: error: not confirmed (interrupted)"),
        "{screen:?}"
    );
}

#[test]
fn at_a_terminal_ctrl_c_refuses_even_when_tfw_started_with_sigint_ignored() {
    let test = Test::stack().ignoring(libc::SIGINT);
    let (code, screen) = signal_at_prompt(test, |terminal| {
        terminal.send_control('c');
    });
    assert_eq!(code, 130, "{screen}");
}

#[test]
fn sigterm_or_sighup_at_the_prompt_refuses_cleanly() {
    for (signal, code, said) in [
        (libc::SIGTERM, 130, "terminated"),
        (libc::SIGHUP, 129, "hangup"),
    ] {
        let (status, screen) = signal_at_prompt(Test::stack(), |terminal| {
            terminal.signal(signal);
        });
        assert_eq!(status, code, "{screen}");
        assert!(
            screen.contains(&format!("tfw: error: not confirmed ({said})")),
            "{screen:?}"
        );
    }
}

#[test]
fn at_a_terminal_typing_the_env_name_proceeds() {
    let (code, lines, screen) = answer_prompt("prd");
    assert_eq!(code, 0, "{screen}");
    // NO_COLOR (set for plain labels) reaches terraform as -no-color.
    assert_eq!(lines[1], "apply -var-file=prd.tfvars -no-color");
    assert!(
        screen.contains("prd is a protected environment"),
        "{screen}"
    );
    assert!(
        screen.contains("terraform apply -var-file=prd.tfvars"),
        "{screen}"
    );
    assert!(
        screen.contains("bucket = \"acme-state\", key = \"prd/terraform.tfstate\""),
        "{screen}"
    );
    assert!(
        !screen.contains("hunter2"),
        "credentials are never shown: {screen}"
    );
}

#[test]
fn at_a_terminal_anything_else_refuses() {
    for answer in ["yes", "stg", "", "prdx", "p rd"] {
        let (code, lines, screen) = answer_prompt(answer);
        assert_eq!(code, 77, "{answer:?}: {screen}");
        assert!(lines.is_empty(), "{answer:?}: terraform ran {lines:?}");
    }
}

#[test]
fn at_a_terminal_surrounding_whitespace_is_ignored() {
    for answer in ["prd ", " prd", "\tprd  "] {
        let (code, lines, screen) = answer_prompt(answer);
        assert_eq!(code, 0, "{answer:?}: {screen}");
        assert_eq!(lines.len(), 2, "{answer:?}");
    }
}

#[test]
fn with_all_one_prompt_lists_every_stack_before_any_runs() {
    let test = Test::stack()
        .write("tfw.toml", "")
        .files("datadog/", crate::common::STACK);
    let (code, lines, screen) = answer_prompt_in(test, &["--all", "prd", "apply"], "prd");
    assert_eq!(code, 0, "{screen}");
    assert_eq!(lines.iter().filter(|l| l.starts_with("apply")).count(), 2);
    let prompt_at = screen.find("<PROMPT>").unwrap();
    assert_eq!(
        screen[..prompt_at].matches("  stack:").count(),
        2,
        "{screen}"
    );
    assert!(screen[..prompt_at].contains("datadog"), "{screen}");
    assert!(
        !screen[..prompt_at].contains("==> "),
        "nothing ran before the answer: {screen}"
    );
}

#[test]
fn settings_come_from_the_canonical_stack_path_and_the_root_alone() {
    let test = Test::new()
        .write("tfw.toml", "protected = [\"prd\"]\n")
        .files("prodstack/", crate::common::STACK)
        .write("sandbox/main.tf", "")
        .write("sandbox/tfw.toml", "protected = []\n");
    test.git(&["init", "-q"]);
    // `..` is resolved first: prodstack's settings are the root's, and prd asks.
    let run = test
        .run_with([
            "-C",
            "sandbox/../prodstack",
            "prd",
            "apply",
            "-auto-approve",
        ])
        .status(77);
    assert!(run.calls.is_empty(), "terraform ran {:?}", run.lines());
    // The sandbox's own tfw.toml is an error wherever it is seen from.
    let nested = test.path("sandbox/tfw.toml").canonicalize().unwrap();
    for args in [
        &["-C", "sandbox", "prd", "plan"][..],
        &["--all", "prd", "plan"],
        &["check"],
        &["stacks"],
        &["atlantis"],
    ] {
        let run = test.run_with(args).status(65);
        assert!(run.calls.is_empty(), "{args:?}");
        assert!(
            run.stderr().contains(&format!(
                "{} is below the repository root: a repository has one tfw.toml",
                nested.display()
            )),
            "{args:?}: {}",
            run.stderr()
        );
        assert!(
            run.stderr().contains("help: move its settings into"),
            "{}",
            run.stderr()
        );
    }
}

/// One way of asking terraform for a command: the words on tfw's command line, and the
/// variable (`TF_CLI_ARGS`, `TF_CLI_ARGS_<command>`) that carries the rest, if any.
struct Route {
    argv: Vec<String>,
    variable: Option<(String, String)>,
}

/// Every mutating command of `GUARDED` (and `workspace select -or-create`) by every route to
/// terraform: all on the command line, the words after the command in `TF_CLI_ARGS`, and in
/// `TF_CLI_ARGS_<command>`.
fn routes() -> Vec<Route> {
    let mut forms: Vec<Vec<&str>> = GUARDED.iter().map(|c| c.to_vec()).collect();
    forms.push(vec!["workspace", "select", "-or-create", "sandbox"]);
    forms.push(vec!["env", "select", "-or-create", "sandbox"]);
    let mut routes = Vec::new();
    for form in forms {
        let (command, rest) = form.split_first().unwrap();
        let all: Vec<String> = form.iter().map(|w| w.to_string()).collect();
        routes.push(Route {
            argv: all,
            variable: None,
        });
        if rest.is_empty() {
            continue;
        }
        let suffix = command.replace('-', "_");
        for name in ["TF_CLI_ARGS".to_string(), format!("TF_CLI_ARGS_{suffix}")] {
            routes.push(Route {
                argv: vec![command.to_string()],
                variable: Some((name, rest.join(" "))),
            });
        }
    }
    // The subcommand on the command line, its mutating flag in the subcommand's variable.
    routes.push(Route {
        argv: vec!["workspace".into(), "select".into(), "sandbox".into()],
        variable: Some(("TF_CLI_ARGS_workspace_select".into(), "-or-create".into())),
    });
    routes
}

/// Runs every route on `env` with tfw's options `options` (init skipped: the decision on the
/// command itself is under test) and checks the exit code and whether terraform ran.
fn every_route(env: &str, options: &[&str], code: i32) {
    for route in routes() {
        let mut args: Vec<String> = ["--skip-init"]
            .iter()
            .chain(options)
            .map(|o| o.to_string())
            .collect();
        args.push(env.into());
        args.extend(route.argv.iter().cloned());
        let mut test = Test::stack().args(&args);
        if let Some((name, value)) = &route.variable {
            test = test.env(name, value);
        }
        let run = test.run();
        let what = format!("{args:?} {:?}", route.variable);
        assert_eq!(run.code(), code, "{what}: {}", run.stderr());
        assert_eq!(
            run.calls.is_empty(),
            code != 0,
            "{what}: terraform ran {:?}",
            run.lines()
        );
    }
}

#[test]
fn every_route_to_a_mutating_command_on_an_unprotected_env_proceeds() {
    every_route("stg", &[], 0);
}

#[test]
fn every_route_to_a_mutating_command_on_prd_is_refused_without_a_terminal() {
    every_route("prd", &[], 77);
}

#[test]
fn every_route_to_a_mutating_command_on_prd_proceeds_with_its_token() {
    every_route("prd", &["--confirm", "prd"], 0);
}

#[test]
fn every_route_to_a_mutating_command_on_prd_is_refused_with_another_token() {
    every_route("prd", &["--confirm", "stg"], 77);
    every_route("prd", &["--confirm", "yes"], 77);
}

#[test]
fn every_route_to_a_mutating_command_on_prd_asks_at_a_terminal() {
    for route in routes() {
        let mut args = vec!["--skip-init".to_string(), "prd".into()];
        args.extend(route.argv.iter().cloned());
        let mut test = Test::stack();
        if let Some((name, value)) = &route.variable {
            test = test.env(name, value);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, lines, screen) = answer_prompt_in(test, &args, "no");
        assert_eq!(code, 77, "{args:?} {:?}: {screen}", route.variable);
        assert!(lines.is_empty(), "{args:?}: terraform ran {lines:?}");
    }
}

#[test]
fn a_typo_of_a_command_is_refused_before_init_or_the_prompt() {
    for (args, hint) in [
        (&["prd", "paln"][..], "did you mean `plan`?"),
        (&["stg", "aplly", "-auto-approve"], "did you mean `apply`?"),
        (&["--all", "prd", "destory"], "did you mean `destroy`?"),
    ] {
        let run = Test::stack()
            .args(args)
            .run()
            .status(64)
            .stderr_contains(hint);
        assert!(run.calls.is_empty(), "{args:?}: {:?}", run.lines());
    }
    // At a terminal too: no prompt comes first.
    let test = Test::stack().args(["prd", "paln"]);
    let mut command = test.command();
    command.stdin(Stdio::inherit());
    let screen = Terminal::spawn(command).expect_end();
    assert!(screen.contains("did you mean `plan`?"), "{screen}");
    assert!(!screen.contains("Type `prd`"), "{screen}");
}

#[test]
fn the_command_before_the_env_gets_the_right_order_as_a_hint() {
    Test::stack()
        .args(["plan", "stg"])
        .run()
        .status(64)
        .stderr_contains("did you mean `tfw stg plan`?");
    Test::stack()
        .args(["--all", "apply", "prd"])
        .run()
        .status(64)
        .stderr_contains("did you mean `tfw prd apply`?");
}

/// `STACK` with the prd plan saved as `tfplan`, for stg to try applying.
fn with_prd_plan(plan: &[u8]) -> Test {
    let test = Test::stack();
    fs::write(test.path("tfplan"), plan).unwrap();
    test
}

#[test]
fn a_saved_plan_is_compared_with_the_backend_file_as_terraform_evaluates_it() {
    let plan = crate::common::PRD_PLAN;
    // What terraform reads as stg's path: stg's own state, never prd's.
    for backend in [
        "\u{feff}path = \"state/stg.tfstate\"\n",
        "path = \"state/${\"stg\"}.tfstate\"\n",
        "path = true ? \"state/stg.tfstate\" : \"\"\n",
        "path = <<EOT\nstate/prd.tfstate\nEOT\n",
    ] {
        let run = with_prd_plan(plan)
            .write("stg.tfbackend", backend)
            .args(["stg", "apply", "tfplan"])
            .run()
            .status(77)
            .stderr_contains("its backend's path differs from stg.tfbackend");
        assert!(run.calls.is_empty(), "{backend:?}: {:?}", run.lines());
    }
    // What tfw cannot evaluate is refused, not left to terraform.
    for backend in [
        "path = var.state\n",
        "path = format(\"state/%s.tfstate\", \"stg\")\n",
    ] {
        let run = with_prd_plan(plan)
            .write("stg.tfbackend", backend)
            .args(["stg", "apply", "tfplan"])
            .run()
            .status(77)
            .stderr_contains("cannot compare `tfplan` with stg's backend");
        assert!(run.calls.is_empty(), "{backend:?}");
    }
    // Evaluated to prd's own state, the plan is prd's: it applies (stg is not protected).
    let run = with_prd_plan(plan)
        .write(
            "stg.tfbackend",
            "\u{feff}path = \"state/${\"prd\"}.tfstate\"\n",
        )
        .args(["stg", "apply", "tfplan"])
        .run()
        .status(0);
    assert_eq!(run.lines()[1], "apply tfplan");
}

#[test]
fn a_backend_setting_only_the_plan_has_is_another_state() {
    // prd's plan carries `path`; a stg whose file sets only `workspace_dir` is not that state.
    let run = with_prd_plan(crate::common::PRD_PLAN)
        .write("stg.tfbackend", "workspace_dir = \"w\"\n")
        .args(["stg", "apply", "tfplan"])
        .run()
        .status(77)
        .stderr_contains("path, workspace_dir differs");
    assert!(run.calls.is_empty());
}

#[test]
fn a_plan_file_tfw_cannot_read_is_refused_and_one_terraform_reads_is_read_too() {
    let mut prepended = b"JUNK".to_vec();
    prepended.extend_from_slice(crate::common::PRD_PLAN);
    let run = with_prd_plan(&prepended)
        .args(["stg", "apply", "tfplan"])
        .run()
        .status(77)
        .stderr_contains("was planned against another state than stg's");
    assert!(run.calls.is_empty());
    with_prd_plan(&prepended)
        .args(["--confirm", "prd", "prd", "apply", "tfplan"])
        .run()
        .status(0);
    for junk in [&b"PK\x03\x04"[..], b"not a plan", b""] {
        let run = with_prd_plan(junk)
            .args(["stg", "apply", "tfplan"])
            .run()
            .status(77)
            .stderr_contains("cannot read `tfplan` as a terraform plan");
        assert!(run.calls.is_empty());
    }
}

#[test]
fn a_plan_read_from_a_pipe_is_checked_like_a_file() {
    // `cat prd.tfplan | tfw stg apply /dev/stdin`: terraform can open it, so tfw must judge it.
    let test = with_prd_plan(crate::common::PRD_PLAN).args(["stg", "apply", "/dev/stdin"]);
    let mut command = test.command();
    command.stdin(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // tfw may refuse before it reads the pipe: a failed write is fine.
    let _ = std::io::Write::write_all(&mut stdin, crate::common::PRD_PLAN);
    drop(stdin);
    let run = test.finish(child.wait_with_output().unwrap()).status(77);
    assert!(run.calls.is_empty(), "{:?}", run.lines());
}

#[test]
fn a_plan_file_named_in_tf_cli_args_is_checked_like_one_on_the_command_line() {
    for name in ["TF_CLI_ARGS_apply", "TF_CLI_ARGS"] {
        let run = with_prd_plan(crate::common::PRD_PLAN)
            .write("tfw.toml", "var_files = []\n")
            .env(name, "tfplan")
            .args(["--skip-init", "stg", "apply"])
            .run()
            .status(77)
            .stderr_contains("`tfplan` was planned against another state than stg's");
        assert!(run.calls.is_empty(), "{name}");
    }
}

#[test]
fn a_saved_plan_applies_only_in_the_workspace_it_was_made_in() {
    // stg and prd share one path, separated by workspaces: the plan's is `default`.
    let shared = "path = \"state/prd.tfstate\"\n";
    let run = with_prd_plan(crate::common::PRD_PLAN)
        .write("stg.tfbackend", shared)
        .write("tfw.toml", "env_vars = { TF_WORKSPACE = \"{env}\" }\n")
        .args(["stg", "apply", "tfplan"])
        .run()
        .status(77)
        .stderr_contains("planned in workspace `default`, stg uses workspace `stg`");
    assert!(run.calls.is_empty());
    let test = with_prd_plan(crate::common::PRD_PLAN).write("stg.tfbackend", shared);
    let run = test
        .env("TF_WORKSPACE", "sandbox")
        .args(["stg", "apply", "tfplan"])
        .run()
        .status(77);
    assert!(run.calls.is_empty());
    // The workspace the data dir has selected counts when TF_WORKSPACE is not set.
    let test = with_prd_plan(crate::common::PRD_PLAN)
        .write("stg.tfbackend", shared)
        .write(".terraform/tfw/stg/environment", "blue");
    test.run_with(["stg", "apply", "tfplan"])
        .status(77)
        .stderr_contains("stg uses workspace `blue`");
    test.run_with(["--confirm", "prd", "prd", "apply", "tfplan"])
        .status(0);
}

#[test]
fn the_workspace_and_the_variables_terraform_reads_are_shown_before_they_act() {
    let run = Test::stack()
        .env("TF_WORKSPACE", "sandbox")
        .env("TF_CLI_ARGS_apply", "-destroy")
        .args(["-n", "prd", "apply"])
        .run()
        .status(0);
    let out = run.stdout();
    assert!(out.contains("# workspace: sandbox"), "{out}");
    assert!(
        out.contains("# TF_CLI_ARGS_apply adds to `apply`: -destroy"),
        "{out}"
    );
    assert!(out.contains("# confirmation required"), "{out}");
    let (_, lines, screen) = at_prompt(
        Test::stack().env("TF_WORKSPACE", "sandbox"),
        &["--skip-init", "prd", "apply"],
        |terminal| terminal.send_line("no"),
    );
    assert!(screen.contains("workspace: sandbox"), "{screen}");
    assert!(lines.is_empty());
}

#[test]
fn init_arguments_from_the_environment_that_could_move_state_are_refused() {
    for (name, value) in [
        ("TF_CLI_ARGS_init", "-migrate-state"),
        ("TF_CLI_ARGS_init", "-backend-config=prd.tfbackend"),
        ("TF_CLI_ARGS", "-force-copy"),
    ] {
        let run = Test::stack()
            .env(name, value)
            .args(["stg", "plan"])
            .run()
            .status(64)
            .stderr_contains(&format!("{name}={value}"));
        assert!(run.calls.is_empty(), "{name}={value}");
    }
    // A harmless one inits as usual, and a change of it inits again.
    let test = Test::stack();
    test.run_with(["stg", "plan"]).status(0);
    let run = test
        .env("TF_CLI_ARGS_init", "-lock-timeout=5m")
        .args(["stg", "plan"])
        .run()
        .status(0);
    assert_eq!(run.lines().len(), 2, "init again: {:?}", run.lines());
}

#[test]
fn parallel_stacks_that_would_each_ask_for_approval_are_refused_up_front() {
    let two = || {
        Test::stack()
            .files("datadog/", crate::common::STACK)
            .write("tfw.toml", "")
    };
    for env in ["stg", "prd"] {
        let run = two()
            .args(["--all", "-j", "2", "--confirm", env, env, "apply"])
            .run()
            .status(64)
            .stderr_contains("would ask for approval in 2 stacks at once");
        assert!(run.calls.is_empty(), "{env}");
    }
    two()
        .args(["--all", "-j", "2", "stg", "apply", "-auto-approve"])
        .run()
        .status(0);
    two()
        .env("TF_CLI_ARGS_apply", "-auto-approve")
        .args(["--all", "-j", "2", "stg", "apply"])
        .run()
        .status(0);
    two()
        .args(["--all", "-j", "2", "stg", "destroy"])
        .run()
        .status(64);
    two()
        .args(["--all", "-j", "1", "stg", "apply"])
        .run()
        .status(0);
}

/// Issue 20, 6: a `/tmp/tfw.toml` (anyone's) unprotected prd and named the binary.
#[test]
fn outside_git_a_tfw_toml_above_the_stack_is_ignored() {
    let evil = "protected = []\nbinary = \"evil\"\n";
    let test = Test::new()
        .write("tfw.toml", evil)
        .write("a/tfw.toml", evil)
        .files("a/stack/", crate::common::STACK)
        .write("bin/evil", "#!/bin/sh\ntouch \"$HOME/evil-ran\"\n")
        .current_dir("a/stack");
    fs::set_permissions(
        test.path("bin/evil"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let run = test.run_with(["prd", "apply"]).status(77);
    assert!(run.calls.is_empty(), "terraform ran {:?}", run.lines());
    assert!(!test.path("evil-ran").exists());
    // The stack's own tfw.toml still counts.
    fs::write(test.path("a/stack/tfw.toml"), "protected = [\"stg\"]\n").unwrap();
    test.run_with(["prd", "apply"]).status(0);
    test.run_with(["stg", "apply"]).status(77);
}

/// Issue 20, 6: inside git, nothing above the top level is read, whatever is there.
#[test]
fn inside_git_a_tfw_toml_above_the_top_level_is_ignored() {
    let test = Test::new()
        .write("tfw.toml", "protected = []\n")
        .files("repo/stack/", crate::common::STACK)
        .current_dir("repo/stack");
    let status = std::process::Command::new("git")
        .args(["init", "-q"])
        .current_dir(test.path("repo"))
        .status()
        .unwrap();
    assert!(status.success());
    let run = test.run_with(["prd", "apply"]).status(77);
    assert!(run.calls.is_empty(), "terraform ran {:?}", run.lines());
}

/// Like git, tfw looks for the top level no higher than `GIT_CEILING_DIRECTORIES`.
#[test]
fn git_ceiling_directories_bound_the_search_for_the_top_level() {
    let test = Test::new()
        .write("tfw.toml", "protected = []\n")
        .files("a/stack/", crate::common::STACK)
        .current_dir("a/stack");
    test.git(&["init", "-q"]);
    test.run_with(["prd", "apply"]).status(0);
    let ceiling = test.path("a");
    let test = test.env("GIT_CEILING_DIRECTORIES", &ceiling);
    test.run_with(["prd", "apply"]).status(77);
}

/// Issue 20, 7: protection ignored case, so `PROD` applied with no confirmation.
#[test]
fn protection_ignores_the_case_of_env_names() {
    for env in ["PROD", "Production", "weu-PRD", "PrD"] {
        let test = Test::new()
            .write("main.tf", "")
            .write(&format!("{env}.tfbackend"), "")
            .write(&format!("{env}.tfvars"), "");
        let run = test.run_with([env, "apply", "-auto-approve"]).status(77);
        assert!(
            run.calls.is_empty(),
            "{env}: terraform ran {:?}",
            run.lines()
        );
    }
}

/// Issue 25, 6: `protected = ["*prod*"]` silently left `prd` unprotected.
#[test]
fn a_protected_setting_that_leaves_out_a_default_env_says_so_once() {
    let test = Test::stack().write("tfw.toml", "protected = [\"*prod*\"]\nvar_files = []\n");
    for args in [&["prd", "apply"][..], &["--all", "prd", "apply"]] {
        let run = test.run_with(args).status(0);
        assert_eq!(
            run.stderr().matches("prd is not protected").count(),
            1,
            "{args:?}: {}",
            run.stderr()
        );
        assert!(run.stderr().contains("unprotected = [\"prd\"]"));
    }
    let run = test.run_with(["stg", "apply"]).status(0);
    assert!(!run.stderr().contains("not protected"), "{}", run.stderr());
    fs::write(
        test.path("tfw.toml"),
        "protected = [\"*prod*\"]\nunprotected = [\"prd\"]\nvar_files = []\n",
    )
    .unwrap();
    let run = test.run_with(["prd", "apply"]).status(0);
    assert!(!run.stderr().contains("not protected"), "{}", run.stderr());
}

/// Issue 25, 5: a misspelt tfw.toml key names the key it meant.
#[test]
fn a_misspelt_tfw_toml_key_suggests_the_right_one() {
    Test::stack()
        .write("tfw.toml", "protectd = []\n")
        .run_with(["prd", "plan"])
        .status(65)
        .stderr_contains("tfw.toml:1: unknown key `protectd`: did you mean `protected`?");
}
