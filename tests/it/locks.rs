//! One data dir is never used by two tfw at once when that could mix envs or stacks: the
//! locks, how a second tfw waits for them, and what it refuses.

use crate::common::Test;
use std::fs;

/// A repository whose stacks share one data dir per stack (terraform.sh's layout).
fn shared() -> Test {
    Test::stack().write("tfw.toml", "data_dir = \"shared\"\n")
}

#[test]
fn with_a_shared_data_dir_the_second_env_waits_for_the_whole_first_run() {
    let test = shared().env("FAKE_TF_HOLD_apply", "released");
    let first = test.spawn(["stg", "apply"]);
    test.wait_for_ready();
    let second = test.spawn(["dev", "apply"]);
    second.wait_for_stderr("tfw: waiting: another tfw is using .terraform");
    assert_eq!(
        test.calls_so_far().len(),
        2,
        "dev's init waits for stg's apply: {:?}",
        test.calls_so_far()
    );
    fs::write(test.path("released"), "").unwrap();
    assert_eq!(first.wait().0, 0);
    assert_eq!(second.wait().0, 0);
    let calls = test.calls_so_far();
    assert_eq!(calls.len(), 4, "{calls:?}");
    assert!(
        calls[2].contains("-backend-config=dev.tfbackend"),
        "{calls:?}"
    );
}

#[test]
fn no_wait_fails_fast_and_runs_nothing() {
    let test = shared().env("FAKE_TF_HOLD_apply", "released");
    let first = test.spawn(["stg", "apply"]);
    test.wait_for_ready();
    let run = test
        .run_with(["--no-wait", "dev", "plan"])
        .status(75)
        .stderr_contains("another tfw is using .terraform");
    assert!(run.stderr().contains("help: try again"), "{}", run.stderr());
    // The log so far holds stg's two calls only.
    assert_eq!(run.lines().len(), 2, "{:?}", run.lines());
    assert!(
        !run.lines().iter().any(|l| l.contains("dev")),
        "{:?}",
        run.lines()
    );
    fs::write(test.path("released"), "").unwrap();
    assert_eq!(first.wait().0, 0);
}

/// `waiter` waits for `holder`'s lock and gets `signal`: it ends with 130, having run nothing.
fn interrupt_the_waiter(test: Test, holder: &str, waiter: &str, signal: i32) {
    let first = test.spawn([holder, "apply"]);
    test.wait_for_ready();
    let second = test.spawn([waiter, "apply"]);
    second.wait_for_stderr("waiting:");
    second.signal(signal);
    let (code, stderr) = second.wait();
    assert_eq!(code, 130, "{signal}: {stderr}");
    fs::write(test.path("released"), "").unwrap();
    assert_eq!(first.wait().0, 0);
    assert_eq!(
        test.calls_so_far().len(),
        2,
        "only the holder's init and apply ran: {:?}",
        test.calls_so_far()
    );
}

#[test]
fn waiting_ends_at_ctrl_c_or_sigterm_with_nothing_started() {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // A shared data dir, held by stg's whole run.
        interrupt_the_waiter(
            shared().env("FAKE_TF_HOLD_apply", "released"),
            "stg",
            "dev",
            signal,
        );
        // One env's data dir, held by its init.
        interrupt_the_waiter(
            Test::stack().env("FAKE_TF_HOLD_init", "released"),
            "stg",
            "stg",
            signal,
        );
    }
}

#[test]
fn per_env_data_dirs_wait_only_for_the_same_envs_init() {
    let test = Test::stack().env("FAKE_TF_HOLD_apply", "released");
    let mut first = test.spawn(["stg", "apply"]);
    test.wait_for_ready();
    // Another env runs alongside; the same env's init is already done, so it runs too: both
    // finish while stg's apply still holds.
    test.run_with(["dev", "plan"]).status(0);
    test.run_with(["stg", "plan"]).status(0);
    assert!(
        first.is_running(),
        "the held apply ended before the others ran"
    );
    fs::write(test.path("released"), "").unwrap();
    assert_eq!(first.wait().0, 0);
}

#[test]
fn an_absolute_tf_data_dir_is_refused_for_several_stacks() {
    let test = Test::stack()
        .write("tfw.toml", "")
        .files("datadog/", crate::common::STACK);
    let data_dir = test.path("one-data-dir");
    let test = test.env("TF_DATA_DIR", &data_dir);
    let run = test
        .run_with(["--all", "stg", "plan"])
        .status(64)
        .stderr_contains("2 stacks would share");
    assert!(run.calls.is_empty());
    // Relative, it is one data dir per stack; for one stack, it is the user's choice.
    let run = test.run_with(["-C", "datadog", "stg", "plan"]).status(0);
    assert_eq!(
        run.calls[0].data_dir(),
        data_dir.to_str(),
        "the user's TF_DATA_DIR is theirs"
    );
    let test = Test::stack()
        .write("tfw.toml", "")
        .files("datadog/", crate::common::STACK)
        .env("TF_DATA_DIR", "tfdata");
    test.run_with(["--all", "stg", "plan"]).status(0);
}

#[test]
fn an_unwritable_plugin_cache_is_left_to_terraform() {
    let test = Test::stack();
    let cache = test.path("plugins");
    fs::create_dir(&cache).unwrap();
    fs::set_permissions(&cache, std::os::unix::fs::PermissionsExt::from_mode(0o555)).unwrap();
    // Root writes anywhere it has a mode for; sysfs refuses even root.
    let cache = if fs::write(cache.join("probe"), "").is_ok() {
        std::path::PathBuf::from("/sys")
    } else {
        cache
    };
    assert!(
        fs::write(cache.join(".tfw-probe"), "").is_err(),
        "{} must refuse writes for this test",
        cache.display()
    );
    let run = test
        .env("TF_PLUGIN_CACHE_DIR", &cache)
        .args(["stg", "plan"])
        .run()
        .status(0);
    assert_eq!(run.calls.len(), 2);
}

#[test]
fn a_data_dir_lock_tfw_may_not_take_fails_closed() {
    let test = Test::stack();
    let _read_only = crate::common::ReadOnly::new(&test.path(".terraform/tfw/stg"));
    let run = test
        .run_with(["stg", "plan"])
        .status(70)
        .stderr_contains("locking ")
        .stderr_contains("tfw-init.lock");
    assert!(run.calls.is_empty(), "{:?}", run.lines());
}

#[test]
fn a_stack_that_fails_inside_tfw_says_why_with_one_job_or_several() {
    let test = Test::stack();
    let _read_only = crate::common::ReadOnly::new(&test.path(".terraform/tfw/stg"));
    for jobs in ["1", "2"] {
        let run = test
            .run_with(["--all", "-j", jobs, "stg", "plan"])
            .status(1);
        let all = run.stderr() + &run.stdout();
        assert!(
            all.contains("tfw: error: locking ") && all.contains("tfw-init.lock"),
            "-j {jobs}: {all}"
        );
    }
}
