//! Signals while terraform runs: survive Ctrl-C (the child already got it), forward SIGTERM and
//! SIGHUP once, and remember that the run was interrupted so no further step starts.

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
/// The running child's pid, 0 when none.
static CHILD: AtomicI32 = AtomicI32::new(0);
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
                let child = CHILD.load(Ordering::SeqCst);
                if child > 0 {
                    libc::kill(child, signal);
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

/// Records the child that SIGTERM and SIGHUP go to (`None` once it has exited).
pub fn set_child(pid: Option<u32>) {
    let pid = pid.and_then(|p| i32::try_from(p).ok()).unwrap_or(0);
    CHILD.store(pid, Ordering::SeqCst);
}
