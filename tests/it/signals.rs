//! Ctrl-C, SIGTERM and SIGHUP while terraform runs: one interrupt reaches it, no further step
//! starts, and a second signal to tfw is not passed on.

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

#[test]
fn sighup_to_tfw_reaches_terraform_as_one_sigint_and_tfw_exits_129() {
    let run = interrupt("plan", libc::SIGHUP, false).status(129);
    assert_eq!(run.signals, ["SIGINT"], "terraform dies at once on SIGHUP");
}

#[test]
fn a_hangup_of_the_whole_process_group_reaches_terraform_only_as_one_sigint() {
    // The fake dies of SIGHUP unless it was started with SIGHUP ignored, as terraform does.
    let run = interrupt("plan", libc::SIGHUP, true).status(129);
    assert_eq!(run.signals, ["SIGINT"]);
    assert_eq!(run.calls.len(), 2);
    assert!(
        run.calls.iter().all(|c| c.ignored == ["SIGHUP"]),
        "{:?}",
        run.calls
    );
}

#[test]
fn a_hangup_during_init_starts_no_further_step() {
    let run = interrupt("init", libc::SIGHUP, true).status(129);
    assert_eq!(run.signals, ["SIGINT"]);
    assert_eq!(run.calls.len(), 1, "{:?}", run.lines());
}

/// The signals the fake has logged so far.
fn logged_signals(test: &Test) -> usize {
    std::fs::read_to_string(test.log_path())
        .unwrap_or_default()
        .matches("\"signal\"")
        .count()
}

#[test]
fn a_second_sigterm_or_sighup_is_not_passed_on_a_third_is() {
    for (signal, forwarded) in [(libc::SIGTERM, "SIGTERM"), (libc::SIGHUP, "SIGINT")] {
        let test = Test::stack().env("FAKE_TF_BLOCK", "plan");
        let tfw = test.spawn(["stg", "plan"]);
        test.wait_for_ready();
        tfw.signal(signal);
        crate::common::wait_until("the first signal", || logged_signals(&test) == 1);
        tfw.signal(signal);
        tfw.wait_for_stderr("signal tfw once more to stop it at once");
        tfw.signal(signal);
        crate::common::wait_until("the third signal", || logged_signals(&test) == 2);
        std::fs::write(test.path("stopped"), "").unwrap();
        let (code, stderr) = tfw.wait();
        assert_eq!(
            code,
            if signal == libc::SIGHUP { 129 } else { 130 },
            "{stderr}"
        );
        let run = test.finish(std::process::Command::new("true").output().unwrap());
        assert_eq!(run.signals, [forwarded, forwarded], "{stderr}");
    }
}

#[test]
fn ctrl_c_then_sigterm_is_not_a_second_interrupt() {
    let test = Test::stack().env("FAKE_TF_BLOCK", "plan");
    let tfw = test.spawn(["stg", "plan"]);
    test.wait_for_ready();
    // Ctrl-C as the terminal sends it: to tfw and terraform, each its own.
    tfw.signal(libc::SIGINT);
    assert_eq!(unsafe { libc::kill(test.terraform_pid(), libc::SIGINT) }, 0);
    crate::common::wait_until("Ctrl-C", || logged_signals(&test) == 1);
    tfw.signal(libc::SIGTERM);
    tfw.wait_for_stderr("signal tfw once more");
    std::fs::write(test.path("stopped"), "").unwrap();
    assert_eq!(tfw.wait().0, 130);
    let run = test.finish(std::process::Command::new("true").output().unwrap());
    assert_eq!(run.signals, ["SIGINT"]);
}

#[test]
fn a_tfw_started_with_sigint_ignored_starts_terraform_with_ctrl_c_working() {
    let run = Test::stack()
        .args(["stg", "plan"])
        .env("FAKE_TF_BLOCK", "plan")
        .ignoring(libc::SIGINT)
        .interrupt(libc::SIGINT, true)
        .status(130);
    assert_eq!(run.signals, ["SIGINT"]);
    assert_eq!(
        run.calls[1].ignored,
        ["SIGHUP"],
        "SIGINT has its default action"
    );
}
