//! The fake terraform (the example `fake-terraform`): logs each call, acts as `FAKE_TF_*` say.

use serde_json::{Value, json};
use std::ffi::OsString;
use std::fs;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long any wait lasts at most: only a failing test gets there.
const SAFETY: Duration = Duration::from_secs(30);
const SIGNALS: [(i32, &str); 3] = [
    (libc::SIGHUP, "SIGHUP"),
    (libc::SIGINT, "SIGINT"),
    (libc::SIGTERM, "SIGTERM"),
];

fn main() {
    let mut args: Vec<OsString> = std::env::args_os().collect();
    // Started as the interpreter of a script (`#!…/fake-terraform`), as the tests' `bin/terraform`
    // is: the script's path comes first, then terraform's arguments.
    if args.len() > 1 && base_name(Path::new(&args[0])) == "fake-terraform" {
        args.remove(0);
    }
    let command = args
        .get(1)
        .map_or(String::new(), |a| a.to_string_lossy().into_owned());
    let cwd = std::env::current_dir().unwrap();
    log(&json!({
        "program": args.first().map_or(String::new(), |a| base_name(Path::new(a))),
        "cwd": cwd.to_string_lossy(),
        "argv": args[1..].iter().map(|a| text(a.as_bytes())).collect::<Vec<_>>(),
        "env": std::env::vars_os()
            .filter(|(k, _)| k.as_bytes().starts_with(b"TF_"))
            .map(|(k, v)| (k.to_string_lossy().into_owned(), Value::from(v.to_string_lossy())))
            .collect::<serde_json::Map<_, _>>(),
        "stdin_tty": unsafe { libc::isatty(0) } == 1,
        // The signals it was started with ignored (an ignored signal stays ignored across exec).
        "ignored": SIGNALS.iter().filter(|(s, _)| ignored(*s)).map(|(_, n)| *n).collect::<Vec<_>>(),
    }));
    let fake = Fake {
        here: base_name(&cwd),
        // The env, from tfw's data dir (`.terraform/tfw/<env>`).
        env: var("TF_DATA_DIR").map_or(String::new(), |d| base_name(Path::new(&d))),
        command,
    };
    fake.run();
}

struct Fake {
    command: String,
    /// The name of the stack's directory.
    here: String,
    env: String,
}

impl Fake {
    fn run(&self) {
        let command = &self.command;
        emit(
            std::io::stdout(),
            &self.setting("STDOUT").unwrap_or_default(),
        );
        emit(
            std::io::stderr(),
            &self.setting("STDERR").unwrap_or_default(),
        );
        let met = self.meet();
        // FAKE_TF_LINES_<command>=N: N numbered lines on stdout and stderr; after a meeting, in
        // step with the others, so that the output of parallel runs interleaves unless tfw
        // groups it.
        let lines: usize =
            var(&format!("FAKE_TF_LINES_{command}")).map_or(0, |n| n.parse().unwrap());
        for i in 0..lines {
            emit(std::io::stdout(), &format!("{} out {i}\n", self.here));
            emit(std::io::stderr(), &format!("{} err {i}\n", self.here));
            if let Some((dir, pid, together)) = &met {
                fs::write(dir.join(format!("{pid}.{i}")), "").unwrap();
                let suffix = format!(".{i}");
                wait_for(|| count(dir, |name| name.ends_with(&suffix)) >= *together);
            }
        }
        if let Some((dir, pid, _)) = &met {
            fs::remove_file(dir.join(pid.to_string())).unwrap();
        }
        // FAKE_TF_APPEND_<command>=FILE: append a line to FILE while running (an edit during init).
        if let Some(file) = var(&format!("FAKE_TF_APPEND_{command}")) {
            let mut f = fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(file)
                .unwrap();
            f.write_all(b"# edited while terraform ran\n").unwrap();
        }
        // FAKE_TF_HOLD_<command>=FILE (or FAKE_TF_HOLD_<command>_<dir name>, for one stack): say
        // so in FAKE_TF_READY, then run until FILE exists.
        let hold = var(&format!("FAKE_TF_HOLD_{command}_{}", self.here))
            .or_else(|| var(&format!("FAKE_TF_HOLD_{command}")));
        if let Some(hold) = hold.filter(|h| !h.is_empty()) {
            fs::write(var("FAKE_TF_READY").unwrap(), "").unwrap();
            wait_for(|| Path::new(&hold).exists());
        }
        // FAKE_TF_INSTALL=<source>/<version>/<platform>: init installs that provider into the
        // plugin cache, as terraform unpacks a download there.
        if let (Some(entry), "init") = (var("FAKE_TF_INSTALL"), command.as_str()) {
            let entry = Path::new(&var("TF_PLUGIN_CACHE_DIR").unwrap()).join(entry);
            fs::create_dir_all(&entry).unwrap();
            fs::write(entry.join("terraform-provider"), "").unwrap();
        }
        if let Some(signal) = var(&format!("FAKE_TF_KILL_{command}")) {
            unsafe { libc::kill(libc::getpid(), signal.parse().unwrap()) };
        }
        if var("FAKE_TF_BLOCK").as_deref() == Some(command) {
            block();
        }
        // FAKE_TF_EXIT_<command>[_<dir name>[_<env>]]: one stack, or one pair, can fail alone.
        std::process::exit(self.setting("EXIT").map_or(0, |c| c.parse().unwrap()));
    }

    /// FAKE_TF_<name>_<command>_<dir>_<env>, else …_<command>_<dir>, else …_<command>: one
    /// stack, or one (stack, env) pair, can differ.
    fn setting(&self, name: &str) -> Option<String> {
        let prefix = format!("FAKE_TF_{name}_{}", self.command);
        [
            format!("{prefix}_{}_{}", self.here, self.env),
            format!("{prefix}_{}", self.here),
            prefix,
        ]
        .iter()
        .find_map(|key| var(key))
    }

    /// FAKE_TF_MEET_<command>=N: the calls of the command meet in FAKE_TF_MEET_DIR, each holding
    /// a file named by its pid there while it runs. A call waits until it sees N of them run at
    /// once, or until the dir's `go` exists, which the test writes when calls must not meet. The
    /// first to see N writes `go` listing them, so that they all know they met (and log
    /// `overlap`) and later calls do not wait; one that gives up waiting writes an empty `go`.
    /// Returns the dir, the pid and N after a meeting.
    fn meet(&self) -> Option<(PathBuf, u32, usize)> {
        let together: usize = var(&format!("FAKE_TF_MEET_{}", self.command))?
            .parse()
            .unwrap();
        let dir = PathBuf::from(var("FAKE_TF_MEET_DIR").unwrap());
        let pid = std::process::id();
        fs::write(dir.join(pid.to_string()), "").unwrap();
        let go = dir.join("go");
        let mut met = false;
        wait_for(|| {
            let running: Vec<String> = fs::read_dir(&dir)
                .unwrap()
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|name| name.bytes().all(|b| b.is_ascii_digit()))
                .collect();
            met = running.len() >= together;
            if met && !go.exists() {
                // Written whole, then renamed: a reader sees all of the list or none.
                let draft = dir.join(format!("go-{pid}"));
                fs::write(&draft, running.join(" ")).unwrap();
                fs::rename(&draft, &go).unwrap();
            }
            met || go.exists()
        });
        if !go.exists() {
            fs::write(&go, "").unwrap();
        }
        let listed = fs::read_to_string(&go).unwrap();
        met = met || listed.split(' ').any(|p| p == pid.to_string());
        if !met {
            fs::remove_file(dir.join(pid.to_string())).unwrap();
            return None;
        }
        log(&json!({"overlap": self.command}));
        Some((dir, pid, together))
    }
}

/// Waits for a signal like terraform does: logs each one, and stops gracefully after the first
/// once FAKE_TF_STAY exists (the test says when tfw has had its chance to pass on another).
fn block() -> ! {
    for (signal, _) in &SIGNALS[1..] {
        // SAFETY: the handler only touches atomics.
        unsafe { libc::signal(*signal, on_signal as *const () as libc::sighandler_t) };
    }
    fs::write(
        var("FAKE_TF_READY").unwrap(),
        std::process::id().to_string(),
    )
    .unwrap();
    let stay = var("FAKE_TF_STAY").unwrap();
    let mut logged = 0;
    wait_for(|| {
        let got = RECEIVED.load(Ordering::SeqCst).min(GOT.len());
        for slot in &GOT[logged..got] {
            let number = slot.load(Ordering::SeqCst);
            let name = SIGNALS.iter().find(|(s, _)| *s == number).unwrap().1;
            log(&json!({ "signal": name }));
        }
        logged = got;
        logged > 0 && Path::new(&stay).exists()
    });
    std::process::exit(1);
}

/// The signals received so far, in order.
static GOT: [AtomicI32; 16] = [const { AtomicI32::new(0) }; 16];
static RECEIVED: AtomicUsize = AtomicUsize::new(0);

extern "C" fn on_signal(signal: i32) {
    if let Some(slot) = GOT.get(RECEIVED.fetch_add(1, Ordering::SeqCst)) {
        slot.store(signal, Ordering::SeqCst);
    }
}

/// Writes `text` whole, or exits 1 as terraform does when its output cannot be written.
fn emit(mut stream: impl Write, text: &str) {
    if stream
        .write_all(text.as_bytes())
        .and_then(|()| stream.flush())
        .is_err()
    {
        std::process::exit(1);
    }
}

/// Polls `done` until it holds, for at most `SAFETY`.
fn wait_for(mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + SAFETY;
    while !done() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// How many entries of `dir` have a name that `matches`.
fn count(dir: &Path, matches: impl Fn(&str) -> bool) -> usize {
    fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| matches(&e.file_name().to_string_lossy()))
        })
        .count()
}

fn ignored(signal: i32) -> bool {
    // SAFETY: sigaction with no new action only reads the current one.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(signal, std::ptr::null(), &mut old);
        old.sa_sigaction == libc::SIG_IGN
    }
}

/// An argument as JSON: a string, or `{"hex": …}` when it is not UTF-8.
fn text(raw: &[u8]) -> Value {
    match std::str::from_utf8(raw) {
        Ok(s) => s.into(),
        Err(_) => json!({ "hex": raw.iter().map(|b| format!("{b:02x}")).collect::<String>() }),
    }
}

fn base_name(path: &Path) -> String {
    path.file_name()
        .map_or(String::new(), |n| n.to_string_lossy().into_owned())
}

fn var(name: &str) -> Option<String> {
    std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
}

fn log(record: &Value) {
    let mut line = record.to_string();
    line.push('\n');
    let mut file = fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(var("FAKE_TF_LOG").unwrap())
        .unwrap();
    file.write_all(line.as_bytes()).unwrap();
}
