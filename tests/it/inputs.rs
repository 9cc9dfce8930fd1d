//! What a plan reads, as `tfw affected` and atlantis `when_modified` see it: dependents
//! through any number of stacks, files reached through symbolic links, the automatic tfvars,
//! and the model kept for the working tree's own tree.

use crate::common::{STACK, Test};
use std::os::unix::fs::MetadataExt;

fn affected(test: &Test, args: &[&str]) -> Vec<String> {
    let mut all = vec!["affected"];
    all.extend(args);
    test.run_with(&all)
        .status(0)
        .stdout()
        .lines()
        .map(String::from)
        .collect()
}

fn commit(test: &Test) {
    test.git(&["init", "-q"]);
    test.git(&["add", "-A"]);
    test.git(&["commit", "-qm", "base"]);
}

/// The stg lines of `lines`.
fn stg(lines: &[String]) -> Vec<&str> {
    lines
        .iter()
        .map(String::as_str)
        .filter(|l| l.contains("\tstg\t"))
        .collect()
}

/// The `when_modified` list of one project of the generated atlantis.yaml.
fn when_modified(test: &Test, project: &str) -> Vec<String> {
    let yaml = test.run_with(["atlantis"]).status(0).stdout();
    let yaml = &yaml_rust2::YamlLoader::load_from_str(&yaml).unwrap()[0];
    let project = yaml["projects"]
        .as_vec()
        .unwrap()
        .iter()
        .find(|p| p["name"].as_str() == Some(project))
        .unwrap_or_else(|| panic!("no project {project}"));
    project["autoplan"]["when_modified"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect()
}

/// `a` → `b` → `c`: edges sorted by name make a single pass over them, in that order, reach
/// `b` from `c` but never `a` from `b`.
#[test]
fn dependents_of_dependents_are_affected_by_depends_on() {
    let test = Test::new()
        .write(
            "tfw.toml",
            "[stacks.\"a\"]\ndepends_on = [\"b\"]\n[stacks.\"b\"]\ndepends_on = [\"c\"]\n",
        )
        .files("a/", STACK)
        .files("b/", STACK)
        .files("c/", STACK);
    commit(&test);
    let test = test.write("c/main.tf", "# changed\n");
    let lines = affected(&test, &["--base", "HEAD"]);
    assert_eq!(
        stg(&lines),
        [
            "a\tstg\tdepends on b",
            "b\tstg\tdepends on c",
            "c\tstg\tc/main.tf"
        ]
    );
    assert_eq!(lines.len(), 9, "every env: {lines:?}");
}

/// The same chain through remote state: `a` reads `b`'s state, `b` reads `c`'s.
#[test]
fn dependents_of_dependents_are_affected_by_remote_state() {
    let reads = |other: &str| {
        format!(
            "variable \"env\" {{}}\ndata \"terraform_remote_state\" \"{other}\" {{\n  backend = \"local\"\n  config = {{\n    path = \"../{other}/state/${{var.env}}.tfstate\"\n  }}\n}}\n"
        )
    };
    let test = Test::new()
        .files("a/", STACK)
        .write("a/remote.tf", &reads("b"))
        .files("b/", STACK)
        .write("b/remote.tf", &reads("c"))
        .files("c/", STACK);
    commit(&test);
    let test = test.write("c/stg.tfvars", "env = \"staging\"\n");
    assert_eq!(
        affected(&test, &["--base", "HEAD"]),
        [
            "a\tstg\tdepends on b",
            "b\tstg\tdepends on c",
            "c\tstg\tc/stg.tfvars"
        ]
    );
}

/// `app/versions.tf` and `app/stg.tfvars` are links into `shared/`, as repositories share one
/// provider pin and one env's values.
fn linked() -> Test {
    let test = Test::new()
        .files("app/", STACK)
        .remove("app/stg.tfvars")
        .write(
            "shared/versions.tf",
            "terraform {\n  required_providers {\n    null = { source = \"hashicorp/null\" }\n  }\n}\n",
        )
        .write("shared/stg.tfvars", "env = \"stg\"\n")
        .files("other/", STACK);
    std::os::unix::fs::symlink("../shared/versions.tf", test.path("app/versions.tf")).unwrap();
    std::os::unix::fs::symlink("../shared/stg.tfvars", test.path("app/stg.tfvars")).unwrap();
    commit(&test);
    test
}

#[test]
fn a_linked_tf_file_whose_target_changes_affects_the_stack() {
    let test = linked().write(
        "shared/versions.tf",
        "terraform {\n  required_providers {\n    null = { source = \"hashicorp/null\", version = \"3.2.0\" }\n  }\n}\n",
    );
    assert_eq!(
        affected(&test, &["--base", "HEAD"]),
        [
            "app\tdev\tshared/versions.tf",
            "app\tprd\tshared/versions.tf",
            "app\tstg\tshared/versions.tf",
        ]
    );
    test.git(&["commit", "-qam", "pin"]);
    assert_eq!(
        affected(&test, &["--base", "HEAD~1", "--head", "HEAD"]).len(),
        3,
        "between commits too"
    );
}

#[test]
fn a_linked_var_file_whose_target_changes_affects_its_env() {
    let test = linked().write("shared/stg.tfvars", "env = \"staging\"\n");
    assert_eq!(
        affected(&test, &["--base", "HEAD"]),
        ["app\tstg\tshared/stg.tfvars"]
    );
}

#[test]
fn when_modified_watches_the_targets_of_links() {
    let test = linked();
    let stg = when_modified(&test, "app-stg");
    assert!(
        stg.contains(&"../shared/versions.tf".to_string())
            && stg.contains(&"../shared/stg.tfvars".to_string()),
        "{stg:?}"
    );
    let prd = when_modified(&test, "app-prd");
    assert!(
        prd.contains(&"../shared/versions.tf".to_string()),
        "{prd:?}"
    );
    assert!(
        !prd.iter().any(|p| p.contains("stg")),
        "another env's var file: {prd:?}"
    );
    assert!(
        !when_modified(&test, "other-stg")
            .iter()
            .any(|p| p.contains("shared")),
        "a stack without links"
    );
}

#[test]
fn when_modified_watches_the_automatic_tfvars_and_a_backend_var_file_once() {
    // The backend file is also a var file, as real repositories have it.
    let test = Test::new()
        .write("tfw.toml", "var_files = [\"{env}.s3.tfbackend\"]\n")
        .write("app/main.tf", "terraform {\n  backend \"s3\" {}\n}\n")
        .write("app/dev.s3.tfbackend", "bucket = \"bkt\"\n")
        .write("app/terraform.tfvars", "a = 1\n")
        .write("app/x.auto.tfvars", "b = 1\n");
    let patterns = when_modified(&test, "app-dev");
    for automatic in [
        "terraform.tfvars",
        "terraform.tfvars.json",
        "*.auto.tfvars",
        "*.auto.tfvars.json",
    ] {
        assert!(patterns.contains(&automatic.to_string()), "{patterns:?}");
    }
    assert_eq!(
        patterns.iter().filter(|p| *p == "dev.s3.tfbackend").count(),
        1,
        "{patterns:?}"
    );
    commit(&test);
    let test = test.write("app/x.auto.tfvars", "b = 2\n");
    assert_eq!(
        affected(&test, &["--base", "HEAD"]),
        ["app\tdev\tapp/x.auto.tfvars"]
    );
}

/// The model kept for the tree the working tree holds is what the next run reads: the cache
/// file is left as it is (a run that made the model afresh would write it again).
#[test]
fn affected_of_the_working_tree_keeps_and_uses_the_model_of_its_tree() {
    let test = Test::new()
        .write("tfw.toml", "[stacks.\"app\"]\ndepends_on = [\"network\"]\n")
        .files("app/", STACK)
        .files("network/", STACK);
    commit(&test);
    let test = test.write("network/stg.tfvars", "env = \"staging\"\n");
    test.age_and_stage(1);
    test.git(&["commit", "-qm", "stg"]);
    let cache = test.path(".git/tfw-affected-models");
    let expected = [
        "app\tstg\tdepends on network",
        "network\tstg\tnetwork/stg.tfvars",
    ];
    assert_eq!(affected(&test, &["--base", "HEAD~1"]), expected);
    let kept = std::fs::metadata(&cache).expect("the model is kept").ino();
    assert_eq!(affected(&test, &["--base", "HEAD~1"]), expected);
    assert_eq!(
        std::fs::metadata(&cache).unwrap().ino(),
        kept,
        "the kept model was read, not made again"
    );
    // A file no stack reads leaves the kept model whole; one a stack reads does not.
    let test = test.write("notes/x.tfvars", "");
    assert_eq!(affected(&test, &["--base", "HEAD~1"]), expected);
    let test = test.write("app/extra.tf", "");
    let lines = affected(&test, &["--base", "HEAD~1"]);
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert!(lines.contains(&"app\tprd\tapp/extra.tf".to_string()));
    std::fs::remove_file(&cache).unwrap();
    assert_eq!(
        affected(&test, &["--base", "HEAD~1"]),
        lines,
        "the same without it"
    );
}

/// How many inits a `stg plan` ran.
fn inits(test: &Test) -> usize {
    let run = test.run_with(["stg", "plan"]).status(0);
    run.lines().iter().filter(|l| l.starts_with("init")).count()
}

/// The init fingerprint asks the same model: a provider pin reached through a link, and a
/// module in a directory tfw.toml excludes (read from the disk, the listing leaves it out).
#[test]
fn init_runs_again_when_a_linked_file_or_an_excluded_module_changes() {
    let test = linked()
        .write("tfw.toml", "exclude = [\"vendor\"]\n")
        .write(
            "app/mod.tf",
            "module \"m\" {\n  source = \"../vendor/m\"\n}\n",
        )
        .write("vendor/m/main.tf", "")
        .current_dir("app");
    assert_eq!(inits(&test), 1);
    assert_eq!(inits(&test), 0, "nothing changed");
    let test = test.write(
        "shared/versions.tf",
        "terraform {\n  required_providers {\n    null = { source = \"hashicorp/null\", version = \"3.2.0\" }\n  }\n}\n",
    );
    assert_eq!(inits(&test), 1, "the link's target changed");
    let test = test.write(
        "vendor/m/main.tf",
        "terraform {\n  required_providers {\n    null = { source = \"hashicorp/null\" }\n  }\n}\n",
    );
    assert_eq!(inits(&test), 1, "the excluded module changed");
}
