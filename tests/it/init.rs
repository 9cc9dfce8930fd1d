//! Init only when something init depends on changed, never against another env's init.

use crate::common::{Run, Test};
use std::fs;

fn inits(run: &Run) -> Vec<String> {
    run.lines()
        .into_iter()
        .filter(|l| l.starts_with("init"))
        .collect()
}

const INIT_STG: &str = "init -reconfigure -backend-config=stg.tfbackend -input=false";
const INIT_DEV: &str = "init -reconfigure -backend-config=dev.tfbackend -input=false";

#[test]
fn first_plan_inits_and_the_second_does_not() {
    let test = Test::stack();
    assert_eq!(inits(&test.run_with(["stg", "plan"]).status(0)), [INIT_STG]);
    let run = test
        .run_with(["stg", "plan"])
        .status(0)
        .stderr_contains("tfw: init up to date (stg)");
    assert_eq!(run.lines(), ["plan -var-file=stg.tfvars"]);
    assert!(
        !test
            .run_with(["-q", "stg", "plan"])
            .stderr()
            .contains("up to date"),
        "-q silences it"
    );
}

#[test]
fn switching_envs_inits_each_env_once() {
    let test = Test::stack();
    let mut all = Vec::new();
    for env in ["stg", "dev", "stg", "dev"] {
        all.extend(inits(&test.run_with([env, "output"]).status(0)));
    }
    assert_eq!(all, [INIT_STG, INIT_DEV]);
}

#[test]
fn edits_that_do_not_need_init_do_not_trigger_it() {
    let test = Test::stack();
    test.run_with(["stg", "plan"]).status(0);
    fs::write(
        test.path("main.tf"),
        "terraform {\n  backend \"local\" {}\n}\n\n# edited\noutput \"other\" {\n  value = 2\n}\n",
    )
    .unwrap();
    fs::write(test.path("stg.tfvars"), "env = \"changed\"\n").unwrap();
    fs::write(test.path("resources.tf"), "locals {\n  a = 1\n}\n").unwrap();
    assert!(inits(&test.run_with(["stg", "plan"]).status(0)).is_empty());
}

#[test]
fn each_input_of_init_triggers_it_again() {
    let module_call = |test: &Test| {
        fs::write(
            test.path("mod.tf"),
            "module \"net\" {\n  source = \"./modules/net\"\n}\n",
        )
        .unwrap();
    };
    type Edit = fn(&Test);
    let edits: &[(&str, Edit)] = &[
        ("tfbackend", |t| {
            fs::write(t.path("stg.tfbackend"), "path = \"state/other.tfstate\"\n").unwrap()
        }),
        ("new module call", module_call),
        ("new provider requirement", |t| {
            fs::write(t.path("versions.tf"), "terraform {\n  required_providers {\n    null = {\n      source = \"hashicorp/null\"\n    }\n  }\n}\n").unwrap()
        }),
        ("lock file", |t| {
            fs::write(t.path(".terraform.lock.hcl"), "# changed\n").unwrap()
        }),
        ("deleted data dir", |t| {
            fs::remove_dir_all(t.path(".terraform/tfw/stg")).unwrap()
        }),
    ];
    for (what, edit) in edits {
        let test = Test::stack();
        test.run_with(["stg", "plan"]).status(0);
        edit(&test);
        assert_eq!(
            inits(&test.run_with(["stg", "plan"]).status(0)),
            [INIT_STG],
            "{what}"
        );
        assert!(
            inits(&test.run_with(["stg", "plan"]).status(0)).is_empty(),
            "{what}: recorded again"
        );
    }
}

#[test]
fn module_call_added_inside_a_local_module_triggers_init() {
    let test = Test::stack()
        .write(
            "mod.tf",
            "module \"net\" {\n  source = \"./modules/net\"\n}\n",
        )
        .write("modules/net/main.tf", "output \"x\" {\n  value = 1\n}\n");
    test.run_with(["stg", "plan"]).status(0);
    fs::write(
        test.path("modules/net/inner.tf"),
        "module \"deep\" {\n  source = \"../deep\"\n}\n",
    )
    .unwrap();
    assert_eq!(inits(&test.run_with(["stg", "plan"]).status(0)), [INIT_STG]);
}

#[test]
fn tfbackend_edit_reinits_only_that_env() {
    let test = Test::stack();
    test.run_with(["stg", "plan"]).status(0);
    test.run_with(["dev", "plan"]).status(0);
    fs::write(
        test.path("stg.tfbackend"),
        "path = \"state/moved.tfstate\"\n",
    )
    .unwrap();
    assert!(inits(&test.run_with(["dev", "plan"]).status(0)).is_empty());
    assert_eq!(inits(&test.run_with(["stg", "plan"]).status(0)), [INIT_STG]);
}

#[test]
fn reinit_forces_and_skip_init_leaves_the_record_alone() {
    let test = Test::stack();
    test.run_with(["stg", "plan"]).status(0);
    assert_eq!(
        inits(&test.run_with(["--reinit", "stg", "plan"]).status(0)),
        [INIT_STG]
    );
    fs::write(
        test.path("stg.tfbackend"),
        "path = \"state/moved.tfstate\"\n",
    )
    .unwrap();
    assert!(inits(&test.run_with(["--skip-init", "stg", "plan"]).status(0)).is_empty());
    assert_eq!(
        inits(&test.run_with(["stg", "plan"]).status(0)),
        [INIT_STG],
        "the stale record was kept stale"
    );
}

#[test]
fn failed_init_is_retried_next_time() {
    let test = Test::stack().args(["stg", "plan"]);
    let mut failing = test.command();
    failing.env("FAKE_TF_EXIT_init", "1");
    let run = test.finish(failing.output().unwrap()).status(1);
    assert_eq!(run.lines(), [INIT_STG], "plan did not run");
    assert_eq!(
        inits(&test.run().status(0)),
        [INIT_STG],
        "no record of the failed init"
    );
}

#[test]
fn explicit_init_always_runs_and_records() {
    let test = Test::stack();
    test.run_with(["stg", "init"]).status(0);
    assert_eq!(
        inits(&test.run_with(["stg", "init", "-upgrade"]).status(0)),
        [format!("{INIT_STG} -upgrade")]
    );
    assert!(inits(&test.run_with(["stg", "plan"]).status(0)).is_empty());
}

#[test]
fn an_init_with_another_backend_leaves_no_record() {
    for args in [
        &["stg", "init", "-backend=false"][..],
        &["stg", "init", "-backend-config=path=elsewhere.tfstate"],
        &["stg", "init", "-from-module=../somewhere"],
    ] {
        let test = Test::stack();
        test.run_with(["stg", "plan"]).status(0);
        test.run_with(args).status(0);
        assert_eq!(
            inits(&test.run_with(["stg", "plan"]).status(0)),
            [INIT_STG],
            "after {args:?}"
        );
    }
    // Under TF_SKIP_INIT an explicit init is not recorded, and forgets the last record.
    let test = Test::stack();
    test.run_with(["stg", "plan"]).status(0);
    let mut command = test.command();
    command
        .args(["stg", "init", "-backend-config=path=x"])
        .env("TF_SKIP_INIT", "true");
    test.finish(command.output().unwrap()).status(0);
    assert_eq!(inits(&test.run_with(["stg", "plan"]).status(0)), [INIT_STG]);
}

#[test]
fn an_init_by_someone_else_in_the_data_dir_means_init_again() {
    for test in [
        Test::stack(),
        Test::stack().write("tfw.toml", "data_dir = \"shared\"\n"),
    ] {
        test.run_with(["stg", "plan"]).status(0);
        assert!(inits(&test.run_with(["stg", "plan"]).status(0)).is_empty());
        // What `terraform init -reconfigure -backend-config=prd.tfbackend` leaves behind.
        let data_dir = if test.path("tfw.toml").exists() {
            ".terraform"
        } else {
            ".terraform/tfw/stg"
        };
        fs::write(
            test.path(data_dir).join("terraform.tfstate"),
            "{\"backend\": {\"type\": \"local\", \"config\": {\"path\": \"state/prd.tfstate\"}}}",
        )
        .unwrap();
        assert_eq!(inits(&test.run_with(["stg", "plan"]).status(0)), [INIT_STG]);
    }
}

#[test]
fn a_backend_file_edited_while_init_runs_is_not_taken_as_initialised() {
    let test = Test::stack();
    let during = test.path("stg.tfbackend");
    let mut command = test.command();
    command
        .args(["stg", "plan"])
        .env("FAKE_TF_APPEND_init", &during);
    test.finish(command.output().unwrap()).status(0);
    assert_eq!(
        inits(&test.run_with(["stg", "plan"]).status(0)),
        [INIT_STG],
        "the record is of the file init read, not of the edited one"
    );
    assert!(inits(&test.run_with(["stg", "plan"]).status(0)).is_empty());
}

#[test]
fn shared_data_dir_never_runs_one_env_against_another_envs_init() {
    for test in [
        Test::stack().write("tfw.toml", "data_dir = \"shared\"\n"),
        Test::stack().env("TF_DATA_DIR", ".terraform-mine"),
    ] {
        let mut all = Vec::new();
        for env in ["stg", "stg", "dev", "dev", "stg"] {
            all.extend(inits(&test.run_with([env, "output"]).status(0)));
        }
        assert_eq!(all, [INIT_STG, INIT_DEV, INIT_STG]);
    }
}

#[test]
fn unparseable_configuration_falls_back_to_init_with_a_note() {
    let test = Test::stack();
    test.run_with(["stg", "plan"]).status(0);
    fs::write(test.path("broken.tf"), "resource \"x\" \"y\" {\n").unwrap();
    let run = test
        .run_with(["stg", "plan"])
        .status(0)
        .stderr_contains("broken.tf");
    assert!(
        run.stderr().contains("running init to be safe"),
        "{}",
        run.stderr()
    );
    assert_eq!(inits(&run), [INIT_STG]);
}

#[test]
fn dry_run_says_init_is_up_to_date() {
    let test = Test::stack();
    test.run_with(["stg", "plan"]).status(0);
    let run = test.run_with(["-n", "stg", "plan"]).status(0);
    assert!(
        run.stdout().starts_with("# init up to date (stg)\n"),
        "{}",
        run.stdout()
    );
    assert_eq!(run.stdout().lines().count(), 2);
}

#[test]
fn two_runs_on_one_env_init_once() {
    let test = Test::stack().env("FAKE_TF_HOLD_init", "released");
    let first = test.spawn(["stg", "plan"]);
    test.wait_for_ready();
    let second = test.spawn(["stg", "plan"]);
    second.wait_for_stderr("tfw: waiting: another tfw is using .terraform/tfw/stg");
    fs::write(test.path("released"), "").unwrap();
    assert_eq!(first.wait().0, 0);
    let (code, stderr) = second.wait();
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("init up to date (stg), done by another tfw"),
        "{stderr}"
    );
    let calls = test.calls_so_far();
    assert_eq!(
        calls.iter().filter(|c| c.starts_with("init")).count(),
        1,
        "{calls:?}"
    );
}

#[test]
fn inits_across_envs_overlap_but_not_with_a_plugin_cache() {
    // Per-env data dirs: dev's init runs while stg's is held.
    let test = Test::stack().env("FAKE_TF_HOLD_init", "released");
    let first = test.spawn(["stg", "output"]);
    test.wait_for_ready();
    let second = test.spawn(["dev", "output"]);
    crate::common::wait_until("dev's init while stg's runs", || {
        test.calls_so_far()
            .iter()
            .any(|c| c.contains("dev.tfbackend"))
    });
    fs::write(test.path("released"), "").unwrap();
    assert_eq!(first.wait().0, 0);
    assert_eq!(second.wait().0, 0);

    // One plugin cache: dev's init waits for stg's.
    let test = Test::stack().env("FAKE_TF_HOLD_init", "released");
    let plugins = test.path("plugins");
    fs::create_dir(&plugins).unwrap();
    let test = test.env("TF_PLUGIN_CACHE_DIR", &plugins);
    let first = test.spawn(["stg", "output"]);
    test.wait_for_ready();
    let second = test.spawn(["dev", "output"]);
    second.wait_for_stderr("tfw: waiting: another tfw is installing providers into");
    assert!(
        !test
            .calls_so_far()
            .iter()
            .any(|c| c.contains("dev.tfbackend")),
        "{:?}",
        test.calls_so_far()
    );
    fs::write(test.path("released"), "").unwrap();
    assert_eq!(first.wait().0, 0);
    assert_eq!(second.wait().0, 0);
    assert_eq!(
        test.calls_so_far()
            .iter()
            .filter(|c| c.starts_with("init"))
            .count(),
        2
    );
}

#[test]
fn opentofu_init_gets_the_variables_it_evaluates() {
    let early = "terraform {\n  backend \"local\" {\n    path = \"state/${var.env}.tfstate\"\n  }\n}\n\nvariable \"env\" {}\n";
    let test = Test::stack().fake_as("tofu").write("main.tf", early).write(
        "tfw.toml",
        "binary = \"tofu\"\nvars = { team = \"core\" }\n",
    );
    let run = test.run_with(["stg", "plan"]).status(0);
    assert_eq!(
        inits(&run),
        [format!("{INIT_STG} -var-file=stg.tfvars -var=team=core")]
    );
    assert!(inits(&test.run_with(["stg", "plan"]).status(0)).is_empty());
    // The var file's content is now an input of init.
    fs::write(test.path("stg.tfvars"), "env = \"stg2\"\n").unwrap();
    assert_eq!(inits(&test.run_with(["stg", "plan"]).status(0)).len(), 1);
    // Terraform evaluates no variables at init: neither passed nor fingerprinted.
    let test = Test::stack().write("main.tf", early);
    assert_eq!(inits(&test.run_with(["stg", "plan"]).status(0)), [INIT_STG]);
    fs::write(test.path("stg.tfvars"), "env = \"stg2\"\n").unwrap();
    assert!(inits(&test.run_with(["stg", "plan"]).status(0)).is_empty());
}

#[test]
fn dry_run_names_the_input_that_makes_init_run() {
    let test = Test::stack();
    let why = |test: &Test| -> Vec<String> {
        let run = test.run_with(["-n", "stg", "plan"]).status(0);
        run.stdout()
            .lines()
            .filter(|l| l.starts_with("# init"))
            .map(String::from)
            .collect()
    };
    assert_eq!(why(&test), ["# init: no init yet for stg"]);
    test.run_with(["stg", "plan"]).status(0);
    assert_eq!(why(&test), ["# init up to date (stg)"]);
    fs::write(
        test.path("stg.tfbackend"),
        "path = \"state/other.tfstate\"\n",
    )
    .unwrap();
    assert_eq!(why(&test), ["# init: stg.tfbackend changed"]);
    test.run_with(["stg", "plan"]).status(0);
    fs::write(test.path(".terraform.lock.hcl"), "# edited\n").unwrap();
    assert_eq!(why(&test), ["# init: .terraform.lock.hcl changed"]);
    test.run_with(["stg", "plan"]).status(0);
    let fake = test.path("bin/terraform");
    let script = fs::read_to_string(&fake).unwrap() + "\n# another version\n";
    fs::write(&fake, script).unwrap();
    assert_eq!(why(&test), ["# init: terraform binary changed"]);
}

/// A lock file recording the AWS provider with its `h1:` checksum.
const LOCK_FILE: &str = "provider \"registry.terraform.io/hashicorp/aws\" {\n  version = \"5.100.0\"\n  hashes = [\"h1:AAAA=\"]\n}\n";

fn aws_entry() -> String {
    format!(
        "registry.terraform.io/hashicorp/aws/5.100.0/{}",
        crate::common::platform()
    )
}

/// Stacks `names` (each with the lock file) sharing the plugin cache `plugins/`, with the
/// provider already in it when `cached`.
fn cached_stacks(names: &[&str], cached: bool) -> Test {
    let mut test = Test::new().write("tfw.toml", "plugin_cache = \"{root}/plugins\"\n");
    for name in names {
        test = test
            .files(&format!("{name}/"), crate::common::STACK)
            .write(&format!("{name}/.terraform.lock.hcl"), LOCK_FILE);
    }
    if cached {
        test = test.write(&format!("plugins/{}/terraform-provider", aws_entry()), "");
    }
    // A repository: the root's tfw.toml counts for `-C a` only inside git.
    test.git(&["init", "-q"]);
    test.env("TFW_PLUGIN_CACHE", "")
}

/// Whether the fake terraform has logged an init in `stack` so far.
fn has_init_of(test: &Test, stack: &str) -> bool {
    fs::read_to_string(test.log_path())
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .any(|record| {
            record["argv"][0] == "init"
                && record["cwd"]
                    .as_str()
                    .is_some_and(|cwd| cwd.ends_with(&format!("/{stack}")))
        })
}

#[test]
fn a_plugin_cache_by_default_where_the_user_has_none() {
    let dry_run = |test: Test| test.args(["-n", "stg", "plan"]).run().status(0).stdout();
    let home = Test::stack().env("TFW_PLUGIN_CACHE", "");
    let expected = format!(
        "TF_PLUGIN_CACHE_DIR={}",
        home.path(".cache/tfw/plugins").display()
    );
    let out = dry_run(home);
    assert!(out.contains(&expected), "{out}");
    let test = Test::stack()
        .env("TFW_PLUGIN_CACHE", "")
        .env("XDG_CACHE_HOME", "/xdg");
    assert!(dry_run(test).contains("TF_PLUGIN_CACHE_DIR=/xdg/tfw/plugins"));
    let test = Test::stack().env("TFW_PLUGIN_CACHE", "/mine");
    assert!(dry_run(test).contains("TF_PLUGIN_CACHE_DIR=/mine "));
    let test = Test::stack()
        .env("TFW_PLUGIN_CACHE", "")
        .write("tfw.toml", "plugin_cache = false\n");
    assert!(!dry_run(test).contains("TF_PLUGIN_CACHE_DIR"));
    // The user's own cache is terraform's to use: tfw sets nothing.
    let test = Test::stack()
        .env("TFW_PLUGIN_CACHE", "")
        .env("TF_PLUGIN_CACHE_DIR", "/theirs");
    assert!(!dry_run(test).contains("TF_PLUGIN_CACHE_DIR"));
    let test = Test::stack()
        .env("TFW_PLUGIN_CACHE", "")
        .write("rc", "plugin_cache_dir = \"/theirs\"\n");
    let rc = test.path("rc");
    assert!(!dry_run(test.env("TF_CLI_CONFIG_FILE", &rc)).contains("TF_PLUGIN_CACHE_DIR"));
    // A real run creates it, and terraform gets it.
    let test = Test::stack().env("TFW_PLUGIN_CACHE", "");
    let run = test.run_with(["stg", "plan"]).status(0);
    assert!(test.path(".cache/tfw/plugins").is_dir());
    assert_eq!(run.lines().len(), 2);
    assert_eq!(
        run.calls[0].env["TF_PLUGIN_CACHE_DIR"],
        test.path(".cache/tfw/plugins").display().to_string()
    );
}

#[test]
fn inits_that_only_read_the_cache_run_at_once() {
    let test = cached_stacks(&["a", "b"], true);
    let test = hold(test, "a");
    let first = test.spawn(["-C", "a", "stg", "output"]);
    test.wait_for_ready();
    let second = test.spawn(["-C", "b", "stg", "output"]);
    crate::common::wait_until("b's init while a's runs", || has_init_of(&test, "b"));
    fs::write(test.path("release-a"), "").unwrap();
    assert_eq!(first.wait().0, 0);
    assert_eq!(second.wait().0, 0);
}

/// Holds `stack`'s init until the file `release-<stack>` exists at the root.
fn hold(test: Test, stack: &str) -> Test {
    let release = test.path(&format!("release-{stack}"));
    test.env(&format!("FAKE_TF_HOLD_init_{stack}"), release)
}

#[test]
fn one_init_installs_a_missing_provider_and_the_next_ones_read_it_at_once() {
    let test = cached_stacks(&["a", "b", "c"], false).env("FAKE_TF_INSTALL", aws_entry());
    let test = hold(hold(test, "a"), "b");
    let a = test.spawn(["-C", "a", "stg", "output"]);
    test.wait_for_ready();
    let b = test.spawn(["-C", "b", "stg", "output"]);
    b.wait_for_stderr("waiting: another tfw is installing providers");
    assert!(!has_init_of(&test, "b"));
    fs::write(test.path("release-a"), "").unwrap();
    assert_eq!(a.wait().0, 0);
    // b found the provider a installed: it only reads, and c's init runs beside it.
    crate::common::wait_until("b's init", || has_init_of(&test, "b"));
    let c = test.spawn(["-C", "c", "stg", "output"]);
    crate::common::wait_until("c's init while b's runs", || has_init_of(&test, "c"));
    fs::write(test.path("release-b"), "").unwrap();
    assert_eq!(b.wait().0, 0);
    assert_eq!(c.wait().0, 0);
}

#[test]
fn an_init_that_writes_is_not_overtaken_by_readers_queued_after_it() {
    // a and r only read; w has no lock file, so its init may write: it waits for a, and r,
    // queued after w, waits for w.
    let test = cached_stacks(&["a", "r"], true).files("w/", crate::common::STACK);
    let test = hold(hold(test, "a"), "w");
    let a = test.spawn(["-C", "a", "stg", "output"]);
    test.wait_for_ready();
    let w = test.spawn(["-C", "w", "stg", "output"]);
    w.wait_for_stderr("waiting: another tfw is installing providers");
    let r = test.spawn(["-C", "r", "stg", "output"]);
    r.wait_for_stderr("waiting: another tfw is installing providers");
    fs::write(test.path("release-a"), "").unwrap();
    assert_eq!(a.wait().0, 0);
    crate::common::wait_until("w's init", || has_init_of(&test, "w"));
    assert!(!has_init_of(&test, "r"), "{:?}", test.calls_so_far());
    fs::write(test.path("release-w"), "").unwrap();
    assert_eq!(w.wait().0, 0);
    assert_eq!(r.wait().0, 0);
}

#[test]
fn a_provider_gone_from_the_cache_means_init_again() {
    let test = cached_stacks(&["a"], true);
    test.run_with(["-C", "a", "stg", "plan"]).status(0);
    // What terraform leaves in the data dir: a link into the cache.
    let link = test.path(&format!("a/.terraform/tfw/stg/providers/{}", aws_entry()));
    fs::create_dir_all(link.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(test.path(&format!("plugins/{}", aws_entry())), &link).unwrap();
    test.run_with(["-C", "a", "stg", "init"]).status(0);
    let run = test.run_with(["-C", "a", "stg", "plan"]).status(0);
    assert_eq!(run.lines().len(), 1, "up to date: {:?}", run.lines());
    fs::remove_dir_all(test.path("plugins")).unwrap();
    let run = test.run_with(["-C", "a", "stg", "plan"]).status(0);
    assert_eq!(run.lines().len(), 2, "init again: {:?}", run.lines());
}

/// Issue 20, 16: a `.tf` starting with a byte order mark (Terraform reads it) made every plan
/// init again, printing the file's first line (a secret) in the note.
#[test]
fn a_byte_order_mark_neither_reinits_nor_prints_the_file() {
    let main = format!(
        "\u{feff}# token s3cr3t-t0ken\n{}",
        crate::common::STACK[0].1
    );
    let test = Test::stack().write("main.tf", &main);
    assert_eq!(inits(&test.run_with(["stg", "plan"]).status(0)), [INIT_STG]);
    let run = test.run_with(["stg", "plan"]).status(0);
    assert!(inits(&run).is_empty(), "{}", run.stderr());
    assert!(!run.stderr().contains("s3cr3t"), "{}", run.stderr());
}

/// Issue 20, 16: a file tfw cannot parse is named with its line, never quoted.
#[test]
fn a_file_that_does_not_parse_is_named_not_quoted() {
    let test = Test::stack();
    test.run_with(["stg", "plan"]).status(0);
    fs::write(
        test.path("broken.tf"),
        "locals {\n  password = \"s3cr3t\" \"more\"\n}\n",
    )
    .unwrap();
    let run = test
        .run_with(["stg", "plan"])
        .status(0)
        .stderr_contains("broken.tf: line 2");
    assert!(!run.stderr().contains("s3cr3t"), "{}", run.stderr());
}

/// The fake terraform as `tofu` of `version` (`tofu version -json` answers it).
fn as_tofu(test: Test, version: &str) -> Test {
    use std::os::unix::fs::PermissionsExt;
    let tofu = test.path("bin/tofu");
    fs::write(
        &tofu,
        format!(
            "#!/bin/sh\nif [ \"$1 $2\" = \"version -json\" ]; then echo '{{\"terraform_version\": \"{version}\"}}'; exit 0; fi\nexec \"$(dirname \"$0\")/terraform\" \"$@\"\n"
        ),
    )
    .unwrap();
    fs::set_permissions(&tofu, fs::Permissions::from_mode(0o755)).unwrap();
    test.env("TFW_TERRAFORM", "tofu")
}

#[test]
fn opentofu_1_10_installs_into_the_cache_without_its_lock() {
    let test = cached_stacks(&["a", "b"], false).env("FAKE_TF_INSTALL", aws_entry());
    let dry_run = as_tofu(Test::stack(), "1.10.3")
        .env("TFW_PLUGIN_CACHE", "")
        .args(["-n", "stg", "plan"])
        .run()
        .status(0)
        .stdout();
    assert!(
        dry_run.contains("not locked with OpenTofu 1.10 or later"),
        "{dry_run}"
    );
    let test = hold(as_tofu(test, "1.10.3"), "a");
    let a = test.spawn(["-C", "a", "stg", "output"]);
    test.wait_for_ready();
    // a installs (it holds no lock), and b's install runs beside it.
    let b = test.spawn(["-C", "b", "stg", "output"]);
    crate::common::wait_until("b's init while a's runs", || has_init_of(&test, "b"));
    assert_eq!(b.wait().0, 0);
    fs::write(test.path("release-a"), "").unwrap();
    assert_eq!(a.wait().0, 0);
}

#[test]
fn opentofu_before_1_10_locks_the_cache_like_terraform() {
    let test = cached_stacks(&["a", "b"], false).env("FAKE_TF_INSTALL", aws_entry());
    let test = hold(as_tofu(test, "1.9.1"), "a");
    let a = test.spawn(["-C", "a", "stg", "output"]);
    test.wait_for_ready();
    let b = test.spawn(["-C", "b", "stg", "output"]);
    b.wait_for_stderr("waiting: another tfw is installing providers");
    assert!(!has_init_of(&test, "b"));
    fs::write(test.path("release-a"), "").unwrap();
    assert_eq!(a.wait().0, 0);
    assert_eq!(b.wait().0, 0);
}
