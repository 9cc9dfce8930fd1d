//! Signals while tfw runs: Ctrl-C reaches terraform from the terminal, SIGTERM and SIGHUP reach
//! it from tfw as one interrupt, and the run remembers it was interrupted so no step starts.

use crate::exit_code;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use std::sync::Once;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};

/// How many of SIGINT, SIGTERM and SIGHUP arrived.
static RECEIVED: AtomicUsize = AtomicUsize::new(0);
/// The first of them, 0 before any.
static FIRST: AtomicI32 = AtomicI32::new(0);
/// Room for the children of `--all --jobs N`; `arguments` caps N at this.
pub const MAX_CHILDREN: usize = 64;
/// The running children's pids, 0 in free slots, -1 in one being taken.
static CHILDREN: [AtomicI32; MAX_CHILDREN] = [const { AtomicI32::new(0) }; MAX_CHILDREN];
/// How many times a signal was passed on to the children, and the last one passed on.
static FORWARDS: AtomicUsize = AtomicUsize::new(0);
static FORWARDED: AtomicI32 = AtomicI32::new(0);
/// For each slot, up to which of `FORWARDS` its child has had (or was started after): whoever
/// raises it first, the handler or `register_child`, sends the child that signal, so that a
/// signal arriving while a child starts reaches it once.
static HAD: [AtomicUsize; MAX_CHILDREN] = [const { AtomicUsize::new(0) }; MAX_CHILDREN];
static INSTALL: Once = Once::new();

/// Said on the second signal, which terraform is not sent.
const AGAIN: &[u8] = b"\ntfw: terraform is stopping after one interrupt; signal tfw once more to stop it at once (its state lock may stay held)\n";

/// Installs the handlers, which also undoes an inherited SIG_IGN (`(tfw prd apply &)` in a
/// script): Ctrl-C then works at the prompt, and terraform starts with the default action. A
/// handler, not SIG_IGN: an ignored SIGINT would stay ignored in the exec'ed terraform.
pub fn install() -> std::io::Result<()> {
    let mut result = Ok(());
    INSTALL.call_once(|| {
        result = register_all();
    });
    result
}

fn register_all() -> std::io::Result<()> {
    for signal in [SIGINT, SIGTERM, SIGHUP] {
        // SAFETY: the action only touches atomics and calls kill(2) and write(2), all
        // async-signal-safe.
        unsafe {
            signal_hook::low_level::register(signal, move || received(signal))?;
        }
    }
    Ok(())
}

/// Counts the signal and passes what terraform should get on to the running children. Ctrl-C
/// reaches the whole foreground process group: terraform has its own copy, and a second one
/// from tfw would make it abandon its state lock. SIGTERM and SIGHUP go on as one interrupt
/// (SIGHUP as SIGINT: terraform dies at once on SIGHUP, which it never gets itself, see
/// `ignore_hangup`); a second to tfw is not passed on, a third is.
fn received(signal: i32) {
    let count = RECEIVED.fetch_add(1, Ordering::SeqCst) + 1;
    let _ = FIRST.compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst);
    if signal == SIGINT {
        return;
    }
    let running = CHILDREN.iter().any(|slot| slot.load(Ordering::SeqCst) > 0);
    if count == 2 {
        if running {
            // SAFETY: write(2) of a static buffer is async-signal-safe.
            unsafe { libc::write(libc::STDERR_FILENO, AGAIN.as_ptr().cast(), AGAIN.len()) };
        }
        return;
    }
    let forwarded = if signal == SIGHUP { SIGINT } else { signal };
    FORWARDED.store(forwarded, Ordering::SeqCst);
    let forward = FORWARDS.fetch_add(1, Ordering::SeqCst) + 1;
    for (slot, had) in CHILDREN.iter().zip(&HAD) {
        let child = slot.load(Ordering::SeqCst);
        if child > 0 && had.fetch_max(forward, Ordering::SeqCst) < forward {
            // SAFETY: kill(2) is async-signal-safe.
            unsafe { libc::kill(child, forwarded) };
        }
    }
}

/// Whether Ctrl-C, SIGTERM or SIGHUP arrived since start.
pub fn interrupted() -> bool {
    RECEIVED.load(Ordering::SeqCst) > 0
}

/// The first signal's name, for messages; `None` before any.
pub fn first() -> Option<&'static str> {
    match FIRST.load(Ordering::SeqCst) {
        SIGINT => Some("interrupted"),
        SIGTERM => Some("terminated"),
        SIGHUP => Some("hangup"),
        _ => None,
    }
}

/// The exit code of an interrupted run: 129 after a hangup, else 130.
pub fn exit_code() -> i32 {
    match FIRST.load(Ordering::SeqCst) {
        SIGHUP => exit_code::HANGUP,
        _ => exit_code::INTERRUPTED,
    }
}

/// Starts `command` with SIGHUP ignored, which exec keeps and terraform never undoes (it only
/// asks for SIGINT and SIGTERM): a hangup sent to the whole process group (an SSH session
/// dropped) then reaches terraform only as tfw's one SIGINT.
pub fn ignore_hangup(command: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: signal(2) is async-signal-safe, as code between fork and exec must be.
    unsafe {
        command.pre_exec(|| {
            libc::signal(libc::SIGHUP, libc::SIG_IGN);
            Ok(())
        });
    }
}

/// A running child that SIGTERM and SIGHUP are forwarded to, until dropped.
pub struct ChildGuard(Option<usize>);

/// How many times a signal was passed on so far: taken before a child starts, for
/// `register_child`.
pub fn forwards() -> usize {
    FORWARDS.load(Ordering::SeqCst)
}

/// Records `pid` as running; a signal passed on since `forwards` (taken before it started)
/// did not reach it, so it gets it now.
pub fn register_child(pid: Option<u32>, forwards: usize) -> ChildGuard {
    let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) else {
        return ChildGuard(None);
    };
    let slot = CHILDREN.iter().position(|slot| {
        slot.compare_exchange(0, -1, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    });
    if let Some(slot) = slot {
        HAD[slot].store(forwards, Ordering::SeqCst);
        CHILDREN[slot].store(pid, Ordering::SeqCst);
        let now = FORWARDS.load(Ordering::SeqCst);
        if now > forwards && HAD[slot].fetch_max(now, Ordering::SeqCst) < now {
            // SAFETY: kill(2) of the child just started.
            unsafe { libc::kill(pid, FORWARDED.load(Ordering::SeqCst)) };
        }
    }
    ChildGuard(slot)
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(slot) = self.0 {
            CHILDREN[slot].store(0, Ordering::SeqCst);
        }
    }
}
