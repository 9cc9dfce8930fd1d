//! Repositories as teams already have them: files tfw must read whatever Terraform accepts,
//! and the layouts of four public infrastructure repositories.

use crate::common::Test;

const REPEATED_KEY: &str = "locals {\n  tags = { region = \"a\", region = \"b\" }\n}\n\nmodule \"m\" {\n  source = \"./modules/m\"\n}\n";

#[test]
fn a_repeated_object_key_is_read_like_terraform_reads_it() {
    let test = Test::stack()
        .write("tags.tf", REPEATED_KEY)
        .write("modules/m/main.tf", "");
    test.run_with(["stg", "plan"]).status(0);
    let run = test
        .run_with(["stg", "plan"])
        .status(0)
        .stderr_contains("init up to date (stg)");
    assert_eq!(run.calls.len(), 1, "{:?}", run.lines());
    let run = test.run_with(["atlantis"]).status(0);
    assert!(run.stdout().contains("modules/m/*.tf"), "{}", run.stdout());
    assert_eq!(run.stderr(), "");
}

#[test]
fn a_file_tfw_cannot_read_is_a_warning_in_atlantis() {
    let run = Test::stack()
        .write("broken.tf", "module \"m\" {\n  source = \n")
        .args(["atlantis"])
        .run()
        .status(0);
    assert!(
        run.stderr().contains("tfw: warning:") && run.stderr().contains("broken.tf"),
        "{}",
        run.stderr()
    );
}

#[test]
fn modules_installed_in_the_data_dir_keep_one_data_dir() {
    let test = Test::stack().write(
        "modules.tf",
        "module \"vnet\" {\n  source = \"./.terraform/modules/__v3__/vnet\"\n}\n",
    );
    let run = test.run_with(["-n", "stg", "plan"]).status(0);
    assert!(!run.stdout().contains("TF_DATA_DIR"), "{}", run.stdout());
    assert!(
        run.stderr()
            .contains("a module source points into .terraform/"),
        "{}",
        run.stderr()
    );
    let run = test.run_with(["atlantis"]).status(0);
    assert!(!run.stdout().contains(".terraform/"), "{}", run.stdout());
}

/// Drives `test` through `stacks`, `check` and `atlantis` and returns their outputs.
fn survey(test: &Test) -> (String, String, String) {
    test.git(&["init", "-q"]);
    test.git(&["add", "-A"]);
    let stacks = test.run_with(["stacks"]).status(0).stdout();
    let check = test.run_with(["check"]);
    assert_eq!(check.code(), 0, "{}{}", check.stdout(), check.stderr());
    let atlantis = test.run_with(["atlantis"]).status(0).stdout();
    (stacks, check.stdout(), atlantis)
}

/// An AWS repository: Terraform's own naming `<env>.s3.tfbackend`, the env passed as a variable,
/// an AWS profile per env, production protected by its name.
#[test]
fn aws_typed_backend_names_and_an_env_variable() {
    let stack = |prefix: &str, test: Test| {
        test.write(
            &format!("{prefix}main.tf"),
            "terraform {\n  backend \"s3\" {}\n}\n",
        )
        .write(
            &format!("{prefix}dev.s3.tfbackend"),
            &format!("bucket = \"b\"\nkey = \"{prefix}dev\"\n"),
        )
        .write(
            &format!("{prefix}production.s3.tfbackend"),
            &format!("bucket = \"b\"\nkey = \"{prefix}prd\"\n"),
        )
    };
    let test = stack("", stack("network/", Test::new())).write(
        "tfw.toml",
        "var_files = []\nvars = { environment_name = \"{env}\" }\nenv_vars = { AWS_PROFILE = \"{env}-admin\" }\n",
    );
    let (stacks, _, atlantis) = survey(&test);
    assert_eq!(stacks, ".\tdev production\nnetwork\tdev production\n");
    assert!(atlantis.contains("production.s3.tfbackend"), "{atlantis}");
    let run = test
        .run_with(["-n", "-C", "network", "dev", "plan"])
        .status(0);
    assert_eq!(
        run.stdout(),
        "# init: no init yet for dev\n\
         (cd network && AWS_PROFILE=dev-admin TF_DATA_DIR=.terraform/tfw/dev terraform init -reconfigure -backend-config=dev.s3.tfbackend -input=false)\n\
         (cd network && AWS_PROFILE=dev-admin TF_DATA_DIR=.terraform/tfw/dev terraform plan -var=environment_name=dev)\n"
    );
    let run = test.run_with(["production", "apply"]).status(77);
    assert!(run.calls.is_empty());
}

/// An Azure monorepo: `env/<env>/terraform.tfvars` and `env/<env>/backend.tfvars` in every
/// stack, stacks with different envs, a symlinked terraform.sh: two lines of tfw.toml.
#[test]
fn azure_env_directories_per_stack() {
    let stack = |prefix: &str, envs: &[&str], test: Test| {
        envs.iter().fold(
            test.write(&format!("{prefix}main.tf"), "terraform {\n  backend \"azurerm\" {}\n}\n"),
            |test, env| {
                test.write(&format!("{prefix}env/{env}/terraform.tfvars"), "")
                    .write(
                        &format!("{prefix}env/{env}/backend.tfvars"),
                        &format!("storage_account_name = \"sa\"\ncontainer_name = \"tf\"\nkey = \"{prefix}{env}\"\n"),
                    )
            },
        )
    };
    let test = stack(
        "apps/api/",
        &["weu-dev", "weu-prod"],
        stack("platform/dns/", &["weu-prod"], Test::new()),
    )
    .write(
        "tfw.toml",
        "var_files = [\"env/{env}/terraform.tfvars\"]\nbackend_config = \"env/{env}/backend.tfvars\"\n",
    );
    let (stacks, check, atlantis) = survey(&test);
    assert_eq!(
        stacks,
        "apps/api\tweu-dev weu-prod\nplatform/dns\tweu-prod\n"
    );
    assert_eq!(check, "", "each stack pairs its own envs");
    assert!(
        atlantis.contains("--confirm weu-prod"),
        "weu-prod is protected: {atlantis}"
    );
    let run = test
        .run_with(["-n", "-C", "apps/api", "weu-dev", "plan"])
        .status(0);
    assert!(
        run.stdout()
            .contains("terraform plan -var-file=env/weu-dev/terraform.tfvars"),
        "{}",
        run.stdout()
    );
}

/// An AWS repository with `<env>.<stack>.backend` files and var files in a shared directory,
/// some optional, and one in a sibling checkout outside the repository.
#[test]
fn shared_and_optional_var_files_outside_the_stack() {
    let test = Test::new()
        .write("infra/api/main.tf", "")
        .write("infra/api/dev.api.backend", "bucket = \"b\"\nkey = \"api\"\n")
        .write("shared/dev.tfvars", "")
        .write(
            "tfw.toml",
            r#"[stacks."infra/api"]
backend_config = "{env}.api.backend"
var_files = ["{root}/shared/{env}.tfvars", { path = "../common/{env}.tfvars", optional = true }, { path = "{root}/../data/{env}.tfvars", optional = true }]
"#,
        );
    let (stacks, _, atlantis) = survey(&test);
    assert_eq!(stacks, "infra/api\tdev\n");
    assert_eq!(
        test.run_with(["check"]).status(0).stderr(),
        "tfw: note: infra/api/../../../data/dev.tfvars is outside the repository: not checked\n\
         tfw: checked 1 stack × 1 env: no problems\n"
    );
    assert!(atlantis.contains("../../shared/dev.tfvars"), "{atlantis}");
    assert!(
        !atlantis.contains("data/dev.tfvars"),
        "outside the repository: {atlantis}"
    );
    let run = test
        .run_with(["-n", "-C", "infra/api", "dev", "plan"])
        .status(0);
    assert!(
        run.stdout()
            .contains("terraform plan -var-file=../../shared/dev.tfvars)"),
        "optional files that are absent are left out: {}",
        run.stdout()
    );
    let test = test.write("infra/common/dev.tfvars", "");
    test.git(&["add", "-A"]);
    let run = test
        .run_with(["-n", "-C", "infra/api", "dev", "plan"])
        .status(0);
    assert!(
        run.stdout()
            .contains("-var-file=../../shared/dev.tfvars -var-file=../common/dev.tfvars)"),
        "{}",
        run.stdout()
    );
    let run = test
        .remove("shared/dev.tfvars")
        .run_with(["check"])
        .status(1);
    assert_eq!(
        run.stdout(),
        "shared/dev.tfvars: deleted in the working tree but still tracked (env dev): restore it or `git rm` it\n"
    );
}

/// An Azure repository whose Makefile built the backend config: one backend file per env
/// instead, and the subscription per env in the environment.
#[test]
fn azure_backend_per_env_and_subscription_in_the_environment() {
    let test = ["dev", "prod"].iter().fold(
        Test::new().write("main.tf", "terraform {\n  backend \"azurerm\" {}\n}\n"),
        |test, env| {
            test.write(&format!("{env}.tfvars"), "").write(
                &format!("backend/{env}.tfbackend"),
                &format!("storage_account_name = \"sa\"\ncontainer_name = \"tf\"\nkey = \"{env}\"\n"),
            )
        },
    )
    .write(
        "tfw.toml",
        "backend_config = \"backend/{env}.tfbackend\"\nenv_vars = { ARM_SUBSCRIPTION_ID = \"sub-nonprod\" }\n[environments.\"prod\"]\nenv_vars = { ARM_SUBSCRIPTION_ID = \"sub-prod\" }\n",
    );
    let (stacks, _, atlantis) = survey(&test);
    assert_eq!(stacks, ".\tdev prod\n");
    assert!(atlantis.contains("backend/prod.tfbackend"), "{atlantis}");
    for (env, subscription) in [("dev", "sub-nonprod"), ("prod", "sub-prod")] {
        let run = test.run_with(["-n", env, "plan"]).status(0);
        assert!(
            run.stdout().contains(&format!(
                "ARM_SUBSCRIPTION_ID={subscription} TF_DATA_DIR=.terraform/tfw/{env} terraform init -reconfigure -backend-config=backend/{env}.tfbackend"
            )),
            "{}",
            run.stdout()
        );
    }
}

/// Writes `files` (path, content) into `test`.
fn with_files(test: Test, files: &[(String, String)]) -> Test {
    files
        .iter()
        .fold(test, |test, (path, content)| test.write(path, content))
}

/// Commits everything and returns what `tfw affected` says of the next commit after `change`.
fn affected_by(test: &Test, change: &str, content: &str) -> String {
    test.git(&["add", "-A"]);
    test.git(&["commit", "-qm", "base"]);
    std::fs::write(test.path(change), content).unwrap();
    test.git(&["commit", "-qam", "change"]);
    test.run_with(["affected", "--base", "HEAD~1", "--head", "HEAD"])
        .status(0)
        .stdout()
}

/// Shape 1: eleven stacks under `forms/*` take their backend config (and a var file) from one
/// file per env in a sibling directory; each stack's `backend "s3"` block holds its `key`. A
/// module beside them, with no backend block, is no stack.
#[test]
fn a_backend_file_outside_the_stack_shared_by_many_stacks() {
    let stack = |name: &str| {
        (
            format!("infra/forms/{name}/main.tf"),
            format!(
                "terraform {{\n  backend \"s3\" {{\n    key = \"forms/{name}\"\n  }}\n}}\nvariable \"bucket\" {{}}\nvariable \"region\" {{}}\n"
            ),
        )
    };
    let backend =
        |env: &str| format!("bucket = \"forms-{env}\"\nregion = \"eu-west-2\"\nunused = 1\n");
    let test = with_files(
        Test::new(),
        &[
            stack("api"),
            stack("web"),
            (
                "infra/forms/modules/net/main.tf".into(),
                "variable \"cidr\" {}\n".into(),
            ),
            (
                "infra/forms/account/tfvars/backends/dev.tfvars".into(),
                backend("dev"),
            ),
            (
                "infra/forms/account/tfvars/backends/prd.tfvars".into(),
                backend("prd"),
            ),
        ],
    )
    .write(
        "tfw.toml",
        r#"[stacks."infra/forms/*"]
backend_config = "../account/tfvars/backends/{env}.tfvars"
var_files = ["../account/tfvars/backends/{env}.tfvars"]
"#,
    );
    test.git(&["init", "-q"]);
    test.git(&["add", "-A"]);
    assert_eq!(
        test.run_with(["stacks"]).status(0).stdout(),
        "infra/forms/api\tdev prd\ninfra/forms/web\tdev prd\n"
    );
    let check = test.run_with(["check"]).status(1);
    assert_eq!(
        check.stdout(),
        "infra/forms/account/tfvars/backends/dev.tfvars:3: unused is not a variable of any stack that reads it (read by infra/forms/api, infra/forms/web)\n\
         infra/forms/account/tfvars/backends/prd.tfvars:3: unused is not a variable of any stack that reads it (read by infra/forms/api, infra/forms/web)\n",
        "the planted key, once per file, naming its stacks"
    );
    // A stack whose block repeats another's key shares its state; found again after the
    // shared file changes (the kept results name it as an input).
    let copy = std::fs::read_to_string(test.path("infra/forms/api/main.tf")).unwrap();
    let test = test.write("infra/forms/copy/main.tf", &copy);
    test.git(&["add", "-A"]);
    let run = test.run_with(["check"]).status(1);
    assert!(
        run.stdout().contains("infra/forms/account/tfvars/backends/dev.tfvars: same state as infra/forms/copy (s3 bucket=forms-dev key=forms/api workspace_key_prefix=env:): one would overwrite the other (read by infra/forms/api)\n"),
        "{}",
        run.stdout()
    );
    let test = test.write(
        "infra/forms/account/tfvars/backends/dev.tfvars",
        "bucket = \"forms-dev\"\nregion = \"eu-west-2\"\n",
    );
    let run = test.run_with(["check"]).status(1);
    assert!(!run.stdout().contains("dev.tfvars:3"), "{}", run.stdout());
    let test = test.remove("infra/forms/copy/main.tf").write(
        "infra/forms/account/tfvars/backends/dev.tfvars",
        &backend("dev"),
    );
    test.git(&["add", "-A"]);
    let run = test
        .run_with(["-n", "-C", "infra/forms/api", "dev", "plan"])
        .status(0);
    assert_eq!(
        run.stdout(),
        "# init: no init yet for dev\n\
         (cd infra/forms/api && TF_DATA_DIR=.terraform/tfw/dev terraform init -reconfigure -backend-config=../account/tfvars/backends/dev.tfvars -input=false)\n\
         (cd infra/forms/api && TF_DATA_DIR=.terraform/tfw/dev terraform plan -var-file=../account/tfvars/backends/dev.tfvars)\n"
    );
    let atlantis = test.run_with(["atlantis"]).status(0).stdout();
    assert!(
        atlantis.contains(
            "dir: \"infra/forms/web\"\n    workflow: \"tfw-prd\"\n    autoplan:\n      enabled: true\n      when_modified: [\"*.tf\", \"*.tf.json\", \".terraform.lock.hcl\", \"terraform.tfvars\", \"terraform.tfvars.json\", \"*.auto.tfvars\", \"*.auto.tfvars.json\", \"../account/tfvars/backends/prd.tfvars\"]"
        ),
        "{atlantis}"
    );
    assert_eq!(
        affected_by(
            &test,
            "infra/forms/account/tfvars/backends/prd.tfvars",
            &backend("prd").replace("eu-west-2", "eu-west-1")
        ),
        "infra/forms/api\tprd\tinfra/forms/account/tfvars/backends/prd.tfvars\n\
         infra/forms/web\tprd\tinfra/forms/account/tfvars/backends/prd.tfvars\n"
    );
}

/// Shape 2: `[stacks."<glob>"]` blocks apply to every stack whose path matches: the defaults,
/// then `[environments]`, then the globs in file order, then the stack's own block.
#[test]
fn stack_blocks_by_glob_merge_in_order() {
    let stack = |path: &str| {
        [
            (
                format!("{path}/main.tf"),
                "terraform {\n  backend \"s3\" {}\n}\nvariable \"tier\" {}\n".to_string(),
            ),
            (
                format!("{path}/stg.tfbackend"),
                format!("bucket = \"b\"\nkey = \"{path}\"\n"),
            ),
            (format!("{path}/stg.tfvars"), "tier = \"x\"\n".to_string()),
        ]
    };
    let files: Vec<(String, String)> = ["apps/api", "apps/web", "datadog"]
        .iter()
        .flat_map(|p| stack(p))
        .collect();
    let config = r#"env_vars = { A = "top", B = "top", C = "top", D = "top" }
[environments."stg"]
env_vars = { B = "env" }
[stacks."apps/*"]
env_vars = { C = "glob {stack}" }
args = { plan = ["-lock-timeout=1m"] }
[stacks."apps/a*"]
env_vars = { D = "later glob" }
[stacks."apps/api"]
env_vars = { A = "own" }
"#;
    let test = with_files(Test::new(), &files).write("tfw.toml", config);
    test.git(&["init", "-q"]);
    test.git(&["add", "-A"]);
    assert_eq!(
        test.run_with(["stacks"]).status(0).stdout(),
        "apps/api\tstg\napps/web\tstg\ndatadog\tstg\n"
    );
    test.run_with(["check"]).status(0);
    let run = test.run_with(["-n", "--all", "stg", "plan"]).status(0);
    let stdout = run.stdout();
    let commands: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("terraform plan"))
        .map(|l| l.split_once("&& ").unwrap().1)
        .collect();
    assert_eq!(
        commands,
        [
            "A=own B=env C='glob apps/api' D='later glob' TF_DATA_DIR=.terraform/tfw/stg terraform plan -var-file=stg.tfvars -lock-timeout=1m)",
            "A=top B=env C='glob apps/web' D=top TF_DATA_DIR=.terraform/tfw/stg terraform plan -var-file=stg.tfvars -lock-timeout=1m)",
            "A=top B=env C=top D=top TF_DATA_DIR=.terraform/tfw/stg terraform plan -var-file=stg.tfvars)",
        ]
    );
    let atlantis = test.run_with(["atlantis"]).status(0).stdout();
    assert!(atlantis.contains("dir: \"apps/web\""), "{atlantis}");
    assert_eq!(
        affected_by(&test, "tfw.toml", &config.replace("later glob", "changed")),
        "apps/api\tstg\ttfw.toml\n"
    );
    // A block that matches no stack is a typo, not a setting quietly ignored.
    let mut test = test;
    for (block, line, said) in [
        (
            "[stacks.\"datadg\"]",
            11,
            "`[stacks.\"datadg\"]` matches no directory with terraform files: did you mean `datadog`?",
        ),
        (
            "[stacks.\"app/*\"]",
            11,
            "`[stacks.\"app/*\"]` matches no directory with terraform files",
        ),
    ] {
        test = test.write("tfw.toml", &format!("{config}{block}\nenvs = [\"stg\"]\n"));
        for command in [&["stacks"][..], &["check"], &["-n", "--all", "stg", "plan"]] {
            let run = test.run_with(command).status(65);
            assert!(
                run.stderr().contains(&format!("tfw.toml:{line}: {said}")),
                "{}",
                run.stderr()
            );
        }
    }
}

/// Shape 3: one backend in `main.tf`, var files `projects/<env>.tfvars` naming the envs, a
/// backend file for only one env (optional), or none at all (`backend_config = false`).
#[test]
fn envs_without_a_backend_file() {
    let test = Test::new()
        .write(
            "main.tf",
            "terraform {\n  backend \"gcs\" {\n    bucket = \"state\"\n  }\n}\nvariable \"project\" {}\n",
        )
        .write("projects/dev.tfvars", "project = \"p-dev\"\n")
        .write("projects/stg.tfvars", "project = \"p-stg\"\n")
        .write("projects/prd.tfvars", "project = \"p-prd\"\nzone = \"a\"\n")
        .write("backends/prd.hcl", "bucket = \"prd-state\"\n")
        .write("modules/net/main.tf", "variable \"cidr\" {}\n")
        .write(
            "tfw.toml",
            "backend_config = { path = \"backends/{env}.hcl\", optional = true }\nvar_files = [\"projects/{env}.tfvars\"]\n",
        );
    test.git(&["init", "-q"]);
    test.git(&["add", "-A"]);
    assert_eq!(
        test.run_with(["stacks"]).status(0).stdout(),
        ".\tdev prd stg\n"
    );
    assert_eq!(
        test.run_with(["check"]).status(1).stdout(),
        "projects/prd.tfvars:2: zone is not a variable of this stack\n"
    );
    let lines = |env: &str| test.run_with(["-n", env, "plan"]).status(0).stdout();
    assert_eq!(
        lines("dev"),
        "# init: no init yet for dev\n\
         (cd . && TF_DATA_DIR=.terraform/tfw/dev terraform init -reconfigure -input=false)\n\
         (cd . && TF_DATA_DIR=.terraform/tfw/dev terraform plan -var-file=projects/dev.tfvars)\n"
    );
    assert_eq!(
        lines("prd"),
        "# init: no init yet for prd\n\
         (cd . && TF_DATA_DIR=.terraform/tfw/prd terraform init -reconfigure -backend-config=backends/prd.hcl -input=false)\n\
         (cd . && TF_DATA_DIR=.terraform/tfw/prd terraform plan -var-file=projects/prd.tfvars)\n"
    );
    let atlantis = test.run_with(["atlantis"]).status(0).stdout();
    assert!(
        atlantis.contains("\"backends/prd.hcl\", \"projects/prd.tfvars\"]"),
        "{atlantis}"
    );
    assert_eq!(
        affected_by(&test, "projects/stg.tfvars", "project = \"p-stg2\"\n"),
        ".\tstg\tprojects/stg.tfvars\n"
    );
    // No backend file in any env: the envs are tfw.toml's.
    let test = test.write(
        "tfw.toml",
        "envs = [\"dev\", \"stg\"]\nbackend_config = false\nvar_files = [\"projects/{env}.tfvars\"]\n",
    );
    assert_eq!(test.run_with(["stacks"]).status(0).stdout(), ".\tdev stg\n");
    assert_eq!(
        test.run_with(["check"]).status(1).stdout(),
        "projects/prd.tfvars: env `prd` is not expected here (envs: dev, stg)\n"
    );
    assert_eq!(
        test.run_with(["-n", "stg", "plan"]).status(0).stdout(),
        "# init: no init yet for stg\n\
         (cd . && TF_DATA_DIR=.terraform/tfw/stg terraform init -reconfigure -input=false)\n\
         (cd . && TF_DATA_DIR=.terraform/tfw/stg terraform plan -var-file=projects/stg.tfvars)\n"
    );
}

/// Shape 6: var files and the backend per env (`[environments."<env>"]`), a global / group /
/// env chain where the group depends on the env; each component declares its own subset.
#[test]
fn var_files_and_backend_per_env() {
    let component = |name: &str| {
        (
            format!("components/{name}/main.tf"),
            format!(
                "terraform {{\n  backend \"s3\" {{\n    key = \"{name}\"\n  }}\n}}\nvariable \"region\" {{}}\nvariable \"group\" {{}}\nvariable \"{name}_size\" {{\n  type = number\n}}\n"
            ),
        )
    };
    let file = |path: &str, text: &str| (path.to_string(), text.to_string());
    let test = with_files(
        Test::new(),
        &[
            component("api"),
            component("web"),
            file("etc/global.tfvars", "region = \"eu-west-1\"\n"),
            file("etc/group_dev.tfvars", "group = \"dev\"\napi_size = 1\nweb_size = 1\n"),
            file("etc/group_prd.tfvars", "group = \"prd\"\napi_size = 3\nweb_size = \"big\"\n"),
            file("etc/env_dev01.tfvars", ""),
            file("etc/env_dev02.tfvars", ""),
            file("etc/env_prd.tfvars", "region = \"eu-west-2\"\n"),
            file("etc/backend_dev01.tfbackend", "bucket = \"state-dev\"\n"),
            file("etc/backend_dev02.tfbackend", "bucket = \"state-dev2\"\n"),
            file("etc/prd.s3.tfbackend", "bucket = \"state-prd\"\n"),
        ],
    )
    .write(
        "tfw.toml",
        r#"backend_config = "{root}/etc/backend_{env}.tfbackend"
var_files = ["{root}/etc/global.tfvars", "{root}/etc/group_dev.tfvars", "{root}/etc/env_{env}.tfvars"]

[environments."prd"]
var_files = ["{root}/etc/global.tfvars", "{root}/etc/group_prd.tfvars", "{root}/etc/env_prd.tfvars"]
backend_config = "{root}/etc/prd.s3.tfbackend"
"#,
    );
    test.git(&["init", "-q"]);
    test.git(&["add", "-A"]);
    assert_eq!(
        test.run_with(["stacks"]).status(0).stdout(),
        "components/api\tdev01 dev02 prd\ncomponents/web\tdev01 dev02 prd\n"
    );
    assert_eq!(
        test.run_with(["check"]).status(1).stdout(),
        "etc/group_prd.tfvars:3: variable web_size: a number is required, not a string (read by components/web)\n",
        "the planted type error only: api_size is api's, web_size web's"
    );
    assert_eq!(
        test.run_with(["-n", "-C", "components/api", "dev01", "plan"])
            .status(0)
            .stdout(),
        "# init: no init yet for dev01\n\
         (cd components/api && TF_DATA_DIR=.terraform/tfw/dev01 terraform init -reconfigure -backend-config=../../etc/backend_dev01.tfbackend -input=false)\n\
         (cd components/api && TF_DATA_DIR=.terraform/tfw/dev01 terraform plan -var-file=../../etc/global.tfvars -var-file=../../etc/group_dev.tfvars -var-file=../../etc/env_dev01.tfvars)\n"
    );
    assert_eq!(
        test.run_with(["-n", "-C", "components/web", "prd", "plan"])
            .status(0)
            .stdout(),
        "# init: no init yet for prd\n\
         (cd components/web && TF_DATA_DIR=.terraform/tfw/prd terraform init -reconfigure -backend-config=../../etc/prd.s3.tfbackend -input=false)\n\
         (cd components/web && TF_DATA_DIR=.terraform/tfw/prd terraform plan -var-file=../../etc/global.tfvars -var-file=../../etc/group_prd.tfvars -var-file=../../etc/env_prd.tfvars)\n"
    );
    let atlantis = test.run_with(["atlantis"]).status(0).stdout();
    assert!(
        atlantis.contains("\"../../etc/prd.s3.tfbackend\", \"../../etc/global.tfvars\", \"../../etc/group_prd.tfvars\", \"../../etc/env_prd.tfvars\"]"),
        "{atlantis}"
    );
    assert_eq!(
        affected_by(
            &test,
            "etc/group_prd.tfvars",
            "group = \"prd\"\napi_size = 4\nweb_size = 4\n"
        ),
        "components/api\tprd\tetc/group_prd.tfvars\ncomponents/web\tprd\tetc/group_prd.tfvars\n"
    );
}

/// Shape 7: `{root}`, `{env}` and `{stack}` in every configured string: env vars (a plugin
/// cache in the repository), vars, arguments and file patterns.
#[test]
fn root_env_and_stack_in_every_configured_string() {
    let test = Test::new()
        .write(
            "svc/api/main.tf",
            "terraform {\n  backend \"s3\" {}\n}\nvariable \"name\" {}\nvariable \"size\" {}\n",
        )
        .write("svc/api/stg.tfbackend", "bucket = \"b\"\nkey = \"api\"\n")
        .write("vars/svc/api/stg.tfvars", "size = 1\n")
        .write(
            "tfw.toml",
            r#"var_files = ["{root}/vars/{stack}/{env}.tfvars"]
env_vars = { TF_PLUGIN_CACHE_DIR = "{root}/.terraform-plugin-cache", TF_LOG_PATH = "{root}/logs/{env}-{stack}.log" }
vars = { name = "{stack}-{env}" }
args = { plan = ["-lock-timeout={env}"] }
"#,
        );
    test.git(&["init", "-q"]);
    test.git(&["add", "-A"]);
    assert_eq!(
        test.run_with(["stacks"]).status(0).stdout(),
        "svc/api\tstg\n"
    );
    test.run_with(["check"]).status(0);
    let root = test.path("").canonicalize().unwrap();
    let root = root.display();
    assert_eq!(
        test.run_with(["-n", "-C", "svc/api", "stg", "plan"])
            .status(0)
            .stdout(),
        format!(
            "# init: no init yet for stg\n\
             (cd svc/api && TF_LOG_PATH={root}/logs/stg-svc/api.log TF_PLUGIN_CACHE_DIR={root}/.terraform-plugin-cache TF_DATA_DIR=.terraform/tfw/stg terraform init -reconfigure -backend-config=stg.tfbackend -input=false)\n\
             (cd svc/api && TF_LOG_PATH={root}/logs/stg-svc/api.log TF_PLUGIN_CACHE_DIR={root}/.terraform-plugin-cache TF_DATA_DIR=.terraform/tfw/stg terraform plan -var-file=../../vars/svc/api/stg.tfvars -var=name=svc/api-stg -lock-timeout=stg)\n"
        )
    );
    let atlantis = test.run_with(["atlantis"]).status(0).stdout();
    assert!(
        atlantis.contains("\"../../vars/svc/api/stg.tfvars\"]"),
        "{atlantis}"
    );
    assert_eq!(
        affected_by(&test, "vars/svc/api/stg.tfvars", "size = 2\n"),
        "svc/api\tstg\tvars/svc/api/stg.tfvars\n"
    );
}

/// Shape 4: a workspace per env (`workspace = "{env}"`) and one backend in `main.tf`: every
/// command runs in the env's workspace, selected (created on first use) after each init, and
/// two envs on one backend are two states.
#[test]
fn a_workspace_per_env() {
    let main = "terraform {\n  backend \"s3\" {\n    bucket = \"state\"\n    key = \"app\"\n  }\n}\nvariable \"project\" {}\n";
    let config =
        "workspace = \"{env}\"\nbackend_config = false\nvar_files = [\"projects/{env}.tfvars\"]\n";
    let test = Test::new()
        .write("main.tf", main)
        .write("projects/stg.tfvars", "project = \"p-stg\"\n")
        .write("projects/prd.tfvars", "project = \"p-prd\"\n")
        .write("tfw.toml", config);
    test.git(&["init", "-q"]);
    test.git(&["add", "-A"]);
    assert_eq!(test.run_with(["stacks"]).status(0).stdout(), ".\tprd stg\n");
    test.run_with(["check"]).status(0);
    assert_eq!(
        test.run_with(["-n", "stg", "plan"]).status(0).stdout(),
        "# workspace: stg\n\
         # init: no init yet for stg\n\
         (cd . && TF_DATA_DIR=.terraform/tfw/stg terraform init -reconfigure -input=false)\n\
         (cd . && TF_DATA_DIR=.terraform/tfw/stg terraform workspace select -or-create stg)\n\
         (cd . && TF_DATA_DIR=.terraform/tfw/stg TF_WORKSPACE=stg terraform plan -var-file=projects/stg.tfvars)\n"
    );
    // A protected env's workspace is created only by a confirmed run: a plan only selects it.
    assert_eq!(
        test.run_with(["-n", "prd", "plan"]).status(0).stdout(),
        "# workspace: prd\n\
         # init: no init yet for prd\n\
         (cd . && TF_DATA_DIR=.terraform/tfw/prd terraform init -reconfigure -input=false)\n\
         (cd . && TF_DATA_DIR=.terraform/tfw/prd terraform workspace select prd)\n\
         (cd . && TF_DATA_DIR=.terraform/tfw/prd TF_WORKSPACE=prd terraform plan -var-file=projects/prd.tfvars)\n"
    );
    let apply = test.run_with(["-n", "prd", "apply"]).status(0).stdout();
    assert!(
        apply.contains("# confirmation required: prd is protected")
            && apply.contains("terraform workspace select -or-create prd)\n"),
        "{apply}"
    );
    test.run_with(["prd", "apply"]).status(77);
    // Run: init, the workspace, the command; then the record keeps both from repeating.
    let run = test.run_with(["stg", "plan"]).status(0);
    let lines: Vec<String> = run.calls.iter().map(|c| c.line()).collect();
    assert_eq!(
        lines,
        [
            "init -reconfigure -input=false",
            "workspace select -or-create stg",
            "plan -var-file=projects/stg.tfvars"
        ]
    );
    assert_eq!(run.calls[1].env.get("TF_WORKSPACE"), None);
    assert_eq!(run.calls[2].env["TF_WORKSPACE"], "stg");
    let run = test.run_with(["stg", "plan"]).status(0);
    assert_eq!(run.calls.len(), 1, "{:?}", run.lines());
    // Another workspace name: init and select again.
    let test = test.write("tfw.toml", &config.replace("{env}\"", "app-{env}\""));
    let run = test.run_with(["stg", "plan"]).status(0);
    assert_eq!(run.calls.len(), 3, "{:?}", run.lines());
    assert_eq!(run.calls[1].line(), "workspace select -or-create app-stg");
    // One stack whose envs share a workspace on the same backend: one state.
    let test = test
        .write("tfw.toml", config)
        .write("copy/main.tf", main)
        .write("copy/projects/stg.tfvars", "project = \"c\"\n")
        .write("copy/projects/prd.tfvars", "project = \"c\"\n")
        .write(
            "tfw.toml",
            &format!("{config}[stacks.\"copy\"]\nworkspace = \"stg\"\n"),
        );
    test.git(&["add", "-A"]);
    assert_eq!(
        test.run_with(["check"]).status(1).stdout(),
        "copy/main.tf: same state as its env prd, main.tf (s3 bucket=state key=app workspace_key_prefix=env: workspace=stg): one would overwrite the other\n\
         copy/main.tf: same state as its env stg, main.tf (s3 bucket=state key=app workspace_key_prefix=env: workspace=stg): one would overwrite the other\n\
         main.tf: same state as copy/main.tf (s3 bucket=state key=app workspace_key_prefix=env: workspace=stg): one would overwrite the other\n"
    );
    let atlantis = test.run_with(["atlantis"]).status(0).stdout();
    assert!(atlantis.contains("tfw --atlantis stg plan"), "{atlantis}");
    assert_eq!(
        affected_by(&test, "projects/prd.tfvars", "project = \"p2\"\n"),
        ".\tprd\tprojects/prd.tfvars\n"
    );
}

/// Shape 5: backend settings from tfw.toml, no backend files (Terragrunt's `remote_state` with
/// `path_relative_to_include()`): `-backend-config=KEY=VALUE` per setting, `{stack}` the
/// stack's path; the graph matches remote state against them, `diff` shows them.
#[test]
fn backend_settings_from_tfw_toml() {
    let block = "terraform {\n  backend \"s3\" {}\n}\nvariable \"env\" {}\n";
    let remote = "data \"terraform_remote_state\" \"net\" {\n  backend = \"s3\"\n  config = {\n    bucket = \"acme-${var.env}-state\"\n    key    = \"network/terraform.tfstate\"\n    region = \"eu-west-1\"\n  }\n}\n";
    let config = r#"backend_config = false
var_files = ["{root}/env/{env}.tfvars"]
vars = { env = "{env}" }
backend = { bucket = "acme-{env}-state", key = "{stack}/terraform.tfstate", region = "eu-west-1" }
"#;
    let test = Test::new()
        .write("network/main.tf", block)
        .write("app/main.tf", block)
        .write("app/remote.tf", remote)
        .write("env/stg.tfvars", "")
        .write("env/prd.tfvars", "")
        .write("tfw.toml", config);
    test.git(&["init", "-q"]);
    test.git(&["add", "-A"]);
    assert_eq!(
        test.run_with(["stacks"]).status(0).stdout(),
        "app\tprd stg\nnetwork\tprd stg\n"
    );
    test.run_with(["check"]).status(0);
    assert_eq!(
        test.run_with(["-n", "-C", "app", "stg", "plan"])
            .status(0)
            .stdout(),
        "# init: no init yet for stg\n\
         (cd app && TF_DATA_DIR=.terraform/tfw/stg terraform init -reconfigure -backend-config=bucket=acme-stg-state -backend-config=key=app/terraform.tfstate -backend-config=region=eu-west-1 -input=false)\n\
         (cd app && TF_DATA_DIR=.terraform/tfw/stg terraform plan -var-file=../env/stg.tfvars -var=env=stg)\n"
    );
    assert_eq!(
        test.run_with(["graph"]).status(0).stdout(),
        "prd:\n  app → network  (app/remote.tf:1 → network)\nstg:\n  app → network  (app/remote.tf:1 → network)\n"
    );
    let order = test
        .run_with(["-n", "--all", "stg", "apply"])
        .status(0)
        .stdout();
    let stacks: Vec<&str> = order
        .lines()
        .filter_map(|l| l.strip_prefix("# stack: "))
        .collect();
    assert_eq!(stacks, ["network (level 0)", "app (level 1)"]);
    assert_eq!(
        test.run_with(["-C", "network", "diff", "stg", "prd"])
            .status(0)
            .stdout(),
        "== network (stg → prd)\n\
         var files: ../env/stg.tfvars  |  ../env/prd.tfvars\n\
         backend:   (backend block) (bucket=acme-stg-state key=network/terraform.tfstate region=eu-west-1)  |  (backend block) (bucket=acme-prd-state key=network/terraform.tfstate region=eu-west-1)\n\
         \x20 env: \"stg\" → \"prd\"\n"
    );
    // Initialised with other settings: init again.
    test.run_with(["-C", "app", "stg", "plan"]).status(0);
    let test = test.write("tfw.toml", &config.replace("{stack}/", "v2/{stack}/"));
    let run = test.run_with(["-n", "-C", "app", "stg", "plan"]).status(0);
    assert!(run.stdout().contains("# init: "), "{}", run.stdout());
    let test = test.write("tfw.toml", config);
    let atlantis = test.run_with(["atlantis"]).status(0).stdout();
    assert!(atlantis.contains("dir: \"network\""), "{atlantis}");
    // A stack whose key repeats another's: one state.
    let test = test.write(
        "tfw.toml",
        &format!("{config}[stacks.\"app\"]\nbackend = {{ key = \"network/terraform.tfstate\" }}\n"),
    );
    let check = test.run_with(["check"]).status(1).stdout();
    assert!(check.contains("app/main.tf: same state as network/main.tf (s3 bucket=acme-stg-state key=network/terraform.tfstate"), "{check}");
    // Credentials belong in the environment.
    let test = test.write(
        "tfw.toml",
        &config.replace("region =", "secret_key = \"x\", region ="),
    );
    let run = test.run_with(["stacks"]).status(65);
    assert!(
        run.stderr()
            .contains("`secret_key` looks like a credential"),
        "{}",
        run.stderr()
    );
    let test = test.write("tfw.toml", config);
    assert_eq!(
        affected_by(
            &test,
            "tfw.toml",
            &config.replace("eu-west-1\" }", "eu-west-2\" }")
        ),
        "app\tprd\ttfw.toml, depends on network\napp\tstg\ttfw.toml, depends on network\nnetwork\tprd\ttfw.toml\nnetwork\tstg\ttfw.toml\n"
    );
}

/// What a stack is: terraform files with a backend, or an env's backend file. Above or beside
/// the stacks (a directory of shared `inputs.tf`), tfw says so and names them; an excluded file
/// (a Jinja template of a var file) is never read or reported.
#[test]
fn a_directory_that_is_not_a_stack_says_so_and_excluded_files_are_never_read() {
    let test = Test::new()
        .write("inputs.tf", "variable \"region\" {}\n")
        .write(
            "stacks/api/main.tf",
            "terraform {\n  backend \"s3\" {}\n}\n",
        )
        .write(
            "stacks/api/stg.tfbackend",
            "bucket = \"b\"\nkey = \"api\"\n",
        )
        .write("stacks/api/stg.tfvars", "")
        .write("stacks/api/template.tfvars", "{{ jinja }} = {% x %}\n")
        .write("modules/net/main.tf", "variable \"cidr\" {}\n")
        .write("tfw.toml", "exclude = [\"**/template.tfvars\"]\n");
    test.git(&["init", "-q"]);
    test.git(&["add", "-A"]);
    assert_eq!(
        test.run_with(["stacks"]).status(0).stdout(),
        "stacks/api\tstg\n"
    );
    assert_eq!(test.run_with(["check"]).status(0).stdout(), "");
    for command in [
        &["stg", "plan"][..],
        &["envs"],
        &["-C", "modules/net", "stg", "plan"],
    ] {
        let run = test.run_with(command).status(64);
        assert!(run.calls.is_empty());
        assert!(
            run.stderr().contains(" is not a stack (no terraform files with a backend, no env's backend config)\n\
                 help: stacks here: stacks/api; run one with `tfw -C <stack> <env> <command>`, or all with `tfw --all <env> <command>`\n"),
            "{command:?}: {}",
            run.stderr()
        );
    }
    let empty = Test::new().write("inputs.tf", "variable \"region\" {}\n");
    let run = empty.run_with(["graph"]).status(64);
    assert!(run.stderr().contains("is not a stack"), "{}", run.stderr());
}

/// A tfscaffold repository: 14 components × 16 envs sharing `etc/global.tfvars`,
/// `etc/group_<g>.tfvars` and `etc/env_<region>_<env>.tfvars` (30–60 keys each), every
/// component declaring its own subset. `check` prints the planted problems only, once each.
pub fn tfscaffold() -> Test {
    const COMPONENTS: usize = 14;
    let groups = ["dev", "test", "stage", "prod"];
    let envs: Vec<(String, &str)> = (0..16)
        .map(|i| (format!("{}{:02}", groups[i % 4], i / 4 + 1), groups[i % 4]))
        .collect();
    // Keys: g0.. in global, grp0.. in each group file, e0.. in each env file.
    let keys = |prefix: &str, count: usize| -> Vec<String> {
        (0..count).map(|i| format!("{prefix}{i}")).collect()
    };
    let file =
        |keys: &[String]| -> String { keys.iter().map(|k| format!("{k} = \"v\"\n")).collect() };
    let mut test = Test::new().write("etc/global.tfvars", &file(&keys("g", 40)));
    for group in groups {
        test = test.write(
            &format!("etc/group_{group}.tfvars"),
            &file(&keys("grp", 30)),
        );
    }
    for (env, _) in &envs {
        test = test.write(
            &format!("etc/env_eu-west-2_{env}.tfvars"),
            &file(&keys("e", 50)),
        );
    }
    // Component c declares the keys whose index modulo 14 is c or c+1: every key is declared
    // by some component, none by all.
    for c in 0..COMPONENTS {
        let mut declared = String::from("terraform {\n  backend \"s3\" {}\n}\n");
        for (prefix, count) in [("g", 40), ("grp", 30), ("e", 50)] {
            for i in
                (0..count).filter(|i| i % COMPONENTS == c || i % COMPONENTS == (c + 1) % COMPONENTS)
            {
                declared.push_str(&format!(
                    "variable \"{prefix}{i}\" {{\n  default = \"\"\n}}\n"
                ));
            }
        }
        test = test.write(&format!("components/c{c:02}/main.tf"), &declared);
    }
    let mut config = String::from(
        "backend_config = false\nbackend = { bucket = \"tfscaffold-{env}\", key = \"{stack}/terraform.tfstate\" }\nvar_files = [\"{root}/etc/env_eu-west-2_{env}.tfvars\"]\n",
    );
    for (env, group) in &envs {
        config.push_str(&format!(
            "[environments.\"{env}\"]\nvar_files = [\"{{root}}/etc/global.tfvars\", \"{{root}}/etc/group_{group}.tfvars\", \"{{root}}/etc/env_eu-west-2_{{env}}.tfvars\"]\n"
        ));
    }
    test.write("tfw.toml", &config)
}

#[test]
fn a_tfscaffold_repository_reports_only_the_planted_problems() {
    let test = tfscaffold();
    test.git(&["init", "-q"]);
    test.git(&["add", "-A"]);
    let stacks = test.run_with(["stacks"]).status(0).stdout();
    assert_eq!(stacks.lines().count(), 14, "{stacks}");
    assert!(
        stacks.starts_with("components/c00\tdev01 dev02 dev03 dev04 prod01"),
        "{stacks}"
    );
    let run = test.run_with(["check"]).status(0);
    assert_eq!(
        run.stderr(),
        "tfw: checked 14 stacks × 16 envs: no problems\n"
    );
    // Planted: a key no component declares, in a group file all dev envs read; a key one
    // component declares with a number type, given a string; an env file gone.
    let group_dev = std::fs::read_to_string(test.path("etc/group_dev.tfvars")).unwrap();
    let test = test
        .write("etc/group_dev.tfvars", &format!("{group_dev}nobody = 1\n"))
        .write(
            "components/c03/types.tf",
            "variable \"count_of\" {\n  type    = number\n  default = 0\n}\n",
        )
        .write("etc/env_eu-west-2_prod02.tfvars", "count_of = \"many\"\n");
    test.git(&["add", "-A"]);
    let test = test.remove("etc/env_eu-west-2_stage03.tfvars");
    let run = test.run_with(["check"]).status(1);
    let stacks: Vec<String> = (0..14).map(|c| format!("components/c{c:02}")).collect();
    assert_eq!(
        run.stdout(),
        format!(
            "etc/env_eu-west-2_prod02.tfvars:1: variable count_of: a number is required, not a string (read by components/c03)\n\
             etc/env_eu-west-2_stage03.tfvars: deleted in the working tree but still tracked (env stage03): restore it or `git rm` it (read by {all})\n\
             etc/group_dev.tfvars:31: nobody is not a variable of any stack that reads it (read by {all})\n",
            all = stacks.join(", ")
        )
    );
}

/// A stack whose env directory is a symbolic link (`tfvars -> ../tfvars`) finds its envs
/// through it, and `check` reads them there, also after they change.
#[test]
fn an_env_directory_that_is_a_symlink() {
    let test = Test::new()
        .write(
            "svc/main.tf",
            "terraform {\n  backend \"s3\" {}\n}\nvariable \"size\" {}\n",
        )
        .write("tfvars/stg.tfvars", "size = 1\n")
        .write("tfvars/stg.tfbackend", "bucket = \"b\"\nkey = \"svc\"\n")
        .write(
            "tfw.toml",
            "var_files = [\"tfvars/{env}.tfvars\"]\nbackend_config = \"tfvars/{env}.tfbackend\"\n",
        );
    std::os::unix::fs::symlink("../tfvars", test.path("svc/tfvars")).unwrap();
    test.git(&["init", "-q"]);
    test.git(&["add", "-A"]);
    assert_eq!(test.run_with(["stacks"]).status(0).stdout(), "svc\tstg\n");
    test.run_with(["check"]).status(0);
    assert_eq!(
        test.run_with(["-n", "-C", "svc", "stg", "plan"])
            .status(0)
            .stdout(),
        "# init: no init yet for stg\n\
         (cd svc && TF_DATA_DIR=.terraform/tfw/stg terraform init -reconfigure -backend-config=tfvars/stg.tfbackend -input=false)\n\
         (cd svc && TF_DATA_DIR=.terraform/tfw/stg terraform plan -var-file=tfvars/stg.tfvars)\n"
    );
    let test = test.write("tfvars/stg.tfvars", "size = 1\nsise = 2\n");
    assert_eq!(
        test.run_with(["check"]).status(1).stdout(),
        "svc/tfvars/stg.tfvars:2: sise is not a variable of this stack (did you mean size?)\n"
    );
}
