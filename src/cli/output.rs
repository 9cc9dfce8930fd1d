//! tfw's own output: every line it prints goes through here, so a failed write (a full disk, a
//! closed file) is an error with its exit code instead of a panic.

use crate::error::Error;
use std::io::Write;

/// Writes `text` to standard output.
pub fn print(text: &str) -> Result<(), Error> {
    write(&mut std::io::stdout().lock(), text)
}

/// Writes `text` to standard error.
pub fn eprint(text: &str) -> Result<(), Error> {
    write(&mut std::io::stderr().lock(), text)
}

/// Writes `value` as one line of JSON to standard output.
pub fn json(value: &impl serde::Serialize) -> Result<(), Error> {
    let text = serde_json::to_string(value).map_err(|e| Error::Output {
        message: e.to_string(),
    })?;
    print(&format!("{text}\n"))
}

fn write(out: &mut impl Write, text: &str) -> Result<(), Error> {
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Error::Output {
            message: e.to_string(),
        })
}
