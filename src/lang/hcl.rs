//! Reading var, backend and `.tf` files: their literal attributes, a backend block, or why they
//! do not parse (with the line).

use crate::lang::types::{Declared, Value};
use std::collections::BTreeMap;

/// Separates fields in `Attributes` (and on a line of tfw check's cache): never in a key or value kept.
pub const FIELD: char = '\u{1f}';

/// The UTF-8 byte order mark, which Terraform accepts at the start of every file it reads.
const BOM: &str = "\u{feff}";

/// `text` without a leading byte order mark.
fn without_bom(text: &str) -> &str {
    text.strip_prefix(BOM).unwrap_or(text)
}

/// Parses JSON as Terraform does (a byte order mark first is accepted).
pub fn parse_json(text: &str) -> Result<serde_json::Value, serde_json::Error> {
    serde_json::from_str(without_bom(text))
}

/// Literal attributes of a var or backend file (strings, numbers, bools), or why it is invalid.
pub fn parse_attributes(bytes: &[u8], is_json: bool) -> Parsed {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Parsed::Invalid("not UTF-8 text".into());
    };
    if is_json {
        return match parse_json(text) {
            Ok(serde_json::Value::Object(object)) => {
                let nested = object.iter().flat_map(|(block, value)| {
                    value
                        .as_object()
                        .into_iter()
                        .flatten()
                        .filter_map(move |(k, v)| Some((format!("{block}.{k}"), literal_json(v)?)))
                });
                Parsed::Attributes(Attributes::new(
                    object
                        .iter()
                        .filter_map(|(k, v)| Some((k.clone(), literal_json(v)?)))
                        .chain(nested),
                ))
            }
            Ok(_) => Parsed::Invalid("invalid JSON: expected an object".into()),
            Err(e) => Parsed::Invalid(format!("line {}: invalid JSON: {e}", e.line())),
        };
    }
    match crate::lang::simple_hcl::attributes(text) {
        Some(attributes) => Parsed::Attributes(Attributes::new(
            attributes
                .iter()
                .filter_map(|(name, _, value)| Some((*name, value.scalar()?))),
        )),
        None => full_attributes(text),
    }
}

/// `parse_attributes` of an HCL text by the full parser.
pub(crate) fn full_attributes(text: &str) -> Parsed {
    match parse_body(text) {
        Ok(body) => Parsed::Attributes(literal_attributes(&body)),
        Err(e) => Parsed::Invalid(invalid_hcl(&e)),
    }
}

/// Why a file is not valid HCL, with its line (never the line's text: see `parse_error`).
pub fn invalid_hcl(error: &hcl::Error) -> String {
    match error {
        hcl::Error::Parse(e) => {
            format!("line {}: invalid HCL: {}", e.location().line(), e.message())
        }
        _ => "invalid HCL".into(),
    }
}

/// The `terraform { backend "<type>" { … } }` block of a parsed `.tf` file.
pub fn backend_in(body: &hcl::Body) -> Option<(String, Attributes)> {
    body.blocks()
        .filter(|b| b.identifier() == "terraform")
        .find_map(|terraform| {
            let backend = terraform
                .body()
                .blocks()
                .find(|b| b.identifier() == "backend")?;
            let kind = backend.labels().first()?.as_str().to_string();
            Some((kind, literal_attributes(backend.body())))
        })
}

/// Whether a resource or data type belongs to the provider built into terraform
/// (`terraform_data`, `terraform_remote_state`), which no lock file records.
fn is_builtin(kind: &str) -> bool {
    kind.split('_').next() == Some("terraform")
}

/// Whether a module's `source` is a local directory (`./`, `../`), whose own files say what it
/// needs, rather than a registry or remote module, which almost always needs a provider.
fn is_local_source(source: Option<&str>) -> bool {
    source.is_some_and(|s| s.starts_with("./") || s.starts_with("../"))
}

/// Whether a `.tf` file needs a provider installed (and so a lock file): a `provider` block, a
/// module that is not a local directory, `required_providers`, or a resource, data source or
/// ephemeral resource of a provider other than terraform's own. (What a local module needs is
/// not looked into: a stack whose only providers come from one is not told.)
pub fn uses_providers(body: &hcl::Body) -> bool {
    body.blocks().any(|block| match block.identifier() {
        "provider" => true,
        "module" => {
            let source = match attribute(block.body(), "source") {
                Some(hcl::Expression::String(source)) => Some(source.as_str()),
                _ => None,
            };
            !is_local_source(source)
        }
        "resource" | "data" | "ephemeral" => block
            .labels()
            .first()
            .is_none_or(|kind| !is_builtin(kind.as_str())),
        "terraform" => block.body().blocks().any(|b| {
            b.identifier() == "required_providers" && b.body().attributes().next().is_some()
        }),
        _ => false,
    })
}

/// `uses_providers` for a `.tf.json` file.
pub fn uses_providers_json(value: &serde_json::Value) -> bool {
    let Some(top) = value.as_object() else {
        return false;
    };
    let non_empty = |v: &serde_json::Value| v.as_object().is_some_and(|o| !o.is_empty());
    top.iter().any(|(key, value)| match key.as_str() {
        "provider" => non_empty(value),
        "module" => value.as_object().is_some_and(|modules| {
            modules
                .values()
                .any(|module| !is_local_source(module.get("source").and_then(|s| s.as_str())))
        }),
        "resource" | "data" | "ephemeral" => value
            .as_object()
            .is_some_and(|kinds| kinds.keys().any(|kind| !is_builtin(kind))),
        "terraform" => {
            let blocks = match value {
                serde_json::Value::Array(blocks) => blocks.iter().collect(),
                other => vec![other],
            };
            blocks
                .iter()
                .any(|block| block.get("required_providers").is_some_and(non_empty))
        }
        _ => false,
    })
}

/// The expression of the attribute `key` in `body`.
pub fn attribute<'a>(body: &'a hcl::Body, key: &str) -> Option<&'a hcl::Expression> {
    body.attributes().find(|a| a.key() == key).map(|a| a.expr())
}

/// Why a file does not parse, with its line: never the line itself (hcl's own message quotes
/// it, and it may hold a secret).
pub fn parse_error(error: &hcl::Error) -> String {
    match error {
        hcl::Error::Parse(e) => format!("line {}: {}", e.location().line(), e.message()),
        _ => "invalid HCL".into(),
    }
}

fn literal_json(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The bodies of a JSON block value: Terraform accepts an object or an array of objects at
/// every level (`{"module": {"m": {…}}}`, `{"module": [{"m": [{…}]}]}`).
pub fn json_bodies(value: &serde_json::Value) -> Vec<&serde_json::Map<String, serde_json::Value>> {
    match value {
        serde_json::Value::Object(body) => vec![body],
        serde_json::Value::Array(items) => items.iter().flat_map(json_bodies).collect(),
        _ => Vec::new(),
    }
}

/// Parses HCL as Terraform does. Terraform accepts an object constructor with a repeated key
/// (`{ a = 1, a = 2 }`); hcl-rs refuses it, so each repeated key is renamed and parsing retried
/// (tfw never reads such values: only block structure, module calls and literal attributes).
/// A byte order mark first is accepted, as Terraform does.
pub fn parse_body(text: &str) -> Result<hcl::Body, hcl::Error> {
    let mut text = std::borrow::Cow::Borrowed(without_bom(text));
    let mut renamed = 0;
    loop {
        let error = match hcl::parse(&text) {
            Ok(body) => return Ok(body),
            Err(error) => error,
        };
        let offset = match &error {
            hcl::Error::Parse(e)
                if e.message().contains("redefined object key") && renamed < 1000 =>
            {
                e.location().offset()
            }
            _ => return Err(error),
        };
        // The key starts at `offset`: a name, or a quoted string whose first character follows.
        let at = offset + usize::from(text[offset..].starts_with('"'));
        text.to_mut()
            .insert_str(at, &format!("tfw_repeated_{renamed}_"));
        renamed += 1;
    }
}

/// The literal attributes of `body`, and of its nested blocks as `block.attribute` (the remote
/// backend's `workspaces { name = … }`).
fn literal_attributes(body: &hcl::Body) -> Attributes {
    let literal = |a: &hcl::Attribute| match a.expr() {
        hcl::Expression::String(s) => Some(s.clone()),
        hcl::Expression::Number(n) => Some(n.to_string()),
        hcl::Expression::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    let top = body
        .attributes()
        .filter_map(|a| Some((a.key().to_string(), literal(a)?)));
    let nested = body.blocks().flat_map(|block| {
        block
            .body()
            .attributes()
            .filter_map(move |a| Some((format!("{}.{}", block.identifier(), a.key()), literal(a)?)))
    });
    Attributes::new(top.chain(nested))
}

/// Literal attributes of an HCL body (strings, numbers, bools), sorted by key, kept as one
/// string: thousands of backend files load with one allocation each.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Attributes(String);

impl Attributes {
    /// From `(key, value)` pairs; a pair that cannot be stored on one cache line is left out
    /// (no backend keeps its state location in a multi-line value).
    pub fn new<K: AsRef<str> + Ord>(pairs: impl IntoIterator<Item = (K, String)>) -> Self {
        let mut sorted: Vec<(K, String)> = pairs
            .into_iter()
            .filter(|(k, v)| {
                !(k.as_ref().contains(['=', FIELD, '\n']) || v.contains([FIELD, '\n']))
            })
            .collect();
        // Stable: of pairs with one key, the last given wins, as a map's insert would have it.
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        let mut text = String::new();
        for (i, (key, value)) in sorted.iter().enumerate() {
            if sorted.get(i + 1).is_some_and(|next| next.0 == *key) {
                continue;
            }
            if !text.is_empty() {
                text.push(FIELD);
            }
            text.push_str(key.as_ref());
            text.push('=');
            text.push_str(value);
        }
        Self(text)
    }

    /// From literal pairs, for tests.
    #[cfg(test)]
    pub fn of(pairs: &[(&str, &str)]) -> Self {
        Self::new(pairs.iter().map(|(k, v)| (*k, v.to_string())))
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.split(FIELD).filter_map(|pair| pair.split_once('='))
    }
}

/// What tfw check needs to know of one file.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Parsed {
    /// A var file that parses: each key's line and value shape (never its content).
    /// Shared: several checks of a stack read one var file.
    Values(std::sync::Arc<BTreeMap<String, (usize, Value)>>),
    /// A backend file: its literal attributes.
    Attributes(Attributes),
    /// A file that does not parse: why, with the line.
    Invalid(String),
    /// A `.tf` or `.tf.json` file: its `backend "<type>"` block, if any, its variables, and
    /// whether it needs a provider (see `uses_providers`).
    Terraform(
        Option<(String, Attributes)>,
        BTreeMap<String, Declared>,
        bool,
    ),
    /// A `.terraform.lock.hcl`: each provider's source, version and number of `h1:` checksums.
    Lock(Vec<(String, String, usize)>),
}

/// One block init reads, canonicalised (comments and layout do not count): a `terraform`
/// block, or a module call's source and version.
pub struct InitBlock {
    pub text: String,
    /// The directory of a module call with a local source (`./x`, `../x`).
    pub local_source: Option<String>,
}

fn local(source: &str) -> Option<String> {
    (source.starts_with("./") || source.starts_with("../")).then(|| source.to_string())
}

fn hcl_blocks(source: &str) -> Result<Vec<InitBlock>, String> {
    let body = parse_body(source).map_err(|e| parse_error(&e))?;
    Ok(body
        .blocks()
        .filter_map(|block| match block.identifier() {
            "terraform" => Some(InitBlock {
                text: format!("{block:?}"),
                local_source: None,
            }),
            "module" => {
                let attribute = |key: &str| attribute(block.body(), key).cloned();
                let source = attribute("source");
                let local_source = match &source {
                    Some(hcl::Expression::String(s)) => local(s),
                    _ => None,
                };
                Some(InitBlock {
                    text: format!(
                        "module {:?} source={source:?} version={:?}",
                        block.labels(),
                        attribute("version")
                    ),
                    local_source,
                })
            }
            _ => None,
        })
        .collect())
}

fn json_blocks(source: &str) -> Result<Vec<InitBlock>, String> {
    let value = parse_json(source).map_err(|e| e.to_string())?;
    let mut relevant = Vec::new();
    if let Some(terraform) = value.get("terraform") {
        relevant.push(InitBlock {
            text: format!("terraform {terraform}"),
            local_source: None,
        });
    }
    for modules in value.get("module").map(json_bodies).unwrap_or_default() {
        for (name, calls) in modules {
            for call in json_bodies(calls) {
                let source = call.get("source");
                relevant.push(InitBlock {
                    text: format!(
                        "module {name} source={source:?} version={:?}",
                        call.get("version")
                    ),
                    local_source: source.and_then(|s| s.as_str()).and_then(local),
                });
            }
        }
    }
    Ok(relevant)
}

/// The blocks init reads in one `.tf` file (`.tf.json` with `is_json`), or why it does not parse.
pub fn init_blocks(source: &str, is_json: bool) -> Result<Vec<InitBlock>, String> {
    match is_json {
        true => json_blocks(source),
        false => hcl_blocks(source),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_sorted_and_the_last_of_one_key_wins() {
        let pairs = [
            ("region", "a"),
            ("bucket", "b"),
            ("region", "c"),
            ("key", "k"),
        ];
        let attributes = Attributes::new(pairs.iter().map(|(k, v)| (*k, v.to_string())));
        let got: Vec<(&str, &str)> = attributes.iter().collect();
        assert_eq!(got, [("bucket", "b"), ("key", "k"), ("region", "c")]);
        let unstorable = [("a=b", "1"), ("multi", "x\ny"), ("ok", "1")];
        let attributes = Attributes::new(unstorable.iter().map(|(k, v)| (*k, v.to_string())));
        assert_eq!(attributes.iter().collect::<Vec<_>>(), [("ok", "1")]);
    }

    #[test]
    fn repeated_object_keys_parse_as_terraform_accepts_them() {
        let text = "locals {\n  tags = { region = \"a\", region = \"b\", \"x\" = 1, \"x\" = 2 }\n}\nmodule \"m\" {\n  source = \"./m\"\n}\n";
        let body = parse_body(text).unwrap();
        assert_eq!(body.blocks().count(), 2);
        assert!(
            parse_body("locals {\n  a = 1\n  a = 2\n}\n").is_err(),
            "a repeated attribute is an error in terraform too"
        );
    }

    #[test]
    fn a_byte_order_mark_is_accepted_wherever_terraform_accepts_it() {
        let body = parse_body("\u{feff}terraform {\n  backend \"local\" {}\n}\n").unwrap();
        assert_eq!(backend_in(&body).unwrap().0, "local");
        let expected = Parsed::Attributes(Attributes::of(&[("path", "state/stg.tfstate")]));
        for (text, is_json) in [
            ("\u{feff}path = \"state/stg.tfstate\"\n", false),
            ("\u{feff}{\"path\": \"state/stg.tfstate\"}", true),
        ] {
            assert_eq!(
                parse_attributes(text.as_bytes(), is_json),
                expected,
                "{text:?}"
            );
        }
        assert!(parse_json("\u{feff}{}").is_ok());
    }

    #[test]
    fn parse_errors_name_the_line_never_its_text() {
        let text = "locals {\n  password = \"s3cr3t\" \"x\"\n}\n";
        let message = parse_error(&parse_body(text).unwrap_err());
        assert!(message.starts_with("line 2"), "{message}");
        assert!(!message.contains("s3cr3t"), "{message}");
        let Parsed::Invalid(message) = parse_attributes(text.as_bytes(), false) else {
            panic!("parsed");
        };
        assert!(!message.contains("s3cr3t"), "{message}");
    }
}
