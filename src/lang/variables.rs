//! Terraform's variables: what a stack declares (`variable` blocks), what an env supplies (its
//! var files, the automatic tfvars, tfw.toml `vars`), and the checks between them.

use crate::lang::hcl::{json_bodies, parse_body, parse_json};
use crate::lang::types::{Declared, Type, Value};
use std::collections::BTreeMap;

/// Whether Terraform loads the var file `name` from a stack directory without being told:
/// `terraform.tfvars`, `*.auto.tfvars` and their `.json` forms.
pub fn is_automatic(name: &str) -> bool {
    matches!(name, "terraform.tfvars" | "terraform.tfvars.json")
        || name.ends_with(".auto.tfvars")
        || name.ends_with(".auto.tfvars.json")
}

/// The variables a stack declares, by name, from the text of its `.tf` and `.tf.json` files;
/// `None` when a file does not parse (what it declares, and how sensitive, is unknown).
pub fn declared<'a>(
    files: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Option<BTreeMap<String, Declared>> {
    let mut variables = BTreeMap::new();
    for (name, text) in files {
        if name.ends_with(".json") {
            variables.extend(declared_in_json(&parse_json(text).ok()?));
        } else {
            variables.extend(declared_in_body(&parse_body(text).ok()?));
        }
    }
    Some(variables)
}

/// The `variable` blocks of a parsed `.tf.json` file.
pub fn declared_in_json(value: &serde_json::Value) -> BTreeMap<String, Declared> {
    let mut variables = BTreeMap::new();
    for block in value.get("variable").map(json_bodies).unwrap_or_default() {
        for (variable, bodies) in block {
            for body in json_bodies(bodies) {
                let nullable = body.get("nullable").and_then(|v| v.as_bool()) != Some(false);
                let kind = body
                    .get("type")
                    .and_then(|t| t.as_str())
                    .and_then(|t| hcl::parse(&format!("t = {t}\n")).ok())
                    .and_then(|b| {
                        b.attributes()
                            .next()
                            .and_then(|a| Type::from_expression(a.expr()))
                    });
                let declared = Declared {
                    required: match body.get("default") {
                        None => true,
                        Some(serde_json::Value::Null) => !nullable,
                        Some(_) => false,
                    },
                    kind,
                    // Anything but a literal `false` may be sensitive to terraform.
                    sensitive: body
                        .get("sensitive")
                        .is_some_and(|v| *v != serde_json::Value::Bool(false)),
                };
                variables.insert(variable.clone(), declared);
            }
        }
    }
    variables
}

/// The `variable` blocks of a parsed `.tf` file.
pub fn declared_in_body(body: &hcl::Body) -> BTreeMap<String, Declared> {
    let mut variables = BTreeMap::new();
    for block in body.blocks().filter(|b| b.identifier() == "variable") {
        let Some(variable) = block.labels().first() else {
            continue;
        };
        let attribute = |key: &str| crate::lang::hcl::attribute(block.body(), key);
        let nullable = !matches!(attribute("nullable"), Some(hcl::Expression::Bool(false)));
        variables.insert(
            variable.as_str().to_string(),
            Declared {
                required: match attribute("default") {
                    None => true,
                    Some(hcl::Expression::Null) => !nullable,
                    Some(_) => false,
                },
                kind: attribute("type").and_then(Type::from_expression),
                // `"true"` and `!false` are sensitive to terraform: anything but a literal
                // `false` is taken as sensitive.
                sensitive: attribute("sensitive")
                    .is_some_and(|e| !matches!(e, hcl::Expression::Bool(false))),
            },
        );
    }
    variables
}

/// One value a var file sets: its literal, and its line.
#[derive(Debug, Clone, PartialEq)]
pub struct Supplied {
    pub value: Value,
    /// The value as written (normalised), for `tfw diff`; never printed for a secret.
    pub text: String,
    pub line: usize,
}

/// The values a var file sets, by name; `None` when it does not parse (reported elsewhere).
pub fn supplied(text: &str, is_json: bool) -> Option<BTreeMap<String, Supplied>> {
    read_var_file(text, is_json, |value, text| Supplied {
        value: value.clone(),
        text: text(),
        line: 0,
    })
    .ok()
}

/// What `supplied` returns without each value's text (what `tfw check` keeps): each key's line
/// and value shape, or why the file does not parse (with its line).
pub fn shapes(text: &str, is_json: bool) -> Result<BTreeMap<String, (usize, Value)>, String> {
    match is_json {
        false => simple_shapes(text).map_or_else(|| full_shapes(text, false), Ok),
        true => full_shapes(text, true),
    }
}

/// `shapes` of a file in the subset most are written in (see `simple_hcl`); `None` otherwise.
pub(crate) fn simple_shapes(text: &str) -> Option<BTreeMap<String, (usize, Value)>> {
    let attributes = crate::lang::simple_hcl::attributes(text)?;
    Some(
        attributes
            .iter()
            .map(|(name, line, value)| {
                (
                    name.to_string(),
                    (*line, Value::from_literal(value).shape()),
                )
            })
            .collect(),
    )
}

/// `shapes` by the full parser.
pub(crate) fn full_shapes(
    text: &str,
    is_json: bool,
) -> Result<BTreeMap<String, (usize, Value)>, String> {
    read_var_file(text, is_json, |value, _| Supplied {
        value: value.shape(),
        text: String::new(),
        line: 0,
    })
    .map(|values| {
        values
            .into_iter()
            .map(|(key, supplied)| (key, (supplied.line, supplied.value)))
            .collect()
    })
}

/// Reads a var file once: each key with its line and what `make` keeps of its value (the
/// value read, and a way to its text, asked only when needed).
fn read_var_file(
    text: &str,
    is_json: bool,
    make: impl Fn(&Value, &dyn Fn() -> String) -> Supplied,
) -> Result<BTreeMap<String, Supplied>, String> {
    let line_of = |key: &str| key_line(text, key, is_json);
    let with_line = |key: &str, supplied: Supplied| Supplied {
        line: line_of(key),
        ..supplied
    };
    if is_json {
        let object = match parse_json(text) {
            Ok(serde_json::Value::Object(object)) => object,
            Ok(_) => return Err("invalid JSON: expected an object".into()),
            Err(e) => return Err(format!("line {}: invalid JSON: {e}", e.line())),
        };
        return Ok(object
            .iter()
            .map(|(key, value)| {
                let supplied = make(&Value::from_json(value), &|| value.to_string());
                (key.clone(), with_line(key, supplied))
            })
            .collect());
    }
    let body = parse_body(text).map_err(|e| crate::lang::hcl::invalid_hcl(&e))?;
    Ok(body
        .attributes()
        .map(|attribute| {
            let text = || {
                hcl::format::to_string(attribute.expr())
                    .unwrap_or_else(|_| "(an expression)".into())
            };
            let supplied = make(&Value::from_expression(attribute.expr()), &text);
            (
                attribute.key().to_string(),
                with_line(attribute.key(), supplied),
            )
        })
        .collect())
}

/// The line where a var file sets `key` (the first line that starts with it), 1 if not found.
fn key_line(text: &str, key: &str, is_json: bool) -> usize {
    let quoted = format!("\"{key}\"");
    text.lines()
        .position(|line| {
            let line = line.trim_start();
            let rest = match is_json {
                true => line.strip_prefix(&quoted),
                false => line
                    .strip_prefix(key)
                    .or_else(|| line.strip_prefix(&quoted)),
            };
            rest.is_some_and(|rest| {
                let rest = rest.trim_start();
                rest.starts_with('=') || rest.starts_with(':')
            })
        })
        .map_or(1, |index| index + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declarations_from_hcl_and_json() {
        let tf = r#"variable "a" {}
variable "b" {
  type    = number
  default = 1
}
variable "c" {
  type      = string
  default   = null
  nullable  = false
  sensitive = true
}
variable "d" {
  default = null
}
"#;
        let json = r#"{"variable": {"e": {"type": "list(string)"}, "f": [{"default": "x"}]}}"#;
        let declared = declared([("main.tf", tf), ("more.tf.json", json)]).unwrap();
        let required: Vec<&str> = declared
            .iter()
            .filter(|(_, d)| d.required)
            .map(|(n, _)| n.as_str())
            .collect();
        assert_eq!(required, ["a", "c", "e"]);
        assert_eq!(declared["b"].kind, Some(Type::Number));
        assert!(declared["c"].sensitive);
        assert_eq!(declared["e"].kind, Some(Type::List(Box::new(Type::String))));
        assert_eq!(declared["f"].kind, None);
        assert!(super::declared([("main.tf", tf), ("broken.tf", "variable {")]).is_none());
    }

    #[test]
    fn anything_but_a_literal_false_is_sensitive() {
        let tf = r#"variable "a" { sensitive = "true" }
variable "b" { sensitive = !false }
variable "c" { sensitive = var.x }
variable "d" { sensitive = false }
variable "e" {}
"#;
        let json = r#"{"variable": {"f": {"sensitive": "true"}, "g": {"sensitive": false}}}"#;
        let declared = declared([("main.tf", tf), ("more.tf.json", json)]).unwrap();
        let sensitive: Vec<&str> = declared
            .iter()
            .filter(|(_, d)| d.sensitive)
            .map(|(n, _)| n.as_str())
            .collect();
        assert_eq!(sensitive, ["a", "b", "c", "f"]);
    }

    #[test]
    fn supplied_values_with_their_lines() {
        let values = supplied("# comment\nenv = \"stg\"\n\n  count = 3\n", false).unwrap();
        assert_eq!(values["env"].line, 2);
        assert_eq!(values["count"].line, 4);
        assert_eq!(values["count"].value, Value::Number);
        let values = supplied("{\n  \"env\": \"stg\",\n  \"n\": [1]\n}\n", true).unwrap();
        assert_eq!(values["n"].line, 3);
        assert!(supplied("env = [\n", false).is_none());
    }
}
