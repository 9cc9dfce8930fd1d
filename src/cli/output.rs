//! tfw's own output: every line it prints goes through here (the rest of tfw through
//! `console`, whose writer this is), so a failed write (a full disk, a closed file) is an error
//! with its exit code instead of a panic.

use crate::error::Error;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

/// A write failed somewhere, even one whose caller went on (a note while terraform runs):
/// tfw then exits 74 at the end.
static FAILED: AtomicBool = AtomicBool::new(false);

/// When tfw (and terraform) colour their output.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorChoice {
    /// At a terminal, unless `NO_COLOR` is set.
    Auto,
    Always,
    Never,
}

static COLOR: std::sync::OnceLock<ColorChoice> = std::sync::OnceLock::new();

/// `--color`, set once when the command line is read.
pub fn set_color(choice: ColorChoice) {
    let _ = COLOR.set(choice);
}

/// Colour turned off: `--color never`, or `NO_COLOR` set (any value) without `--color always`.
pub fn no_color() -> bool {
    match COLOR.get().copied().unwrap_or(ColorChoice::Auto) {
        ColorChoice::Always => false,
        ColorChoice::Never => true,
        ColorChoice::Auto => std::env::var_os("NO_COLOR").is_some(),
    }
}

/// Whether tfw's own lines on stderr are coloured: forced, or at a terminal.
pub fn color_stderr() -> bool {
    use std::io::IsTerminal;
    match COLOR.get().copied().unwrap_or(ColorChoice::Auto) {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => !no_color() && std::io::stderr().is_terminal(),
    }
}

/// Writes `text` to standard output.
pub fn print(text: &str) -> Result<(), Error> {
    write(&mut std::io::stdout().lock(), text.as_bytes())
}

/// Writes `text` to standard error.
pub fn eprint(text: &str) -> Result<(), Error> {
    write(&mut std::io::stderr().lock(), text.as_bytes())
}

/// Writes `bytes` to standard output, going on when that fails (terraform's output relayed).
pub fn relay(bytes: &[u8]) {
    let _ = write(&mut std::io::stdout().lock(), bytes);
}

/// Writes `bytes` to standard error, going on when that fails (terraform's errors relayed).
pub fn relay_error(bytes: &[u8]) {
    let _ = write(&mut std::io::stderr().lock(), bytes);
}

/// Writes `value` as one line of JSON to standard output.
pub fn json(value: &impl serde::Serialize) -> Result<(), Error> {
    let text = serde_json::to_string(value).map_err(|e| Error::Output {
        message: e.to_string(),
    })?;
    print(&format!("{text}\n"))
}

/// Whether any write to standard output or error failed.
pub fn failed() -> bool {
    FAILED.load(Ordering::SeqCst)
}

/// A failed write's error, remembered.
pub fn write_error(error: std::io::Error) -> Error {
    FAILED.store(true, Ordering::SeqCst);
    Error::Output {
        message: error.to_string(),
    }
}

fn write(out: &mut impl Write, bytes: &[u8]) -> Result<(), Error> {
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(write_error)
}

/// The writer `console` speaks through: standard output and error.
pub struct Terminal;

impl crate::console::Writer for Terminal {
    fn say(&self, text: &str) -> Result<(), Error> {
        eprint(text)
    }

    fn relay(&self, bytes: &[u8]) {
        relay(bytes);
    }

    fn relay_error(&self, bytes: &[u8]) {
        relay_error(bytes);
    }

    fn colored(&self) -> bool {
        color_stderr()
    }
}
