//! tfw's caches: kept where they help, and never the reason an answer differs.

use crate::common::Test;

/// Two s3 stacks whose backend files are also var files (as real repositories pass them).
fn backend_files_that_are_var_files() -> Test {
    let test = ["a", "b"].iter().fold(
        Test::new().write("tfw.toml", "var_files = [\"{env}.s3.tfbackend\"]\n"),
        |test, stack| {
            test.write(
                &format!("{stack}/main.tf"),
                &format!(
                    "variable \"bucket\" {{}}\nterraform {{\n  backend \"s3\" {{\n    key = \"{stack}.tfstate\"\n  }}\n}}\n"
                ),
            )
            .write(&format!("{stack}/dev.s3.tfbackend"), "bucket = \"bkt\"\n")
        },
    );
    test.git(&["init", "-q"]);
    test.git(&["add", "-A"]);
    test.git(&["commit", "-qm", "stacks"]);
    test
}

#[test]
fn one_content_read_as_a_backend_file_and_as_a_var_file_is_parsed_as_each() {
    let test = backend_files_that_are_var_files();
    test.run_with(["check"]).status(0);
    test.run_with(["check"]).status(0);
    let test = test.write(
        "b/main.tf",
        "variable \"bucket\" {}\nterraform {\n  backend \"s3\" {\n    key = \"a.tfstate\"\n  }\n}\n",
    );
    let shared = [
        "a/dev.s3.tfbackend: same state as b/dev.s3.tfbackend (s3 bucket=bkt key=a.tfstate workspace_key_prefix=env:): one would overwrite the other",
        "b/dev.s3.tfbackend: same state as a/dev.s3.tfbackend (s3 bucket=bkt key=a.tfstate workspace_key_prefix=env:): one would overwrite the other",
    ];
    assert_eq!(
        test.run_with(["check"]).status(1).stdout(),
        shared.join("\n") + "\n"
    );
    test.git(&["commit", "-qam", "same key"]);
    assert_eq!(
        test.run_with(["check"]).status(1).stdout(),
        shared.join("\n") + "\n"
    );
}

#[test]
fn results_are_kept_when_an_optional_var_file_outside_the_stack_is_absent() {
    let test = Test::new()
        .write(
            "tfw.toml",
            "var_files = [\"{env}.tfvars\", { path = \"{root}/shared/{env}.tfvars\", optional = true }]\n",
        )
        .write("app/main.tf", "terraform {\n  backend \"local\" {}\n}\n")
        .write("app/stg.tfbackend", "path = \"stg.tfstate\"\n")
        .write("app/stg.tfvars", "")
        .write("shared/README", "");
    test.git(&["init", "-q"]);
    test.git(&["add", "-A"]);
    test.age_and_stage(1);
    test.run_with(["check"]).status(0);
    assert!(test.path(".git/tfw-check-results").exists(), "kept");
    // Kept results answer: nothing is parsed, so the parse cache is not written again.
    std::fs::remove_file(test.path(".git/tfw-check-cache")).unwrap();
    test.run_with(["check"]).status(0);
    assert!(!test.path(".git/tfw-check-cache").exists());
    // The absent file appearing is a change of input.
    let test = test.write("shared/stg.tfvars", "env = \"x\"\n");
    let run = test.run_with(["check"]).status(1);
    assert_eq!(
        run.stdout(),
        "shared/stg.tfvars: exists but is not tracked by git (env stg): git add it\nshared/stg.tfvars:1: env is not a variable of this stack\n"
    );
}

#[test]
fn a_symlinked_stack_left_out_by_a_sparse_checkout_is_not_broken() {
    let mut test = Test::new()
        .write("main.tf", "terraform {\n  backend \"local\" {}\n}\n")
        .write("stg.tfbackend", "path = \"root.tfstate\"\n")
        .write("stg.tfvars", "");
    for stack in ["datadog", "metabase"] {
        test = test
            .write(
                &format!("stacks-src/{stack}/main.tf"),
                "terraform {\n  backend \"local\" {}\n}\n",
            )
            .write(
                &format!("stacks-src/{stack}/stg.tfbackend"),
                "path = \"stg.tfstate\"\n",
            )
            .write(&format!("stacks-src/{stack}/stg.tfvars"), "");
        std::os::unix::fs::symlink(format!("stacks-src/{stack}"), test.path(stack)).unwrap();
    }
    std::os::unix::fs::symlink("stacks-src/nowhere", test.path("gone")).unwrap();
    test.git(&["init", "-q"]);
    test.git(&["add", "-A"]);
    test.git(&["commit", "-qm", "stacks"]);
    test.git(&["sparse-checkout", "set", "--cone", "stacks-src/datadog"]);
    assert!(!test.path("stacks-src/metabase").exists());
    let run = test.run_with(["check"]).status(1);
    assert_eq!(
        run.stdout(),
        "gone: broken symlink (points to stacks-src/nowhere)\n",
        "only the link to what git does not hold is broken"
    );
}

/// A small xorshift generator: the same seed, the same bytes (no dependency for it).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

/// The seed of a randomised test: `TFW_TEST_SEED` when set, else one from the clock (printed
/// on failure by the caller).
pub fn seed() -> u64 {
    std::env::var("TFW_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        })
}

/// What tfw answers, with caches and without (`TFW_NO_CACHE`), for the commands whose answers
/// caches speed up.
pub fn answers(test: &Test, commands: &[&[&str]], cached: bool) -> String {
    let mut all = String::new();
    for args in commands {
        let mut command = test.command();
        command.args(*args);
        if !cached {
            command.env("TFW_NO_CACHE", "1");
        }
        let output = command.output().unwrap();
        all.push_str(&format!(
            "$ tfw {}\n[{}]\n{}{}",
            args.join(" "),
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    all
}

#[test]
fn a_flipped_byte_in_any_cache_never_changes_an_answer() {
    let test = crate::common::Test::new()
        .write("tfw.toml", "")
        .files("", crate::common::STACK)
        .files("datadog/", crate::common::STACK)
        .write("datadog/stg.tfbackend", "path = \"state/d-stg.tfstate\"\n")
        .write("datadog/dev.tfbackend", "path = \"state/d-stg.tfstate\"\n")
        .write("datadog/prd.tfbackend", "path = \"state/d-prd.tfstate\"\n")
        .write("datadog/stg.tfvars", "env = \"stg\"\nsize = 3\n");
    test.git(&["init", "-q"]);
    test.git(&["add", "-A"]);
    test.git(&["commit", "-qm", "stacks"]);
    test.age_and_stage(1);
    let commands: &[&[&str]] = &[
        &["check"],
        &["stacks"],
        &["affected", "--base", "HEAD", "--format", "json"],
        &["affected", "--base", "HEAD", "--head", "HEAD"],
    ];
    let truth = answers(&test, commands, false);
    assert!(truth.contains("same state as"), "{truth}");
    assert_eq!(answers(&test, commands, true), truth, "caches written");
    let caches: Vec<std::path::PathBuf> = std::fs::read_dir(test.path(".git"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with("tfw-") && name != "tfw-key"
        })
        .collect();
    assert!(caches.len() >= 3, "{caches:?}");
    let seed = seed();
    let mut rng = Rng::new(seed);
    for trial in 0..12 {
        let cache = &caches[trial % caches.len()];
        let mut bytes = std::fs::read(cache).unwrap();
        let at = rng.below(bytes.len());
        bytes[at] ^= 1 << rng.below(8);
        std::fs::write(cache, &bytes).unwrap();
        assert_eq!(
            answers(&test, commands, true),
            truth,
            "seed {seed}: byte {at} of {} flipped",
            cache.display()
        );
    }
}
