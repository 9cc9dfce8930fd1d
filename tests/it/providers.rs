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
