//! `tfw check`: the completeness check behind the pre-commit hook.

use crate::common::{STACK, Test};

/// A git repo (committed) with a root stack and `datadog/`, both with stg, dev and prd.
fn repo() -> Test {
    let test = Test::new()
        .write("tfw.toml", "")
        .files("", STACK)
        .files("datadog/", STACK);
    let datadog_backends = [("stg", "d-stg"), ("dev", "d-dev"), ("prd", "d-prd")];
    let test = datadog_backends.iter().fold(test, |t, (env, path)| {
        t.write(
            &format!("datadog/{env}.tfbackend"),
            &format!("path = \"state/{path}.tfstate\"\n"),
        )
    });
    test.git(&["init", "-q"]);
    commit(&test);
    test
}

fn commit(test: &Test) {
    test.git(&["add", "-A"]);
    test.git(&["commit", "-qm", "change", "--allow-empty"]);
}

#[test]
fn a_complete_repo_passes_silently() {
    let run = repo().run_with(["check"]).status(0);
    assert_eq!(run.stdout(), "");
    assert!(run.calls.is_empty(), "no terraform");
}

#[test]
fn a_removed_backend_file_is_named() {
    let test = repo();
    test.git(&["rm", "-q", "datadog/prd.tfbackend"]);
    let run = test.run_with(["check"]).status(1);
    assert_eq!(run.stdout(), "datadog/prd.tfbackend: missing (env prd)\n");
    assert!(run.stderr().contains("1 problem"), "{}", run.stderr());
}

#[test]
fn every_kind_of_problem_one_line_each_sorted() {
    let test = repo()
        .write("datadog/stag.tfvars", "env = \"x\"\n")
        .write("datadog/dev.tfbackend", "path = \"state/d-stg.tfstate\"\n")
        .write("prd.tfvars", "env = \n")
        .write("check.tfbackend", "path = \"state/check.tfstate\"\n")
        .remove("dev.tfvars");
    std::os::unix::fs::symlink("../nowhere.sh", test.path("datadog/terraform.sh")).unwrap();
    test.git(&["add", "-A"]);
    let run = test.run_with(["check"]).status(1);
    let expected = [
        "check.tfbackend: invalid environment name `check`: it is a tfw subcommand",
        "datadog/dev.tfbackend: same state as datadog/stg.tfbackend (local path=datadog/state/d-stg.tfstate): one would overwrite the other",
        "datadog/stag.tfbackend: missing (env stag); did you mean `stg`?",
        "datadog/stg.tfbackend: same state as datadog/dev.tfbackend (local path=datadog/state/d-stg.tfstate): one would overwrite the other",
        "datadog/terraform.sh: broken symlink (points to ../nowhere.sh)",
        "dev.tfvars: missing (env dev)",
        "prd.tfvars: line 1: invalid HCL: invalid expression; expected `\"`, `[`, `{`, `-`, `!`, `(`, `_`, `<`, letter or digit",
    ];
    assert_eq!(
        run.stdout().lines().collect::<Vec<_>>(),
        expected,
        "{}",
        run.stdout()
    );
}

#[test]
fn two_stacks_on_one_s3_state_are_caught() {
    let backend = "bucket = \"acme\"\nkey = \"shared/terraform.tfstate\"\n";
    let test = repo()
        .write("main.tf", "terraform {\n  backend \"s3\" {}\n}\n")
        .write(
            "datadog/main.tf",
            "terraform {\n  backend \"s3\" {\n    region = \"eu\"\n  }\n}\n",
        )
        .write("stg.tfbackend", backend)
        .write("datadog/stg.tfbackend", backend);
    test.git(&["add", "-A"]);
    let run = test.run_with(["check"]).status(1);
    assert!(run.stdout().contains("datadog/stg.tfbackend: same state as stg.tfbackend (s3 bucket=acme key=shared/terraform.tfstate"), "{}", run.stdout());
    assert!(
        run.stdout()
            .contains("stg.tfbackend: same state as datadog/stg.tfbackend"),
        "{}",
        run.stdout()
    );
}

#[test]
fn json_lists_kind_stack_env_and_path() {
    let test = repo();
    test.git(&["rm", "-q", "datadog/prd.tfvars"]);
    let run = test.run_with(["check", "--format", "json"]).status(1);
    let json: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
    assert_eq!(
        json["problems"],
        serde_json::json!([{"kind": "missing", "stack": "datadog", "env": "prd", "path": "datadog/prd.tfvars", "message": "missing (env prd)", "severity": "error"}])
    );
}

#[test]
fn an_edit_after_a_clean_run_is_seen_despite_the_cache() {
    let test = repo();
    test.run_with(["check"]).status(0);
    std::fs::write(test.path("datadog/stg.tfvars"), "env = [\n").unwrap();
    test.git(&["add", "-A"]);
    let run = test.run_with(["check"]).status(1);
    assert!(
        run.stdout().starts_with("datadog/stg.tfvars: line"),
        "{}",
        run.stdout()
    );
    std::fs::write(test.path("datadog/stg.tfvars"), "env = \"stg\"\n").unwrap();
    test.git(&["add", "-A"]);
    test.run_with(["check"]).status(0);
}

#[test]
fn kept_results_are_used_only_while_every_input_is_the_same() {
    let test = repo().write(
        "datadog/size.tf",
        "variable \"size\" {\n  type    = number\n  default = 1\n}\n",
    );
    test.age_and_stage(2);
    test.run_with(["check"]).status(0);
    assert!(test.path(".git/tfw-check-results").exists());
    // Nothing changed: the kept results answer, so no file is parsed (the parse cache, deleted,
    // is not written again).
    std::fs::remove_file(test.path(".git/tfw-check-cache")).unwrap();
    test.run_with(["check"]).status(0);
    assert!(!test.path(".git/tfw-check-cache").exists());
    // An unstaged edit, then the same edit staged: both seen.
    let mistyped = "datadog/prd.tfvars:2: variable size: a number is required, not a string\n";
    std::fs::write(
        test.path("datadog/prd.tfvars"),
        "env  = \"prd\"\nsize = \"big\"\n",
    )
    .unwrap();
    assert_eq!(test.run_with(["check"]).status(1).stdout(), mistyped);
    test.age_and_stage(1);
    assert_eq!(test.run_with(["check"]).status(1).stdout(), mistyped);
    assert_eq!(
        test.run_with(["check"]).status(1).stdout(),
        mistyped,
        "kept, with its problem"
    );
    // Another tfw binary (pre-commit builds each `rev` with the same version) checks again.
    let other = test.path("other-tfw");
    std::fs::copy(crate::common::TFW, &other).unwrap();
    std::fs::remove_file(test.path(".git/tfw-check-cache")).unwrap();
    let output = crate::common::output_of_fresh(test.command_for(&other).arg("check"));
    assert_eq!(String::from_utf8_lossy(&output.stdout), mistyped);
    assert!(test.path(".git/tfw-check-cache").exists(), "parsed again");
    std::fs::remove_file(&other).unwrap();
    // tfw.toml is an input of every stack.
    std::fs::write(test.path("tfw.toml"), "[check]\nskip = [\"type\"]\n").unwrap();
    test.run_with(["check"]).status(0);
    std::fs::write(test.path("tfw.toml"), "").unwrap();
    assert_eq!(test.run_with(["check"]).status(1).stdout(), mistyped);
    // A deleted file and a new, untracked one.
    std::fs::remove_file(test.path("datadog/dev.tfvars")).unwrap();
    std::fs::write(
        test.path("datadog/qa.tfbackend"),
        "path = \"state/qa.tfstate\"\n",
    )
    .unwrap();
    let run = test.run_with(["check"]).status(1);
    assert!(
        run.stdout()
            .contains("datadog/dev.tfvars: deleted in the working tree")
            && run
                .stdout()
                .contains("datadog/qa.tfbackend: exists but is not tracked"),
        "{}",
        run.stdout()
    );
}

#[test]
fn outside_git_the_tree_is_walked() {
    let test = Test::new()
        .write("tfw.toml", "")
        .files("", STACK)
        .files("datadog/", STACK)
        .remove("datadog/stg.tfvars");
    let run = test.run_with(["check"]).status(1);
    assert_eq!(run.stdout(), "datadog/stg.tfvars: missing (env stg)\n");
}

#[test]
fn explicit_envs_and_per_stack_envs_are_expected() {
    let test = repo().write("tfw.toml", "envs = [\"stg\", \"prd\", \"qa\"]\n[stacks.\"datadog\"]\nenvs = [\"stg\", \"prd\", \"dev\"]\n");
    test.git(&["add", "-A"]);
    let run = test.run_with(["check"]).status(1);
    let stdout = run.stdout();
    let lines: Vec<&str> = stdout
        .lines()
        .map(|l| l.split(':').next().unwrap())
        .collect();
    assert!(
        stdout.contains("qa.tfbackend: missing (env qa)")
            && stdout.contains("qa.tfvars: missing (env qa)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("dev.tfvars: env `dev` is not expected here"),
        "{stdout}"
    );
    assert!(!lines.iter().any(|l| l.starts_with("datadog/")), "{stdout}");
}

/// Runs `git` in `dir` (for repositories the builder does not make).
fn git_in(dir: &std::path::Path, args: &[&str]) {
    let status = std::process::Command::new("git")
        .args(["-c", "user.email=t@example.com", "-c", "user.name=t"])
        .args(args)
        .current_dir(dir)
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

#[test]
fn an_unstaged_delete_is_reported_as_deleted_but_tracked() {
    let test = repo().remove("datadog/prd.tfvars");
    let run = test.run_with(["check"]).status(1);
    assert_eq!(
        run.stdout(),
        "datadog/prd.tfvars: deleted in the working tree but still tracked (env prd): restore it or `git rm` it\n"
    );
    test.run_with(["-C", "datadog", "prd", "plan"]).status(66);
}

#[test]
fn an_unstaged_edit_that_breaks_a_file_is_seen() {
    let test = repo();
    test.run_with(["check"]).status(0);
    std::fs::write(test.path("datadog/stg.tfbackend"), "path = \n").unwrap();
    let run = test.run_with(["check"]).status(1);
    assert!(
        run.stdout()
            .starts_with("datadog/stg.tfbackend: line 1: invalid HCL"),
        "{}",
        run.stdout()
    );
}

#[test]
fn an_untracked_env_file_and_an_untracked_orphan_are_reported() {
    let test = repo().remove("datadog/dev.tfvars");
    test.git(&["add", "-A"]);
    let test = test
        .write("datadog/dev.tfvars", "env = \"dev\"\n")
        .write("datadog/stag.tfvars", "env = \"stg\"\n");
    let run = test.run_with(["check"]).status(1);
    assert_eq!(
        run.stdout().lines().collect::<Vec<_>>(),
        [
            "datadog/dev.tfvars: exists but is not tracked by git (env dev): git add it",
            "datadog/stag.tfbackend: missing (env stag); did you mean `stg`?",
            "datadog/stag.tfvars: exists but is not tracked by git (env stag): git add it",
        ]
    );
}

#[test]
fn git_index_file_is_what_a_commit_hook_sees() {
    let test = repo();
    // `git commit -a` hands hooks a temporary index: here one without datadog/prd.tfvars.
    let temporary = test.path(".git/next-index.lock");
    std::fs::copy(test.path(".git/index"), &temporary).unwrap();
    let status = std::process::Command::new("git")
        .args(["rm", "-q", "--cached", "datadog/prd.tfvars"])
        .env("GIT_INDEX_FILE", &temporary)
        .current_dir(test.path(""))
        .status()
        .unwrap();
    assert!(status.success());
    test.run_with(["check"]).status(0);
    let run = test
        .env("GIT_INDEX_FILE", &temporary)
        .run_with(["check"])
        .status(1);
    assert!(
        run.stdout()
            .starts_with("datadog/prd.tfvars: exists but is not tracked by git"),
        "{}",
        run.stdout()
    );
}

#[test]
fn a_sparse_checkout_is_not_an_error() {
    let test = repo().write("other/readme.md", "x\n");
    commit(&test);
    test.git(&[
        "sparse-checkout",
        "set",
        "--no-cone",
        "/*.tf*",
        "/tfw.toml",
        "/other/",
    ]);
    assert!(
        !test.path("datadog/stg.tfvars").exists(),
        "outside the cone"
    );
    let run = test.run_with(["check"]).status(0);
    assert_eq!(run.stdout(), "");
    test.git(&[
        "sparse-checkout",
        "set",
        "--sparse-index",
        "--cone",
        "other",
    ]);
    test.run_with(["check"]).status(0);
}

#[test]
fn a_linked_worktree_is_read_like_its_main_checkout() {
    let test = repo();
    let worktree = crate::common::tempdir();
    let tree = worktree.path().join("wt");
    git_in(
        &test.path(""),
        &["worktree", "add", "-q", tree.to_str().unwrap()],
    );
    std::fs::remove_file(tree.join("datadog/prd.tfvars")).unwrap();
    let run = test
        .run_with(["-C", tree.to_str().unwrap(), "check"])
        .status(1);
    assert!(
        run.stdout()
            .starts_with("datadog/prd.tfvars: deleted in the working tree but still tracked"),
        "{}",
        run.stdout()
    );
}

#[test]
fn a_directory_name_that_is_not_utf8_gives_no_false_errors() {
    use std::os::unix::ffi::OsStrExt;
    let test = repo();
    let odd = test.path("").join(std::ffi::OsStr::from_bytes(b"caf\xe9"));
    std::fs::create_dir(&odd).unwrap();
    std::fs::write(odd.join("notes.tfvars"), "x = 1\n").unwrap();
    commit(&test);
    let run = test.run_with(["check"]).status(0);
    assert_eq!(run.stdout(), "");
}

#[test]
fn a_sha256_repository_is_read_like_any_other() {
    let test = Test::new()
        .write("tfw.toml", "")
        .files("", STACK)
        .files("datadog/", STACK);
    test.git(&["init", "-q", "--object-format=sha256"]);
    commit(&test);
    test.run_with(["check"]).status(0);
    let test = test.remove("datadog/prd.tfvars");
    let run = test.run_with(["check"]).status(1);
    assert!(
        run.stdout()
            .starts_with("datadog/prd.tfvars: deleted in the working tree but still tracked"),
        "{}",
        run.stdout()
    );
}

#[test]
fn an_ignored_env_file_runs_but_check_says_it_is_not_committed() {
    let test = repo()
        .remove("datadog/dev.tfvars")
        .write(".gitignore", "dev.tfvars\n");
    commit(&test);
    let test = test.write("datadog/dev.tfvars", "env = \"dev\"\n");
    let run = test.run_with(["check"]).status(1);
    assert_eq!(
        run.stdout(),
        "datadog/dev.tfvars: exists but is ignored by git (env dev): commit it, or stop ignoring it\n"
    );
    test.run_with(["-C", "datadog", "dev", "plan"]).status(0);
}

/// A repository whose stacks use `backend` with `settings` per env file (`{env}` replaced).
fn with_backend(backend: &str, settings: &str) -> Test {
    let test = Test::new().write("tfw.toml", "").write(
        "main.tf",
        &format!("terraform {{\n  backend \"{backend}\" {{}}\n}}\n"),
    );
    let test = ["stg", "dev", "prd"].iter().fold(test, |t, env| {
        t.write(&format!("{env}.tfvars"), "")
            .write(&format!("{env}.tfbackend"), &settings.replace("{env}", env))
    });
    test.git(&["init", "-q"]);
    commit(&test);
    test
}

#[test]
fn credentials_are_never_printed_or_cached() {
    let secrets = ["hunter2", "admin:s3cret", "AKIASECRET", "tok3n"];
    let test = with_backend(
        "pg",
        "conn_str = \"postgres://admin:s3cret@db/state\"\npassword = \"hunter2\"\naccess_key = \"AKIASECRET\"\ntoken = \"tok3n\"\n",
    );
    for format in ["text", "json"] {
        let run = test.run_with(["check", "--format", format]).status(1);
        assert!(run.stdout().contains("same state as"), "{}", run.stdout());
        assert!(
            run.stdout().contains("pg backend, same settings"),
            "{}",
            run.stdout()
        );
        for secret in secrets {
            assert!(!run.stdout().contains(secret), "{format}: {}", run.stdout());
            assert!(!run.stderr().contains(secret), "{format}: {}", run.stderr());
        }
    }
    let cache = String::from_utf8_lossy(&std::fs::read(test.path(".git/tfw-check-cache")).unwrap())
        .into_owned();
    assert!(!cache.is_empty());
    for secret in secrets {
        assert!(!cache.contains(secret), "the cache keeps {secret}: {cache}");
    }
    // Different secrets are different settings: no shared state.
    let test = with_backend("pg", "conn_str = \"postgres://admin:{env}@db/state\"\n");
    test.run_with(["check"]).status(0);
}

#[test]
fn remote_backend_workspaces_tell_envs_apart() {
    let test = with_backend(
        "remote",
        "organization = \"acme\"\nworkspaces {\n  name = \"app-{env}\"\n}\n",
    );
    let run = test.run_with(["check"]).status(0);
    assert_eq!(run.stdout(), "");
    let test = with_backend(
        "remote",
        "organization = \"acme\"\ntoken = \"tok3n\"\nworkspaces {\n  name = \"app\"\n}\n",
    );
    let run = test.run_with(["check"]).status(1);
    assert!(
        run.stdout()
            .contains("(remote hostname=app.terraform.io organization=acme workspaces.name=app)"),
        "{}",
        run.stdout()
    );
    assert!(!run.stdout().contains("tok3n"), "{}", run.stdout());
}

#[test]
fn without_an_envs_list_each_stack_pairs_its_own_envs() {
    // The root has stg, dev and prd; datadog only stg and a stack-specific qa: no false
    // "missing" for envs other stacks have.
    let test = Test::new()
        .write("tfw.toml", "")
        .files("", STACK)
        .write("datadog/main.tf", "")
        .write("datadog/stg.tfvars", "")
        .write("datadog/stg.tfbackend", "path = \"s\"\n")
        .write("datadog/qa.tfvars", "")
        .write("datadog/qa.tfbackend", "path = \"q\"\n");
    test.git(&["init", "-q"]);
    commit(&test);
    let run = test.run_with(["check"]).status(0);
    assert_eq!(run.stdout(), "");
    // Each env a stack has needs all its files.
    let run = test
        .remove("datadog/qa.tfvars")
        .run_with(["check"])
        .status(1);
    assert_eq!(
        run.stdout(),
        "datadog/qa.tfvars: deleted in the working tree but still tracked (env qa): restore it or `git rm` it\n"
    );
}

#[test]
fn a_protected_pattern_that_matches_nothing_is_a_note() {
    let test = repo().write("tfw.toml", "protected = [\"prd\", \"production-*\"]\n");
    test.git(&["add", "-A"]);
    let run = test.run_with(["check"]).status(0);
    assert_eq!(
        run.stderr(),
        "tfw: note: protected pattern `production-*` matches no env of any stack\n\
         tfw: checked 2 stacks × 3 envs: no problems\n"
    );
    // The defaults are not the user's to fix.
    assert_eq!(repo().run_with(["-q", "check"]).status(0).stderr(), "");
}

#[test]
fn a_terraform_file_tfw_cannot_read_is_a_warning() {
    let test = repo().write("datadog/broken.tf", "terraform {\n  backend \"local\" {\n");
    test.git(&["add", "-A"]);
    let run = test.run_with(["check"]).status(0);
    assert!(
        run.stderr()
            .starts_with("tfw: warning: cannot read datadog/broken.tf (line "),
        "{}",
        run.stderr()
    );
}

const VARIABLES: &str = r#"terraform {
  backend "local" {}
}
variable "instance_type" {
  type = string
}
variable "instance_count" {
  type    = number
  default = 1
}
variable "api_key" {
  type      = string
  sensitive = true
}
variable "tags" {
  type    = object({ team = string, owner = optional(string) })
  default = { team = "core" }
}
"#;

/// A stack with four variables, stg's file full of mistakes, prd's fine but for `api_key`.
fn variables_repo() -> Test {
    let test = Test::new()
        .write("tfw.toml", "")
        .write("main.tf", VARIABLES)
        .write("stg.tfbackend", "path = \"s\"\n")
        .write("prd.tfbackend", "path = \"p\"\n")
        .write(
            "stg.tfvars",
            "instnace_type  = \"t3.micro\"\ninstance_type  = \"t3.small\"\ninstance_count = \"hunter2\"\ntags           = { owner = \"x\" }\napi_key        = \"s3cret\"\n",
        )
        .write("prd.tfvars", "instance_type  = \"m5.large\"\ninstance_count = \"5\"\n");
    test.git(&["init", "-q"]);
    commit(&test);
    test
}

#[test]
fn variables_undeclared_unset_and_mistyped_by_file_and_line() {
    let test = variables_repo();
    let run = test.run_with(["check"]).status(1);
    assert_eq!(
        run.stdout().lines().collect::<Vec<_>>(),
        [
            "prd.tfvars: env prd: variable api_key has no value, declared at main.tf:11 (set it in prd.tfvars, or list it under [check] from_environment if CI sets TF_VAR_api_key)",
            "stg.tfvars:1: instnace_type is not a variable of this stack (did you mean instance_type?)",
            "stg.tfvars:3: variable instance_count: a number is required, not a string",
            "stg.tfvars:4: variable tags: attribute \"team\" is required",
        ]
    );
    for secret in ["hunter2", "s3cret", "t3.micro", "m5.large"] {
        assert!(
            !run.stdout().contains(secret) && !run.stderr().contains(secret),
            "{secret}"
        );
    }
    let run = test.run_with(["check", "--format", "json"]).status(1);
    let json: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
    let kinds: Vec<(&str, Option<u64>)> = json["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["kind"].as_str().unwrap(), p["line"].as_u64()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("unset", None),
            ("undeclared", Some(1)),
            ("type", Some(3)),
            ("type", Some(4))
        ]
    );
}

#[test]
fn from_environment_and_skip_quiet_what_ci_supplies() {
    let test = variables_repo().write(
        "tfw.toml",
        "[check]\nfrom_environment = [\"api_key\"]\nskip = [\"undeclared\", \"type\"]\n",
    );
    test.git(&["add", "-A"]);
    let run = test.run_with(["check"]).status(0);
    assert_eq!(run.stdout(), "");
    // Per stack, added to the repository's.
    let test = test.write(
        "tfw.toml",
        "[check]\nskip = [\"undeclared\", \"type\"]\n[stacks.\".\".check]\nfrom_environment = [\"api_key\"]\n",
    );
    test.git(&["add", "-A"]);
    test.run_with(["check"]).status(0);
    let test = test.write("tfw.toml", "[check]\nskip = [\"typo\"]\n");
    test.run_with(["check"])
        .status(65)
        .stderr_contains("unknown kind `typo` (kinds: missing, orphan, shared-state, parse, undeclared, unset, type, providers)");
}

#[test]
fn values_from_tfw_toml_and_automatic_files_count() {
    let test = variables_repo()
        .write(
            "tfw.toml",
            "[environments.prd]\nvars = { api_key = \"x\" }\n",
        )
        .write("terraform.tfvars", "tags = { team = \"a\" }\n");
    test.git(&["add", "-A"]);
    let run = test.run_with(["check"]).status(1);
    assert!(!run.stdout().contains("unset"), "{}", run.stdout());
    assert!(
        !run.stdout().contains("api_key has no value"),
        "{}",
        run.stdout()
    );
}

#[test]
fn two_stacks_on_one_state_are_caught_whichever_results_are_kept() {
    let test = repo().write("datadog/prd.tfbackend", "path = \"../state/prd.tfstate\"\n");
    test.age_and_stage(2);
    let shared = |run: &crate::common::Run| {
        run.stdout()
            .lines()
            .filter(|l| l.contains("same state as"))
            .count()
    };
    assert_eq!(shared(&test.run_with(["check"]).status(1)), 2);
    // Nothing changed: the shared states are kept with the stacks' keys.
    assert_eq!(shared(&test.run_with(["check"]).status(1)), 2);
    // The root changed: its states are read again, datadog's come from what was kept.
    let test = test.write("dev.tfvars", "env = \"development\"\n");
    assert_eq!(shared(&test.run_with(["check"]).status(1)), 2);
    test.age_and_stage(1);
    assert_eq!(shared(&test.run_with(["check"]).status(1)), 2);
    let test = test.write("datadog/prd.tfbackend", "path = \"state/d-prd.tfstate\"\n");
    test.run_with(["check"]).status(0);
}

#[test]
fn cached_secrets_are_hashed_with_a_per_repository_key_and_caches_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    let test = Test::stack().write(
        "stg.tfbackend",
        &format!("path = \"state/stg.tfstate\"\nsecret_key = \"{secret}\"\n"),
    );
    test.git(&["init", "-q"]);
    test.git(&["add", "-A"]);
    test.run_with(["check"]).status(0);
    let cache = String::from_utf8_lossy(&std::fs::read(test.path(".git/tfw-check-cache")).unwrap())
        .into_owned();
    assert!(cache.contains("secret_key=#"), "{cache}");
    let unsalted = sha1_smol::Sha1::from(secret).digest().to_string();
    assert!(!cache.contains(&unsalted[..16]), "a plain hash: {cache}");
    assert!(!cache.contains(secret));
    let key = test.path(".git/tfw-key");
    assert_eq!(std::fs::read(&key).unwrap().len(), 32);
    for entry in std::fs::read_dir(test.path(".git")).unwrap().flatten() {
        if entry.file_name().to_string_lossy().starts_with("tfw-") {
            let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", entry.path().display());
        }
    }
    // Another repository, another key: the same secret hashes differently.
    let other = Test::stack().write(
        "stg.tfbackend",
        &format!("path = \"state/stg.tfstate\"\nsecret_key = \"{secret}\"\n"),
    );
    other.git(&["init", "-q"]);
    other.git(&["add", "-A"]);
    other.run_with(["check"]).status(0);
    let hashed = |text: &str| {
        let at = text.find("secret_key=#").unwrap() + "secret_key=#".len();
        text[at..at + 16].to_string()
    };
    let other_cache =
        String::from_utf8_lossy(&std::fs::read(other.path(".git/tfw-check-cache")).unwrap())
            .into_owned();
    assert_ne!(hashed(&cache), hashed(&other_cache));
    // The same repository keeps its key: a second run hashes the same.
    for cache in ["tfw-check-cache", "tfw-check-results"] {
        let _ = std::fs::remove_file(test.path(".git").join(cache));
    }
    test.run_with(["check"]).status(0);
    let again = String::from_utf8_lossy(&std::fs::read(test.path(".git/tfw-check-cache")).unwrap())
        .into_owned();
    assert_eq!(hashed(&cache), hashed(&again));
}

#[test]
fn an_unset_variable_is_reported_at_the_envs_own_var_file() {
    // The shared file comes first: the hint must still name the env's own.
    let test = repo()
        .write(
            "tfw.toml",
            "var_files = [\"global.vars\", \"{env}.tfvars\"]\n",
        )
        .write("global.vars", "")
        .write("datadog/global.vars", "")
        .write(
            "datadog/variables.tf",
            "# keys\nvariable \"api_key\" {\n  type = string\n}\n",
        )
        .write("datadog/stg.tfvars", "env = \"stg\"\napi_key = \"x\"\n")
        .write("datadog/dev.tfvars", "env = \"dev\"\napi_key = \"x\"\n");
    commit(&test);
    let run = test.run_with(["check"]).status(1);
    assert_eq!(
        run.stdout(),
        "datadog/prd.tfvars: env prd: variable api_key has no value, declared at datadog/variables.tf:2 (set it in prd.tfvars, or list it under [check] from_environment if CI sets TF_VAR_api_key)\n"
    );
}

/// Issue 20, 16: Terraform accepts a byte order mark in var and backend files; check did not.
#[test]
fn a_byte_order_mark_in_var_and_backend_files_is_accepted() {
    let test = repo()
        .write("stg.tfvars", "\u{feff}env = \"stg\"\n")
        .write("stg.tfbackend", "\u{feff}path = \"state/stg.tfstate\"\n")
        .write("dev.tfvars.json", "\u{feff}{\"env\": \"dev\"}\n")
        .write(
            "variables.tf.json",
            "\u{feff}{\"variable\": {\"region\": {}}}\n",
        )
        .write("region.auto.tfvars", "\u{feff}region = \"eu\"\n")
        .write("datadog/region.auto.tfvars", "\u{feff}region = \"eu\"\n")
        .write("datadog/variables.tf", "\u{feff}variable \"region\" {}\n");
    commit(&test);
    let run = test.run_with(["check"]);
    assert_eq!(run.code(), 0, "{}{}", run.stdout(), run.stderr());
}

/// One state however its location is written: a local path absolute or relative, out of the
/// stack and back or through a symlinked directory; a gcs prefix with or without slashes; an
/// s3 key in the default workspace whatever `workspace_key_prefix` says.
#[test]
fn shared_state_is_found_however_the_location_is_written() {
    let block = |kind: &str| format!("terraform {{\n  backend \"{kind}\" {{}}\n}}\n");
    let test = Test::new()
        .write("a/main.tf", &block("local"))
        .write("a/state/.keep", "")
        .write("a/stg.tfbackend", "path = \"state/s.tfstate\"\n")
        .write("a/dev.tfbackend", "path = \"../a/state/s.tfstate\"\n")
        .write("a/qa.tfbackend", "path = \"link/s.tfstate\"\n")
        .write("g1/main.tf", &block("gcs"))
        .write("g1/stg.tfbackend", "bucket = \"b\"\nprefix = \"app\"\n")
        .write("g2/main.tf", &block("gcs"))
        .write("g2/stg.tfbackend", "bucket = \"b\"\nprefix = \"/app/\"\n")
        .write("s1/main.tf", &block("s3"))
        .write(
            "s1/stg.tfbackend",
            "bucket = \"b\"\nkey = \"k\"\nworkspace_key_prefix = \"one\"\n",
        )
        .write("s2/main.tf", &block("s3"))
        .write(
            "s2/stg.tfbackend",
            "bucket = \"b\"\nkey = \"k\"\nworkspace_key_prefix = \"two\"\n",
        );
    std::os::unix::fs::symlink(test.path("a/state"), test.path("a/link")).unwrap();
    let root = test.path("").canonicalize().unwrap();
    let test = test.write(
        "a/prd.tfbackend",
        &format!("path = \"{}/a/state/s.tfstate\"\n", root.display()),
    );
    let run = test.run_with(["check"]).status(1);
    let stdout = run.stdout();
    for file in [
        "a/stg.tfbackend",
        "a/dev.tfbackend",
        "a/qa.tfbackend",
        "a/prd.tfbackend",
        "g1/stg.tfbackend",
        "g2/stg.tfbackend",
        "s1/stg.tfbackend",
        "s2/stg.tfbackend",
    ] {
        assert!(
            stdout.contains(&format!("{file}: same state as ")),
            "{file}: {stdout}"
        );
    }
    assert!(
        stdout
            .contains("g1/stg.tfbackend: same state as g2/stg.tfbackend (gcs bucket=b prefix=app)"),
        "{stdout}"
    );
}

#[test]
fn a_var_file_reached_through_a_symlinked_directory_has_its_real_files_status() {
    let test = Test::new()
        .write(
            "app/main.tf",
            "terraform {\n  backend \"local\" {}\n}\nvariable \"env\" {}\n",
        )
        .write("app/stg.tfbackend", "path = \"stg.tfstate\"\n")
        .write("shared-real/stg.tfvars", "env = \"stg\"\n")
        .write("tfw.toml", "var_files = [\"{root}/shared/{env}.tfvars\"]\n");
    std::os::unix::fs::symlink("shared-real", test.path("shared")).unwrap();
    test.git(&["init", "-q"]);
    test.git(&["add", "-A"]);
    test.git(&["commit", "-qm", "stacks"]);
    // Tracked as `shared-real/stg.tfvars`: not an untracked `shared/stg.tfvars`.
    test.run_with(["check"]).status(0);
    let test = test
        .write("shared-real/new.tfvars", "env = \"stg\"\n")
        .write(
            "tfw.toml",
            "var_files = [\"{root}/shared/{env}.tfvars\", \"{root}/shared/new.tfvars\"]\n",
        );
    let run = test.run_with(["check"]).status(1);
    assert_eq!(
        run.stdout(),
        "shared/new.tfvars: exists but is not tracked by git (shared by all envs): git add it\n"
    );
}

/// Opens a FIFO for writing after a while, so a tfw that waited on it gets an empty file and
/// fails its test instead of hanging the suite.
fn fifo(test: &Test, relative: &str) {
    let path = test.path(relative);
    let _ = std::fs::remove_file(&path);
    let name = std::ffi::CString::new(path.clone().into_os_string().into_encoded_bytes()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o644) }, 0);
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(20));
        let _ = std::fs::OpenOptions::new().write(true).open(path);
    });
}

#[test]
fn a_var_file_that_is_a_fifo_is_named_not_waited_on() {
    let test = repo();
    fifo(&test, "datadog/prd.tfvars");
    let run = test.run_with(["check"]).status(1);
    assert_eq!(
        run.stdout(),
        "datadog/prd.tfvars: cannot read: not a regular file\n"
    );
    let run = test
        .run_with(["--dry-run", "-C", "datadog", "prd", "plan"])
        .status(66);
    assert!(
        run.stderr().contains("prd.tfvars: not a regular file"),
        "{}",
        run.stderr()
    );
}
