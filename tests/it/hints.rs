//! Command lines that parse but mean something else get a hint that points the right way, and
//! clap's own errors have tfw's shape.

use crate::common::Test;

#[test]
fn misspelt_subcommand_suggests_it() {
    let run = Test::stack().args(["chekc"]).run().status(64);
    assert_eq!(
        run.stderr(),
        "tfw: error: `chekc` is neither a subcommand nor an environment\nhelp: did you mean `tfw check`?\n"
    );
    Test::stack()
        .args(["stacsk", "plan"])
        .run()
        .status(64)
        .stderr_contains("did you mean `tfw stacks`?");
}

#[test]
fn an_env_named_like_a_subcommand_still_runs() {
    let run = Test::stack()
        .write("chekc.tfbackend", "")
        .write("chekc.tfvars", "")
        .args(["chekc", "plan"])
        .run()
        .status(0);
    assert_eq!(run.lines().last().unwrap(), "plan -var-file=chekc.tfvars");
    // Close to an env too: the env's own suggestion wins.
    Test::stack()
        .write("envz.tfbackend", "")
        .write("envz.tfvars", "")
        .args(["envx", "plan"])
        .run()
        .status(64)
        .stderr_contains("did you mean `envz`?");
}

#[test]
fn a_ref_after_bare_affected_is_told_to_use_equals() {
    let test = Test::stack();
    test.git(&["init", "-q"]);
    for reference in ["HEAD~1", "main"] {
        test.run_with(["-n", "--all", "--affected", reference, "stg", "plan"])
            .status(64)
            .stderr_contains("`--affected` takes its ref joined with `=`")
            .stderr_contains(&format!("help: write `--affected={reference}`"));
    }
}

#[test]
fn affected_without_a_remote_names_the_option_given() {
    let test = Test::stack();
    test.git(&["init", "-q"]);
    test.git(&["add", "-A"]);
    test.git(&["commit", "-qm", "init"]);
    let run = test
        .run_with(["-n", "--all", "--affected", "stg", "plan"])
        .status(64)
        .stderr_contains("--affected=REF");
    assert!(!run.stderr().contains("--base"), "{}", run.stderr());
    test.run_with(["affected"])
        .status(64)
        .stderr_contains("--base");
}

#[test]
fn tfws_options_after_the_command_go_to_terraform_with_one_note() {
    let note = "tfw: note: `-j` went to terraform: tfw's own options go before the env";
    let run = Test::stack()
        .args(["--all", "stg", "plan", "-j", "3", "--dry-run"])
        .run()
        .status(0);
    assert_eq!(
        run.lines().last().unwrap(),
        "plan -var-file=stg.tfvars -j 3 --dry-run"
    );
    assert_eq!(
        run.stderr().matches("tfw: note:").count(),
        1,
        "{}",
        run.stderr()
    );
    assert!(run.stderr().contains(note), "{}", run.stderr());
    for args in [
        ["stg", "plan", "--dry-run"],
        ["stg", "plan", "-C"],
        ["stg", "plan", "--chdir=x"],
    ] {
        let run = Test::stack().args(args).run();
        assert!(
            run.stderr().contains("went to terraform"),
            "{args:?}: {}",
            run.stderr()
        );
    }
    let run = Test::stack()
        .args(["stg", "plan", "-no-color"])
        .run()
        .status(0);
    assert!(
        !run.stderr().contains("went to terraform"),
        "terraform's own flag"
    );
}

#[test]
fn clap_errors_have_tfws_shape_and_exit_64() {
    let run = Test::stack()
        .args(["-j", "2", "stg", "plan"])
        .run()
        .status(64);
    assert_eq!(
        run.stderr().lines().collect::<Vec<_>>(),
        [
            "tfw: error: the following required arguments were not provided: --all",
            "help: usage: tfw [OPTIONS] <ENV> <COMMAND> [ARGS]... or tfw [OPTIONS] <SUBCOMMAND>; see `--help`",
        ]
    );
    Test::stack()
        .args(["--bogus", "stg", "plan"])
        .run()
        .status(64)
        .stderr_contains("tfw: error: unexpected argument '--bogus' found\nhelp: ");
    assert!(
        !run.stderr().contains('\x1b'),
        "no colour without a terminal"
    );
}

/// tfw's stderr when it runs with stderr on a real pseudo-terminal.
fn stderr_at_a_terminal(test: &Test) -> String {
    use std::io::Read;
    let (mut master, slave) = crate::common::terminal::openpty();
    // The Command, and with it this process's copy of the slave, is dropped after the spawn:
    // once tfw exits, reading the master ends (EIO) after the buffered output.
    let mut child = test.command().stderr(slave).spawn().unwrap();
    child.wait().unwrap();
    let mut output = Vec::new();
    let mut buffer = [0; 4096];
    while let Ok(n) = master.read(&mut buffer) {
        if n == 0 {
            break;
        }
        output.extend_from_slice(&buffer[..n]);
    }
    String::from_utf8_lossy(&output).into_owned()
}

#[test]
fn errors_are_coloured_only_at_a_terminal_and_never_with_no_color() {
    let coloured = stderr_at_a_terminal(&Test::stack().args(["-j", "2", "stg", "plan"]));
    assert!(
        coloured.contains("tfw: \x1b[1;31merror:\x1b[0m the following"),
        "{coloured:?}"
    );
    let own = stderr_at_a_terminal(&Test::stack().args(["chekc"]));
    assert!(own.contains("\x1b[1;31merror:"), "{own:?}");
    let plain = stderr_at_a_terminal(
        &Test::stack()
            .env("NO_COLOR", "1")
            .args(["-j", "2", "stg", "plan"]),
    );
    assert!(plain.contains("tfw: error: the following"), "{plain:?}");
    assert!(!plain.contains('\x1b'), "{plain:?}");
}

#[test]
fn help_says_what_check_does_and_keeps_words_whole() {
    let run = Test::new().run_with(["check", "--help"]).status(0);
    for what in [
        "var and backend files",
        "state",
        "variables",
        "required variable",
    ] {
        assert!(run.stdout().contains(what), "{what}: {}", run.stdout());
    }
    let run = Test::new().run_with(["--help"]).status(0);
    let listed = run.stdout();
    let line = listed
        .lines()
        .find(|l| l.trim_start().starts_with("check "))
        .unwrap();
    assert!(line.contains("states and variables"), "{line}");
    assert!(
        listed.lines().any(|l| l.contains("3: fmt -check)")),
        "{listed}"
    );
}
