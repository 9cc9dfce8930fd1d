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
