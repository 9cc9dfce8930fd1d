//! `tfw diff`: what differs between two envs' inputs, secrets compared but never shown.

use crate::common::Test;

fn stack() -> Test {
    Test::new()
        .write(
            "main.tf",
            "terraform {\n  backend \"s3\" {}\n}\nvariable \"size\" {}\nvariable \"db_password\" {}\nvariable \"token_ttl\" {\n  sensitive = true\n}\nvariable \"replicas\" {\n  default = 1\n}\n",
        )
        .write("stg.tfbackend", "bucket = \"acme\"\nkey = \"stg\"\naccess_key = \"AKIASTG\"\n")
        .write("prd.tfbackend", "bucket = \"acme\"\nkey = \"prd\"\naccess_key = \"AKIAPRD\"\n")
        .write("stg.tfvars", "size = \"small\"\ndb_password = \"stg-pw\"\ntoken_ttl = 1\n")
        .write("prd.tfvars", "size = \"large\"\ndb_password = \"prd-pw\"\ntoken_ttl = 2\nreplicas = 3\n")
        .write("terraform.tfvars", "size = \"overridden\"\n")
}

#[test]
fn differing_values_are_shown_and_secrets_only_said_to_differ() {
    let run = stack().args(["diff", "stg", "prd"]).run().status(0);
    assert_eq!(
        run.stdout(),
        "== . (stg → prd)\n\
         var files: terraform.tfvars stg.tfvars  |  terraform.tfvars prd.tfvars\n\
         backend:   stg.tfbackend (bucket=acme key=stg)  |  prd.tfbackend (bucket=acme key=prd)\n  \
         db_password: differs (secret)\n  \
         replicas: (not set in stg) → 3\n  \
         size: \"small\" → \"large\"\n  \
         token_ttl: differs (secret)\n"
    );
    for secret in ["stg-pw", "prd-pw", "AKIA"] {
        assert!(!run.stdout().contains(secret), "{secret}");
    }
    let run = stack()
        .args(["diff", "stg", "prd", "--format", "json"])
        .run()
        .status(0);
    let json: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
    assert_eq!(
        json["stacks"][0]["variables"][0],
        serde_json::json!({"name": "db_password", "a": null, "b": null, "secret": true})
    );
    assert_eq!(
        json["stacks"][0]["b"]["backend"],
        serde_json::json!({"bucket": "acme", "key": "prd"})
    );
}

#[test]
fn all_stacks_with_both_envs_and_errors() {
    let test = stack()
        .write("tfw.toml", "")
        .files("datadog/", crate::common::STACK);
    let run = test.run_with(["diff", "--all", "stg", "prd"]).status(0);
    assert!(
        run.stdout().contains("== . (stg → prd)")
            && run.stdout().contains("== datadog (stg → prd)"),
        "{}",
        run.stdout()
    );
    test.run_with(["diff", "stg", "qa"])
        .status(64)
        .stderr_contains("unknown environment `qa`");
    test.run_with(["diff", "stg", "../prd"]).status(64);
    test.remove("prd.tfvars")
        .run_with(["diff", "stg", "prd"])
        .status(66)
        .stderr_contains("prd.tfvars");
}

/// Issue 20, 14: a declaration tfw could not read (a BOM, a parse failure) or a sensitivity
/// written `"true"` or `!false` showed the values.
#[test]
fn unknown_sensitivity_is_taken_as_secret() {
    let declares = |sensitive: &str| {
        format!(
            "terraform {{\n  backend \"s3\" {{}}\n}}\nvariable \"size\" {{\n  sensitive = {sensitive}\n}}\n"
        )
    };
    let with_main = |main: String| {
        stack()
            .write("main.tf", &main)
            .write("terraform.tfvars", "")
            .args(["diff", "stg", "prd"])
    };
    let cases = [
        with_main(declares("\"true\"")),
        with_main(declares("!false")),
        with_main(declares("var.secret")),
        with_main(format!("\u{feff}{}", declares("true"))),
        with_main(declares("false")).write("broken.tf", "variable {\n"),
    ];
    for (i, test) in cases.into_iter().enumerate() {
        let run = test.run().status(0);
        assert!(
            run.stdout().contains("size: differs (secret)"),
            "case {i}: {}",
            run.stdout()
        );
        assert!(
            !run.stdout().contains("small"),
            "case {i}: {}",
            run.stdout()
        );
    }
    let test = with_main(declares("false"));
    let run = test.run().status(0);
    assert!(
        run.stdout().contains("size: \"small\" → \"large\""),
        "{}",
        run.stdout()
    );
    // A file that is not UTF-8 is not read at all: what it declares is unknown too.
    std::fs::write(test.path("bytes.tf"), b"variable \"x\" {}\n# \xff\n").unwrap();
    let run = test.run().status(0);
    assert!(
        run.stdout().contains("size: differs (secret)"),
        "{}",
        run.stdout()
    );
}

/// Issue 20, 14: a var file that cannot be read or parsed was shown as "(not set)".
#[test]
fn a_var_file_that_cannot_be_read_is_an_error() {
    let test = stack().write("prd.tfvars", "size = [\n");
    test.run_with(["diff", "stg", "prd"])
        .status(66)
        .stderr_contains("prd.tfvars: it does not parse");
    let test = stack();
    std::fs::write(test.path("prd.tfvars"), b"size = \"\xff\"\n").unwrap();
    test.run_with(["diff", "stg", "prd"])
        .status(66)
        .stderr_contains("prd.tfvars");
}
