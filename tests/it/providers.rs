//! `tfw providers`: what the lock files pin, version skew, and the plugin cache.

use crate::common::{STACK, Test, platform};

fn lock(version: &str) -> String {
    format!(
        "provider \"registry.terraform.io/hashicorp/aws\" {{\n  version = \"{version}\"\n  hashes = [\"h1:AAAA=\"]\n}}\n"
    )
}

fn repo() -> Test {
    Test::new()
        .write("tfw.toml", "plugin_cache = \"{root}/plugins\"\n")
        .files("app/", STACK)
        .write("app/.terraform.lock.hcl", &lock("5.100.0"))
        .files("net/", STACK)
        .write("net/.terraform.lock.hcl", &lock("5.90.0"))
        .files("dns/", STACK)
        .write(
            &format!(
                "plugins/registry.terraform.io/hashicorp/aws/5.100.0/{}/terraform-provider-aws",
                platform()
            ),
            "0123456789",
        )
        .env("TFW_PLUGIN_CACHE", "")
}

#[test]
fn providers_by_version_and_stack_with_skew_and_the_cache() {
    let test = repo();
    let run = test.run_with(["providers"]).status(0);
    let cache = test.path("plugins");
    assert_eq!(
        run.stdout(),
        format!(
            "registry.terraform.io/hashicorp/aws  (version skew between stacks)\n  5.100.0    cached   app\n  5.90.0     missing  net\ndns: no .terraform.lock.hcl\ncache: {} (0.0 MB)\n",
            cache.display()
        )
    );
    let run = test.run_with(["providers", "--format", "json"]).status(0);
    let json: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
    assert_eq!(json["providers"][0]["skew"], true);
    assert_eq!(json["providers"][0]["versions"][0]["stacks"][0], "app");
    assert_eq!(json["unlocked"][0], "dns");
    assert_eq!(json["cache"]["bytes"], 10);
}

#[test]
fn check_fails_on_skew_only() {
    repo()
        .run_with(["providers", "--check"])
        .status(1)
        .stderr_contains("stacks lock different versions of registry.terraform.io/hashicorp/aws");
    repo()
        .write("net/.terraform.lock.hcl", &lock("5.100.0"))
        .run_with(["providers", "--check"])
        .status(0);
}

/// A committed stack using the AWS provider, with `lock` as its lock file (none when `None`),
/// under `settings` (tfw.toml).
fn checked(settings: &str, lock: Option<&str>, commit_lock: bool) -> crate::common::Run {
    let mut test = Test::new()
        .write("tfw.toml", settings)
        .files("", STACK)
        .write("bucket.tf", "resource \"aws_s3_bucket\" \"b\" {}\n");
    if let Some(lock) = lock {
        test = test.write(".terraform.lock.hcl", lock);
    }
    test.git(&["init", "-q"]);
    test.git(&["add", "-A"]);
    if !commit_lock {
        test.git(&[
            "rm",
            "-q",
            "--cached",
            "--ignore-unmatch",
            ".terraform.lock.hcl",
        ]);
    }
    test.run_with(["check"])
}

#[test]
fn check_warns_of_lock_files_that_defeat_the_cache() {
    let h1 = |n: usize| {
        let hashes: Vec<String> = (0..n).map(|i| format!("\"h1:{i}=\", \"zh:{i}\"")).collect();
        format!(
            "provider \"registry.terraform.io/hashicorp/aws\" {{\n  version = \"5.100.0\"\n  hashes = [{}]\n}}\n",
            hashes.join(", ")
        )
    };
    let here = platform();
    let two = "[providers]\nplatforms = [\"linux_amd64\", \"darwin_arm64\"]\n";
    let cases: &[(&str, Option<String>, bool, Option<String>)] = &[
        ("", Some(h1(1)), true, None),
        (
            "",
            None,
            true,
            Some(format!(
                ".terraform.lock.hcl: warning: no lock file, though the stack uses providers: each init picks provider versions anew; run `terraform providers lock -platform={here}` in . and commit it"
            )),
        ),
        (
            "",
            Some(h1(1)),
            false,
            Some(".terraform.lock.hcl: warning: the lock file is not committed, though the stack uses providers: each init picks provider versions anew; commit it".into()),
        ),
        (
            "",
            Some(h1(0)),
            true,
            Some(format!(
                ".terraform.lock.hcl: warning: registry.terraform.io/hashicorp/aws 5.100.0 has 0 `h1:` checksum(s) for 1 platform(s) ({here}): terraform uses a cached provider only with its platform's checksum; run `terraform providers lock -platform={here}` in ."
            )),
        ),
        (
            two,
            Some(h1(1)),
            true,
            Some(".terraform.lock.hcl: warning: registry.terraform.io/hashicorp/aws 5.100.0 has 1 `h1:` checksum(s) for 2 platform(s) (linux_amd64, darwin_arm64): terraform uses a cached provider only with its platform's checksum; run `terraform providers lock -platform=linux_amd64 -platform=darwin_arm64` in .".into()),
        ),
        (two, Some(h1(2)), true, None),
        ("[check]\nskip = [\"providers\"]\n", None, true, None),
    ];
    for (settings, lock, committed, warning) in cases {
        let run = checked(settings, lock.as_deref(), *committed).status(0);
        let expected = warning.as_ref().map_or(String::new(), |w| format!("{w}\n"));
        assert_eq!(run.stdout(), expected, "{settings:?} {lock:?} {committed}");
        assert_eq!(
            run.stderr().contains("1 warning(s): not failing the check"),
            warning.is_some(),
            "{}",
            run.stderr()
        );
    }
}

#[test]
fn a_stack_of_terraform_builtins_only_needs_no_lock_file() {
    let test = Test::new()
        .files("", STACK)
        .write("data.tf", "resource \"terraform_data\" \"d\" {}\ndata \"terraform_remote_state\" \"r\" {\n  backend = \"local\"\n}\nmodule \"local\" {\n  source = \"./modules/naming\"\n}\n");
    test.git(&["init", "-q"]);
    test.git(&["add", "-A"]);
    assert_eq!(test.run_with(["check"]).status(0).stdout(), "");
    let test = test.write(
        "main.tf.json",
        "{\"module\": {\"vpc\": {\"source\": \"terraform-aws-modules/vpc/aws\"}}}",
    );
    test.git(&["add", "-A"]);
    let run = test.run_with(["check", "--format", "json"]).status(0);
    let json: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
    assert_eq!(json["problems"][0]["kind"], "providers");
    assert_eq!(json["problems"][0]["severity"], "warning");
}
