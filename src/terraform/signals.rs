//! Signals while terraform runs: survive Ctrl-C (the child already got it), forward SIGTERM and
//! SIGHUP once, and remember that the run was interrupted so no further step starts.

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
/// Room for the children of `--all --jobs N`; `arguments` caps N at this.
pub const MAX_CHILDREN: usize = 64;
/// The running children's pids, 0 in free slots.
static CHILDREN: [AtomicI32; MAX_CHILDREN] = [const { AtomicI32::new(0) }; MAX_CHILDREN];
static INSTALL: Once = Once::new();

/// Installs the handlers. A handler, not SIG_IGN: an ignored SIGINT would stay ignored in the
/// exec'ed terraform, which would then never see Ctrl-C.
pub fn install() -> std::io::Result<()> {
    let mut result = Ok(());
    INSTALL.call_once(|| {
        result = register_all();
    });
    result
}

fn register_all() -> std::io::Result<()> {
    // Ctrl-C reaches the whole foreground process group: terraform has its own copy, and a
    // second one from us would make it abandon its state lock.
    signal_hook::flag::register(SIGINT, &INTERRUPTED)?;
    for signal in [SIGTERM, SIGHUP] {
        // SAFETY: the action only touches atomics and calls kill(2), both async-signal-safe.
        unsafe {
            signal_hook::low_level::register(signal, move || {
                INTERRUPTED.store(true, Ordering::SeqCst);
                for slot in &CHILDREN {
                    let child = slot.load(Ordering::SeqCst);
                    if child > 0 {
                        libc::kill(child, signal);
                    }
                }
            })?;
        }
    }
    Ok(())
}

/// Whether Ctrl-C, SIGTERM or SIGHUP arrived since start.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// A running child that SIGTERM and SIGHUP are forwarded to, until dropped.
pub struct ChildGuard(Option<usize>);

/// Records `pid` as running.
pub fn register_child(pid: Option<u32>) -> ChildGuard {
    let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) else {
        return ChildGuard(None);
    };
    let slot = CHILDREN.iter().position(|slot| {
        slot.compare_exchange(0, pid, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    });
    ChildGuard(slot)
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(slot) = self.0 {
            CHILDREN[slot].store(0, Ordering::SeqCst);
        }
    }
}
