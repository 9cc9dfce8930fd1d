//! Repositories as teams already have them: files tfw must read whatever Terraform accepts,
//! and the layouts of four public infrastructure repositories.

use crate::common::{STACK, Test};

const REPEATED_KEY: &str = "locals {\n  tags = { region = \"a\", region = \"b\" }\n}\n\nmodule \"m\" {\n  source = \"./modules/m\"\n}\n";

#[test]
fn a_repeated_object_key_is_read_like_terraform_reads_it() {
    let test = Test::stack()
        .write("tags.tf", REPEATED_KEY)
        .write("modules/m/main.tf", "");
    test.run_with(["stg", "plan"]).status(0);
    let run = test
        .run_with(["stg", "plan"])
        .status(0)
        .stderr_contains("init up to date (stg)");
    assert_eq!(run.calls.len(), 1, "{:?}", run.lines());
    let run = test.run_with(["atlantis"]).status(0);
    assert!(run.stdout().contains("modules/m/*.tf"), "{}", run.stdout());
    assert_eq!(run.stderr(), "");
}

#[test]
fn a_file_tfw_cannot_read_is_a_warning_in_atlantis() {
    let run = Test::stack()
        .write("broken.tf", "module \"m\" {\n  source = \n")
        .args(["atlantis"])
        .run()
        .status(0);
    assert!(
        run.stderr().contains("tfw: warning:") && run.stderr().contains("broken.tf"),
        "{}",
        run.stderr()
    );
}

#[test]
fn modules_installed_in_the_data_dir_keep_one_data_dir() {
    let test = Test::stack().write(
        "modules.tf",
        "module \"vnet\" {\n  source = \"./.terraform/modules/__v3__/vnet\"\n}\n",
    );
    let run = test.run_with(["-n", "stg", "plan"]).status(0);
    assert!(!run.stdout().contains("TF_DATA_DIR"), "{}", run.stdout());
    assert!(
        run.stderr()
            .contains("a module source points into .terraform/"),
        "{}",
        run.stderr()
    );
    let run = test.run_with(["atlantis"]).status(0);
    assert!(!run.stdout().contains(".terraform/"), "{}", run.stdout());
    let _ = STACK;
}
