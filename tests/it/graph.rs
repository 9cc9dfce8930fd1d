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
    // `apply -destroy`, the flag on the command line or from TF_CLI_ARGS_apply.
    let run = test
        .run_with(["--all", "stg", "apply", "-destroy", "-auto-approve"])
        .status(0);
    assert_eq!(stacks_that_ran(&run, "apply"), ["dns", "app", "network"]);
    let mut command = test.command();
    command
        .env("TF_CLI_ARGS_apply", "-destroy")
        .args(["--all", "stg", "apply", "-auto-approve"]);
    let run = test.finish(command.output().unwrap()).status(0);
    assert_eq!(stacks_that_ran(&run, "apply"), ["dns", "app", "network"]);
    let run = test
        .run_with(["--all", "--no-deps", "stg", "plan"])
        .status(0);
    let order = stacks_that_ran(&run, "plan");
    assert_eq!(order, ["app", "dns", "network"], "path order");
}

#[test]
fn with_jobs_a_dependent_waits_for_its_dependency_to_finish() {
    // network's init is held: with two workers app could start at once, but must not.
    let test = chain();
    let released = test.path("released");
    let test = test.env("FAKE_TF_HOLD_init_network", &released);
    let all = test.spawn(["--all", "-j", "2", "stg", "plan"]);
    test.wait_for_ready();
    std::fs::write(&released, "").unwrap();
    assert_eq!(all.wait().0, 0);
    let run = test.finish(std::process::Command::new("true").output().unwrap());
    let stacks: Vec<String> = run
        .calls
        .iter()
        .map(|c| c.cwd.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let network_done = stacks.iter().rposition(|s| s == "network").unwrap();
    let app_starts = stacks.iter().position(|s| s == "app").unwrap();
    assert!(network_done < app_starts, "{:?}", run.lines());
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
        run.stderr().contains("skipped: dependency network failed"),
        "{}",
        run.stderr()
    );
    assert!(
        run.stderr().contains("skipped: dependency app failed"),
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

/// The chain, committed, with a local module in `app`.
fn history() -> Test {
    let test = chain()
        .write(
            "app/modules.tf",
            "module \"m\" {\n  source = \"../modules/m\"\n}\n",
        )
        .write("modules/m/main.tf", "");
    test.git(&["init", "-q"]);
    test.git(&["add", "-A"]);
    test.git(&["commit", "-qm", "base"]);
    test
}

fn affected(test: &Test, args: &[&str]) -> Vec<String> {
    let mut all = vec!["affected"];
    all.extend(args);
    test.run_with(&all)
        .status(0)
        .stdout()
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn affected_pairs_with_their_reasons() {
    let test = history();
    assert!(
        affected(&test, &["--base", "HEAD"]).is_empty(),
        "nothing changed"
    );
    // A var file of one env: that env, and what depends on it in that env.
    let test = test.write("network/stg.tfvars", "env = \"staging\"\n");
    assert_eq!(
        affected(&test, &["--base", "HEAD"]),
        [
            "app\tstg\tdepends on network",
            "dns\tstg\tdepends on app",
            "network\tstg\tnetwork/stg.tfvars",
        ]
    );
    test.git(&["checkout", "-q", "--", "."]);
    // A local module: every env of the stack that calls it (and its dependents).
    let test = test.write("modules/m/main.tf", "# changed\n");
    let lines = affected(&test, &["--base", "HEAD"]);
    assert!(
        lines.contains(&"app\tprd\tmodules/m/main.tf".to_string()),
        "{lines:?}"
    );
    assert!(
        lines.contains(&"dns\tprd\tdepends on app".to_string()),
        "{lines:?}"
    );
    assert!(!lines.iter().any(|l| l.starts_with("network")), "{lines:?}");
    // Between two commits, as a CI matrix; an untracked file counts in the working tree.
    test.git(&["add", "-A"]);
    test.git(&["commit", "-qm", "module"]);
    let run = test
        .run_with([
            "affected", "--base", "HEAD~1", "--head", "HEAD", "--format", "json",
        ])
        .status(0);
    let json: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
    assert_eq!(json["head"], "HEAD");
    assert_eq!(
        json["include"][0],
        serde_json::json!({"stack": "app", "path": "app", "env": "dev", "reasons": ["modules/m/main.tf"]})
    );
    let test = test.write("dns/extra.tf", "");
    assert_eq!(
        affected(&test, &["--base", "HEAD"]).len(),
        3,
        "dns in every env"
    );
    test.run_with(["affected"])
        .status(64)
        .stderr_contains("no remote default branch");
}

#[test]
fn all_affected_runs_only_what_a_change_touches_in_order() {
    let test = history().write("network/stg.tfvars", "env = \"staging\"\n");
    let run = test
        .run_with(["--all", "--affected=HEAD", "stg", "plan"])
        .status(0);
    assert_eq!(stacks_that_ran(&run, "plan"), ["network", "app", "dns"]);
    let run = test
        .run_with(["--all", "--affected=HEAD", "dev", "plan"])
        .status(0)
        .stderr_contains("no stack with dev is affected");
    assert!(run.calls.is_empty());
    let test = test.write("dns/extra.tf", "");
    let run = test
        .run_with(["--all", "--affected=HEAD", "dev", "plan"])
        .status(0);
    assert_eq!(stacks_that_ran(&run, "plan"), ["dns"]);
}

#[test]
fn remote_state_values_come_from_automatic_var_files_in_terraforms_order() {
    let remote = r#"variable "env" {}
variable "net" {}
data "terraform_remote_state" "network" {
  backend = "local"
  config = {
    path = "../${var.net}/state/${var.env}.tfstate"
  }
}
"#;
    let test = Test::new()
        .files("app/", STACK)
        .write("app/remote.tf", remote)
        // terraform.tfvars loads first; *.auto.tfvars files after it, by name, win.
        .write("app/terraform.tfvars", "net = \"nowhere\"\n")
        .write("app/a.auto.tfvars", "net = \"elsewhere\"\n")
        .write("app/b.auto.tfvars", "net = \"network\"\n")
        .files("network/", STACK);
    let run = test.run_with(["graph", "stg"]).status(0);
    assert_eq!(
        run.stdout(),
        "stg:\n  app → network  (app/remote.tf:3 → network/stg.tfbackend)\n"
    );
}

#[test]
fn a_commits_model_is_kept_and_used_for_that_commit_only() {
    let test = history().write("network/stg.tfvars", "env = \"staging\"\n");
    test.age_and_stage(1);
    test.git(&["commit", "-qm", "stg"]);
    let between = ["affected", "--base", "HEAD~1", "--head", "HEAD"];
    let first = test.run_with(between).status(0);
    assert!(!first.stderr().contains("note"), "{}", first.stderr());
    assert!(test.path(".git/tfw-affected-models").exists());
    // The kept model is HEAD's: a stack deleted from the working tree since is still in it.
    std::fs::remove_dir_all(test.path("dns")).unwrap();
    let kept = test.run_with(between).status(0);
    assert_eq!(kept.stdout(), first.stdout());
    assert!(
        kept.stdout().contains("dns\tstg\tdepends on app"),
        "{}",
        kept.stdout()
    );
    // Another commit, with the working tree not holding it: read from git, as it is there (a
    // stack only the working tree has is not in it), and kept. The stack's block goes with it
    // (a block that matches no stack is an error).
    let test = test.write("tfw.toml", "");
    test.git(&["add", "-A"]);
    test.git(&["commit", "-qm", "no dns"]);
    let test = test.files("dns/", crate::common::STACK);
    let since = ["affected", "--base", "HEAD~2", "--head", "HEAD"];
    let run = test.run_with(since).status(0);
    assert!(!run.stderr().contains("note"), "{}", run.stderr());
    assert!(!run.stdout().contains("dns"), "{}", run.stdout());
    assert_eq!(test.run_with(since).status(0).stdout(), run.stdout());
}

#[test]
fn a_tfw_toml_change_affects_the_pairs_whose_settings_it_changes() {
    let test = history();
    let toml = |extra: &str| format!("[stacks.\"dns\"]\ndepends_on = [\"app\"]\n{extra}");
    // One env's vars, in every stack: that env only.
    let test = test.write(
        "tfw.toml",
        &toml("[environments.\"stg\"]\nvars = { region = \"eu\" }\n"),
    );
    assert_eq!(
        affected(&test, &["--base", "HEAD"]),
        [
            "app\tstg\ttfw.toml, depends on network",
            "dns\tstg\ttfw.toml, depends on app",
            "network\tstg\ttfw.toml",
        ]
    );
    // One stack's block: that stack, and what depends on it.
    let test = test.write(
        "tfw.toml",
        &toml("[stacks.\"app\"]\nenv_vars = { TF_LOG = \"info\" }\n"),
    );
    let lines = affected(&test, &["--base", "HEAD"]);
    assert_eq!(lines.len(), 6, "{lines:?}");
    assert!(
        lines.contains(&"app\tprd\ttfw.toml".to_string()),
        "{lines:?}"
    );
    assert!(
        lines.contains(&"dns\tdev\tdepends on app".to_string()),
        "{lines:?}"
    );
    // A name changes no plan.
    let test = test.write("tfw.toml", &toml("name = \"domains\"\n"));
    assert!(affected(&test, &["--base", "HEAD"]).is_empty());
    // Between two commits, the committed versions are compared.
    let test = test.write(
        "tfw.toml",
        &toml("[environments.\"prd\"]\nvars = { region = \"us\" }\n"),
    );
    test.git(&["commit", "-qam", "prd region"]);
    let lines = affected(&test, &["--base", "HEAD~1", "--head", "HEAD"]);
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines.iter().all(|l| l.contains("\tprd\t")), "{lines:?}");
}

#[test]
fn a_module_reached_through_a_symlinked_directory_affects_its_callers() {
    let test = Test::new()
        .files("app/", STACK)
        .write(
            "app/modules.tf",
            "module \"m\" {\n  source = \"./vendored/m\"\n}\n",
        )
        .write(
            "lib/m/main.tf",
            "module \"inner\" {\n  source = \"../inner\"\n}\n",
        )
        .write("lib/inner/main.tf", "")
        .files("other/", STACK);
    // app/vendored → ../lib: the module's files are the repository's lib/.
    std::os::unix::fs::symlink("../lib", test.path("app/vendored")).unwrap();
    test.git(&["init", "-q"]);
    test.git(&["add", "-A"]);
    test.git(&["commit", "-qm", "base"]);
    // A module the symlinked one calls in turn.
    let test = test.write("lib/inner/main.tf", "# changed\n");
    assert_eq!(
        affected(&test, &["--base", "HEAD"]),
        [
            "app\tdev\tlib/inner/main.tf",
            "app\tprd\tlib/inner/main.tf",
            "app\tstg\tlib/inner/main.tf",
        ]
    );
}

/// What real remote-state configs use is evaluated: `format`, `join`, `lower`, `upper`,
/// `replace`, templates and `local.x` over literals, variables and other locals; anything else
/// stays unresolved with the expression named, never guessed.
#[test]
fn remote_state_configs_with_functions_locals_and_templates() {
    let backend = "terraform {\n  backend \"s3\" {}\n}\n";
    let remote = r#"variable "env" {}
variable "tags" {
  default = {}
}
locals {
  prefix  = "acme"
  bucket  = join("-", [local.prefix, var.env, "state"])
  service = lower("NETWORK")
}
data "terraform_remote_state" "network" {
  backend = "s3"
  config = {
    bucket = local.bucket
    key    = format("%s/%s.tfstate", local.service, replace("terraform_x", "_x", ""))
    region = "${upper("eu")}-west-1"
  }
}
data "terraform_remote_state" "dns" {
  backend = "s3"
  config = {
    bucket = lookup(var.tags, "bucket", "b")
    key    = "dns"
  }
}
"#;
    let test = Test::new()
        .write("network/main.tf", backend)
        .write(
            "network/stg.tfbackend",
            "bucket = \"acme-stg-state\"\nkey = \"network/terraform.tfstate\"\nregion = \"EU-west-1\"\n",
        )
        .write("app/main.tf", backend)
        .write("app/remote.tf", remote)
        .write("app/stg.tfbackend", "bucket = \"acme-stg-state\"\nkey = \"app\"\n")
        .write("app/stg.tfvars", "env = \"stg\"\n")
        .write("network/stg.tfvars", "");
    assert_eq!(
        test.run_with(["graph"]).status(0).stdout(),
        "stg:\n  app → network  (app/remote.tf:10 → network/stg.tfbackend)\n  unresolved: app/remote.tf:18: data.terraform_remote_state.dns: cannot evaluate bucket = lookup(var.tags, \"bucket\", \"b\") for stg\n"
    );
}
