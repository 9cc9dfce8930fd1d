//! End to end with a real Terraform on `examples/quickstart`. Run by `scripts/e2e`, which
//! provides the binary in TFW_E2E_TERRAFORM; without one every test fails loudly.

use crate::common::{Run, Test};
use std::fs;

fn terraform() -> String {
    std::env::var("TFW_E2E_TERRAFORM")
        .expect("TFW_E2E_TERRAFORM is not set: run scripts/e2e, which fetches a real Terraform")
}

/// The real terraform's (major, minor) version.
fn terraform_version() -> (u32, u32) {
    let out = std::process::Command::new(terraform())
        .arg("version")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let version = text
        .split_whitespace()
        .find_map(|word| word.strip_prefix('v'))
        .unwrap_or_default();
    let mut parts = version.split('.').map(|p| p.parse().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

/// Runs tfw with the real terraform in `test`'s directory.
fn tfw(test: &Test, args: &[&str]) -> Run {
    let terraform = terraform();
    let mut full = vec!["--terraform", terraform.as_str()];
    full.extend(args);
    let mut command = test.command();
    command.args(&full);
    test.finish(command.output().unwrap())
}

fn output(test: &Test, env: &str, name: &str) -> String {
    tfw(test, &["-q", env, "output", "-raw", name])
        .status(0)
        .stdout()
}

#[test]
#[ignore = "needs a real terraform: run scripts/e2e"]
fn envs_apply_to_separate_states_and_data_dirs() {
    let test = Test::example("quickstart");
    for env in ["stg", "dev"] {
        tfw(&test, &[env, "apply", "-auto-approve"]).status(0);
    }
    assert_eq!(output(&test, "stg", "name"), "quickstart-stg");
    assert_eq!(output(&test, "dev", "name"), "quickstart-dev");
    for env in ["stg", "dev"] {
        let state = fs::read_to_string(test.path(&format!("state/{env}.tfstate"))).unwrap();
        assert!(
            state.contains(&format!("quickstart-{env}")),
            "{env} state holds its own outputs"
        );
        assert!(
            test.path(&format!(".terraform/tfw/{env}/terraform.tfstate"))
                .is_file()
        );
    }
    assert!(
        !test.path("state/prd.tfstate").exists(),
        "prd was never touched"
    );
    assert!(
        !test.path("terraform.tfstate").exists(),
        "no state outside the backend path"
    );
}

#[test]
#[ignore = "needs a real terraform: run scripts/e2e"]
fn detailed_exitcode_is_zero_then_two_after_a_tfvars_change() {
    let test = Test::example("quickstart");
    tfw(&test, &["stg", "apply", "-auto-approve"]).status(0);
    tfw(&test, &["stg", "plan", "-detailed-exitcode"]).status(0);
    fs::write(
        test.path("stg.tfvars"),
        "env            = \"stg\"\ninstance_count = 5\n",
    )
    .unwrap();
    let run = tfw(&test, &["stg", "plan", "-detailed-exitcode"]).status(2);
    assert!(run.stdout().contains("instance_count"), "{}", run.stdout());
}

#[test]
#[ignore = "needs a real terraform: run scripts/e2e"]
fn saved_plan_applies_without_var_files() {
    let test = Test::example("quickstart");
    tfw(&test, &["dev", "plan", "-out=dev.tfplan"]).status(0);
    tfw(&test, &["dev", "apply", "dev.tfplan"]).status(0);
    assert_eq!(output(&test, "dev", "name"), "quickstart-dev");
}

#[test]
#[ignore = "needs a real terraform: run scripts/e2e"]
fn concurrent_envs_in_one_stack_keep_their_own_outputs() {
    concurrent_applies_keep_their_own_outputs(Test::example("quickstart"));
}

#[test]
#[ignore = "needs a real terraform: run scripts/e2e"]
fn concurrent_envs_sharing_one_data_dir_keep_their_own_outputs() {
    let test = shared_quickstart();
    concurrent_applies_keep_their_own_outputs(test);
}

/// The quickstart with one data dir for all envs, as terraform.sh had.
fn shared_quickstart() -> Test {
    let test = Test::example("quickstart");
    let settings = fs::read_to_string(test.path("tfw.toml")).unwrap();
    fs::write(
        test.path("tfw.toml"),
        format!("data_dir = \"shared\"\n{settings}"),
    )
    .unwrap();
    test
}

fn concurrent_applies_keep_their_own_outputs(test: Test) {
    let terraform = terraform();
    for round in 1..=4 {
        let counts = [("stg", round), ("dev", round * 10)];
        for (env, count) in counts {
            let vars = format!("env            = \"{env}\"\ninstance_count = {count}\n");
            fs::write(test.path(&format!("{env}.tfvars")), vars).unwrap();
        }
        let children: Vec<_> = counts
            .iter()
            .map(|(env, _)| {
                let mut command = test.command();
                command
                    .args([
                        "--terraform",
                        &terraform,
                        "-q",
                        env,
                        "apply",
                        "-auto-approve",
                    ])
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::piped());
                command.spawn().unwrap()
            })
            .collect();
        for child in children {
            let output = child.wait_with_output().unwrap();
            assert!(
                output.status.success(),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        for (env, count) in counts {
            assert_eq!(
                output(&test, env, "instance_count"),
                count.to_string(),
                "round {round}"
            );
            assert_eq!(
                output(&test, env, "name"),
                format!("quickstart-{env}"),
                "round {round}"
            );
        }
    }
}

#[test]
#[ignore = "needs a real terraform: run scripts/e2e"]
fn second_command_needs_no_init_and_a_backend_edit_reinits() {
    let test = Test::example("quickstart");
    tfw(&test, &["stg", "apply", "-auto-approve"]).status(0);
    let run = tfw(&test, &["stg", "plan"]).status(0);
    assert!(
        run.stderr().contains("init up to date (stg)"),
        "{}",
        run.stderr()
    );
    assert!(
        !run.stderr().contains("$ terraform init") && !run.stderr().contains("init -reconfigure")
    );
    fs::write(
        test.path("stg.tfbackend"),
        "path = \"state/stg-moved.tfstate\"\n",
    )
    .unwrap();
    let run = tfw(&test, &["stg", "plan", "-detailed-exitcode"]);
    assert!(
        run.stderr().contains("init -reconfigure"),
        "{}",
        run.stderr()
    );
    // The new, empty state: everything is to be created again, and no state was migrated.
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(test.path("state/stg.tfstate").is_file());
}

#[test]
#[ignore = "needs a real terraform: run scripts/e2e"]
fn all_applies_every_stack() {
    let test = Test::example("quickstart");
    let run = tfw(&test, &["--all", "stg", "apply", "-auto-approve"]).status(0);
    assert!(run.stderr().contains("datadog"), "{}", run.stderr());
    assert_eq!(output(&test, "stg", "name"), "quickstart-stg");
    let datadog = test.path("datadog");
    let terraform = terraform();
    let mut command = test.command();
    command
        .args(["--terraform", &terraform, "-q", "-C"])
        .arg(&datadog)
        .args(["stg", "output", "-raw", "monitor_prefix"]);
    let run = test.finish(command.output().unwrap()).status(0);
    assert_eq!(run.stdout(), "datadog-stg");
    assert!(test.path("datadog/state/stg.tfstate").is_file());
}

/// A hook repository with this repository's `.pre-commit-hooks.yaml`, each `language: rust`
/// made `language: system` so that pre-commit runs the `tfw` on PATH (the binary under test)
/// instead of building a second, release, binary through `cargo install` (9 minutes on a
/// 2-core machine). Every other line of the hook definitions is the real one.
fn hook_repo(test: &Test) -> std::path::PathBuf {
    let real = fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/.pre-commit-hooks.yaml"
    ))
    .unwrap();
    let hooks = real.matches("\n- id: ").count() + usize::from(real.starts_with("- id: "));
    assert_eq!(real.matches("  language: rust\n").count(), hooks, "{real}");
    let repo = test.path("hook-repo");
    fs::create_dir(&repo).unwrap();
    fs::write(
        repo.join(".pre-commit-hooks.yaml"),
        real.replace("  language: rust\n", "  language: system\n"),
    )
    .unwrap();
    for args in [
        &["init", "-q"][..],
        &["add", "-A"],
        &["commit", "-qm", "hooks"],
    ] {
        let status = std::process::Command::new("git")
            .args(["-c", "user.email=test@example.com", "-c", "user.name=test"])
            .args(args)
            .current_dir(&repo)
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    }
    repo
}

/// Runs the real pre-commit client with `args` in `test`'s directory, the tfw under test first
/// on PATH.
fn pre_commit(test: &Test, args: &[&str]) -> std::process::Output {
    let pre_commit = std::env::var("TFW_E2E_PRE_COMMIT")
        .expect("TFW_E2E_PRE_COMMIT is not set: run scripts/e2e, which installs pre-commit");
    let bin = test.path("hook-bin");
    if !bin.exists() {
        fs::create_dir(&bin).unwrap();
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_tfw"), bin.join("tfw")).unwrap();
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let path =
        std::env::join_paths(std::iter::once(bin).chain(std::env::split_paths(&path))).unwrap();
    std::process::Command::new(pre_commit)
        .args(args)
        .current_dir(test.dir.path())
        .env("PATH", path)
        .output()
        .unwrap()
}

#[test]
#[ignore = "needs pre-commit: run scripts/e2e"]
fn pre_commit_hook_passes_when_complete_and_names_a_removed_tfbackend() {
    let test = Test::example("quickstart");
    test.git(&["init", "-q"]);
    test.git(&["add", "-A"]);
    test.git(&["commit", "-qm", "stacks"]);
    let hooks = hook_repo(&test);
    let hooks = hooks.to_str().unwrap();
    let output = pre_commit(&test, &["try-repo", hooks, "tfw-check", "--all-files"]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{text}");
    assert!(
        text.contains("tfw check") && text.contains("Passed"),
        "{text}"
    );

    test.git(&["rm", "-q", "datadog/prd.tfbackend"]);
    let output = pre_commit(&test, &["try-repo", hooks, "tfw-check", "--all-files"]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!output.status.success(), "{text}");
    assert!(
        text.contains("datadog/prd.tfbackend: missing (env prd)"),
        "{text}"
    );
}

/// Plays Atlantis: runs each `run` step of the generated workflows with `sh -c` in the project
/// dir, with Atlantis's variables and a stdin pipe that is never written nor closed.
#[test]
#[ignore = "needs a real terraform: run scripts/e2e"]
fn generated_atlantis_steps_plan_and_apply_one_env_each() {
    use std::io::Read;
    use std::process::{Command, Stdio};
    use yaml_rust2::YamlLoader;

    let test = Test::example("quickstart");
    let bin = test.path("atlantis-bin");
    fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_tfw"), bin.join("tfw")).unwrap();
    std::os::unix::fs::symlink(terraform(), bin.join("terraform")).unwrap();
    let yaml = YamlLoader::load_from_str(&fs::read_to_string(test.path("atlantis.yaml")).unwrap())
        .unwrap()
        .remove(0);
    let run_steps = |workflow: &str, stage: &str| -> Vec<String> {
        yaml["workflows"][workflow][stage]["steps"]
            .as_vec()
            .unwrap()
            .iter()
            .filter_map(|step| step["run"].as_str().map(String::from))
            .collect()
    };
    for (project, state) in [
        ("root-stg", "state/stg.tfstate"),
        ("datadog-prd", "datadog/state/prd.tfstate"),
    ] {
        let entry = yaml["projects"]
            .as_vec()
            .unwrap()
            .iter()
            .find(|p| p["name"].as_str() == Some(project))
            .unwrap();
        let dir = test.path(entry["dir"].as_str().unwrap());
        let workflow = entry["workflow"].as_str().unwrap();
        let planfile = dir.join(format!("{project}-default.tfplan"));
        let showfile = dir.join(format!("{project}-default.json"));
        for stage in ["plan", "apply"] {
            for step in run_steps(workflow, stage) {
                let mut child = Command::new("sh")
                    .args(["-c", &step])
                    .current_dir(&dir)
                    .env_clear()
                    .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
                    .env("HOME", test.dir.path())
                    .env("DIR", &dir)
                    .env("WORKSPACE", "default")
                    .env("PROJECT_NAME", project)
                    .env("PLANFILE", &planfile)
                    .env("SHOWFILE", &showfile)
                    .env("COMMENT_ARGS", "")
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap();
                let _held_open = child.stdin.take();
                let mut stdout = String::new();
                child
                    .stdout
                    .take()
                    .unwrap()
                    .read_to_string(&mut stdout)
                    .unwrap();
                let mut stderr = String::new();
                child
                    .stderr
                    .take()
                    .unwrap()
                    .read_to_string(&mut stderr)
                    .unwrap();
                let status = child.wait().unwrap();
                assert!(
                    status.success(),
                    "{project} {stage}: `{step}` failed:\n{stdout}\n{stderr}"
                );
                if stage == "plan" {
                    assert!(
                        stdout.contains("Plan:") || stdout.contains("Changes to Outputs"),
                        "plan text on stdout: {stdout}"
                    );
                }
            }
            if stage == "plan" {
                assert_eq!(
                    &fs::read(&planfile).unwrap()[..4],
                    b"PK\x03\x04",
                    "{project}: PLANFILE is a plan"
                );
                let json: serde_json::Value =
                    serde_json::from_slice(&fs::read(&showfile).unwrap()).unwrap();
                assert!(
                    json["format_version"].is_string(),
                    "{project}: SHOWFILE is terraform's JSON"
                );
            }
        }
        assert!(
            test.path(state).is_file(),
            "{project} applied its own state"
        );
    }
    for untouched in [
        "state/prd.tfstate",
        "state/dev.tfstate",
        "datadog/state/stg.tfstate",
    ] {
        assert!(
            !test.path(untouched).exists(),
            "{untouched} was not applied"
        );
    }
}

#[test]
#[ignore = "needs a real terraform: run scripts/e2e"]
fn a_plan_made_for_prd_is_refused_under_stg() {
    let test = Test::example("quickstart");
    tfw(&test, &["prd", "plan", "-out=tfplan"]).status(0);
    let run = tfw(&test, &["stg", "apply", "tfplan"])
        .status(77)
        .stderr_contains("planned against another state than stg's");
    assert!(!run.stderr().contains("Apply complete"), "{}", run.stderr());
    assert!(!test.path("state/prd.tfstate").exists(), "prd untouched");
    assert!(!test.path("state/stg.tfstate").exists(), "stg untouched");
    // Made for stg, it applies to stg.
    tfw(&test, &["stg", "plan", "-out=tfplan"]).status(0);
    tfw(&test, &["stg", "apply", "tfplan"]).status(0);
    assert_eq!(output(&test, "stg", "name"), "quickstart-stg");
    assert!(!test.path("state/prd.tfstate").exists());
}

#[test]
#[ignore = "needs a real terraform: run scripts/e2e"]
fn an_absolute_tf_data_dir_never_serves_two_stacks() {
    let test = Test::example("quickstart");
    let data_dir = test.path("one-data-dir");
    let terraform = terraform();
    let mut command = test.command();
    command
        .args([
            "--terraform",
            &terraform,
            "--all",
            "-j",
            "2",
            "stg",
            "apply",
            "-auto-approve",
        ])
        .env("TF_DATA_DIR", &data_dir);
    test.finish(command.output().unwrap())
        .status(64)
        .stderr_contains("2 stacks would share");
    assert!(!data_dir.exists());
    assert!(!test.path("state/stg.tfstate").exists());
    assert!(!test.path("datadog/state/stg.tfstate").exists());
}

#[test]
#[ignore = "needs a real terraform: run scripts/e2e"]
fn an_init_by_hand_in_a_shared_data_dir_is_noticed() {
    let test = shared_quickstart();
    tfw(&test, &["stg", "apply", "-auto-approve"]).status(0);
    // A plain terraform init for prd in the same data dir, behind tfw's back.
    let init = std::process::Command::new(terraform())
        .args([
            "init",
            "-reconfigure",
            "-backend-config=prd.tfbackend",
            "-input=false",
        ])
        .current_dir(test.path(""))
        .env("HOME", test.path(""))
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    fs::write(
        test.path("stg.tfvars"),
        "env            = \"stg\"\ninstance_count = 7\n",
    )
    .unwrap();
    let run = tfw(&test, &["stg", "apply", "-auto-approve"]).status(0);
    assert!(
        run.stderr().contains("init -reconfigure"),
        "{}",
        run.stderr()
    );
    assert!(!test.path("state/prd.tfstate").exists(), "prd untouched");
    assert_eq!(output(&test, "stg", "instance_count"), "7");
}

#[test]
#[ignore = "needs a real terraform: run scripts/e2e"]
fn an_init_with_another_backend_is_not_trusted_later() {
    let test = Test::example("quickstart");
    tfw(
        &test,
        &[
            "stg",
            "init",
            "-backend-config=path=state/elsewhere.tfstate",
        ],
    )
    .status(0);
    let run = tfw(&test, &["stg", "apply", "-auto-approve"]).status(0);
    assert!(
        run.stderr().contains("init -reconfigure"),
        "{}",
        run.stderr()
    );
    assert!(test.path("state/stg.tfstate").is_file());
    assert!(!test.path("state/elsewhere.tfstate").exists());
}

#[test]
#[ignore = "needs a real terraform: run scripts/e2e"]
fn vars_env_vars_and_var_files_beside_the_stack_reach_terraform() {
    let main = r#"terraform {
  backend "local" {}
}
variable "env" {}
variable "team" {}
variable "profile" {}
variable "extra" {
  default = "none"
}
output "all" {
  value = "${var.env}/${var.team}/${var.profile}/${var.extra}"
}
"#;
    let test = Test::new()
        .write("infra/app/main.tf", main)
        .write("infra/app/stg.tfbackend", "path = \"state/stg.tfstate\"\n")
        .write("infra/app/dev.tfbackend", "path = \"state/dev.tfstate\"\n")
        .write("infra/shared/stg.tfvars", "env = \"stg\"\n")
        .write("infra/shared/dev.tfvars", "env = \"dev\"\n")
        .write("common/dev.tfvars", "extra = \"dev-only\"\n")
        .write(
            "tfw.toml",
            r#"var_files = ["../shared/{env}.tfvars", { path = "{root}/common/{env}.tfvars", optional = true }]
vars = { team = "core" }
env_vars = { TF_VAR_profile = "{env}-admin" }
"#,
        );
    // A repository: the root's tfw.toml counts for `-C infra/app` only inside git.
    test.git(&["init", "-q"]);
    for env in ["stg", "dev"] {
        tfw(&test, &["-C", "infra/app", env, "apply", "-auto-approve"]).status(0);
    }
    let all = |env: &str| {
        tfw(
            &test,
            &["-q", "-C", "infra/app", env, "output", "-raw", "all"],
        )
        .status(0)
        .stdout()
    };
    assert_eq!(all("stg"), "stg/core/stg-admin/none");
    assert_eq!(all("dev"), "dev/core/dev-admin/dev-only");
}

#[test]
#[ignore = "needs a real terraform: run scripts/e2e"]
fn plan_fails_exactly_where_check_reports_unset_or_type() {
    let main = r#"terraform {
  backend "local" {}
}
variable "replicas" {
  type = number
}
variable "owner" {
  type = object({ team = string })
}
variable "region" {}
output "all" {
  value = "${var.replicas}/${var.owner.team}/${var.region}"
}
"#;
    let test = Test::new()
        .write("main.tf", main)
        .write("stg.tfbackend", "path = \"state/stg.tfstate\"\n")
        .write(
            "stg.tfvars",
            "replicas = \"five\"\nowner    = { name = \"x\" }\n",
        );
    test.git(&["init", "-q"]);
    test.git(&["add", "-A"]);
    let check = tfw(&test, &["check"]).status(1);
    assert_eq!(
        check.stdout().lines().collect::<Vec<_>>(),
        [
            "stg.tfvars: env stg: variable region has no value, declared at main.tf:10 (set it in stg.tfvars, or list it under [check] from_environment if CI sets TF_VAR_region)",
            "stg.tfvars:1: variable replicas: a number is required, not a string",
            "stg.tfvars:2: variable owner: attribute \"team\" is required",
        ]
    );
    // Terraform agrees on each: fix one at a time, plan fails until the last is fixed.
    let plan = |test: &Test| tfw(test, &["stg", "plan", "-input=false"]);
    assert_eq!(plan(&test).code(), 1);
    fs::write(
        test.path("stg.tfvars"),
        "replicas = \"5\"\nowner    = { name = \"x\" }\nregion = \"eu\"\n",
    )
    .unwrap();
    assert_eq!(plan(&test).code(), 1, "owner still lacks team");
    fs::write(
        test.path("stg.tfvars"),
        "replicas = 5\nowner    = { team = \"x\" }\n",
    )
    .unwrap();
    assert_eq!(plan(&test).code(), 1, "region is unset");
    fs::write(
        test.path("stg.tfvars"),
        "replicas = \"5\"\nowner    = { team = \"x\", extra = 1 }\nregion = \"eu\"\n",
    )
    .unwrap();
    tfw(&test, &["check"]).status(0);
    plan(&test).status(0);
}

#[test]
#[ignore = "needs a real terraform: run scripts/e2e"]
fn the_type_conversion_table_is_terraforms() {
    let version = std::process::Command::new(terraform())
        .arg("version")
        .output()
        .unwrap();
    let version = String::from_utf8_lossy(&version.stdout).into_owned();
    // `optional(…)` in object types arrived in Terraform 1.3.
    let has_optional = !version.starts_with("Terraform v1.0.")
        && !version.starts_with("Terraform v1.1.")
        && !version.starts_with("Terraform v1.2.");
    let table = include_str!("../fixtures/type_conversion.txt");
    for line in table.lines().filter(|l| !l.starts_with('#')) {
        let fields: Vec<&str> = line.split(" | ").collect();
        let (kind, literal, converts) = (fields[0], fields[1], fields[2] == "ok");
        if kind.contains("optional(") && !has_optional {
            continue;
        }
        let test = Test::new()
            .write(
                "main.tf",
                &format!("terraform {{\n  backend \"local\" {{}}\n}}\nvariable \"v\" {{\n  type = {kind}\n}}\n"),
            )
            .write("stg.tfbackend", "path = \"state/stg.tfstate\"\n")
            .write("stg.tfvars", &format!("v = {literal}\n"));
        let check = tfw(&test, &["check"]);
        assert_eq!(
            check.code(),
            i32::from(!converts),
            "tfw check, {line}: {}",
            check.stdout()
        );
        let plan = tfw(&test, &["stg", "plan", "-input=false"]);
        assert_eq!(
            plan.code(),
            i32::from(!converts),
            "terraform plan, {line}: {}",
            plan.stderr()
        );
    }
}

#[test]
#[ignore = "needs a real terraform: run scripts/e2e"]
fn a_remote_state_chain_applies_in_one_go_and_destroys_in_reverse() {
    let stack = |output: &str| {
        format!("terraform {{\n  backend \"local\" {{}}\n}}\nvariable \"env\" {{}}\n{output}\n")
    };
    let test = Test::new()
        .write("tfw.toml", "")
        .write("network/main.tf", &stack("output \"cidr\" {\n  value = \"10.0.0.0/16-${var.env}\"\n}"))
        .write(
            "app/main.tf",
            &stack("data \"terraform_remote_state\" \"network\" {\n  backend = \"local\"\n  config = {\n    path = \"../network/state/${var.env}.tfstate\"\n  }\n}\noutput \"uses\" {\n  value = data.terraform_remote_state.network.outputs.cidr\n}"),
        );
    let test = ["network", "app"].iter().fold(test, |test, dir| {
        test.write(&format!("{dir}/stg.tfvars"), "env = \"stg\"\n")
            .write(
                &format!("{dir}/stg.tfbackend"),
                "path = \"state/stg.tfstate\"\n",
            )
    });
    // In path order app would come first and find no network state.
    let run = tfw(&test, &["--all", "stg", "apply", "-auto-approve"]).status(0);
    let first = |run: &Run, a: &str, b: &str| {
        run.stderr().find(&format!("==> {a}")).unwrap()
            < run.stderr().find(&format!("==> {b}")).unwrap()
    };
    assert!(first(&run, "network", "app"), "{}", run.stderr());
    let terraform = terraform();
    let mut command = test.command();
    command.args([
        "--terraform",
        &terraform,
        "-q",
        "-C",
        "app",
        "stg",
        "output",
        "-raw",
        "uses",
    ]);
    let output = test.finish(command.output().unwrap()).status(0);
    assert_eq!(output.stdout(), "10.0.0.0/16-stg");
    let run = tfw(&test, &["--all", "stg", "destroy", "-auto-approve"]).status(0);
    assert!(first(&run, "app", "network"), "{}", run.stderr());
}

#[test]
#[ignore = "needs a real terraform: run scripts/e2e"]
fn a_hangup_of_the_process_group_stops_terraform_gracefully() {
    use std::os::unix::process::CommandExt;
    // The provisioner needs `terraform_data` (Terraform 1.4+); older ones have no resource
    // that runs without a provider download.
    if terraform_version() < (1, 4) {
        eprintln!(
            "note: Terraform {:?} has no terraform_data: skipped",
            terraform_version()
        );
        return;
    }
    let test = Test::new()
        .write(
            "main.tf",
            "terraform {\n  backend \"local\" {}\n}\n\nvariable \"env\" {}\n\nresource \"terraform_data\" \"slow\" {\n  provisioner \"local-exec\" {\n    command = \"touch started; sleep 60\"\n  }\n}\n",
        )
        .write("stg.tfvars", "env = \"stg\"\n")
        .write("stg.tfbackend", "path = \"state/stg.tfstate\"\n");
    let terraform = terraform();
    let mut command = test.command();
    command
        .args(["--terraform", &terraform, "stg", "apply", "-auto-approve"])
        .process_group(0)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = command.spawn().unwrap();
    crate::common::wait_until("the provisioner to start", || test.path("started").exists());
    // As a dropped SSH session does: SIGHUP to the whole foreground process group.
    assert_eq!(unsafe { libc::kill(-(child.id() as i32), libc::SIGHUP) }, 0);
    let run = test.finish(child.wait_with_output().unwrap()).status(129);
    assert!(
        run.stdout().contains("Interrupt received") || run.stderr().contains("Interrupt received"),
        "terraform stopped gracefully:\n{}\n{}",
        run.stdout(),
        run.stderr()
    );
    // Killed by SIGHUP, terraform leaves an empty state: the provisioner ran, nothing records it.
    let state = fs::read_to_string(test.path("state/stg.tfstate")).unwrap();
    assert!(
        state.contains("\"terraform_data\""),
        "the state records the resource: {state}"
    );
    let left: Vec<_> = fs::read_dir(test.path("state"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".lock.info"))
        .collect();
    assert!(left.is_empty(), "the state lock was released: {left:?}");
}

/// tfw refused `tfw stg apply FILE` for a plan terraform made of prd, and neither state was
/// written.
fn refused_and_untouched(test: &Test, args: &[&str], why: &str) {
    let run = tfw(test, args).status(77).stderr_contains(why);
    assert!(!run.stderr().contains("Apply complete"), "{}", run.stderr());
    assert!(
        !test.path("state/prd.tfstate").exists(),
        "{args:?}: prd written"
    );
    assert!(
        !test.path("state/stg.tfstate").exists(),
        "{args:?}: stg written"
    );
}

#[test]
#[ignore = "needs a real terraform: run scripts/e2e"]
fn a_prd_plan_never_reaches_prd_through_what_tfw_did_not_anticipate() {
    let test = Test::example("quickstart");
    tfw(&test, &["prd", "plan", "-out=prd.tfplan"]).status(0);
    let plan = fs::read(test.path("prd.tfplan")).unwrap();
    // stg's backend file written as terraform accepts it: BOM, template, conditional.
    for backend in [
        "\u{feff}path = \"state/stg.tfstate\"\n",
        "path = \"state/${\"stg\"}.tfstate\"\n",
        "path = true ? \"state/stg.tfstate\" : \"\"\n",
        "path = <<EOT\nstate/stg.tfstate\nEOT\n",
    ] {
        fs::write(test.path("stg.tfbackend"), backend).unwrap();
        refused_and_untouched(
            &test,
            &["stg", "apply", "prd.tfplan"],
            "planned against another state than stg's",
        );
    }
    fs::write(test.path("stg.tfbackend"), "path = \"state/stg.tfstate\"\n").unwrap();
    // The plan file as other tools leave it: bytes in front, re-zipped with zip64 records.
    let mut prepended = b"JUNK".to_vec();
    prepended.extend_from_slice(&plan);
    fs::write(test.path("junk.tfplan"), prepended).unwrap();
    let zip64 = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys, zipfile\nsrc = zipfile.ZipFile(sys.argv[1])\nwith zipfile.ZipFile(sys.argv[2], 'w', zipfile.ZIP_DEFLATED) as out:\n    for item in src.infolist():\n        with src.open(item) as i, out.open(item.filename, 'w', force_zip64=True) as o:\n            o.write(i.read())\n",
            "prd.tfplan",
            "zip64.tfplan",
        ])
        .current_dir(test.path(""))
        .status()
        .unwrap();
    assert!(zip64.success());
    for file in ["junk.tfplan", "zip64.tfplan"] {
        refused_and_untouched(
            &test,
            &["stg", "apply", file],
            "planned against another state than stg's",
        );
    }
    // Named through the environment rather than on the command line.
    let mut command = test.command();
    command.env("TF_CLI_ARGS_apply", "prd.tfplan").args([
        "--terraform",
        &terraform(),
        "stg",
        "apply",
    ]);
    let run = test.finish(command.output().unwrap()).status(77);
    assert!(!test.path("state/prd.tfstate").exists(), "{}", run.stderr());
    // Made for prd and applied as prd, the re-zipped plan is tfw's to pass on.
    let run = tfw(&test, &["--confirm", "prd", "prd", "apply", "zip64.tfplan"]);
    assert_ne!(run.code(), 77, "{}", run.stderr());
}

/// A *packed* filesystem mirror of the AWS provider (the zip a registry serves, which terraform
/// extracts on every install), built once from the unpacked one this machine image carries
/// (`/opt/tf-plugins`, or `TFW_E2E_PROVIDER_MIRROR`); `None` when there is none.
fn packed_aws_mirror() -> Option<std::path::PathBuf> {
    let unpacked = std::env::var("TFW_E2E_PROVIDER_MIRROR").unwrap_or("/opt/tf-plugins".into());
    let provider = std::path::Path::new(&unpacked)
        .join("registry.terraform.io/hashicorp/aws/5.100.0/linux_amd64");
    if !provider.is_dir() {
        return None;
    }
    let packed = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("packed-aws-mirror");
    let zip = packed
        .join("registry.terraform.io/hashicorp/aws/terraform-provider-aws_5.100.0_linux_amd64.zip");
    if !zip.is_file() {
        fs::create_dir_all(zip.parent().unwrap()).unwrap();
        let partial = zip.with_extension("partial");
        let status = std::process::Command::new("python3")
            .args([
                "-c",
                "import os, sys, zipfile\nwith zipfile.ZipFile(sys.argv[2], 'w', zipfile.ZIP_STORED) as z:\n    for name in sorted(os.listdir(sys.argv[1])):\n        z.write(os.path.join(sys.argv[1], name), name)\n",
            ])
            .arg(&provider)
            .arg(&partial)
            .status()
            .unwrap();
        assert!(status.success());
        fs::rename(&partial, &zip).unwrap();
    }
    Some(packed)
}

#[test]
#[ignore = "needs a real terraform: run scripts/e2e"]
fn every_stack_and_env_shares_one_copy_of_a_real_provider() {
    let Some(mirror) = packed_aws_mirror() else {
        eprintln!(
            "note: no AWS provider mirror (/opt/tf-plugins or TFW_E2E_PROVIDER_MIRROR): skipped"
        );
        return;
    };
    let main = include_str!("../fixtures/aws-stack.tf");
    let mut test = Test::new()
        .write("tfw.toml", "")
        .write(
            "terraform.rc",
            &format!(
                "provider_installation {{\n  filesystem_mirror {{\n    path = \"{}\"\n  }}\n}}\n",
                mirror.display()
            ),
        )
        .env("TFW_PLUGIN_CACHE", "");
    let (stacks, envs) = (["a", "b", "c"], ["stg", "dev", "qa"]);
    for stack in stacks {
        test = test.write(&format!("{stack}/main.tf"), main);
        for env in envs {
            test = test
                .write(
                    &format!("{stack}/{env}.tfvars"),
                    &format!("env = \"{env}\"\n"),
                )
                .write(
                    &format!("{stack}/{env}.tfbackend"),
                    &format!("path = \"state/{env}.tfstate\"\n"),
                );
        }
    }
    let rc = test.path("terraform.rc");
    let test = test.env("TF_CLI_CONFIG_FILE", &rc);
    // The committed lock file, written offline from the mirror.
    let lock = std::process::Command::new(terraform())
        .args(["providers", "lock", "-platform=linux_amd64"])
        .arg(format!("-fs-mirror={}", mirror.display()))
        .current_dir(test.path("a"))
        .env("TF_CLI_CONFIG_FILE", test.path("terraform.rc"))
        .output()
        .unwrap();
    assert!(
        lock.status.success(),
        "{}",
        String::from_utf8_lossy(&lock.stderr)
    );
    for stack in &stacks[1..] {
        fs::copy(
            test.path("a/.terraform.lock.hcl"),
            test.path(&format!("{stack}/.terraform.lock.hcl")),
        )
        .unwrap();
    }
    let check = |run: &Run| {
        for bad in ["text file busy", "checksum", "Error"] {
            assert!(!run.stderr().contains(bad), "{bad}: {}", run.stderr());
        }
    };
    for env in envs {
        let run = tfw(
            &test,
            &["--all", "-j", "2", env, "plan", "-input=false", "-no-color"],
        )
        .status(0);
        check(&run);
        assert_eq!(
            run.stdout().matches("Plan: 1 to add").count(),
            3,
            "{}",
            run.stdout()
        );
    }
    // One extracted copy, in the cache; every data dir links to it.
    let cache = test.path(".cache/tfw/plugins");
    let copies = walkdir(&cache)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("terraform-provider-aws"))
        })
        .count();
    assert_eq!(copies, 1, "one copy in {}", cache.display());
    for stack in stacks {
        for env in envs {
            let installed = test.path(&format!(
                "{stack}/.terraform/tfw/{env}/providers/registry.terraform.io/hashicorp/aws/5.100.0/linux_amd64"
            ));
            let meta = fs::symlink_metadata(&installed).unwrap();
            assert!(
                meta.file_type().is_symlink(),
                "{} is a copy",
                installed.display()
            );
        }
    }
    // Inits that only read the cache, in parallel, again and again.
    for _ in 0..5 {
        let run = tfw(
            &test,
            &[
                "--all",
                "-j",
                "2",
                "--reinit",
                "stg",
                "plan",
                "-input=false",
            ],
        )
        .status(0);
        check(&run);
    }
}

/// Every path below `dir`, links not followed.
fn walkdir(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            found.extend(walkdir(&path));
        }
        found.push(path);
    }
    found
}

#[test]
#[ignore = "needs check-jsonschema: run scripts/e2e"]
fn ci_examples_validate_against_the_published_schemas() {
    let checker = std::env::var("TFW_E2E_CHECK_JSONSCHEMA").expect(
        "TFW_E2E_CHECK_JSONSCHEMA is not set: run scripts/e2e, which installs check-jsonschema",
    );
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ci");
    let mut checked = 0;
    for entry in fs::read_dir(&dir).unwrap() {
        let file = entry.unwrap().path();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let schema = match name.split('-').next() {
            Some("github") => "vendor.github-workflows",
            Some("gitlab") => "vendor.gitlab-ci",
            _ => panic!("{name}: neither github-… nor gitlab-…"),
        };
        let output = std::process::Command::new(&checker)
            .args(["--builtin-schema", schema])
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{name}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        checked += 1;
    }
    assert!(checked >= 5, "{checked} files checked");
    // The checker does reject a broken workflow.
    let broken = Test::new().write("broken.yml", "name: x\non: push\njobs: 3\n");
    let status = std::process::Command::new(&checker)
        .args(["--builtin-schema", "vendor.github-workflows"])
        .arg(broken.path("broken.yml"))
        .output()
        .unwrap()
        .status;
    assert!(!status.success());
}

#[test]
#[ignore = "needs a real terraform: run scripts/e2e"]
fn the_drift_sweep_names_exactly_the_pair_that_drifted() {
    let test = Test::example("quickstart");
    tfw(
        &test,
        &["--all", "--confirm", "prd", "*", "apply", "-auto-approve"],
    )
    .status(0);
    tfw(&test, &["--all", "*", "plan", "-detailed-exitcode"]).status(0);
    fs::write(test.path("datadog/prd.tfvars"), "env = \"prd-drifted\"\n").unwrap();
    let run = tfw(
        &test,
        &[
            "--all",
            "-j",
            "3",
            "--summary",
            "drift.md",
            "--report",
            "drift.json",
            "*",
            "plan",
            "-detailed-exitcode",
        ],
    )
    .status(2);
    let markdown = fs::read_to_string(test.path("drift.md")).unwrap();
    assert!(
        markdown.contains("| stack | dev | prd | stg |\n|---|---|---|---|\n| `.` | no changes | no changes | no changes |\n| `datadog` | no changes | outputs | no changes |\n"),
        "{}\n{markdown}",
        run.stderr()
    );
    let report: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(test.path("drift.json")).unwrap()).unwrap();
    let drifted: Vec<(String, String)> = report["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["result"] != "no changes")
        .map(|p| (p["stack"].to_string(), p["env"].to_string()))
        .collect();
    assert_eq!(drifted, [("\"datadog\"".into(), "\"prd\"".into())]);
}

/// Runs `script` with the e2e venv's python (boto3 against the S3 API of TFW_E2E_S3) and
/// returns its stdout.
fn s3_python(script: &str) -> String {
    let python = std::env::var("TFW_E2E_PYTHON")
        .expect("TFW_E2E_PYTHON is not set: run scripts/e2e, which starts an S3 API");
    let endpoint = std::env::var("TFW_E2E_S3").expect("TFW_E2E_S3 is not set: run scripts/e2e");
    let prelude = format!(
        "import boto3\ns3 = boto3.client('s3', endpoint_url='{endpoint}', region_name='us-east-1', aws_access_key_id='test', aws_secret_access_key='test')\n"
    );
    let out = std::process::Command::new(python)
        .args(["-c", &format!("{prelude}{script}")])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Backend settings from tfw.toml against a real S3 API (shape 5): `backend "s3" {}` in each
/// stack, the bucket and `{stack}` key from tfw.toml, the endpoint and flags in one file per
/// env, S3-native locking. States land at the templated keys, a remote-state dependency is
/// ordered, a confirmed prd apply writes prd's, and a second apply of the same env waits.
#[test]
#[ignore = "needs a real terraform and an S3 API: run scripts/e2e"]
fn backend_settings_from_tfw_toml_write_states_at_their_keys_in_s3() {
    if terraform_version() < (1, 11) {
        eprintln!("note: the s3 backend's use_lockfile needs Terraform 1.11+: skipped");
        return;
    }
    let endpoint = std::env::var("TFW_E2E_S3").expect("TFW_E2E_S3 is not set: run scripts/e2e");
    let run_id = std::process::id();
    s3_python(&format!(
        "for env in ('stg', 'prd'):\n    s3.create_bucket(Bucket=f'acme-{run_id}-{{env}}-state')\n"
    ));
    let flags = format!(
        "endpoints = {{ s3 = \"{endpoint}\" }}\nuse_path_style = true\nskip_credentials_validation = true\nskip_requesting_account_id = true\nskip_metadata_api_check = true\nskip_region_validation = true\n"
    );
    let network = "terraform {\n  backend \"s3\" {}\n}\nvariable \"env\" {}\noutput \"cidr\" {\n  value = \"10.0.0.0/16-${var.env}\"\n}\n";
    let app = format!(
        "terraform {{\n  backend \"s3\" {{}}\n}}\nvariable \"env\" {{}}\ndata \"terraform_remote_state\" \"network\" {{\n  backend = \"s3\"\n  config = {{\n    bucket = \"acme-{run_id}-${{var.env}}-state\"\n    key    = \"network/terraform.tfstate\"\n    region = \"us-east-1\"\n{}  }}\n}}\noutput \"uses\" {{\n  value = data.terraform_remote_state.network.outputs.cidr\n}}\n",
        flags
            .lines()
            .map(|l| format!("    {l}\n"))
            .collect::<String>()
    );
    let config = format!(
        "backend_config = \"{{root}}/backends/{{env}}.tfbackend\"\nvar_files = []\nvars = {{ env = \"{{env}}\" }}\nenv_vars = {{ AWS_ACCESS_KEY_ID = \"test\", AWS_SECRET_ACCESS_KEY = \"test\" }}\nbackend = {{ bucket = \"acme-{run_id}-{{env}}-state\", key = \"{{stack}}/terraform.tfstate\", region = \"us-east-1\", use_lockfile = \"true\" }}\n"
    );
    let test = Test::new()
        .write("tfw.toml", &config)
        .write("network/main.tf", network)
        .write("app/main.tf", &app)
        .write("backends/stg.tfbackend", &flags)
        .write("backends/prd.tfbackend", &flags);
    test.git(&["init", "-q"]);
    test.git(&["add", "-A"]);
    let graph = tfw(&test, &["graph", "stg"]).status(0).stdout();
    assert_eq!(
        graph,
        "stg:\n  app → network  (app/main.tf:5 → backends/stg.tfbackend)\n"
    );
    // In path order app would come first and find no network state.
    tfw(&test, &["--all", "stg", "apply", "-auto-approve"]).status(0);
    let keys = |env: &str| {
        s3_python(&format!(
            "print(' '.join(sorted(o['Key'] for o in s3.list_objects_v2(Bucket='acme-{run_id}-{env}-state').get('Contents', []))))"
        ))
    };
    assert_eq!(
        keys("stg"),
        "app/terraform.tfstate network/terraform.tfstate\n"
    );
    let uses = tfw(&test, &["-q", "-C", "app", "stg", "output", "-raw", "uses"]).status(0);
    assert_eq!(uses.stdout(), "10.0.0.0/16-stg");
    // prd is protected: refused without confirmation, applied with it.
    tfw(&test, &["--all", "prd", "apply", "-auto-approve"]).status(77);
    assert_eq!(keys("prd"), "\n");
    tfw(
        &test,
        &["--confirm", "prd", "--all", "prd", "apply", "-auto-approve"],
    )
    .status(0);
    assert_eq!(
        keys("prd"),
        "app/terraform.tfstate network/terraform.tfstate\n"
    );
    // Two applies of one env at once: S3's lock lets one through and the other waits or
    // reports it; none is left behind.
    let terraform = terraform();
    let spawn = || {
        let mut command = test.command();
        command.args([
            "--terraform",
            &terraform,
            "-C",
            "network",
            "stg",
            "apply",
            "-auto-approve",
        ]);
        command
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        command.spawn().unwrap()
    };
    let (first, second) = (spawn(), spawn());
    let outs = [first, second].map(|child| child.wait_with_output().unwrap());
    assert!(outs.iter().any(|out| out.status.success()));
    for out in outs.iter().filter(|out| !out.status.success()) {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("Error acquiring the state lock"),
            "{stderr}"
        );
    }
    assert!(!keys("stg").contains(".tflock"), "{}", keys("stg"));
}

/// A workspace per env on a real S3 API (shape 4): each env's state in its workspace, a new
/// workspace created by the first run of an unprotected env, and in a protected one only by a
/// confirmed run (a plan before that fails at `workspace select`).
#[test]
#[ignore = "needs a real terraform and an S3 API: run scripts/e2e"]
fn a_workspace_per_env_keeps_each_state_in_its_workspace_in_s3() {
    if terraform_version() < (1, 4) {
        eprintln!("note: `workspace select -or-create` needs Terraform 1.4+: skipped");
        return;
    }
    let endpoint = std::env::var("TFW_E2E_S3").expect("TFW_E2E_S3 is not set: run scripts/e2e");
    let bucket = format!("workspaces-{}", std::process::id());
    s3_python(&format!("s3.create_bucket(Bucket='{bucket}')\n"));
    let flags = format!(
        "endpoints = {{ s3 = \"{endpoint}\" }}\nuse_path_style = true\nskip_credentials_validation = true\nskip_requesting_account_id = true\nskip_metadata_api_check = true\nskip_region_validation = true\n"
    );
    let test = Test::new()
        .write(
            "main.tf",
            "terraform {\n  backend \"s3\" {}\n}\nvariable \"project\" {}\noutput \"p\" {\n  value = var.project\n}\n",
        )
        .write("projects/stg.tfvars", "project = \"s\"\n")
        .write("projects/prd.tfvars", "project = \"p\"\n")
        .write("stg.tfbackend", &flags)
        .write("prd.tfbackend", &flags)
        .write(
            "tfw.toml",
            &format!("workspace = \"{{env}}\"\nvar_files = [\"projects/{{env}}.tfvars\"]\nenv_vars = {{ AWS_ACCESS_KEY_ID = \"test\", AWS_SECRET_ACCESS_KEY = \"test\" }}\nbackend = {{ bucket = \"{bucket}\", key = \"app.tfstate\", region = \"us-east-1\" }}\n"),
        );
    tfw(&test, &["stg", "apply", "-auto-approve"]).status(0);
    tfw(&test, &["prd", "plan"])
        .status(1)
        .stderr_contains("workspace select prd` failed");
    tfw(
        &test,
        &["--confirm", "prd", "prd", "apply", "-auto-approve"],
    )
    .status(0);
    tfw(&test, &["prd", "plan"]).status(0);
    assert_eq!(output(&test, "prd", "p"), "p");
    assert_eq!(output(&test, "stg", "p"), "s");
    let keys = s3_python(&format!(
        "print(' '.join(sorted(o['Key'] for o in s3.list_objects_v2(Bucket='{bucket}')['Contents'])))"
    ));
    assert_eq!(keys, "env:/prd/app.tfstate env:/stg/app.tfstate\n");
}
