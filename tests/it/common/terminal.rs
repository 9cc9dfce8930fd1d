//! tfw in a pseudo-terminal: the screen is read as it comes, and a wait ends when its text shows.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Child, Command, ExitStatus};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// How long a wait lasts at most: only a failing test gets there.
const TIMEOUT: Duration = Duration::from_secs(20);

/// What the screen showed so far, and whether the program's side closed.
type Screen = (Vec<u8>, bool);

pub struct Terminal {
    child: Child,
    /// The terminal's side that a user types into and reads from.
    master: File,
    screen: Arc<(Mutex<Screen>, Condvar)>,
    /// How much of the screen the waits have gone past.
    read: usize,
}

/// A new pseudo-terminal: its master and its slave.
pub fn openpty() -> (File, OwnedFd) {
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty writes the two descriptors; no name, settings or size are passed.
    let opened = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(opened, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened and are owned here alone.
    unsafe { (File::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) }
}

impl Terminal {
    /// Starts `command` in a new session whose controlling terminal is a new pseudo-terminal,
    /// its stdin, stdout and stderr, with echo off.
    pub fn spawn(mut command: Command) -> Self {
        let (master, slave) = openpty();
        // SAFETY: a termios struct filled by tcgetattr, changed and set back.
        unsafe {
            use std::os::fd::AsRawFd;
            let mut settings: libc::termios = std::mem::zeroed();
            libc::tcgetattr(slave.as_raw_fd(), &mut settings);
            settings.c_lflag &= !libc::ECHO;
            libc::tcsetattr(slave.as_raw_fd(), libc::TCSANOW, &settings);
        }
        command
            .stdin(slave.try_clone().unwrap())
            .stdout(slave.try_clone().unwrap())
            .stderr(slave);
        use std::os::unix::process::CommandExt;
        // SAFETY: setsid(2) and ioctl(2) are async-signal-safe.
        unsafe {
            command.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().unwrap();
        // The command holds the slave side: only the program may, for its end to close it.
        drop(command);
        let screen = Arc::new((Mutex::new((Vec::new(), false)), Condvar::new()));
        let (sink, mut source) = (screen.clone(), master.try_clone().unwrap());
        std::thread::spawn(move || {
            let mut buffer = [0; 4096];
            loop {
                // EIO once the program's side is closed.
                let n = source.read(&mut buffer).unwrap_or(0);
                let (lock, wake) = &*sink;
                let mut screen = lock.lock().unwrap();
                screen.0.extend_from_slice(&buffer[..n]);
                screen.1 = n == 0;
                wake.notify_all();
                if n == 0 {
                    break;
                }
            }
        });
        Self {
            child,
            master,
            screen,
            read: 0,
        }
    }

    /// Waits until `needle` shows; returns what came before it since the last wait.
    pub fn expect(&mut self, needle: &str) -> String {
        self.wait_for(needle, |shown, _| {
            shown
                .windows(needle.len())
                .position(|w| w == needle.as_bytes())
                .map(|at| (at, at + needle.len()))
        })
    }

    /// Waits until the program's side closes; returns the rest of the screen.
    pub fn expect_end(&mut self) -> String {
        self.wait_for("the end", |shown, closed| {
            closed.then_some((shown.len(), shown.len()))
        })
    }

    /// Waits until `found` finds its span in the screen not read yet (and told whether the
    /// program's side closed); returns the text before.
    fn wait_for(
        &mut self,
        what: &str,
        found: impl Fn(&[u8], bool) -> Option<(usize, usize)>,
    ) -> String {
        let deadline = Instant::now() + TIMEOUT;
        let (lock, wake) = &*self.screen;
        let mut screen = lock.lock().unwrap();
        loop {
            let shown = &screen.0[self.read..];
            if let Some((start, end)) = found(shown, screen.1) {
                let before = String::from_utf8_lossy(&shown[..start]).into_owned();
                self.read += end;
                return before;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "timed out waiting for {what:?}; the screen showed {:?}",
                String::from_utf8_lossy(shown)
            );
            screen = wake.wait_timeout(screen, left).unwrap().0;
        }
    }

    /// Types `line` and Enter.
    pub fn send_line(&mut self, line: &str) {
        self.master
            .write_all(format!("{line}\n").as_bytes())
            .unwrap();
    }

    /// Types Ctrl and `key` (`'c'`, `'d'`).
    pub fn send_control(&mut self, key: char) {
        self.master.write_all(&[key as u8 & 0x1f]).unwrap();
    }

    /// Sends `signal` to the program.
    pub fn signal(&self, signal: i32) {
        assert_eq!(unsafe { libc::kill(self.child.id() as i32, signal) }, 0);
    }

    /// Waits for the program to exit.
    pub fn wait(mut self) -> ExitStatus {
        self.child.wait().unwrap()
    }
}

impl Drop for Terminal {
    /// A test that failed midway leaves no program behind.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
