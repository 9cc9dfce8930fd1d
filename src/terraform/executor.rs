//! Runs resolved steps one after another: every terraform process of tfw starts here.

use crate::console;
use crate::error::{self, Error};
use crate::exit_code;
use crate::terraform::Prepared;
use crate::terraform::init_stamp::{self, InitRecord, Locked, Unreadable};
use crate::terraform::invocation::Invocation;
use crate::terraform::plugin_cache;
use crate::terraform::resolve::StepKind;
use crate::terraform::signals;
use anyhow::Context as _;
use std::cell::RefCell;
use std::fs::File;
use std::io::ErrorKind;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;

/// How steps are run and reported; shared by every stack of a run.
pub struct Executor {
    pub quiet: bool,
    /// Record successful inits in the data dir (off with `--skip-init`).
    pub keep_records: bool,
    /// Fail (exit 75) instead of waiting for another tfw's lock (`--no-wait`).
    pub no_wait: bool,
    /// Children get no stdin (Atlantis gives a pipe that is never closed: reading it hangs).
    pub no_stdin: bool,
}

/// Where a run's output goes.
#[derive(Default)]
pub enum Output {
    /// Straight to the terminal; children share tfw's stdin.
    #[default]
    Inherit,
    /// Everything (tfw's lines, terraform's stdout and stderr) collected, so parallel stacks
    /// never interleave. Children get no stdin.
    Capture(RefCell<Vec<u8>>),
    /// Straight to the terminal, and the command's stdout and stderr also kept: `--all` reads
    /// the plan's result and its last error from them.
    Relay(RefCell<Vec<u8>>),
}

impl Output {
    /// What was kept: everything (`Capture`) or the command's stdout, then its stderr (`Relay`).
    pub fn kept(self) -> Vec<u8> {
        match self {
            Output::Inherit => Vec::new(),
            Output::Capture(buffer) | Output::Relay(buffer) => buffer.into_inner(),
        }
    }
}

impl Executor {
    /// Runs the plan's steps in order and returns the exit code of the last one that ran.
    /// A failed init stops the run: the command would act on a wrong or missing backend.
    pub fn execute(&self, prepared: &Prepared, output: &Output) -> anyhow::Result<i32> {
        let (plan, record) = (&prepared.plan, &prepared.record);
        let binary = prepared.binary.require()?;
        signals::install().context("installing signal handlers")?;
        // A data dir of several envs stays locked from init to the command's end: another env's
        // init in between would repoint it at that env's state.
        let _run_lock = match plan.shared_data_dir {
            true => match self.lock(output, &record.lock_path()?, record)? {
                Some(lock) => Some(lock),
                None => return Ok(signals::exit_code()),
            },
            false => None,
        };
        let rechecked = plan.steps.iter().any(|s| {
            matches!(
                s.kind,
                StepKind::Init {
                    when_stale: true,
                    ..
                }
            )
        });
        if plan.init_up_to_date && !rechecked {
            self.note(output, &format!("init up to date ({})", plan.env));
        }
        let prelude = plan.steps.iter().any(|s| s.kind == StepKind::Command);
        for step in &plan.steps {
            if signals::interrupted() {
                return Ok(signals::exit_code());
            }
            let code = match step.kind {
                StepKind::Init { when_stale, stamp } => {
                    // Another tfw may have just done this init: the stamp is re-read under the
                    // locks, which serialise inits of one data dir and of the plugin cache.
                    let Some(_locks) = self.init_locks(output, prepared, &step.invocation)? else {
                        return Ok(signals::exit_code());
                    };
                    if when_stale && matches!(record.is_current(), Ok(true)) {
                        let by = if plan.init_up_to_date {
                            ""
                        } else {
                            ", done by another tfw"
                        };
                        self.note(output, &format!("init up to date ({}){by}", plan.env));
                        continue;
                    }
                    record.remove().context("removing the init stamp")?;
                    let inputs = record.inputs();
                    let code = self.spawn(binary, output, &step.invocation, prelude)?;
                    if code == 0 && stamp && self.keep_records {
                        let written = inputs
                            .map_err(|Unreadable(why)| anyhow::anyhow!(why))
                            .and_then(|inputs| record.write(&inputs));
                        if let Err(err) = written {
                            self.note(
                                output,
                                &format!(
                                    "could not record the init ({err:#}); the next run inits again"
                                ),
                            );
                        }
                    }
                    code
                }
                StepKind::Command => self.spawn(binary, output, &step.invocation, false)?,
            };
            if signals::interrupted() {
                return Ok(signals::exit_code());
            }
            if code != 0 && prelude && step.kind != StepKind::Command {
                let failure = anyhow::anyhow!(
                    "`{}` failed in {} (exit {code}); the command was not run",
                    step.invocation.command_line(),
                    step.invocation.dir.display()
                );
                line(output, error::shown(&failure, false).0.trim_end(), false);
            }
            if code != 0 {
                return Ok(code);
            }
        }
        Ok(0)
    }

    /// The locks an init holds: the plugin cache's (terraform's cache is not safe while an
    /// init writes to it: shared when this init will only read it) and the data dir's unless
    /// the whole run holds it already. `None` when a signal ended the wait.
    fn init_locks(
        &self,
        output: &Output,
        prepared: &Prepared,
        init: &Invocation,
    ) -> anyhow::Result<Option<Vec<File>>> {
        let record = &prepared.record;
        let mut locks = Vec::new();
        // OpenTofu 1.10 and later install into a shared cache safely at once.
        let cache = prepared
            .plugin_cache
            .as_ref()
            .filter(|_| !prepared.binary.cache_safe_for_concurrent_inits());
        if let Some(cache) = cache {
            match self.cache_lock(output, cache, record, init) {
                Ok(Some(lock)) => locks.extend(lock),
                Ok(None) => return Ok(None),
                Err(e) => return Err(e),
            }
        }
        if !prepared.plan.shared_data_dir {
            match self.lock(output, &record.lock_path()?, record)? {
                Some(lock) => locks.push(lock),
                None => return Ok(None),
            }
        }
        Ok(Some(locks))
    }

    /// The plugin cache's lock for `init`: `Some(None)` when the cache is one tfw may not write
    /// to (terraform cannot write to it either: no concurrent write to guard against).
    fn cache_lock(
        &self,
        output: &Output,
        cache: &plugin_cache::PluginCache,
        record: &InitRecord,
        init: &Invocation,
    ) -> anyhow::Result<Option<Option<File>>> {
        if cache.origin == plugin_cache::Origin::Tfw {
            std::fs::create_dir_all(&cache.dir).with_context(|| {
                format!(
                    "creating the plugin cache {} (set TFW_PLUGIN_CACHE=false or `plugin_cache` in tfw.toml to use another or none)",
                    cache.dir.display()
                )
            })?;
        } else if !cache.dir.is_dir() {
            return Ok(Some(None));
        }
        let upgrade = init
            .terraform_args(&crate::terraform::invocation::inherited)
            .map(|(args, _)| crate::terraform::command_table::has_flag(&args, "upgrade"))
            .unwrap_or(true);
        let only_reads = || {
            let lock_file =
                std::fs::read_to_string(record.stack_dir.join(crate::repo::LOCK_FILE)).ok();
            plugin_cache::init_only_reads(
                &cache.dir,
                lock_file.as_deref(),
                &plugin_cache::platform(),
                upgrade,
            )
        };
        let waiting = || {
            self.note(
                output,
                &format!(
                    "waiting: another tfw is installing providers into {}",
                    cache.dir.display()
                ),
            )
        };
        match plugin_cache::lock(&cache.dir, only_reads, self.no_wait, waiting) {
            Ok((init_stamp::Locked::Held(file), _)) => Ok(Some(Some(file))),
            Ok((init_stamp::Locked::Interrupted, _)) => Ok(None),
            Ok((init_stamp::Locked::Busy, _)) => Err(Error::Busy {
                message: format!(
                    "another tfw is installing providers into {}",
                    cache.dir.display()
                ),
            }
            .into()),
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem
                ) && cache.origin != plugin_cache::Origin::Tfw =>
            {
                Ok(Some(None))
            }
            Err(e) => Err(anyhow::Error::new(e)
                .context(format!("locking the plugin cache {}", cache.dir.display()))),
        }
    }

    /// Takes the lock at `path`, saying so when another tfw holds it; `None` when a signal
    /// ended the wait, `Busy` (exit 75) when waiting is off.
    fn lock(
        &self,
        output: &Output,
        path: &Path,
        record: &InitRecord,
    ) -> anyhow::Result<Option<File>> {
        let user = || {
            let dir = path.parent().unwrap_or(path);
            match dir.strip_prefix(&record.stack_dir) {
                Ok(data_dir) => format!(
                    "another tfw is using {} in {}",
                    data_dir.display(),
                    std::path::absolute(&record.stack_dir)
                        .unwrap_or_else(|_| record.stack_dir.clone())
                        .display()
                ),
                Err(_) => format!("another tfw is using {}", dir.display()),
            }
        };
        let waiting = || self.note(output, &format!("waiting: {}", user()));
        match init_stamp::lock_file(path, self.no_wait, waiting) {
            Ok(Locked::Held(file)) => Ok(Some(file)),
            Ok(Locked::Interrupted) => Ok(None),
            Ok(Locked::Busy) => Err(Error::Busy { message: user() }.into()),
            Err(e) => Err(anyhow::Error::new(e).context(format!("locking {}", path.display()))),
        }
    }

    /// Runs one process; returns its exit code, 128+N when killed by signal N.
    fn spawn(
        &self,
        binary: &Path,
        output: &Output,
        invocation: &Invocation,
        stdout_to_stderr: bool,
    ) -> anyhow::Result<i32> {
        if !self.quiet {
            line(
                output,
                &format!("$ {}", echoed(&invocation.command_line())),
                true,
            );
        }
        let mut expression = duct::cmd(binary, &invocation.args)
            .dir(&invocation.dir)
            .before_spawn(|command| {
                signals::ignore_hangup(command);
                Ok(())
            })
            .unchecked();
        for (name, value) in &invocation.env {
            expression = expression.env(name, value);
        }
        if self.no_stdin {
            expression = expression.stdin_null();
        }
        let stdout_file = invocation
            .stdout
            .as_ref()
            .map(|file| invocation.dir.join(file));
        if let Output::Capture(_) = output {
            expression = match stdout_file {
                Some(file) => expression.stdin_null().stdout_path(file).stderr_capture(),
                None => expression.stdin_null().stderr_to_stdout().stdout_capture(),
            };
        } else if let Some(file) = stdout_file {
            expression = expression.stdout_path(file);
        } else if stdout_to_stderr {
            // stdout belongs to the command: `tfw stg output -json | jq` must see JSON only.
            expression = expression.stdout_to_stderr();
        }
        if let (Output::Relay(kept), false, None) = (output, stdout_to_stderr, &invocation.stdout) {
            return self.relay(expression, invocation, kept);
        }
        let forwards = signals::forwards();
        let handle = match expression.start() {
            Ok(handle) => handle,
            Err(e) if e.kind() == ErrorKind::ArgumentListTooLong => {
                return Err(Error::ArgumentsTooLong {
                    count: invocation.args.len(),
                    bytes: invocation.args.iter().map(|a| a.len() + 1).sum(),
                }
                .into());
            }
            Err(e) => {
                return Err(anyhow::Error::new(e).context(format!(
                    "starting {} in {}",
                    binary.display(),
                    invocation.dir.display()
                )));
            }
        };
        let child = signals::register_child(handle.pids().first().copied(), forwards);
        let result = handle
            .wait()
            .with_context(|| format!("waiting for `{}`", invocation.command_line()))?;
        drop(child);
        if let Output::Capture(buffer) = output {
            buffer.borrow_mut().extend_from_slice(&result.stdout);
            buffer.borrow_mut().extend_from_slice(&result.stderr);
        }
        let status = result.status;
        Ok(status
            .code()
            .unwrap_or_else(|| exit_code::SIGNAL_BASE + status.signal().unwrap_or(0)))
    }

    /// Runs `expression` with its stdout passed through to tfw's as it comes (a prompt without
    /// a newline included) and kept in `kept`; its stderr passed through too, and kept after the
    /// stdout (the summary shows terraform's last `Error:` line).
    fn relay(
        &self,
        expression: duct::Expression,
        invocation: &Invocation,
        kept: &RefCell<Vec<u8>>,
    ) -> anyhow::Result<i32> {
        use std::io::Read;
        let (mut errors, writer) =
            std::io::pipe().context("creating a pipe for terraform's stderr")?;
        let expression = expression.stderr_file(writer);
        let forwards = signals::forwards();
        let mut reader = expression
            .reader()
            .with_context(|| format!("starting `{}`", echoed(&invocation.command_line())))?;
        // The pipe's writing end lives on in the child alone: its exit ends the copy.
        drop(expression);
        let child = signals::register_child(reader.pids().first().copied(), forwards);
        let copier = std::thread::spawn(move || {
            let mut kept = Vec::new();
            let mut chunk = [0u8; 8192];
            while let Ok(n @ 1..) = errors.read(&mut chunk) {
                console::relay_error(&chunk[..n]);
                kept.extend_from_slice(&chunk[..n]);
            }
            kept
        });
        let mut chunk = [0u8; 8192];
        loop {
            let n = reader.read(&mut chunk)?;
            if n == 0 {
                break;
            }
            console::relay(&chunk[..n]);
            kept.borrow_mut().extend_from_slice(&chunk[..n]);
        }
        let status = reader
            .try_wait()?
            .map(|output| output.status)
            .context("terraform's stdout ended before it did")?;
        drop(child);
        drop(reader);
        if let Ok(errors) = copier.join() {
            kept.borrow_mut().extend_from_slice(&errors);
        }
        Ok(status
            .code()
            .unwrap_or_else(|| exit_code::SIGNAL_BASE + status.signal().unwrap_or(0)))
    }

    fn note(&self, output: &Output, message: &str) {
        if !self.quiet {
            line(output, &format!("tfw: {message}"), false);
        }
    }
}

/// A command line as echoed before it runs: a huge one (megabytes of `-var`) is cut short.
fn echoed(command_line: &str) -> std::borrow::Cow<'_, str> {
    const LONGEST: usize = 4096;
    if command_line.len() <= LONGEST {
        return command_line.into();
    }
    let cut = (0..=LONGEST)
        .rev()
        .find(|&i| command_line.is_char_boundary(i))
        .unwrap_or(0);
    format!(
        "{}… ({} more bytes)",
        &command_line[..cut],
        command_line.len() - cut
    )
    .into()
}

/// A line of tfw's own: on stderr (dimmed at a terminal when `dim`), or into the capture.
fn line(output: &Output, text: &str, dim: bool) {
    if let Output::Capture(buffer) = output {
        buffer
            .borrow_mut()
            .extend_from_slice(format!("{text}\n").as_bytes());
        return;
    }
    if dim && console::colored() {
        console::note(&format!("\x1b[2m{text}\x1b[0m\n"));
    } else {
        console::note(&format!("{text}\n"));
    }
}
