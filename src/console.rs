//! What tfw says while it works, from any module: `cli` installs the one writer when it starts,
//! so that nothing below it writes to standard output or error itself.

use crate::error::Error;
use std::sync::OnceLock;

/// Where tfw's words go.
pub trait Writer: Sync {
    /// Writes `text` to standard error; an error when it could not be written.
    fn say(&self, text: &str) -> Result<(), Error>;
    /// Writes `bytes` to standard output, going on when that fails (terraform's output relayed).
    fn relay(&self, bytes: &[u8]);
    /// Writes `bytes` to standard error, going on when that fails (terraform's errors relayed).
    fn relay_error(&self, bytes: &[u8]);
    /// Whether tfw's own lines on standard error are coloured.
    fn colored(&self) -> bool;
}

static WRITER: OnceLock<&'static dyn Writer> = OnceLock::new();

/// Sets the writer, once, before anything is said; later calls change nothing.
pub fn install(writer: &'static dyn Writer) {
    let _ = WRITER.set(writer);
}

fn writer() -> Option<&'static dyn Writer> {
    WRITER.get().copied()
}

/// Says `text` on standard error where it must be seen (a prompt): an error when it was not.
/// Nothing is written before a writer is installed (unit tests).
pub fn say(text: &str) -> Result<(), Error> {
    writer().map_or(Ok(()), |w| w.say(text))
}

/// Says `text` on standard error, going on when that fails: for what is said while work is
/// under way (terraform running, other stacks to run), which a full disk must not stop.
pub fn note(text: &str) {
    let _ = say(text);
}

/// terraform's standard output, passed on.
pub fn relay(bytes: &[u8]) {
    if let Some(w) = writer() {
        w.relay(bytes);
    }
}

/// terraform's standard error, passed on.
pub fn relay_error(bytes: &[u8]) {
    if let Some(w) = writer() {
        w.relay_error(bytes);
    }
}

/// Whether tfw's own lines on standard error are coloured (`--color`, a terminal, `NO_COLOR`).
pub fn colored() -> bool {
    writer().is_some_and(|w| w.colored())
}
