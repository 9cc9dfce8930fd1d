//! The migration advice of docs/migrating.md: a committed two-line `terraform.sh` that runs the
//! tfw on PATH under that name, reached from the root and through a sub-stack's symlink.

use crate::common::{STACK, Test};
use std::os::unix::fs::PermissionsExt;

/// The script docs/migrating.md tells users to commit.
fn documented_script() -> String {
    let page = include_str!("../../docs/migrating.md");
    let block = page.split("```bash\n").nth(1).unwrap();
    block.split("```").next().unwrap().to_string()
}

#[test]
fn the_committed_script_runs_tfw_from_path_as_terraform_sh() {
    let script = documented_script();
    assert!(script.starts_with("#!/usr/bin/env bash\n"), "{script}");
    // Two machines: tfw installed by cargo in the home, or in a tools directory.
    for layout in ["home/.cargo/bin", "opt/tools/bin"] {
        let test = Test::stack()
            .files("datadog/", STACK)
            .write("datadog/stg.tfbackend", "path = \"state/d-stg.tfstate\"\n")
            .write("terraform.sh", &script);
        let root_script = test.path("terraform.sh");
        std::fs::set_permissions(&root_script, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::symlink("../terraform.sh", test.path("datadog/terraform.sh")).unwrap();
        let bin = test.path(layout);
        std::fs::create_dir_all(&bin).unwrap();
        std::os::unix::fs::symlink(crate::common::TFW, bin.join("tfw")).unwrap();
        let path = format!("{}:{}", bin.display(), test.search_path().to_string_lossy());
        let run = |dir: &str, args: &[&str]| {
            let mut command = test.command_for(&test.path(dir).join("terraform.sh"));
            command
                .args(args)
                .env("PATH", &path)
                .current_dir(test.path(dir));
            test.finish(crate::common::output_of_fresh(&mut command))
                .status(0)
        };
        let root = run("", &["stg", "plan"]);
        assert_eq!(
            root.lines().last().unwrap(),
            "plan -var-file=stg.tfvars",
            "{layout}"
        );
        // Action first, as the old script took it, through the sub-stack's symlink.
        let sub = run("datadog", &["plan", "stg"]);
        assert_eq!(
            sub.lines().last().unwrap(),
            "plan -var-file=stg.tfvars",
            "{layout}"
        );
        assert_eq!(
            sub.calls[0].cwd,
            test.path("datadog").canonicalize().unwrap(),
            "{layout}"
        );
        let mut skipped = test.command_for(&test.path("datadog/terraform.sh"));
        skipped
            .args(["stg", "plan"])
            .env("PATH", &path)
            .env("TF_SKIP_INIT", "true")
            .current_dir(test.path("datadog"));
        let run = test
            .finish(crate::common::output_of_fresh(&mut skipped))
            .status(0);
        assert_eq!(run.lines(), ["plan -var-file=stg.tfvars"], "{layout}");
    }
}
