//! Ctrl-C and SIGTERM while terraform runs: one signal reaches it, no further step starts.

use crate::common::Test;

/// `tfw stg plan` with the fake blocking in `command`, then `signal` as `Test::interrupt` sends it.
fn interrupt(command: &str, signal: i32, whole_group: bool) -> crate::common::Run {
    Test::stack()
        .args(["stg", "plan"])
        .env("FAKE_TF_BLOCK", command)
        .interrupt(signal, whole_group)
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
