//! The core command, `tfw <env> <command> [args]`, run as a user would, against a fake terraform.

use crate::common::{STACK, Test};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

const INIT_STG: &str = "init -reconfigure -backend-config=stg.tfbackend -input=false";

#[test]
fn plan_inits_then_plans_with_the_env_files_and_data_dir() {
    let test = Test::stack().args(["stg", "plan"]);
    let run = test.run().status(0);
    assert_eq!(run.lines(), [INIT_STG, "plan -var-file=stg.tfvars"]);
    for call in &run.calls {
        assert_eq!(call.cwd, test.dir.path().canonicalize().unwrap());
        assert_eq!(call.data_dir(), Some(".terraform/tfw/stg"));
    }
    assert!(
        run.stderr()
            .contains("$ terraform plan -var-file=stg.tfvars\n"),
        "{}",
        run.stderr()
    );
}

#[test]
fn arguments_reach_terraform_byte_for_byte() {
    let weird: Vec<&OsStr> = [
        &b"-target=module.a[\"x y\"]"[..],
        b"--",
        b"-h",
        b"--yes",
        b"*.tf",
        b"$HOME `id` 'q'",
        b"line1\nline2",
        b"",
        b"\xff\xfenot-utf8",
    ]
    .into_iter()
    .map(OsStr::from_bytes)
    .collect();
    let mut args: Vec<&OsStr> = vec![OsStr::new("stg"), OsStr::new("plan")];
    args.extend(&weird);
    let run = Test::stack().args(&args).run().status(0);
    let plan = &run.calls[1];
    assert_eq!(plan.argv[..2], ["plan", "-var-file=stg.tfvars"]);
    assert_eq!(plan.argv[2..], weird);
}

#[test]
fn help_flags_after_the_command_go_to_terraform() {
    let run = Test::stack().args(["stg", "plan", "-help"]).run().status(0);
    assert_eq!(run.lines()[1], "plan -var-file=stg.tfvars -help");
    let run = Test::stack().args(["stg", "-help"]).run().status(0);
    assert_eq!(run.lines(), ["-help"], "`-help` needs no init");
}

#[test]
fn terraform_exit_codes_pass_through() {
    let cases = [
        ("plan", "plan", 2),
        ("apply", "apply", 1),
        ("fmt", "fmt", 3),
        ("output", "output", 0),
    ];
    for (command, fake, code) in cases {
        Test::stack()
            .args(["stg", command])
            .env(&format!("FAKE_TF_EXIT_{fake}"), code.to_string())
            .run()
            .status(code);
    }
}

#[test]
fn child_killed_by_signal_gives_128_plus_n() {
    Test::stack()
        .args(["stg", "plan"])
        .env("FAKE_TF_KILL_plan", "9")
        .run()
        .status(137);
}

#[test]
fn failed_init_stops_before_the_command() {
    let run = Test::stack()
        .args(["stg", "plan"])
        .env("FAKE_TF_EXIT_init", "1")
        .run()
        .status(1)
        .stderr_contains("the command was not run");
    assert_eq!(run.lines(), [INIT_STG]);
}

#[test]
fn automatic_init_output_goes_to_stderr_so_stdout_is_the_commands() {
    let run = Test::stack()
        .args(["stg", "output", "-json"])
        .env("FAKE_TF_STDOUT_init", "Initializing the backend...\n")
        .env("FAKE_TF_STDOUT_output", "{}\n")
        .run()
        .status(0)
        .stderr_contains("Initializing the backend...");
    assert_eq!(run.stdout(), "{}\n");
    let run = Test::stack()
        .args(["stg", "init"])
        .env("FAKE_TF_STDOUT_init", "Initializing\n")
        .run()
        .status(0);
    assert_eq!(
        run.stdout(),
        "Initializing\n",
        "an explicit init keeps its stdout"
    );
}

#[test]
fn explicit_init_runs_once_with_the_users_args() {
    let run = Test::stack()
        .args(["stg", "init", "-upgrade"])
        .run()
        .status(0);
    assert_eq!(run.lines(), [format!("{INIT_STG} -upgrade")]);
}

#[test]
fn saved_plan_is_applied_without_var_files() {
    let test = Test::stack();
    std::fs::write(test.path("tfplan"), crate::common::PRD_PLAN).unwrap();
    let run = test
        .args(["--confirm", "prd", "prd", "apply", "tfplan"])
        .run()
        .status(0);
    assert_eq!(run.lines()[1], "apply tfplan");
}

#[test]
fn skip_init_by_flag_or_variable() {
    for (flag, variable) in [
        (Some("--skip-init"), None),
        (None, Some("true")),
        (None, Some("1")),
    ] {
        let mut test = Test::stack();
        if let Some(value) = variable {
            test = test.env("TF_SKIP_INIT", value);
        }
        let args: Vec<&str> = flag.into_iter().chain(["stg", "plan"]).collect();
        let run = test.args(args).run().status(0);
        assert_eq!(
            run.lines(),
            ["plan -var-file=stg.tfvars"],
            "{flag:?} {variable:?}"
        );
    }
    for value in ["", "false", "0"] {
        let run = Test::stack()
            .env("TF_SKIP_INIT", value)
            .args(["stg", "plan"])
            .run()
            .status(0);
        assert_eq!(run.calls.len(), 2, "TF_SKIP_INIT={value:?} inits");
        assert!(!run.stderr().contains("note"), "{}", run.stderr());
    }
    let run = Test::stack()
        .env("TF_SKIP_INIT", "skip")
        .args(["stg", "plan"])
        .run()
        .status(0)
        .stderr_contains("TF_SKIP_INIT=\"skip\" is neither `true` nor `1`; running init as usual");
    assert_eq!(
        run.calls.len(),
        2,
        "an unknown value inits, as terraform.sh did"
    );
    let run = Test::stack()
        .env("TF_SKIP_INIT", "true")
        .args(["--reinit", "stg", "plan"])
        .run()
        .status(0);
    assert_eq!(run.calls.len(), 2, "--reinit beats the variable");
}

#[test]
fn skip_init_never_affects_subcommands() {
    for value in ["", "skip", "true"] {
        for args in [
            &["check"][..],
            &["envs"],
            &["stacks"],
            &["atlantis"],
            &["completions", "bash"],
        ] {
            let run = Test::stack()
                .env("TF_SKIP_INIT", value)
                .args(args)
                .run()
                .status(0);
            assert!(
                !run.stderr().contains("TF_SKIP_INIT"),
                "{args:?} TF_SKIP_INIT={value:?}: {}",
                run.stderr()
            );
        }
    }
}

#[test]
fn quiet_silences_the_echo() {
    let run = Test::stack().args(["-q", "stg", "plan"]).run().status(0);
    assert_eq!(run.stderr(), "");
}

#[test]
fn chdir_runs_in_the_stack() {
    let test = Test::new()
        .files("infra/", STACK)
        .args(["-C", "infra", "dev", "output"]);
    let run = test.run().status(0);
    assert_eq!(run.calls[0].cwd, test.path("infra").canonicalize().unwrap());
    assert_eq!(
        run.lines()[0],
        "init -reconfigure -backend-config=dev.tfbackend -input=false"
    );
}

#[test]
fn user_data_dir_is_respected() {
    let run = Test::stack()
        .env("TF_DATA_DIR", "/tmp/mine")
        .args(["stg", "plan"])
        .run()
        .status(0);
    assert!(run.calls.iter().all(|c| c.data_dir() == Some("/tmp/mine")));
}

#[test]
fn shared_data_dir_reinits_on_every_call() {
    let test = Test::stack().write("tfw.toml", "data_dir = \"shared\"\n");
    let run = test.args(["prd", "output"]).run().status(0);
    assert_eq!(
        run.lines()[0],
        "init -reconfigure -backend-config=prd.tfbackend -input=false"
    );
    assert!(run.calls.iter().all(|c| c.data_dir().is_none()));
}

#[test]
fn patterns_from_tfw_toml_with_directories() {
    let run = Test::new()
        .write("tfw.toml", "var_files = [\"common.tfvars\", \"environments/{env}/{env}.tfvars\"]\nbackend_config = \"env/{env}/backend.tfbackend\"\n")
        .write("main.tf", "")
        .write("common.tfvars", "")
        .write("environments/qa/qa.tfvars", "")
        .write("env/qa/backend.tfbackend", "")
        .args(["qa", "plan"])
        .run()
        .status(0);
    assert_eq!(
        run.lines(),
        [
            "init -reconfigure -backend-config=env/qa/backend.tfbackend -input=false",
            "plan -var-file=common.tfvars -var-file=environments/qa/qa.tfvars"
        ]
    );
}

#[test]
fn sub_stack_finds_tfw_toml_at_the_root() {
    let test = Test::stack()
        .write(
            "tfw.toml",
            "var_files = [\"{env}.tfvars\", \"{env}.extra.tfvars\"]\n",
        )
        .files("datadog/", STACK)
        .write("datadog/stg.extra.tfvars", "")
        .current_dir("datadog")
        .args(["stg", "plan"]);
    test.git(&["init", "-q"]);
    let run = test.run().status(0);
    assert_eq!(
        run.lines()[1],
        "plan -var-file=stg.tfvars -var-file=stg.extra.tfvars"
    );
    assert_eq!(
        run.calls[1].cwd,
        test.path("datadog").canonicalize().unwrap()
    );
}

#[test]
fn dry_run_prints_pasteable_commands_and_runs_nothing() {
    let run = Test::stack()
        .without_terraform()
        .args(["-n", "stg", "plan", "-target=a b"])
        .run()
        .status(0);
    assert!(run.calls.is_empty());
    assert_eq!(
        run.stdout(),
        "# init: no init yet for stg\n\
         (cd . && TF_DATA_DIR=.terraform/tfw/stg terraform init -reconfigure -backend-config=stg.tfbackend -input=false)\n\
         (cd . && TF_DATA_DIR=.terraform/tfw/stg terraform plan -var-file=stg.tfvars '-target=a b')\n"
    );
}

#[test]
fn started_as_terraform_sh_it_behaves_the_same() {
    let test = Test::stack().args(["stg", "plan", "-out=tfplan"]);
    let link = test.path("terraform.sh");
    std::os::unix::fs::symlink(crate::common::TFW, &link).unwrap();
    let output = test.command_for(&link).output().unwrap();
    let run = test.finish(output).status(0);
    assert_eq!(
        run.lines(),
        [INIT_STG, "plan -var-file=stg.tfvars -out=tfplan"]
    );
    // Some wrappers took the action first: accepted under that name, for a known env only.
    let test = Test::stack();
    let link = test.path("terraform.sh");
    std::os::unix::fs::symlink(crate::common::TFW, &link).unwrap();
    test.run_with(["stg", "init"]).status(0);
    let mut command = test.command_for(&link);
    command.args(["plan", "stg", "-out=tfplan"]);
    let run = test.finish(command.output().unwrap()).status(0);
    assert_eq!(run.lines(), ["plan -var-file=stg.tfvars -out=tfplan"]);
    let mut command = test.command_for(&link);
    command.args(["plan", "stag"]);
    test.finish(command.output().unwrap())
        .status(64)
        .stderr_contains("unknown environment `plan`");
    test.run_with(["plan", "stg"])
        .status(64)
        .stderr_contains("did you mean `tfw stg plan`?");
}

#[test]
fn binary_from_option_variable_or_tfw_toml() {
    let run = Test::stack()
        .fake_as("tofu")
        .write("tfw.toml", "binary = \"tofu\"\n")
        .args(["-n", "stg", "fmt"])
        .run()
        .status(0);
    assert!(run.stdout().contains(" tofu fmt"), "{}", run.stdout());
    let run = Test::stack()
        .fake_as("tofu")
        .env("TFW_TERRAFORM", "tofu")
        .args(["-n", "stg", "fmt"])
        .run()
        .status(0);
    assert!(run.stdout().contains(" tofu fmt"), "{}", run.stdout());
    let run = Test::stack()
        .args(["--terraform", "/bin/true", "stg", "fmt"])
        .run()
        .status(0);
    assert!(run.calls.is_empty(), "ran /bin/true, not the fake");
}

#[test]
fn errors_say_what_and_how_with_their_exit_codes() {
    let cases: &[(Test, i32, &[&str])] = &[
        (
            Test::stack().args(["stag", "plan"]),
            64,
            &[
                "unknown environment `stag`",
                "known: dev, prd, stg",
                "did you mean `stg`?",
            ],
        ),
        (
            Test::stack().args(["../prd", "plan"]),
            64,
            &["invalid environment name `../prd`"],
        ),
        (
            Test::stack().args(["check.x/..", "plan"]),
            64,
            &["invalid environment name"],
        ),
        (
            Test::stack().args(["stg"]),
            64,
            &["missing terraform command after `stg`"],
        ),
        (
            Test::stack().args(["--no-such-option", "stg", "plan"]),
            64,
            &["--no-such-option"],
        ),
        (
            Test::stack().args(["-C", "nowhere", "stg", "plan"]),
            64,
            &["`nowhere` is not a directory"],
        ),
        (
            Test::stack().remove("stg.tfvars").args(["stg", "plan"]),
            66,
            &["var file for env stg is missing", "stg.tfvars"],
        ),
        (
            Test::stack()
                .write("tfw.toml", "envs = [\"stg\"]\nbogus = true\n")
                .args(["stg", "plan"]),
            65,
            &["tfw.toml:2:", "bogus"],
        ),
        (
            Test::stack().without_terraform().args(["stg", "plan"]),
            69,
            &["terraform not found", "TFW_TERRAFORM"],
        ),
    ];
    for (test, code, needles) in cases {
        let run = test.run();
        assert_eq!(run.code(), *code, "{}", run.stderr());
        assert!(run.calls.is_empty(), "terraform ran: {:?}", run.lines());
        let stderr = run.stderr();
        for needle in *needles {
            assert!(
                stderr.contains(needle),
                "stderr lacks {needle:?}:\n{stderr}"
            );
        }
    }
}

#[test]
fn invalid_env_name_is_refused_before_reading_files() {
    // A tfw.toml that would fail to parse proves nothing was read.
    Test::stack()
        .write("tfw.toml", "this is not toml")
        .args(["../prd", "plan"])
        .run()
        .status(64)
        .stderr_contains("invalid environment name");
}

#[test]
fn lone_help_flags_print_usage() {
    for (flag, long) in [("-h", false), ("-help", true), ("--help", true)] {
        let run = Test::stack()
            .env("TFW_TERRAFORM", "/opt/secret/terraform")
            .args([flag])
            .run()
            .status(0);
        assert!(
            run.stdout()
                .contains("Usage: tfw [OPTIONS] <ENV> <COMMAND>"),
            "{flag}"
        );
        assert!(run.stdout().contains("77"), "exit code table in help");
        assert_eq!(run.stdout().contains("Protected envs"), long, "{flag}");
        assert_eq!(
            run.stdout().contains("tfw.toml at the repository root"),
            long
        );
        assert!(
            !run.stdout().contains("/opt/secret"),
            "no environment values"
        );
        assert!(
            !run.stdout().contains("[env: TF_SKIP_INIT"),
            "no empty env value"
        );
    }
}

#[test]
fn envs_lists_the_stack_envs() {
    let run = Test::stack().args(["envs"]).run().status(0);
    assert_eq!(run.stdout(), "dev\nprd\nstg\n");
    let run = Test::stack()
        .args(["envs", "--format", "json"])
        .run()
        .status(0);
    assert_eq!(run.stdout(), "[\"dev\",\"prd\",\"stg\"]\n");
    let run = Test::stack()
        .write("tfw.toml", "envs = [\"prd\", \"stg\"]")
        .args(["envs"])
        .run()
        .status(0);
    assert_eq!(run.stdout(), "prd\nstg\n");
}

#[test]
fn stdin_without_terminal_gets_input_false_on_init_only() {
    let run = Test::stack().args(["stg", "apply"]).run().status(0);
    assert!(run.lines()[0].ends_with("-input=false"));
    assert_eq!(run.lines()[1], "apply -var-file=stg.tfvars");
}

#[test]
fn a_closed_stdout_ends_tfw_quietly_like_cat() {
    use std::os::unix::process::ExitStatusExt;
    let test = Test::stack().args(["--help"]);
    let mut child = test
        .command()
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success() || output.status.signal() == Some(libc::SIGPIPE),
        "{:?}",
        output.status
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "",
        "no error about the pipe"
    );
}

#[test]
fn a_failed_write_is_exit_74_with_one_line() {
    let test = Test::stack().write("tfw.toml", "").files("datadog/", STACK);
    test.git(&["init", "-q"]);
    test.git(&["add", "-A"]);
    test.git(&["rm", "-q", "--cached", "datadog/prd.tfvars"]);
    for args in [
        &["envs"][..],
        &["stacks"],
        &["stacks", "--format", "json"],
        &["atlantis"],
        &["completions", "bash"],
        &["--dry-run", "stg", "plan"],
        &["--all", "--dry-run", "stg", "plan"],
        &["check"],
        &["check", "--format", "json"],
    ] {
        let mut command = test.command();
        command.args(args).stdout(
            std::fs::File::options()
                .write(true)
                .open("/dev/full")
                .unwrap(),
        );
        let run = test.finish(command.output().unwrap());
        assert_eq!(run.code(), 74, "{args:?}: {}", run.stderr());
        assert!(
            run.stderr().starts_with("tfw: error: writing output: "),
            "{args:?}: {}",
            run.stderr()
        );
        assert_eq!(
            run.stderr().lines().count(),
            2,
            "{args:?}: {}",
            run.stderr()
        );
    }
}

/// `-var` arguments of `total` bytes in all (each below the kernel's 128 KiB per argument).
fn filler(total: usize) -> Vec<String> {
    let mut args = Vec::new();
    let mut left = total;
    while left > 0 {
        let size = left.clamp(8, 100_000);
        args.push(format!("-var=x={}", "a".repeat(size - 7)));
        left = left.saturating_sub(size);
    }
    args
}

#[test]
fn an_argument_list_too_long_is_one_line() {
    let test = Test::stack();
    // The longest list tfw itself can be started with: terraform gets a little more (its var
    // file, TF_DATA_DIR), which the system refuses.
    let starts = |total: usize| {
        let mut command = test.command();
        command.args(["--version", "x"]).args(filler(total));
        command.output().is_ok()
    };
    let (mut low, mut high) = (100_000, 64 << 20);
    while high - low > 1 {
        let middle = (low + high) / 2;
        if starts(middle) {
            low = middle
        } else {
            high = middle
        }
    }
    let mut command = test.command();
    command.args(["stg", "plan"]).args(filler(low));
    let run = test.finish(command.output().unwrap());
    let run = run
        .status(64)
        .stderr_contains("the system refused to start terraform");
    assert!(
        run.stderr().len() < 6000,
        "{} bytes of stderr",
        run.stderr().len()
    );
    assert!(
        run.stderr().contains("more bytes)"),
        "the echo is cut short"
    );
}

#[test]
fn an_unreadable_stack_directory_says_so() {
    use std::os::unix::fs::PermissionsExt;
    let test = Test::new().files("locked/", STACK);
    std::fs::set_permissions(test.path(""), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(test.path("locked"), std::fs::Permissions::from_mode(0o000)).unwrap();
    // Root reads any directory: run tfw as nobody then.
    let root = unsafe { libc::geteuid() } == 0;
    let program = if root {
        "/usr/bin/setpriv"
    } else {
        crate::common::TFW
    };
    let mut command = test.command_for(std::path::Path::new(program));
    if root {
        command.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            crate::common::TFW,
        ]);
    }
    command.args(["-C", "locked", "stg", "plan"]);
    let run = test.finish(command.output().unwrap());
    std::fs::set_permissions(test.path("locked"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let run = run
        .status(66)
        .stderr_contains("cannot read")
        .stderr_contains("locked: permission denied");
    assert!(
        !run.stderr().contains("unknown environment"),
        "{}",
        run.stderr()
    );
}

#[test]
fn an_unknown_env_names_the_configured_backend_file_and_ignores_case() {
    let test = Test::new()
        .write(
            "tfw.toml",
            "backend_config = \"env/{env}/backend.tfvars\"\nvar_files = []\n",
        )
        .write("main.tf", "")
        .write("env/prd/backend.tfvars", "");
    test.run_with(["PRD", "plan"])
        .status(64)
        .stderr_contains("did you mean `prd`?");
    test.run_with(["qa", "plan"])
        .status(64)
        .stderr_contains("create its backend config `env/qa/backend.tfvars`");
}
