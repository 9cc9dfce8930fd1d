//! What an `--all` run says while it runs: at a terminal a live block (one line per running
//! pair with its time, a counter, failures so far), redrawn in place; elsewhere a plain line
//! per finished pair and a heartbeat while something runs, so a CI log never looks hung.

use crate::terraform::signals;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// How often a log without a terminal hears that pairs still run; `TFW_HEARTBEAT_SECONDS`
/// changes it (for tests).
const HEARTBEAT: Duration = Duration::from_secs(30);

pub struct Progress {
    total: usize,
    /// Redraw a live block on stderr (a terminal, several jobs).
    live: bool,
    /// Say nothing of tfw's own but the headers and the captured output.
    quiet: bool,
    heartbeat: Duration,
    state: Mutex<State>,
    /// Wakes the ticker at the end, so the run does not wait out its sleep.
    wake: Condvar,
}

struct State {
    started: usize,
    done: usize,
    failed: usize,
    running: Vec<(String, Instant)>,
    /// Lines of the live block on screen, and when it was drawn.
    drawn: usize,
    drawn_at: Instant,
    /// When the log last heard of the run.
    said: Instant,
    /// The interrupt was acknowledged.
    told_interrupt: bool,
    over: bool,
}

impl Progress {
    pub fn new(total: usize, live: bool, quiet: bool) -> Self {
        let heartbeat = crate::terraform::invocation::inherited("TFW_HEARTBEAT_SECONDS")
            .and_then(|v| v.to_str()?.parse::<f64>().ok())
            .filter(|s| *s > 0.0)
            .map_or(HEARTBEAT, Duration::from_secs_f64);
        Self {
            total,
            live,
            quiet,
            heartbeat,
            state: Mutex::new(State {
                started: 0,
                done: 0,
                failed: 0,
                running: Vec::new(),
                drawn: 0,
                drawn_at: Instant::now(),
                said: Instant::now(),
                told_interrupt: false,
                over: false,
            }),
            wake: Condvar::new(),
        }
    }

    /// A pair starts; returns its position (`3` of `(3/10)`).
    pub fn start(&self, label: &str) -> (usize, usize) {
        let mut state = self.state.lock().unwrap();
        state.started += 1;
        state.running.push((label.to_string(), Instant::now()));
        self.redraw(&mut state);
        (state.started, self.total)
    }

    /// A pair finished: its captured output printed whole (under its header), and without a
    /// terminal a line saying how it ended.
    pub fn finish(&self, label: &str, captured: Option<&[u8]>, cell: &str, failed: bool) {
        let mut state = self.state.lock().unwrap();
        state.done += 1;
        state.failed += usize::from(failed);
        let took = state
            .running
            .iter()
            .position(|(l, _)| l == label)
            .map(|i| state.running.remove(i).1.elapsed());
        self.clear(&mut state);
        if let Some(captured) = captured {
            let mut whole = format!("==> {label}\n").into_bytes();
            whole.extend_from_slice(captured);
            crate::console::relay(&whole);
        }
        if !self.live && !self.quiet {
            let took = took.map_or(String::new(), |t| format!(" in {:.1} s", t.as_secs_f64()));
            crate::console::note(&format!(
                "tfw: [{}/{}] {label}: {cell}{took}\n",
                state.done, self.total
            ));
            state.said = Instant::now();
        }
        self.redraw(&mut state);
    }

    /// Until `over`: redraws the live block each second, writes the heartbeat, and says once
    /// what an interrupt waits for.
    pub fn tick(&self) {
        let mut state = self.state.lock().unwrap();
        loop {
            state = self
                .wake
                .wait_timeout(state, Duration::from_millis(100))
                .unwrap()
                .0;
            if state.over {
                return;
            }
            if signals::interrupted() && !state.told_interrupt && !state.running.is_empty() {
                state.told_interrupt = true;
                self.clear(&mut state);
                crate::console::note(&format!(
                    "tfw: interrupted: waiting for {} to stop; starting no other (a second Ctrl-C is passed on to terraform, which then stops at once)\n",
                    names(&state.running)
                ));
                state.said = Instant::now();
            }
            if self.live {
                if state.drawn_at.elapsed() >= Duration::from_secs(1) {
                    self.redraw(&mut state);
                }
            } else if !self.quiet
                && !state.running.is_empty()
                && state.said.elapsed() >= self.heartbeat
            {
                let oldest = state.running.iter().map(|(_, t)| t.elapsed()).max();
                crate::console::note(&format!(
                    "tfw: [{}/{}] still running ({:.0} s): {}\n",
                    state.done,
                    self.total,
                    oldest.unwrap_or_default().as_secs_f64(),
                    names(&state.running)
                ));
                state.said = Instant::now();
            }
        }
    }

    /// The run is over: the live block goes, the ticker stops.
    pub fn end(&self) {
        let mut state = self.state.lock().unwrap();
        state.over = true;
        self.clear(&mut state);
        self.wake.notify_all();
    }

    fn redraw(&self, state: &mut State) {
        if !self.live || state.over {
            return;
        }
        self.clear(state);
        let mut text = String::new();
        for (label, started) in &state.running {
            text.push_str(&format!(
                "    running {label} ({:.0} s)\n",
                started.elapsed().as_secs_f64()
            ));
        }
        let failed = match state.failed {
            0 => String::new(),
            n => format!(", {n} failed"),
        };
        text.push_str(&format!("[{}/{}] done{failed}", state.done, self.total));
        state.drawn = state.running.len() + 1;
        state.drawn_at = Instant::now();
        crate::console::note(&text);
    }

    fn clear(&self, state: &mut State) {
        if !self.live || state.drawn == 0 {
            return;
        }
        let up = match state.drawn - 1 {
            0 => String::new(),
            n => format!("\x1b[{n}A"),
        };
        crate::console::note(&format!("\r{up}\x1b[J"));
        state.drawn = 0;
    }
}

fn names(running: &[(String, Instant)]) -> String {
    running
        .iter()
        .map(|(label, _)| label.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
