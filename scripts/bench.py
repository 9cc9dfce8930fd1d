"""The benchmarks behind scripts/bench: medians of interleaved runs, and their ratios."""
import os, shutil, statistics, subprocess, sys, tempfile, time

what, runs = sys.argv[1], int(sys.argv[2])
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
tfw = os.environ["TFW"]
work = tempfile.mkdtemp(prefix="tfw-bench-")
# The size of the generated repository (`TFW_BENCH_STACKS`, default 1,000 stacks).
stack_count = int(os.environ.get("TFW_BENCH_STACKS", "1000"))


def timed(argv, cwd, env, before=None):
    if before:
        before()
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def compare(cases, cwd):
    """cases: name -> (argv, env, before). Warm up once, then run interleaved."""
    for argv, env, before in cases.values():
        timed(argv, cwd, env, before)
    times = {name: [] for name in cases}
    for _ in range(runs):
        for name, (argv, env, before) in cases.items():
            times[name].append(timed(argv, cwd, env, before))
    print(f"{'command':<34} {'median':>9} {'min':>9} {'max':>9}  ({runs} runs each, interleaved)")
    for name, t in times.items():
        print(f"{name:<34} {statistics.median(t)*1000:>7.1f}ms {min(t)*1000:>7.1f}ms {max(t)*1000:>7.1f}ms")
    return {name: statistics.median(t) for name, t in times.items()}


def bench_init():
    terraform = os.environ["TERRAFORM"]
    stack = os.path.join(work, "stack")
    shutil.copytree(os.path.join(root, "examples/quickstart"), stack,
                    ignore=shutil.ignore_patterns(".terraform", "state", "datadog"))
    bin_dir = os.path.join(work, "bin")
    os.mkdir(bin_dir)
    os.symlink(terraform, os.path.join(bin_dir, "terraform"))
    env = {"PATH": bin_dir + ":/usr/bin:/bin", "HOME": work, "TF_IN_AUTOMATION": "1"}
    # The direct run uses the data dir tfw keeps for stg, set the way tfw sets it.
    direct_env = dict(env, TF_DATA_DIR=".terraform/tfw/stg")
    sh = os.path.join(root, "scripts/baseline/terraform.sh")
    median = compare({
        "tfw stg plan": ([tfw, "-q", "stg", "plan", "-input=false"], env, None),
        "terraform plan (direct)": (["terraform", "plan", "-var-file=stg.tfvars", "-input=false"], direct_env, None),
        "terraform.sh stg plan": ([sh, "stg", "plan", "-input=false"], env, None),
    }, stack)
    print(f"tfw / direct terraform: {median['tfw stg plan'] / median['terraform plan (direct)']:.3f}  (target <= 1.05)")
    print(f"tfw / terraform.sh:     {median['tfw stg plan'] / median['terraform.sh stg plan']:.3f}  (target <= 0.5)")


def generate(repo, stacks=1000, others=30000, envs=("dev", "stg", "prd", "qa"), links=False):
    """A git repo of `stacks` stacks x len(envs) envs among `others` other files. With `links`,
    one stack in ten calls one of two local modules and one in twenty reads another's state."""
    for i in range(stacks):
        d = os.path.join(repo, f"team{i % 20:02d}", f"stack{i:04d}")
        os.makedirs(d)
        with open(os.path.join(d, "main.tf"), "w") as f:
            f.write('terraform {\n  backend "s3" {}\n}\n\nvariable "env" {}\n'
                    'variable "replicas" {\n  type = number\n}\n'
                    'variable "region" {\n  type    = string\n  default = "eu-west-1"\n}\n'
                    'variable "size" {\n  type = string\n}\n'
                    'variable "tags" {\n  type = map(string)\n}\n')
            if links and i % 10 < 2:
                module = ("net", "app")[i % 10]
                f.write(f'module "{module}" {{\n  source = "../../modules/{module}"\n}}\n')
            if links and i % 20 == 5:
                j = i - 5
                f.write('data "terraform_remote_state" "upstream" {\n  backend = "s3"\n'
                        '  config = {\n    bucket = "state-${var.env}"\n'
                        f'    key    = "team{j % 20:02d}/stack{j:04d}/terraform.tfstate"\n'
                        '    region = "eu-west-1"\n  }\n}\n')
        for e in envs:
            with open(os.path.join(d, f"{e}.tfvars"), "w") as f:
                f.write(f'env      = "{e}"\nreplicas = {i % 5 + 1}\nregion   = "eu-west-1"\n'
                        f'size     = "small"\ntags     = {{ team = "t{i % 20}" }}\n')
            with open(os.path.join(d, f"{e}.tfbackend"), "w") as f:
                f.write(f'bucket = "state-{e}"\nkey    = "team{i % 20:02d}/stack{i:04d}/terraform.tfstate"\n'
                        f'region = "eu-west-1"\n')
    if links:
        for module in ("net", "app"):
            os.makedirs(os.path.join(repo, "modules", module))
            with open(os.path.join(repo, "modules", module, "main.tf"), "w") as f:
                f.write('variable "name" {\n  default = "x"\n}\n')
    for j in range(others):
        d = os.path.join(repo, "src", f"pkg{j % 300:03d}")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, f"file{j:05d}.py"), "w") as f:
            f.write(f"x = {j}\n")
    git = ["git", "-c", "user.email=bench@example.com", "-c", "user.name=bench"]
    subprocess.run(git + ["init", "-q", repo], check=True)
    subprocess.run(git + ["-C", repo, "add", "-A"], check=True)
    subprocess.run(git + ["-C", repo, "commit", "-qm", "generated"], check=True)


def bench_check():
    repo = os.path.join(work, "repo")
    generate(repo, stacks=stack_count)
    print(f"{stack_count} stacks x 4 envs among 30,000 other files")
    env = {"PATH": "/usr/bin:/bin", "HOME": work}
    caches = [os.path.join(repo, ".git", name)
              for name in ("tfw-check-cache", "tfw-check-results", "tfw-listing-cache", "tfw-affected-models")]
    forget = lambda: [os.remove(c) for c in caches if os.path.exists(c)]
    baseline = os.path.join(root, "scripts/baseline/check.sh")
    # The repository is clean: a check that reports anything measures the wrong thing.
    result = subprocess.run([tfw, "check"], cwd=repo, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[:2000] + result.stderr[:2000]
    # Git refreshes stat data lazily; a repository in use has had `git status` run in it.
    subprocess.run(["git", "-C", repo, "update-index", "-q", "--refresh"], check=True)
    median = compare({
        "find+bash (check 1 only)": ([baseline, "dev stg prd qa"], env, None),
        "tfw check (all checks)": ([tfw, "check"], env, None),
        "tfw check, no caches (cold)": ([tfw, "check"], env, forget),
        "tfw stacks": ([tfw, "stacks"], env, None),
        "tfw --all --dry-run stg plan": ([tfw, "--all", "--dry-run", "stg", "plan"], env, None),
    }, repo)
    base = median["find+bash (check 1 only)"]
    print(f"tfw check / find+bash:        {median['tfw check (all checks)'] / base:.3f}  (target <= 0.25, with variables 0.3)")
    print(f"tfw check cold / find+bash:   {median['tfw check, no caches (cold)'] / base:.3f}  (every file read and parsed; target <= 1.5)")
    print(f"tfw stacks / find+bash:       {median['tfw stacks'] / base:.3f}  (target <= 0.3)")
    print(f"tfw --all --dry-run / find+bash: {median['tfw --all --dry-run stg plan'] / base:.3f}  (target <= 0.3)")


def generate_tfscaffold(repo):
    """14 components x 16 envs sharing etc/global.tfvars, etc/group_<g>.tfvars and
    etc/env_<region>_<env>.tfvars (30-50 keys each), each component declaring its own subset:
    the shape of tests/it/layouts.rs's tfscaffold fixture."""
    groups = ["dev", "test", "stage", "prod"]
    envs = [(f"{groups[i % 4]}{i // 4 + 1:02}", groups[i % 4]) for i in range(16)]

    def write(path, text):
        path = os.path.join(repo, path)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)

    values = lambda prefix, count: "".join(f'{prefix}{i} = "v"\n' for i in range(count))
    write("etc/global.tfvars", values("g", 40))
    for group in groups:
        write(f"etc/group_{group}.tfvars", values("grp", 30))
    for env, _ in envs:
        write(f"etc/env_eu-west-2_{env}.tfvars", values("e", 50))
    for c in range(14):
        text = 'terraform {\n  backend "s3" {}\n}\n'
        for prefix, count in (("g", 40), ("grp", 30), ("e", 50)):
            for i in range(count):
                if i % 14 in (c, (c + 1) % 14):
                    text += f'variable "{prefix}{i}" {{\n  default = ""\n}}\n'
        write(f"components/c{c:02}/main.tf", text)
    config = ('backend_config = false\n'
              'backend = { bucket = "tfscaffold-{env}", key = "{stack}/terraform.tfstate" }\n'
              'var_files = ["{root}/etc/env_eu-west-2_{env}.tfvars"]\n')
    for env, group in envs:
        config += (f'[environments."{env}"]\nvar_files = ["{{root}}/etc/global.tfvars", '
                   f'"{{root}}/etc/group_{group}.tfvars", "{{root}}/etc/env_eu-west-2_{{env}}.tfvars"]\n')
    write("tfw.toml", config)
    for argv in (["init", "-q"], ["add", "-A"], ["-c", "user.name=b", "-c", "user.email=b@b",
                                                 "commit", "-qm", "tfscaffold"]):
        subprocess.run(["git", "-C", repo] + argv, check=True)


def bench_tfscaffold():
    repo = os.path.join(work, "tfscaffold")
    generate_tfscaffold(repo)
    env = {"PATH": "/usr/bin:/bin", "HOME": work}
    caches = [os.path.join(repo, ".git", name)
              for name in ("tfw-check-cache", "tfw-check-results", "tfw-listing-cache")]
    forget = lambda: [os.remove(c) for c in caches if os.path.exists(c)]
    result = subprocess.run([tfw, "check"], cwd=repo, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[:2000] + result.stderr[:2000]
    median = compare({
        "tfw check, no caches (cold)": ([tfw, "check"], env, forget),
        "tfw check (warm)": ([tfw, "check"], env, None),
    }, repo)
    print(f"tfscaffold 14 x 16 cold: {median['tfw check, no caches (cold)'] * 1000:.0f} ms  (target < 1000 ms)")


def bench_affected():
    repo = os.path.join(work, "repo")
    generate(repo, stacks=stack_count, links=True)
    print(f"{stack_count} stacks x 4 envs among 30,000 other files")
    env = {"PATH": "/usr/bin:/bin", "HOME": work}
    # A pull request touching ten files: two local modules, three env files, five .tf files.
    touched = ["modules/net/main.tf", "modules/app/main.tf", "team01/stack0001/prd.tfvars",
               "team02/stack0002/stg.tfbackend", "team03/stack0003/dev.tfvars"]
    touched += [f"team{i % 20:02d}/stack{i:04d}/main.tf" for i in range(20, 25)]
    for path in touched:
        with open(os.path.join(repo, path), "a") as f:
            f.write("\n# changed\n")
    git = ["git", "-c", "user.email=bench@example.com", "-c", "user.name=bench", "-C", repo]
    subprocess.run(git + ["commit", "-qam", "ten files"], check=True)
    subprocess.run(git + ["update-index", "-q", "--refresh"], check=True)
    result = subprocess.run([tfw, "affected", "--base", "HEAD~1", "--head", "HEAD"], cwd=repo,
                            env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[:2000]
    print(f"tfw affected: {len(result.stdout.splitlines())} pairs")
    median = compare({
        "git diff --name-only": (["git", "diff", "--name-only", "HEAD~1", "HEAD"], env, None),
        "tfw affected": ([tfw, "affected", "--base", "HEAD~1", "--head", "HEAD"], env, None),
        "git diff --name-only (working tree)": (["git", "diff", "--name-only", "HEAD~1"], env, None),
        "tfw affected (working tree)": ([tfw, "affected", "--base", "HEAD~1"], env, None),
    }, repo)
    ratio = median["tfw affected"] / median["git diff --name-only"]
    print(f"tfw affected / git diff: {ratio:.2f}  (target <= 3)")
    # git's own answer for the working tree stats every tracked file, as tfw's does.
    for against in ["git diff --name-only", "git diff --name-only (working tree)"]:
        ratio = median["tfw affected (working tree)"] / median[against]
        print(f"tfw affected (working tree) / {against}: {ratio:.2f}  (target <= 3)")
    models = os.path.join(repo, ".git", "tfw-affected-models")

    def forget():
        if os.path.exists(models):
            os.remove(models)

    compare({"tfw affected (working tree), no kept model": (
        [tfw, "affected", "--base", "HEAD~1"], env, forget)}, repo)


AWS_MAIN = open(os.path.join(root, "tests/fixtures/aws-stack.tf")).read()


def bench_providers():
    """6 stacks x 3 envs with the real AWS provider from a packed mirror (a zip, extracted on
    every install as a registry download is): the first pass of inits, its time and disk."""
    terraform = os.environ["TERRAFORM"]
    unpacked = os.environ.get("TFW_E2E_PROVIDER_MIRROR", "/opt/tf-plugins")
    provider = os.path.join(unpacked, "registry.terraform.io/hashicorp/aws/5.100.0/linux_amd64")
    if not os.path.isdir(provider):
        print(f"no AWS provider mirror at {unpacked}: skipped")
        return
    import zipfile
    mirror = os.path.join(work, "mirror")
    zdir = os.path.join(mirror, "registry.terraform.io/hashicorp/aws")
    os.makedirs(zdir)
    with zipfile.ZipFile(os.path.join(zdir, "terraform-provider-aws_5.100.0_linux_amd64.zip"), "w") as z:
        for name in sorted(os.listdir(provider)):
            z.write(os.path.join(provider, name), name)
    rc = os.path.join(work, "terraform.rc")
    with open(rc, "w") as f:
        f.write(f'provider_installation {{\n  filesystem_mirror {{\n    path = "{mirror}"\n  }}\n}}\n')
    bin_dir = os.path.join(work, "bin")
    os.mkdir(bin_dir)
    os.symlink(terraform, os.path.join(bin_dir, "terraform"))
    envs, stacks = ("stg", "dev", "qa"), [f"s{i}" for i in range(6)]

    def fresh(name):
        repo = os.path.join(work, name)
        for stack in stacks:
            d = os.path.join(repo, stack)
            os.makedirs(d)
            with open(os.path.join(d, "main.tf"), "w") as f:
                f.write(AWS_MAIN)
            for e in envs:
                with open(os.path.join(d, f"{e}.tfbackend"), "w") as f:
                    f.write(f'path = "state/{e}.tfstate"\n')
        with open(os.path.join(repo, "tfw.toml"), "w") as f:
            f.write("var_files = []\n")
        subprocess.run([terraform, "providers", "lock", f"-fs-mirror={mirror}", "-platform=linux_amd64"],
                       cwd=os.path.join(repo, stacks[0]), env=dict(base, HOME=repo), check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for stack in stacks[1:]:
            shutil.copy(os.path.join(repo, stacks[0], ".terraform.lock.hcl"), os.path.join(repo, stack))
        return repo

    def disk(path):
        out = subprocess.run(["du", "-sb", path], capture_output=True, text=True).stdout
        return int(out.split()[0])

    base = {"PATH": bin_dir + ":/usr/bin:/bin", "TF_CLI_CONFIG_FILE": rc, "TF_IN_AUTOMATION": "1"}

    def tfw_pass(jobs, cache):
        def run(repo):
            env = dict(base, HOME=repo, TFW_PLUGIN_CACHE="" if cache else "false")
            for e in envs:
                subprocess.run([tfw, "-q", "--all", "-j", str(jobs), e, "init", "-input=false"], cwd=repo, env=env,
                               check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return run

    def script_pass(cache):
        def run(repo):
            env = dict(base, HOME=repo)
            if cache:
                env["TF_PLUGIN_CACHE_DIR"] = os.path.join(repo, ".cache")
                os.makedirs(env["TF_PLUGIN_CACHE_DIR"])
            for stack in stacks:
                for e in envs:
                    subprocess.run(["terraform", "init", "-reconfigure", f"-backend-config={e}.tfbackend", "-input=false"],
                                   cwd=os.path.join(repo, stack), env=env, check=True,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return run

    cases = {
        "tfw -j 1 (its cache)": tfw_pass(1, True),
        "tfw -j 2 (its cache)": tfw_pass(2, True),
        "tfw -j 2, no cache": tfw_pass(2, False),
        "terraform.sh pattern": script_pass(False),
        "terraform.sh + TF_PLUGIN_CACHE_DIR": script_pass(True),
    }
    times, disks = {n: [] for n in cases}, {}
    for i in range(runs):
        for name, run in cases.items():
            repo = fresh(f"{name.split()[0]}-{len(times[name])}-{abs(hash(name))}")
            start = time.perf_counter()
            run(repo)
            times[name].append(time.perf_counter() - start)
            disks[name] = disk(repo)
            shutil.rmtree(repo, ignore_errors=True)
    copy = disk(provider)
    print(f"6 stacks x 3 envs, first pass of inits ({runs} run(s) each, interleaved); one extracted copy is {copy / 1e9:.2f} GB")
    print(f"{'setup':<36} {'median':>9} {'disk':>9}")
    for name in cases:
        print(f"{name:<36} {statistics.median(times[name]):>8.1f}s {disks[name] / 1e9:>7.2f}GB")
    j1, j2 = statistics.median(times["tfw -j 1 (its cache)"]), statistics.median(times["tfw -j 2 (its cache)"])
    print(f"disk / one copy: {disks['tfw -j 2 (its cache)'] / copy:.2f}  (target <= 1.1)")
    print(f"-j 2 / -j 1:     {j2 / j1:.2f}  (target <= 0.65)")


try:
    {"init": bench_init, "check": bench_check, "affected": bench_affected,
     "providers": bench_providers, "tfscaffold": bench_tfscaffold}[what]()
finally:
    shutil.rmtree(work, ignore_errors=True)
