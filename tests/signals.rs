//! Ctrl-C and SIGTERM while terraform runs: one signal reaches it, no further step starts.

mod common;

use common::Test;
use std::os::unix::process::CommandExt;
use std::time::{Duration, Instant};

/// Starts tfw in its own process group with the fake blocking in `command`, sends `signal`
/// to the whole group (Ctrl-C at a terminal) or to tfw alone, and collects the run.
fn interrupt(command: &str, signal: i32, whole_group: bool) -> common::Run {
    let test = Test::stack()
        .args(["stg", "plan"])
        .env("FAKE_TF_BLOCK", command);
    let child = test.command().process_group(0).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !test.path("ready").exists() {
        assert!(
            Instant::now() < deadline,
            "the fake terraform never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = child.id() as i32;
    let target = if whole_group { -pid } else { pid };
    assert_eq!(unsafe { libc::kill(target, signal) }, 0);
    let output = child.wait_with_output().unwrap();
    test.finish(output)
}

#[test]
fn ctrl_c_reaches_terraform_once_and_tfw_exits_130() {
    let run = interrupt("plan", libc::SIGINT, true).status(130);
    assert_eq!(run.signals, ["SIGINT"]);
    assert_eq!(run.calls.len(), 2);
}

#[test]
fn ctrl_c_during_init_starts_no_further_step() {
    let run = interrupt("init", libc::SIGINT, true).status(130);
    assert_eq!(run.signals, ["SIGINT"]);
    assert_eq!(
        run.lines(),
        ["init -reconfigure -backend-config=stg.tfbackend -input=false"]
    );
}

#[test]
fn sigterm_to_tfw_is_forwarded_once() {
    let run = interrupt("plan", libc::SIGTERM, false).status(130);
    assert_eq!(run.signals, ["SIGTERM"]);
}
