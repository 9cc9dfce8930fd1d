//! `tfw atlantis` (the generated atlantis.yaml) and `--atlantis` (tfw as a run step).

use crate::common::{STACK, Test};
use std::io::Read;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};
use yaml_rust2::{Yaml, YamlLoader};

fn example() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/quickstart"))
}

fn generated(test: &Test) -> Yaml {
    let run = test.run_with(["atlantis"]).status(0);
    YamlLoader::load_from_str(&run.stdout()).unwrap().remove(0)
}

fn strings(yaml: &Yaml) -> Vec<&str> {
    yaml.as_vec()
        .unwrap()
        .iter()
        .map(|y| y.as_str().unwrap())
        .collect()
}

#[test]
fn the_example_atlantis_yaml_is_up_to_date() {
    let test = Test::new().args([
        "-C".as_ref(),
        example().as_os_str(),
        "atlantis".as_ref(),
        "--check".as_ref(),
    ]);
    let run = test.run();
    assert_eq!(
        run.code(),
        0,
        "regenerate with `tfw -C examples/quickstart atlantis --output examples/quickstart/atlantis.yaml`:\n{}",
        run.stdout()
    );
}

#[test]
fn one_project_per_stack_and_env_with_its_own_triggers() {
    let test = Test::example("quickstart");
    let yaml = generated(&test);
    assert_eq!(yaml["version"].as_i64(), Some(3));
    let projects = yaml["projects"].as_vec().unwrap();
    let names: Vec<&str> = projects
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "root-dev",
            "root-prd",
            "root-stg",
            "datadog-dev",
            "datadog-prd",
            "datadog-stg"
        ]
    );
    let root_prd = &projects[1];
    assert_eq!(root_prd["dir"].as_str(), Some("."));
    assert_eq!(root_prd["workflow"].as_str(), Some("tfw-prd"));
    assert_eq!(strings(&root_prd["apply_requirements"]), ["approved"]);
    let triggers = strings(&root_prd["autoplan"]["when_modified"]);
    assert!(
        triggers.contains(&"prd.tfvars") && triggers.contains(&"prd.tfbackend"),
        "{triggers:?}"
    );
    assert!(
        triggers.contains(&"modules/naming/*.tf"),
        "local modules plan too: {triggers:?}"
    );
    assert!(
        !triggers
            .iter()
            .any(|t| t.contains("stg") || t.contains("dev.")),
        "other envs' files: {triggers:?}"
    );
    assert!(
        !triggers.iter().any(|t| t.contains("**")),
        "no catch-all glob: {triggers:?}"
    );
    assert_eq!(projects[4]["dir"].as_str(), Some("datadog"));
}

#[test]
fn workflows_call_tfw_and_write_out_the_production_confirmation() {
    let yaml = generated(&Test::example("quickstart"));
    let workflows = &yaml["workflows"];
    let run = |env: &str, stage: &str, i: usize| {
        workflows[env][stage]["steps"][i]["run"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(run("tfw-stg", "plan", 0), "tfw --atlantis stg plan");
    assert_eq!(run("tfw-stg", "apply", 0), "tfw --atlantis stg apply");
    assert_eq!(
        run("tfw-prd", "apply", 0),
        "tfw --atlantis --confirm prd prd apply"
    );
    assert_eq!(run("tfw-prd", "policy_check", 0), "tfw --atlantis prd show");
    assert_eq!(
        workflows["tfw-prd"]["policy_check"]["steps"][1].as_str(),
        Some("policy_check")
    );
}

#[test]
fn atlantis_settings_and_stack_names_from_tfw_toml() {
    let test = Test::new()
        .write("tfw.toml", "[atlantis]\nautoplan = false\nparallel_plan = true\nterraform_version = \"1.5.7\"\n[stacks.\".\"]\nname = \"core\"\n")
        .files("", STACK);
    let yaml = generated(&test);
    assert_eq!(yaml["parallel_plan"].as_bool(), Some(true));
    let first = &yaml["projects"][0];
    assert_eq!(first["name"].as_str(), Some("core-dev"));
    assert_eq!(first["terraform_version"].as_str(), Some("1.5.7"));
    assert_eq!(first["autoplan"]["enabled"].as_bool(), Some(false));
}

#[test]
fn check_fails_with_a_diff_when_stale_and_output_writes_the_file() {
    let test = Test::stack().write("tfw.toml", "");
    test.run_with(["atlantis", "--check"])
        .status(1)
        .stderr_contains("help: create it with `tfw atlantis --output");
    test.run_with(["atlantis", "--output", "atlantis.yaml"])
        .status(0);
    test.run_with(["atlantis", "--check"]).status(0);
    let test = test.files("", &[("qa.tfbackend", ""), ("qa.tfvars", "")]);
    let run = test
        .run_with(["atlantis", "--check"])
        .status(1)
        .stderr_contains("help: regenerate it with `tfw atlantis --output");
    assert!(
        run.stdout().contains("+  - name: \"root-qa\""),
        "a new env makes it stale: {}",
        run.stdout()
    );
    assert!(
        !run.stdout().contains("-  - name: \"root-dev\""),
        "unchanged lines are not shown: {}",
        run.stdout()
    );
}

/// Runs a `--atlantis` step the way Atlantis does: a stdin pipe that is never written nor closed.
fn run_step(test: &Test, args: &[&str], env: &[(&str, &str)]) -> crate::common::Run {
    let mut command = test.command();
    command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().unwrap();
    let _stdin = child.stdin.take();
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "tfw hung on a stdin that never closes"
        );
        std::thread::sleep(crate::common::POLL);
    }
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_end(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_end(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    test.finish(std::process::Output {
        status,
        stdout,
        stderr,
    })
}

#[test]
fn plan_step_writes_planfile_and_showfile_and_appends_comment_args_verbatim() {
    let test = Test::stack().env("FAKE_TF_STDOUT_show", "{\"format_version\":\"1.0\"}");
    let planfile = test.path("root-stg-default.tfplan").display().to_string();
    let showfile = test.path("root-stg-default.json").display().to_string();
    // `atlantis plan -- -target=a,b '-var=x=y z'`
    let comment = r"\-\t\a\r\g\e\t\=\a\,\b,\-\v\a\r\=\x\=\y\ \z";
    let env = [
        ("PLANFILE", planfile.as_str()),
        ("SHOWFILE", showfile.as_str()),
        ("COMMENT_ARGS", comment),
        ("FAKE_TF_EXIT_plan", "0"),
    ];
    let run = run_step(&test, &["--atlantis", "stg", "plan"], &env).status(0);
    assert_eq!(
        run.lines(),
        [
            "init -reconfigure -backend-config=stg.tfbackend -input=false".to_string(),
            format!(
                "plan -var-file=stg.tfvars -input=false -out={planfile} -target=a,b -var=x=y z"
            ),
            format!("show -json {planfile}"),
        ]
    );
    assert_eq!(
        run.calls[1].argv[4], "-target=a,b",
        "one argument, comma kept"
    );
    assert_eq!(
        std::fs::read_to_string(&showfile).unwrap(),
        "{\"format_version\":\"1.0\"}"
    );
    assert!(!run.calls.iter().any(|c| c.stdin_tty));
}

#[test]
fn apply_step_applies_the_planfile_without_var_files_and_keeps_the_guard() {
    let test = Test::stack();
    std::fs::write(
        test.path("root-prd-default.tfplan"),
        crate::common::PRD_PLAN,
    )
    .unwrap();
    let planfile = test.path("root-prd-default.tfplan").display().to_string();
    let env = [("PLANFILE", planfile.as_str())];
    run_step(&test, &["--atlantis", "prd", "apply"], &env).status(77);
    let run = run_step(
        &test,
        &["--atlantis", "--confirm", "prd", "prd", "apply"],
        &env,
    )
    .status(0);
    assert_eq!(run.lines()[1], format!("apply -input=false {planfile}"));
}

#[test]
fn outside_atlantis_the_missing_variables_are_named() {
    Test::stack()
        .run_with(["--atlantis", "stg", "plan"])
        .status(64)
        .stderr_contains("needs PLANFILE and SHOWFILE");
}

#[test]
fn show_step_writes_the_showfile_for_policy_checks() {
    let test = Test::stack().env("FAKE_TF_STDOUT_show", "{\"planned_values\":{}}");
    let planfile = test.path("root-stg-default.tfplan").display().to_string();
    let showfile = test.path("root-stg-default.json").display().to_string();
    let env = [
        ("PLANFILE", planfile.as_str()),
        ("SHOWFILE", showfile.as_str()),
    ];
    let run = run_step(&test, &["--atlantis", "stg", "show"], &env).status(0);
    assert_eq!(
        run.lines().last().unwrap(),
        &format!("show -json {planfile}")
    );
    assert_eq!(
        std::fs::read_to_string(&showfile).unwrap(),
        "{\"planned_values\":{}}"
    );
    assert_eq!(
        run.stdout(),
        "",
        "the JSON goes to $SHOWFILE, not the PR comment"
    );
}

#[test]
fn output_must_name_a_file() {
    for args in [
        &["atlantis", "--output", "/etc"][..],
        &["atlantis", "--check", "--output", "/etc"],
    ] {
        Test::stack()
            .args(args)
            .run()
            .status(64)
            .stderr_contains("`/etc` is a directory");
    }
}

#[test]
fn a_run_step_uses_the_projects_versioned_binary() {
    let test = Test::stack().fake_as("terraform1.5.7").fake_as("tofu1.8.0");
    let planfile = test.path("p.tfplan");
    let showfile = test.path("p.json");
    let step = |test: &Test, version: &str, distribution: &str| {
        run_step(
            test,
            &["--atlantis", "stg", "plan"],
            &[
                ("PLANFILE", planfile.to_str().unwrap()),
                ("SHOWFILE", showfile.to_str().unwrap()),
                ("ATLANTIS_TERRAFORM_VERSION", version),
                ("ATLANTIS_TERRAFORM_DISTRIBUTION", distribution),
            ],
        )
        .status(0)
    };
    let programs = |run: &crate::common::Run| -> Vec<String> {
        run.calls.iter().map(|c| c.program.clone()).collect()
    };
    assert_eq!(
        programs(&step(&test, "1.5.7", "terraform")),
        ["terraform1.5.7"; 3]
    );
    assert_eq!(programs(&step(&test, "1.8.0", "tofu")), ["tofu1.8.0"; 3]);
    // Not installed: the default binary.
    let run = step(&test, "1.9.9", "terraform");
    assert_eq!(programs(&run), ["terraform"; 3], "{}", run.stderr());
    // tfw.toml's binary wins.
    let test = test.write("tfw.toml", "binary = \"terraform\"\n");
    let run = step(&test, "1.5.7", "terraform");
    assert!(
        run.calls.iter().all(|c| c.program == "terraform"),
        "{:?}",
        programs(&run)
    );
}
