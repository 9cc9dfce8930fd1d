//! Stacks that read each other's state run in dependency order with `--all`.

use crate::common::{Run, STACK, Test};

/// The stacks (directory names) whose `command` ran, in the order they started.
fn stacks_that_ran(run: &Run, command: &str) -> Vec<String> {
    run.calls
        .iter()
        .filter(|c| c.argv[0] == command)
        .map(|c| c.cwd.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

/// `network` ← `app` (remote state, a key built from var.env) ← `dns` (tfw.toml depends_on).
fn chain() -> Test {
    let remote = r#"variable "env" {}
data "terraform_remote_state" "network" {
  backend = "local"
  config = {
    path = "../network/state/${var.env}.tfstate"
  }
}
"#;
    Test::new()
        .write("tfw.toml", "[stacks.\"dns\"]\ndepends_on = [\"app\"]\n")
        .files("app/", STACK)
        .write("app/remote.tf", remote)
        .files("dns/", STACK)
        .files("network/", STACK)
}

#[test]
fn remote_state_and_depends_on_make_the_graph() {
    let test = chain();
    let run = test.run_with(["graph", "stg"]).status(0);
    assert_eq!(
        run.stdout(),
        "stg:\n  app → network  (app/remote.tf:2 → network/stg.tfbackend)\n  dns → app  (tfw.toml)\n"
    );
    let run = test
        .run_with(["graph", "stg", "--format", "json"])
        .status(0);
    let json: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
    assert_eq!(json[0]["edges"][0]["to"], "network");
    let run = test.run_with(["graph", "--format", "dot"]).status(0);
    assert!(
        run.stdout()
            .contains("\"app\" -> \"network\" [label=\"prd\"]"),
        "{}",
        run.stdout()
    );
}

#[test]
fn all_runs_dependencies_first_and_destroy_in_reverse() {
    let test = chain();
    let run = test.run_with(["--all", "-n", "stg", "plan"]).status(0);
    let stdout = run.stdout();
    let stacks: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("# stack:"))
        .collect();
    assert_eq!(
        stacks,
        [
            "# stack: network (level 0)",
            "# stack: app (level 1)",
            "# stack: dns (level 2)"
        ]
    );
    for jobs in ["1", "2"] {
        let run = test
            .run_with(["--all", "-j", jobs, "stg", "plan"])
            .status(0);
        assert_eq!(
            stacks_that_ran(&run, "plan"),
            ["network", "app", "dns"],
            "-j {jobs}"
        );
    }
    let run = test
        .run_with(["--all", "--confirm", "stg", "stg", "destroy"])
        .status(0);
    let order = stacks_that_ran(&run, "destroy");
    assert_eq!(order, ["dns", "app", "network"]);
    let run = test
        .run_with(["--all", "--no-deps", "stg", "plan"])
        .status(0);
    let order = stacks_that_ran(&run, "plan");
    assert_eq!(order, ["app", "dns", "network"], "path order");
}

#[test]
fn a_failed_dependency_skips_its_dependents() {
    let run = chain()
        .env("FAKE_TF_EXIT_plan_network", "1")
        .args(["--all", "-j", "2", "stg", "plan"])
        .run()
        .status(1);
    assert!(
        run.lines()
            .iter()
            .all(|l| !l.starts_with("plan") || run.calls.len() <= 2),
        "{:?}",
        run.lines()
    );
    assert!(
        run.stderr().contains("(dependency network failed)"),
        "{}",
        run.stderr()
    );
    assert!(
        run.stderr().contains("(dependency app failed)"),
        "{}",
        run.stderr()
    );
}

#[test]
fn a_cycle_is_an_error_naming_its_stacks() {
    let test = chain().write(
        "tfw.toml",
        "[stacks.\"dns\"]\ndepends_on = [\"app\"]\n[stacks.\"network\"]\ndepends_on = [\"dns\"]\n",
    );
    for args in [&["--all", "stg", "plan"][..], &["graph", "stg"]] {
        let run = test
            .run_with(args)
            .status(1)
            .stderr_contains("depend on each other in a circle");
        assert!(run.calls.is_empty());
    }
}

#[test]
fn atlantis_projects_carry_their_depends_on() {
    let run = chain().run_with(["atlantis"]).status(0);
    let yaml = run.stdout();
    let project = |name: &str| {
        let start = yaml.find(&format!("- name: \"{name}\"")).unwrap();
        let end = yaml[start + 1..]
            .find("- name:")
            .map_or(yaml.len(), |e| start + 1 + e);
        yaml[start..end].to_string()
    };
    assert!(
        project("app-stg").contains("depends_on: [\"network-stg\"]"),
        "{}",
        project("app-stg")
    );
    assert!(
        project("dns-prd").contains("depends_on: [\"app-prd\"]"),
        "{}",
        project("dns-prd")
    );
    assert!(
        !project("network-stg").contains("depends_on"),
        "{}",
        project("network-stg")
    );
}
