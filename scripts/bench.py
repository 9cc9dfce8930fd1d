"""Warm `tfw stg plan` against direct terraform and the terraform.sh baseline (see scripts/bench)."""
import os, shutil, statistics, subprocess, sys, tempfile, time

runs = int(sys.argv[1])
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
terraform, tfw = os.environ["TERRAFORM"], os.environ["TFW"]

work = tempfile.mkdtemp(prefix="tfw-bench-")
stack = os.path.join(work, "stack")
shutil.copytree(os.path.join(root, "examples/quickstart"), stack,
                ignore=shutil.ignore_patterns(".terraform", "state", "datadog"))
bin_dir = os.path.join(work, "bin")
os.mkdir(bin_dir)
os.symlink(terraform, os.path.join(bin_dir, "terraform"))
env = {"PATH": bin_dir + ":/usr/bin:/bin", "HOME": work, "TF_IN_AUTOMATION": "1"}

commands = {
    "tfw stg plan": [tfw, "-q", "stg", "plan", "-input=false"],
    "terraform plan (direct)": ["terraform", "plan", "-var-file=stg.tfvars", "-input=false"],
    "terraform.sh stg plan": [os.path.join(root, "scripts/baseline/terraform.sh"), "stg", "plan",
                              "-input=false"],
}

def run(name):
    argv = commands[name]
    # The direct run uses the data dir tfw keeps for stg, set the way tfw sets it.
    run_env = dict(env, TF_DATA_DIR=".terraform/tfw/stg") if "direct" in name else env
    start = time.perf_counter()
    subprocess.run(argv, cwd=stack, env=run_env, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start

for name in commands:  # warm up: tfw records its init, caches fill
    run(name)
times = {name: [] for name in commands}
for _ in range(runs):
    for name in commands:
        times[name].append(run(name))

median = {name: statistics.median(t) for name, t in times.items()}
print(f"{'command':<26} {'median':>9} {'min':>9} {'max':>9}  ({runs} runs each, interleaved)")
for name, t in times.items():
    print(f"{name:<26} {median[name]*1000:>7.1f}ms {min(t)*1000:>7.1f}ms {max(t)*1000:>7.1f}ms")
tfw_time = median["tfw stg plan"]
print(f"tfw / direct terraform:   {tfw_time / median['terraform plan (direct)']:.3f}  (target <= 1.05)")
print(f"tfw / terraform.sh:       {tfw_time / median['terraform.sh stg plan']:.3f}  (target <= 0.5)")
shutil.rmtree(work)
