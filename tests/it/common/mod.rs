//! The test builder every integration test uses: a temp repo, a fake terraform that logs its
//! calls, and the built tfw run with a cleared environment.
#![allow(dead_code)]

pub mod terminal;

use serde_json::Value;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::{env, fs};

pub const TFW: &str = env!("CARGO_BIN_EXE_tfw");

/// The quickstart layout: a root stack with stg, dev and prd.
/// A plan Terraform 1.11.4 made of `STACK`'s prd (local backend, `path = "state/prd.tfstate"`).
pub const PRD_PLAN: &[u8] = include_bytes!("../../fixtures/prd-1.11.4.tfplan");

/// This machine's platform as terraform names it (`linux_amd64`).
pub fn platform() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    format!("{}_{arch}", std::env::consts::OS)
}

pub const STACK: &[(&str, &str)] = &[
    (
        "main.tf",
        "terraform {\n  backend \"local\" {}\n}\n\nvariable \"env\" {}\n\noutput \"env\" {\n  value = var.env\n}\n",
    ),
    ("stg.tfvars", "env = \"stg\"\n"),
    ("dev.tfvars", "env = \"dev\"\n"),
    ("prd.tfvars", "env = \"prd\"\n"),
    ("stg.tfbackend", "path = \"state/stg.tfstate\"\n"),
    ("dev.tfbackend", "path = \"state/dev.tfstate\"\n"),
    ("prd.tfbackend", "path = \"state/prd.tfstate\"\n"),
];

#[must_use]
pub struct Test {
    pub dir: tempfile::TempDir,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    cwd: PathBuf,
    fake: bool,
    /// Start tfw with these signals ignored, as a shell starts a background job.
    ignored: Vec<i32>,
    /// Start tfw with writes past this many bytes failing, as on a full disk.
    file_size_limit: Option<u64>,
}

/// One call of the fake terraform.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The name the fake was started under (`terraform`, `tofu`, `terraform1.5.7`).
    pub program: String,
    pub cwd: PathBuf,
    pub argv: Vec<OsString>,
    pub env: serde_json::Map<String, Value>,
    pub stdin_tty: bool,
    /// The signals it started with ignored.
    pub ignored: Vec<String>,
}

impl Call {
    pub fn data_dir(&self) -> Option<&str> {
        self.env.get("TF_DATA_DIR").and_then(Value::as_str)
    }

    /// argv as one string, for compact assertions.
    pub fn line(&self) -> String {
        self.argv
            .iter()
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

pub struct Run {
    pub output: Output,
    pub calls: Vec<Call>,
    pub signals: Vec<String>,
    /// The commands of fake calls that met others running at once (`Test::meet`).
    pub overlaps: Vec<String>,
}

impl Run {
    pub fn code(&self) -> i32 {
        self.output.status.code().expect("tfw exited by signal")
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }
    pub fn lines(&self) -> Vec<String> {
        self.calls.iter().map(Call::line).collect()
    }
    /// Asserts the exit code, showing stderr when it differs.
    pub fn status(self, code: i32) -> Self {
        assert_eq!(
            self.code(),
            code,
            "stderr:\n{}\nstdout:\n{}",
            self.stderr(),
            self.stdout()
        );
        self
    }
    pub fn stderr_contains(self, needle: &str) -> Self {
        assert!(
            self.stderr().contains(needle),
            "stderr lacks {needle:?}:\n{}",
            self.stderr()
        );
        self
    }
}

/// A fresh temp dir for a test's files, under `scratch_root`.
pub fn tempdir() -> tempfile::TempDir {
    let root = scratch_root();
    tempfile::tempdir_in(root)
        .unwrap_or_else(|e| panic!("cannot make a temp dir in {}: {e}", root.display()))
}

/// Where test repositories live: `TFW_TEST_TMPDIR` when set (scripts/e2e puts the real
/// providers' copies on disk), else `/dev/shm` when tests can use it, else the system's temp
/// dir. The suite creates and deletes ~20,000 files; on ext4 each create scans the inode table
/// for recently deleted inodes, a third of the suite's system time.
pub fn scratch_root() -> &'static Path {
    static ROOT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    ROOT.get_or_init(|| {
        if let Some(dir) = env::var_os("TFW_TEST_TMPDIR") {
            return PathBuf::from(dir);
        }
        let shm = Path::new("/dev/shm");
        if usable_for_tests(shm) {
            shm.to_path_buf()
        } else {
            env::temp_dir()
        }
    })
}

/// Whether `dir` is writable, lets the fake terraform run (a container's `/dev/shm` may be
/// `noexec`) and has room to spare: 256 MB (the suite's files take under 1 MB at once;
/// Docker's `/dev/shm` is 64 MB by default).
fn usable_for_tests(dir: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(path) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `path` is NUL-terminated and `stat` a buffer statvfs fills.
    let stat = unsafe {
        let mut stat: libc::statvfs = std::mem::zeroed();
        if libc::statvfs(path.as_ptr(), &mut stat) != 0 {
            return false;
        }
        stat
    };
    let free = stat.f_bavail as u64 * stat.f_frsize as u64;
    stat.f_flag & libc::ST_NOEXEC == 0
        && stat.f_flag & libc::ST_RDONLY == 0
        && free >= 1 << 28
        && tempfile::tempdir_in(dir).is_ok()
}

impl Test {
    pub fn new() -> Self {
        let dir = tempdir();
        let test = Self {
            dir,
            args: Vec::new(),
            env: Vec::new(),
            cwd: PathBuf::new(),
            fake: true,
            ignored: Vec::new(),
            file_size_limit: None,
        };
        fs::create_dir_all(test.path("bin")).unwrap();
        test.fake_as("terraform")
    }

    /// Puts the fake terraform on PATH as `name` too (`tofu`, `terraform1.5.7`): a script whose
    /// interpreter is the fake, a file of the repository like any other (a link would make
    /// the root stack one `check` never keeps results of, and its target would age with
    /// `age_and_stage`).
    pub fn fake_as(self, name: &str) -> Self {
        let script = self.path("bin").join(name);
        fs::write(&script, format!("#!{}\n", fake_terraform().display())).unwrap();
        fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
        self
    }

    /// A test with the three-env stack at the root of the temp dir.
    pub fn stack() -> Self {
        Self::new().files("", STACK)
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    pub fn write(self, relative: &str, content: &str) -> Self {
        let path = self.path(relative);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
        self
    }

    /// Writes `files` under the directory `prefix`.
    pub fn files(self, prefix: &str, files: &[(&str, &str)]) -> Self {
        files.iter().fold(self, |test, (name, content)| {
            test.write(&format!("{prefix}{name}"), content)
        })
    }

    pub fn remove(self, relative: &str) -> Self {
        fs::remove_file(self.path(relative)).unwrap();
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args = args
            .into_iter()
            .map(|a| a.as_ref().to_os_string())
            .collect();
        self
    }

    pub fn env(mut self, name: &str, value: impl AsRef<OsStr>) -> Self {
        self.env.push((name.into(), value.as_ref().to_os_string()));
        self
    }

    /// Runs tfw in `relative` instead of the temp dir's root.
    pub fn current_dir(mut self, relative: &str) -> Self {
        self.cwd = PathBuf::from(relative);
        self
    }

    /// Leaves the fake terraform off PATH.
    pub fn without_terraform(mut self) -> Self {
        self.fake = false;
        self
    }

    /// Starts tfw with `signal` ignored (`(tfw prd apply &)` in a script ignores SIGINT).
    pub fn ignoring(mut self, signal: i32) -> Self {
        self.ignored.push(signal);
        self
    }

    /// Starts tfw where writing a file past `bytes` fails (EFBIG), as on a full disk.
    pub fn file_size_limit(mut self, bytes: u64) -> Self {
        self.file_size_limit = Some(bytes);
        self
    }

    /// The command that `run` executes, for tests that drive the process themselves.
    pub fn command(&self) -> Command {
        self.command_for(Path::new(TFW))
    }

    pub fn command_for(&self, program: &Path) -> Command {
        let mut command = self.base_command(program);
        command.args(&self.args);
        command
    }

    fn base_command(&self, program: &Path) -> Command {
        let mut command = Command::new(program);
        command
            .current_dir(self.dir.path().join(&self.cwd))
            .env_clear()
            .env("HOME", self.dir.path())
            // A `.git` above the temp dir (a repository in /tmp) is not the test's repository.
            .env("GIT_CEILING_DIRECTORIES", self.dir.path().parent().unwrap())
            .env("PATH", self.search_path())
            .env("FAKE_TF_LOG", self.log_path())
            .env("FAKE_TF_READY", self.path("ready"))
            .env("FAKE_TF_STAY", self.path("stopped"))
            // tfw's plugin cache would appear in every printed command: tests of it turn it on.
            .env("TFW_PLUGIN_CACHE", "false")
            .stdin(Stdio::null());
        for (name, value) in &self.env {
            command.env(name, value);
        }
        let (ignored, limit) = (self.ignored.clone(), self.file_size_limit);
        if !ignored.is_empty() || limit.is_some() {
            use std::os::unix::process::CommandExt;
            // SAFETY: signal(2) and setrlimit(2) are async-signal-safe.
            unsafe {
                command.pre_exec(move || {
                    for &signal in &ignored {
                        libc::signal(signal, libc::SIG_IGN);
                    }
                    if let Some(bytes) = limit {
                        // The write fails with EFBIG instead of the process dying of SIGXFSZ.
                        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                        let limit = libc::rlimit {
                            rlim_cur: bytes,
                            rlim_max: bytes,
                        };
                        libc::setrlimit(libc::RLIMIT_FSIZE, &limit);
                    }
                    Ok(())
                });
            }
        }
        command
    }

    pub fn search_path(&self) -> OsString {
        let mut dirs = vec![PathBuf::from("/usr/bin"), PathBuf::from("/bin")];
        if self.fake {
            dirs.insert(0, self.path("bin"));
        }
        env::join_paths(dirs).unwrap()
    }

    pub fn log_path(&self) -> PathBuf {
        self.path("calls.log")
    }

    pub fn run(&self) -> Run {
        let output = self.command().output().unwrap();
        self.finish(output)
    }

    /// Runs tfw with other arguments, keeping files and environment.
    pub fn run_with<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = self.base_command(Path::new(TFW));
        command.args(args);
        self.finish(command.output().unwrap())
    }

    /// Makes the fake's calls of `command` meet: each waits until `together` of them run at once
    /// (an overlap) or until `meet/go` exists.
    pub fn meet(self, command: &str, together: usize) -> Self {
        let dir = self.path("meet");
        fs::create_dir_all(&dir).unwrap();
        self.env(&format!("FAKE_TF_MEET_{command}"), together.to_string())
            .env("FAKE_TF_MEET_DIR", dir)
    }

    /// Runs tfw in its own process group until the fake terraform blocks (FAKE_TF_BLOCK), then
    /// sends `signal` to the whole group (Ctrl-C at a terminal) or to tfw alone. The fake stops
    /// once it has logged a signal and tfw has taken its own: a signal tfw passed on would be
    /// logged too.
    pub fn interrupt(&self, signal: i32, whole_group: bool) -> Run {
        use std::os::unix::process::CommandExt;
        let child = self
            .command()
            .process_group(0)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        wait_until("the fake terraform to start", || {
            self.path("ready").exists()
        });
        let pid = child.id() as i32;
        assert_eq!(
            unsafe { libc::kill(if whole_group { -pid } else { pid }, signal) },
            0
        );
        let mut child = child;
        wait_until("the fake to log a signal and tfw to take its own", || {
            let logged =
                fs::read_to_string(self.log_path()).is_ok_and(|l| l.contains("\"signal\""));
            let exited = child.try_wait().unwrap().is_some();
            exited || (logged && !pending(pid, signal))
        });
        fs::write(self.path("stopped"), "").unwrap();
        self.finish(child.wait_with_output().unwrap())
    }

    /// Dates every file of the repository `hours` back, then stages them and refreshes the index
    /// as `git status` does: git's stat data then vouch for each file's content (none is "racily
    /// clean"), as in a repository in use. (Git compares whole seconds: each call needs its own
    /// `hours` for git to see the files changed.)
    pub fn age_and_stage(&self, hours: u64) {
        let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600 * hours);
        let mut dirs = vec![self.path("")];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).unwrap().flatten() {
                let path = entry.path();
                if entry.file_name() == ".git" {
                    continue;
                }
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    let file = std::fs::File::options().write(true).open(&path).unwrap();
                    file.set_modified(hour_ago).unwrap();
                }
            }
        }
        self.git(&["add", "-A"]);
        self.git(&["update-index", "-q", "--refresh"]);
    }

    /// Runs git in the temp dir (with an identity, for commits) and asserts it succeeded. No
    /// template is copied into a new repository: its sample hooks made `git init` six times
    /// slower, and the suite inits hundreds.
    pub fn git(&self, args: &[&str]) {
        let output = Command::new("git")
            .args(["-c", "user.email=test@example.com", "-c", "user.name=test"])
            .args(["-c", "init.templateDir="])
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Reads and clears the fake's log.
    pub fn finish(&self, output: Output) -> Run {
        let log = fs::read_to_string(self.log_path()).unwrap_or_default();
        let _ = fs::remove_file(self.log_path());
        let mut calls = Vec::new();
        let mut signals = Vec::new();
        let mut overlaps = Vec::new();
        for line in log.lines() {
            let record: Value = serde_json::from_str(line).unwrap();
            if let Some(signal) = record.get("signal") {
                signals.push(signal.as_str().unwrap().to_string());
                continue;
            }
            if let Some(command) = record.get("overlap") {
                overlaps.push(command.as_str().unwrap().to_string());
                continue;
            }
            calls.push(Call {
                program: record["program"].as_str().unwrap().to_string(),
                cwd: PathBuf::from(record["cwd"].as_str().unwrap()),
                argv: record["argv"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(decode)
                    .collect(),
                env: record["env"].as_object().unwrap().clone(),
                stdin_tty: record["stdin_tty"].as_bool().unwrap(),
                ignored: record["ignored"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s.as_str().unwrap().to_string())
                    .collect(),
            });
        }
        Run {
            output,
            calls,
            signals,
            overlaps,
        }
    }
}

fn decode(value: &Value) -> OsString {
    match value {
        Value::String(s) => s.into(),
        other => {
            let hex = other["hex"].as_str().unwrap();
            let bytes = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            OsString::from_vec(bytes)
        }
    }
}

/// The fake terraform: the example `fake-terraform` (`tests/it/common/fake_terraform.rs`), which
/// `cargo test` builds beside this test binary. Built here when missing or older than its
/// source, as after `cargo test --test it`, which builds no example.
pub fn fake_terraform() -> &'static Path {
    static FAKE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    FAKE.get_or_init(|| {
        let exe = env::current_exe().unwrap();
        // target/<profile>/deps/it-<hash>
        let profile = exe.parent().unwrap().parent().unwrap();
        let fake = profile.join("examples/fake-terraform");
        let source =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/common/fake_terraform.rs");
        let modified = |path: &Path| fs::metadata(path).and_then(|m| m.modified()).ok();
        let stale = || modified(&fake) < modified(&source);
        if stale() {
            let name = profile.file_name().unwrap().to_str().unwrap();
            let status = Command::new(env!("CARGO"))
                .args([
                    "build",
                    "--quiet",
                    "--example",
                    "fake-terraform",
                    "--profile",
                ])
                .arg(if name == "debug" { "dev" } else { name })
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .status()
                .unwrap();
            assert!(status.success(), "cargo build --example fake-terraform");
        }
        assert!(
            !stale(),
            "{} is missing or older than its source: run `cargo build --example fake-terraform`",
            fake.display()
        );
        fake
    })
}

impl Test {
    /// A copy of `examples/<name>` (without local state or data dirs) as the temp dir.
    pub fn example(name: &str) -> Self {
        let test = Self::new();
        let source = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .join(name);
        copy_tree(&source, test.dir.path());
        test
    }
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == ".terraform" || name == "state" {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().unwrap().is_dir() {
            fs::create_dir_all(&target).unwrap();
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Whether `signal` waits to be delivered to process `pid` (its handler has not started yet).
fn pending(pid: i32, signal: i32) -> bool {
    let bit = 1u64 << (signal - 1);
    let masks = |status: &str, field: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
            .unwrap_or(0)
    };
    let tasks = fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten();
    tasks.flatten().any(|task| {
        let status = fs::read_to_string(task.path().join("status")).unwrap_or_default();
        (masks(&status, "SigPnd:") | masks(&status, "ShdPnd:")) & bit != 0
    })
}

/// A tfw started with `Test::spawn`, whose stderr is collected as it comes.
pub struct Background {
    child: std::process::Child,
    stderr: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    reader: std::thread::JoinHandle<()>,
}

/// Runs `command`, whose program a test has just written. Another test's child, forked while
/// the file was open for writing, holds it open until it execs: the file is busy for that
/// moment.
pub fn output_of_fresh(command: &mut Command) -> Output {
    loop {
        match command.output() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                std::thread::sleep(POLL)
            }
            output => return output.unwrap(),
        }
    }
}

/// How often a test looks again for what it waits on: a file, a process's end.
pub const POLL: std::time::Duration = std::time::Duration::from_millis(5);

/// Polls `done` until it holds, for at most 20 s.
pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(POLL);
    }
}

impl Test {
    /// Starts tfw with `args` without waiting for it.
    pub fn spawn<I, S>(&self, args: I) -> Background
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        use std::io::Read;
        let mut child = self
            .base_command(Path::new(TFW))
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
        let reader = std::thread::spawn(move || {
            let mut buffer = [0; 4096];
            while let Ok(n) = pipe.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buffer[..n]);
            }
        });
        Background {
            child,
            stderr,
            reader,
        }
    }

    /// Waits until the fake terraform said it is running (FAKE_TF_HOLD_ / FAKE_TF_BLOCK).
    pub fn wait_for_ready(&self) {
        wait_until("the fake terraform to start", || {
            self.path("ready").exists()
        });
    }

    /// The blocking fake's pid (FAKE_TF_BLOCK), which it writes into its ready file (perhaps not
    /// yet when the file appears).
    pub fn terraform_pid(&self) -> i32 {
        let mut pid = None;
        wait_until("the fake's pid", || {
            pid = fs::read_to_string(self.path("ready"))
                .ok()
                .and_then(|text| text.parse().ok());
            pid.is_some()
        });
        pid.unwrap()
    }

    /// The calls logged so far, without clearing the log.
    pub fn calls_so_far(&self) -> Vec<String> {
        fs::read_to_string(self.log_path())
            .unwrap_or_default()
            .lines()
            .map(|line| {
                let record: Value = serde_json::from_str(line).unwrap();
                record["argv"]
                    .as_array()
                    .map(|argv| {
                        argv.iter()
                            .map(|a| a.as_str().unwrap_or("?"))
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
                    .unwrap_or_default()
            })
            .collect()
    }
}

impl Background {
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }

    pub fn wait_for_stderr(&self, needle: &str) {
        wait_until(&format!("{needle:?} on stderr"), || {
            self.stderr().contains(needle)
        });
    }

    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    pub fn signal(&self, signal: i32) {
        assert_eq!(unsafe { libc::kill(self.child.id() as i32, signal) }, 0);
    }

    /// Waits for the exit; returns the exit code and all of stderr.
    pub fn wait(mut self) -> (i32, String) {
        let status = self.child.wait().unwrap();
        self.reader.join().unwrap();
        let stderr = String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned();
        (status.code().expect("tfw exited by signal"), stderr)
    }
}

/// A directory that refuses new files, even to root (made immutable), until dropped.
pub struct ReadOnly(PathBuf);

impl ReadOnly {
    pub fn new(dir: &Path) -> Self {
        fs::create_dir_all(dir).unwrap();
        if unsafe { libc::geteuid() } == 0 {
            let status = Command::new("chattr").arg("+i").arg(dir).status().unwrap();
            assert!(status.success(), "chattr +i {}", dir.display());
        } else {
            fs::set_permissions(dir, fs::Permissions::from_mode(0o555)).unwrap();
        }
        assert!(
            fs::write(dir.join(".probe"), "").is_err(),
            "{} must refuse new files",
            dir.display()
        );
        Self(dir.to_path_buf())
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        if unsafe { libc::geteuid() } == 0 {
            let _ = Command::new("chattr").arg("-i").arg(&self.0).status();
        } else {
            let _ = fs::set_permissions(&self.0, fs::Permissions::from_mode(0o755));
        }
    }
}
