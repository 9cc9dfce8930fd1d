//! tfw's own exit codes; terraform's codes (0–3) pass through verbatim.

/// `tfw check` found problems, or a generated file is stale.
pub const FINDINGS: i32 = 1;
/// Bad command line: unknown option, unknown or invalid environment name.
pub const USAGE: i32 = 64;
/// `tfw.toml` is invalid.
pub const CONFIG: i32 = 65;
/// An environment file (var file or backend config) is missing.
pub const MISSING_FILE: i32 = 66;
/// tfw itself failed (I/O error, could not start a process).
pub const SOFTWARE: i32 = 70;
/// The terraform binary was not found.
pub const UNAVAILABLE: i32 = 69;
/// Writing tfw's own output failed.
pub const IO_ERROR: i32 = 74;
/// Another tfw holds the data dir and `--no-wait` was given.
pub const BUSY: i32 = 75;
/// A protected environment was not confirmed.
pub const REFUSED: i32 = 77;
/// Interrupted by Ctrl-C or SIGTERM.
pub const INTERRUPTED: i32 = 130;
/// Ended by SIGHUP (the terminal went away).
pub const HANGUP: i32 = 129;
/// A child killed by signal N exits with `SIGNAL_BASE + N`.
pub const SIGNAL_BASE: i32 = 128;

/// The table printed by `--help` and mirrored in the README's exit codes.
pub const TABLE: &str = "\
Exit codes:
  0-3      terraform's own exit code, verbatim
           (2: plan -detailed-exitcode found changes, 3: fmt -check)
  64       usage error: bad arguments, unknown or invalid environment name
  65       invalid tfw.toml
  66       an environment file (var file or backend config) is missing
  69       terraform (or tofu) not found
  70       internal error (I/O, could not start a process)
  74       tfw's output could not be written (e.g. a full disk)
  75       another tfw is using the data dir (with --no-wait)
  77       a protected environment was not confirmed
  129      hangup (SIGHUP): terraform was stopped as by Ctrl-C
  130      interrupted (Ctrl-C or SIGTERM)
  128+N    terraform was killed by signal N";

#[cfg(test)]
mod tests {
    /// clap wraps `--help` at the terminal's width: lines that fit in 80 columns are never
    /// broken inside a word (`fmt` / `-check`).
    #[test]
    fn the_table_fits_in_80_columns() {
        for line in super::TABLE.lines() {
            assert!(line.chars().count() <= 80, "{line}");
        }
    }
}
