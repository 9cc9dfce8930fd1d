# A stand-in for terraform: logs one JSON line per call (cwd, TF_* variables, argv; a non-UTF-8
# argument as {"hex": ...}) and exits with FAKE_TF_EXIT_<command>. The shebang is added by the
# test builder, which knows where python3 is.
import json, os, signal, sys, time

def text(raw):
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return {"hex": raw.hex()}

def log(record):
    with open(os.environ["FAKE_TF_LOG"], "a") as f:
        f.write(json.dumps(record) + "\n")

argv = [os.fsencode(a) for a in sys.argv[1:]]
command = sys.argv[1] if len(sys.argv) > 1 else ""
log({
    "program": os.path.basename(sys.argv[0]),
    "cwd": os.getcwd(),
    "argv": [text(a) for a in argv],
    "env": {k: v for k, v in os.environ.items() if k.startswith("TF_")},
    "stdin_tty": os.isatty(0),
    # The signals it was started with ignored (an ignored signal stays ignored across exec).
    "ignored": [s.name for s in (signal.SIGHUP, signal.SIGINT, signal.SIGTERM)
                if signal.getsignal(s) == signal.SIG_IGN],
})
here = os.path.basename(os.getcwd())
# The env, from tfw's data dir (`.terraform/tfw/<env>`).
env = os.path.basename(os.environ.get("TF_DATA_DIR", ""))
def setting(name, default):
    """FAKE_TF_<name>_<command>_<dir>_<env>, else …_<command>_<dir>, else …_<command>: one
    stack, or one (stack, env) pair, can differ."""
    prefix = f"FAKE_TF_{name}_{command}"
    for key in (f"{prefix}_{here}_{env}", f"{prefix}_{here}", prefix):
        if key in os.environ:
            return os.environ[key]
    return default
sys.stdout.write(setting("STDOUT", ""))
sys.stdout.flush()
sys.stderr.write(setting("STDERR", ""))
sys.stderr.flush()
# FAKE_TF_LINES_<command>=N: N numbered lines on stdout and stderr, slowly, so that output of
# parallel runs would interleave if tfw did not group it.
for i in range(int(os.environ.get("FAKE_TF_LINES_" + command, "0"))):
    print(f"{here} out {i}", flush=True)
    print(f"{here} err {i}", file=sys.stderr, flush=True)
    time.sleep(0.05)
# FAKE_TF_OVERLAP_DIR: each running slow call (one with a FAKE_TF_SLEEP_) holds a file there;
# seeing another one while running means two slow calls overlapped.
overlap_dir = ("FAKE_TF_SLEEP_" + command in os.environ) and os.environ.get("FAKE_TF_OVERLAP_DIR")
if overlap_dir:
    mine = os.path.join(overlap_dir, str(os.getpid()))
    open(mine, "w").close()
time.sleep(float(os.environ.get("FAKE_TF_SLEEP_" + command, "0")))
if overlap_dir:
    if len(os.listdir(overlap_dir)) > 1:
        log({"overlap": command})
    os.remove(mine)

# FAKE_TF_APPEND_<command>=FILE: append a line to FILE while running (an edit during init).
if "FAKE_TF_APPEND_" + command in os.environ:
    with open(os.environ["FAKE_TF_APPEND_" + command], "a") as f:
        f.write("# edited while terraform ran\n")

# FAKE_TF_HOLD_<command>=FILE (or FAKE_TF_HOLD_<command>_<dir name>, for one stack): say so
# in FAKE_TF_READY, then run until FILE exists.
hold = os.environ.get(f"FAKE_TF_HOLD_{command}_{here}", os.environ.get("FAKE_TF_HOLD_" + command))
if hold:
    open(os.environ["FAKE_TF_READY"], "w").close()
    deadline = time.time() + 30
    while time.time() < deadline and not os.path.exists(hold):
        time.sleep(0.02)

# FAKE_TF_INSTALL=<source>/<version>/<platform>: init installs that provider into the plugin
# cache, as terraform unpacks a download there.
if command == "init" and "FAKE_TF_INSTALL" in os.environ:
    entry = os.path.join(os.environ["TF_PLUGIN_CACHE_DIR"], os.environ["FAKE_TF_INSTALL"])
    os.makedirs(entry, exist_ok=True)
    open(os.path.join(entry, "terraform-provider"), "w").close()

if "FAKE_TF_KILL_" + command in os.environ:
    os.kill(os.getpid(), int(os.environ["FAKE_TF_KILL_" + command]))

if os.environ.get("FAKE_TF_BLOCK") == command:
    # Wait for a signal like terraform does: log each one, stop gracefully a moment after the
    # first, so that a duplicate forwarded by tfw would be caught in the log.
    got = []
    def on_signal(number, frame):
        got.append(number)
        log({"signal": signal.Signals(number).name})
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    with open(os.environ["FAKE_TF_READY"], "w") as f:
        f.write(str(os.getpid()))
    deadline = time.time() + 20
    while time.time() < deadline and not got:
        time.sleep(0.02)
    # FAKE_TF_STAY=FILE: keep stopping (as terraform does for a while) until FILE exists.
    stay = os.environ.get("FAKE_TF_STAY")
    while stay and time.time() < deadline and not os.path.exists(stay):
        time.sleep(0.02)
    time.sleep(0.5)
    sys.exit(1)

# FAKE_TF_EXIT_<command>[_<dir name>[_<env>]]: one stack, or one pair, can fail alone.
sys.exit(int(setting("EXIT", "0")))
