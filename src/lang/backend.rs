//! Where a backend keeps state, and what of its settings may be shown or stored: location keys
//! in clear, every other value (passwords, tokens, connection strings) only as a hash.

use crate::lang::hcl::Attributes;
use crate::lang::redaction_key;
use std::collections::BTreeMap;

/// The settings that locate state, per backend type (remote: its `workspaces` block's).
const LOCATIONS: &[(&str, &[&str])] = &[
    ("s3", &["bucket", "key", "workspace_key_prefix"]),
    ("gcs", &["bucket", "prefix"]),
    (
        "azurerm",
        &["storage_account_name", "container_name", "key"],
    ),
    ("local", &["path"]),
    (
        "remote",
        &[
            "hostname",
            "organization",
            "workspaces.name",
            "workspaces.prefix",
        ],
    ),
    ("consul", &["path"]),
    ("cos", &["bucket", "prefix", "key"]),
    ("oss", &["bucket", "prefix", "key"]),
    ("kubernetes", &["namespace", "secret_suffix"]),
];

/// Settings worth showing next to the location (where, not who): never secret.
const CONTEXT: &[&str] = &["region", "resource_group_name"];

pub use crate::config::secret::looks_secret;

/// Location and context keys, unless their name says secret.
fn may_show(name: &str) -> bool {
    let location = LOCATIONS.iter().any(|(_, keys)| keys.contains(&name));
    (location || CONTEXT.contains(&name)) && !looks_secret(name)
}

/// The attributes as tfw keeps them (in memory and in `tfw check`'s cache): location and context
/// keys in clear, every other value replaced by a keyed hash (`redaction_key`), which still tells
/// equal values apart.
pub fn redact(attributes: &Attributes) -> Attributes {
    Attributes::new(attributes.iter().map(|(key, value)| {
        let value = if may_show(key) {
            value.to_string()
        } else {
            format!("#{}", &redaction_key::keyed_hash(value.as_bytes())[..16])
        };
        (key, value)
    }))
}

/// Where one env's state lives: `identity` compares, `shown` is safe to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateLocation {
    pub identity: String,
    pub shown: String,
}

impl StateLocation {
    /// The location in `workspace`: another workspace is another state. In the default one, an
    /// s3 state is at `key` whatever `workspace_key_prefix` says.
    pub fn in_workspace(self, workspace: &str) -> Self {
        if workspace == "default" {
            let identity = match self.identity.split_once(" workspace_key_prefix=") {
                Some((location, _)) if self.identity.starts_with("s3 ") => location.to_string(),
                _ => self.identity,
            };
            return Self { identity, ..self };
        }
        Self {
            identity: format!("{} workspace={workspace}", self.identity),
            shown: format!("{} workspace={workspace}", self.shown),
        }
    }
}

/// The state location of a backend of type `kind` whose (redacted) settings `get` returns; the
/// local backend's `path` is relative to `stack_path`. `None` when the settings do not tell.
pub fn locate(
    kind: &str,
    settings: &BTreeMap<&str, &str>,
    stack_path: &str,
) -> Option<StateLocation> {
    let get = |key: &str| settings.get(key).copied();
    let fields = |keys: &[&str]| -> Option<String> {
        keys.iter()
            .map(|k| Some(format!("{k}={}", get(k)?)))
            .collect::<Option<Vec<_>>>()
            .map(|v| v.join(" "))
    };
    let text = match kind {
        "s3" => {
            let prefix = get("workspace_key_prefix").unwrap_or("env:");
            format!(
                "s3 {} workspace_key_prefix={prefix}",
                fields(&["bucket", "key"])?
            )
        }
        // `app`, `app/` and `/app` are one prefix to the gcs backend.
        "gcs" => format!(
            "gcs bucket={} prefix={}",
            get("bucket")?,
            get("prefix")?.trim_matches('/')
        ),
        "azurerm" => format!(
            "azurerm {}",
            fields(&["storage_account_name", "container_name", "key"])?
        ),
        "local" => {
            let path =
                std::path::Path::new(stack_path).join(get("path").unwrap_or("terraform.tfstate"));
            format!("local path={}", crate::paths::normalize(&path).display())
        }
        "remote" => {
            let workspace =
                fields(&["workspaces.name"]).or_else(|| fields(&["workspaces.prefix"]))?;
            format!(
                "remote hostname={} {} {workspace}",
                get("hostname").unwrap_or("app.terraform.io"),
                fields(&["organization"])?
            )
        }
        other => {
            // Any other backend: equal settings (hashes for the secret ones) mean one state;
            // only the location keys tfw knows are shown.
            if settings.is_empty() {
                return None;
            }
            let all: Vec<String> = settings.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let known = LOCATIONS
                .iter()
                .find(|(name, _)| *name == other)
                .map(|(_, keys)| *keys)
                .unwrap_or_default();
            let shown: Vec<String> = known
                .iter()
                .filter_map(|k| Some(format!("{k}={}", get(k)?)))
                .collect();
            return Some(StateLocation {
                identity: format!("{other} {}", all.join(" ")),
                shown: match shown.is_empty() {
                    true => format!("{other} backend, same settings"),
                    false => format!("{other} {}, same settings", shown.join(" ")),
                },
            });
        }
    };
    Some(StateLocation {
        identity: text.clone(),
        shown: text,
    })
}

/// Whether `key` is part of where a `kind` backend keeps state (for a backend tfw does not
/// know, every setting is).
pub fn locates(kind: &str, key: &str) -> bool {
    LOCATIONS
        .iter()
        .find(|(name, _)| *name == kind)
        .is_none_or(|(_, keys)| keys.contains(&key))
}

/// The settings of a backend config file worth showing before a confirmation: location and
/// context keys, never credentials.
pub fn shown_settings(attributes: &Attributes) -> Vec<(String, String)> {
    attributes
        .iter()
        .filter(|(key, _)| may_show(key))
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_hashed_locations_kept() {
        let redacted = redact(&Attributes::of(&[
            ("bucket", "b"),
            ("key", "k"),
            ("password", "hunter2"),
            ("conn_str", "postgres://admin:pw@db/x"),
            ("access_key", "AKIA"),
            ("token", "t"),
            ("region", "eu"),
        ]));
        let text: String = redacted.iter().map(|(k, v)| format!("{k}={v} ")).collect();
        for secret in ["hunter2", "admin", "AKIA", "=t "] {
            assert!(!text.contains(secret), "{secret}: {text}");
        }
        assert!(
            text.contains(" bucket=b ") && text.contains(" key=k "),
            "{text}"
        );
        assert!(text.contains("region=eu"), "{text}");
        assert_ne!(
            redact(&Attributes::of(&[("password", "a")])),
            redact(&Attributes::of(&[("password", "b")])),
            "hashes still tell values apart"
        );
    }

    #[test]
    fn unknown_backends_compare_everything_and_show_nothing_secret() {
        let settings: BTreeMap<&str, &str> = [("conn_str", "#0123"), ("schema_name", "x")]
            .into_iter()
            .collect();
        let location = locate("pg", &settings, ".").unwrap();
        assert_eq!(location.shown, "pg backend, same settings");
        assert!(location.identity.contains("#0123"));
        let consul: BTreeMap<&str, &str> = [("path", "p"), ("access_token", "#9")]
            .into_iter()
            .collect();
        assert_eq!(
            locate("consul", &consul, ".").unwrap().shown,
            "consul path=p, same settings"
        );
    }

    #[test]
    fn one_state_by_backend_rules_and_workspace() {
        let at = |kind: &str, pairs: &[(&str, &str)], workspace: &str| {
            let settings: BTreeMap<&str, &str> = pairs.iter().copied().collect();
            locate(kind, &settings, "stack")
                .unwrap()
                .in_workspace(workspace)
                .identity
        };
        let gcs = |prefix| at("gcs", &[("bucket", "b"), ("prefix", prefix)], "default");
        assert_eq!(gcs("app"), gcs("app/"));
        assert_eq!(gcs("app"), gcs("/app"));
        assert_ne!(gcs("app"), gcs("ap"));
        let s3 = |prefix, workspace| {
            at(
                "s3",
                &[
                    ("bucket", "b"),
                    ("key", "k"),
                    ("workspace_key_prefix", prefix),
                ],
                workspace,
            )
        };
        assert_eq!(
            s3("a", "default"),
            s3("b", "default"),
            "the default workspace is at `key`"
        );
        assert_ne!(s3("a", "stg"), s3("b", "stg"));
        assert_ne!(s3("a", "stg"), s3("a", "prd"));
        assert_ne!(s3("a", "stg"), s3("a", "default"));
        let local = |path, workspace| at("local", &[("path", path)], workspace);
        assert_eq!(
            local("../stack/s.tfstate", "default"),
            local("s.tfstate", "default")
        );
        assert_ne!(local("s.tfstate", "stg"), local("s.tfstate", "prd"));
    }

    #[test]
    fn remote_workspaces_are_part_of_the_location() {
        let stg: BTreeMap<&str, &str> = [("organization", "acme"), ("workspaces.name", "app-stg")]
            .into_iter()
            .collect();
        let prd: BTreeMap<&str, &str> = [("organization", "acme"), ("workspaces.name", "app-prd")]
            .into_iter()
            .collect();
        let (stg, prd) = (
            locate("remote", &stg, ".").unwrap(),
            locate("remote", &prd, ".").unwrap(),
        );
        assert_ne!(stg.identity, prd.identity);
        assert_eq!(
            stg.shown,
            "remote hostname=app.terraform.io organization=acme workspaces.name=app-stg"
        );
        let no_workspace: BTreeMap<&str, &str> = [("organization", "acme")].into_iter().collect();
        assert_eq!(locate("remote", &no_workspace, "."), None, "cannot tell");
    }
}
