//! Which setting and variable names hold credentials: never shown, never taken from tfw.toml.

/// Words that make a name secret wherever they stand (`db_password`, `sas_token`).
const SECRET_WORDS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "credential",
    "credentials",
    "sas",
    "certificate",
];

/// Whether `name` says its value is a credential: one of its words (split on `_` and `-`) is a
/// secret word, or it ends in `key` after another word (`access_key`, `api_key`; a lone `key`
/// is the state object's name in the backends that have it), or it is a connection string.
/// `private_domain_name` and `prometheus_alb_private_cidrs` are not secrets.
pub fn looks_secret(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    let words: Vec<&str> = name.split(['_', '-']).filter(|w| !w.is_empty()).collect();
    words.iter().any(|word| SECRET_WORDS.contains(word))
        || (words.len() > 1 && words.last() == Some(&"key"))
        || name.contains("conn_str")
        || name.contains("connection_string")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_secret_by_their_words() {
        for name in [
            "password",
            "db_password",
            "access_key",
            "secret_key",
            "api_key",
            "private_key",
            "sas_token",
            "client_certificate",
            "conn_str",
            "PRIMARY_CONNECTION_STRING",
            "github-token",
            "credentials",
        ] {
            assert!(looks_secret(name), "{name}");
        }
        for name in [
            "key",
            "bucket",
            "private_domain_name",
            "prometheus_alb_private_cidrs",
            "key_name",
            "tokenizer_mode",
            "region",
            "workspace_key_prefix",
        ] {
            assert!(!looks_secret(name), "{name}");
        }
    }
}
