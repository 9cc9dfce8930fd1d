//! Reports that find nothing say so in one line on stderr (silenced by `-q`); stdout, which
//! scripts read, stays empty.

use crate::common::{STACK, Test};

/// A committed repo: a root stack and `datadog/`, each with stg, dev and prd on their own state.
fn repo() -> Test {
    let test = Test::new()
        .write("tfw.toml", "")
        .files("", STACK)
        .files("datadog/", STACK)
        .files("metabase/", STACK);
    let test = ["datadog", "metabase"].iter().fold(test, |test, stack| {
        ["stg", "dev", "prd"].iter().fold(test, |t, env| {
            t.write(
                &format!("{stack}/{env}.tfbackend"),
                &format!("path = \"state/{stack}-{env}.tfstate\"\n"),
            )
        })
    });
    test.git(&["init", "-q"]);
    test.git(&["add", "-A"]);
    test.git(&["commit", "-qm", "init"]);
    test
}

#[test]
fn a_clean_check_says_what_it_checked() {
    let test = repo();
    let run = test.run_with(["check"]).status(0);
    assert_eq!(run.stdout(), "");
    assert_eq!(
        run.stderr(),
        "tfw: checked 3 stacks × 3 envs: no problems\n"
    );
    let quiet = test.run_with(["-q", "check"]).status(0);
    assert_eq!(
        (quiet.stdout(), quiet.stderr()),
        (String::new(), String::new())
    );
}

#[test]
fn an_up_to_date_atlantis_yaml_says_so() {
    let test = repo();
    test.run_with(["atlantis", "--output", "atlantis.yaml"])
        .status(0);
    let run = test.run_with(["atlantis", "--check"]).status(0);
    assert_eq!(run.stdout(), "");
    assert_eq!(run.stderr(), "tfw: atlantis.yaml is up to date\n");
    assert_eq!(
        test.run_with(["-q", "atlantis", "--check"])
            .status(0)
            .stderr(),
        ""
    );
}

#[test]
fn a_missing_atlantis_yaml_is_named_with_how_to_create_it() {
    let run = repo().run_with(["atlantis", "--check"]).status(1);
    assert_eq!(run.stdout(), "", "no diff of additions");
    assert_eq!(
        run.stderr(),
        "tfw: error: atlantis.yaml does not exist\nhelp: create it with `tfw atlantis --output atlantis.yaml`\n"
    );
}

#[test]
fn nothing_affected_says_between_what() {
    let test = repo();
    let run = test.run_with(["affected", "--base", "HEAD"]).status(0);
    assert_eq!(run.stdout(), "");
    assert!(
        run.stderr()
            .contains("tfw: no stack affected between HEAD and "),
        "{}",
        run.stderr()
    );
    let run = test
        .run_with(["affected", "--base", "HEAD", "--head", "HEAD"])
        .status(0);
    assert!(
        run.stderr()
            .contains("no stack affected between HEAD and HEAD"),
        "{}",
        run.stderr()
    );
    assert_eq!(
        test.run_with(["-q", "affected", "--base", "HEAD"]).stderr(),
        ""
    );
}
