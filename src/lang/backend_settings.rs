//! A backend's settings as Terraform evaluates them (the stack's `backend` block, then the env's
//! backend file): literals, templates, conditionals and heredocs are evaluated, anything else
//! (a variable, a function) is named as what tfw cannot evaluate, never guessed.

use hcl::eval::Evaluate;
use std::collections::BTreeMap;

/// Setting name → value.
pub type Settings = BTreeMap<String, hcl::Value>;

/// The settings of a backend config file (`stg.tfbackend`, `.json` when `is_json`).
pub fn of_file(bytes: &[u8], is_json: bool) -> Result<Settings, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "it is not UTF-8 text".to_string())?;
    if is_json {
        let value = crate::lang::hcl::parse_json(text)
            .map_err(|e| format!("line {}: invalid JSON", e.line()))?;
        return match json(&value)? {
            hcl::Value::Object(settings) => Ok(settings.into_iter().collect()),
            _ => Err("it is not a JSON object".into()),
        };
    }
    let body = crate::lang::hcl::parse_body(text)
        .map_err(|e| format!("invalid HCL: {}", crate::lang::hcl::parse_error(&e)))?;
    body_settings(&body)
}

/// The `backend "<type>"` block of the stack's terraform files (`(name, text)`), with its
/// settings; `None` when no file has one (terraform's default, `local`).
pub fn of_block(sources: &[(String, String)]) -> Result<Option<(String, Settings)>, String> {
    for (name, text) in sources {
        if name.ends_with(".json") {
            let value = crate::lang::hcl::parse_json(text)
                .map_err(|e| format!("{name}: line {}: invalid JSON", e.line()))?;
            let blocks = crate::lang::hcl::json_bodies(&value)
                .into_iter()
                .filter_map(|body| body.get("terraform"))
                .flat_map(crate::lang::hcl::json_bodies)
                .filter_map(|terraform| terraform.get("backend"))
                .flat_map(crate::lang::hcl::json_bodies);
            for backend in blocks {
                if let Some((kind, settings)) = backend.iter().next() {
                    let settings = match crate::lang::hcl::json_bodies(settings).first() {
                        Some(body) => body
                            .iter()
                            .map(|(key, value)| Ok((key.clone(), json(value)?)))
                            .collect::<Result<Settings, String>>()
                            .map_err(|why| format!("{name}: {why}"))?,
                        None => Settings::new(),
                    };
                    return Ok(Some((kind.clone(), settings)));
                }
            }
            continue;
        }
        let body = crate::lang::hcl::parse_body(text)
            .map_err(|e| format!("{name}: {}", crate::lang::hcl::parse_error(&e)))?;
        let backend = body
            .blocks()
            .filter(|b| b.identifier() == "terraform")
            .find_map(|terraform| {
                terraform
                    .body()
                    .blocks()
                    .find(|b| b.identifier() == "backend")
            });
        if let Some(backend) = backend {
            let kind = backend
                .labels()
                .first()
                .map(|label| label.as_str().to_string())
                .ok_or_else(|| format!("{name}: a backend block without its type"))?;
            let settings = body_settings(backend.body()).map_err(|why| format!("{name}: {why}"))?;
            return Ok(Some((kind, settings)));
        }
    }
    Ok(None)
}

/// Whether a setting as tfw evaluated it and as terraform recorded it are the same: scalars by
/// their text (terraform converts `"true"` to a bool setting), and a null the same as unset.
pub fn same(expected: &hcl::Value, recorded: &hcl::Value) -> bool {
    use hcl::Value::{Array, Bool, Null, Number, Object, String};
    let text = |value: &hcl::Value| match value {
        String(s) => Some(s.clone()),
        Number(n) => Some(n.to_string()),
        Bool(b) => Some(b.to_string()),
        _ => None,
    };
    match (expected, recorded) {
        (Object(a), Object(b)) => a.keys().chain(b.keys()).all(|key| {
            match (
                a.get(key).filter(|v| !v.is_null()),
                b.get(key).filter(|v| !v.is_null()),
            ) {
                (None, None) => true,
                (Some(x), Some(y)) => same(x, y),
                _ => false,
            }
        }),
        (Array(a), Array(b)) => a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y)),
        (Null, Null) => true,
        (a, b) => text(a).is_some() && text(a) == text(b),
    }
}

/// The attributes of a body evaluated, nested blocks as objects (`workspaces { name = … }`).
fn body_settings(body: &hcl::Body) -> Result<Settings, String> {
    let context = hcl::eval::Context::new();
    let mut settings = Settings::new();
    for attribute in body.attributes() {
        let value = attribute.expr().evaluate(&context).map_err(|_| {
            format!(
                "the value of `{}` is not one tfw can evaluate (only literals, templates, conditionals and heredocs)",
                attribute.key()
            )
        })?;
        settings.insert(attribute.key().to_string(), value);
    }
    for block in body.blocks() {
        let nested = body_settings(block.body())?;
        settings.insert(
            block.identifier().to_string(),
            hcl::Value::Object(nested.into_iter().collect()),
        );
    }
    Ok(settings)
}

/// A JSON value as terraform reads it in JSON syntax; a string holding a template is refused.
fn json(value: &serde_json::Value) -> Result<hcl::Value, String> {
    Ok(match value {
        serde_json::Value::String(s) if s.contains("${") || s.contains("%{") => {
            return Err(format!("the template {s:?} is not one tfw evaluates"));
        }
        serde_json::Value::Array(items) => {
            hcl::Value::Array(items.iter().map(json).collect::<Result<_, _>>()?)
        }
        serde_json::Value::Object(object) => hcl::Value::Object(
            object
                .iter()
                .map(|(k, v)| Ok((k.clone(), json(v)?)))
                .collect::<Result<_, String>>()?,
        ),
        serde_json::Value::Null => hcl::Value::Null,
        serde_json::Value::Bool(b) => hcl::Value::Bool(*b),
        serde_json::Value::String(s) => hcl::Value::String(s.clone()),
        serde_json::Value::Number(n) => {
            let number = match (n.as_i64(), n.as_u64(), n.as_f64()) {
                (Some(i), _, _) => Some(hcl::Number::from(i)),
                (_, Some(u), _) => Some(hcl::Number::from(u)),
                (_, _, Some(f)) => hcl::Number::from_f64(f),
                _ => None,
            };
            hcl::Value::Number(
                number.ok_or_else(|| format!("the number {n} is not one tfw reads"))?,
            )
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path_of(text: &[u8]) -> Result<hcl::Value, String> {
        of_file(text, false).map(|settings| settings["path"].clone())
    }

    #[test]
    fn evaluates_what_terraform_evaluates() {
        for text in [
            &b"path = \"state/stg.tfstate\"\n"[..],
            b"\xef\xbb\xbfpath = \"state/stg.tfstate\"\n",
            b"path = \"state/${\"stg\"}.tfstate\"\n",
            b"path = true ? \"state/stg.tfstate\" : \"\"\n",
            b"path = \"state/${\"s\"}${\"tg\"}.tfstate\"\n",
        ] {
            assert_eq!(
                path_of(text),
                Ok(hcl::Value::from("state/stg.tfstate")),
                "{}",
                String::from_utf8_lossy(text)
            );
        }
        assert_eq!(
            path_of(b"path = <<EOT\nstate/stg.tfstate\nEOT\n"),
            Ok(hcl::Value::from("state/stg.tfstate\n")),
            "a heredoc keeps its last newline, as in terraform"
        );
        let json = of_file(b"\xef\xbb\xbf{\"path\": \"state/stg.tfstate\"}", true).unwrap();
        assert_eq!(json["path"], hcl::Value::from("state/stg.tfstate"));
    }

    #[test]
    fn what_needs_more_than_literals_is_named() {
        for text in [
            &b"path = var.env\n"[..],
            b"path = \"state/${var.env}.tfstate\"\n",
            b"path = format(\"%s\", \"x\")\n",
            b"path = local.x ? \"a\" : \"b\"\n",
        ] {
            let err = path_of(text).unwrap_err();
            assert!(err.contains("`path`"), "{err}");
        }
        assert!(of_file(b"{\"path\": \"${var.x}\"}", true).is_err());
        assert!(of_file(b"path = \n", false).is_err());
        assert!(of_file(b"\xff", false).is_err());
    }

    #[test]
    fn the_backend_block_of_hcl_and_json_sources() {
        let sources = vec![
            ("a.tf".to_string(), "resource \"x\" \"y\" {}\n".to_string()),
            (
                "main.tf".to_string(),
                "terraform {\n  backend \"s3\" {\n    key = \"app/${\"x\"}\"\n    assume_role { role_arn = \"r\" }\n  }\n}\n".to_string(),
            ),
        ];
        let (kind, settings) = of_block(&sources).unwrap().unwrap();
        assert_eq!(kind, "s3");
        assert_eq!(settings["key"], hcl::Value::from("app/x"));
        assert_eq!(
            settings["assume_role"],
            hcl::Value::from_iter([("role_arn", hcl::Value::from("r"))])
        );
        let json = vec![(
            "main.tf.json".to_string(),
            r#"{"terraform": [{"backend": {"local": {"path": "p"}}}]}"#.to_string(),
        )];
        let (kind, settings) = of_block(&json).unwrap().unwrap();
        assert_eq!(
            (kind.as_str(), &settings["path"]),
            ("local", &hcl::Value::from("p"))
        );
        assert_eq!(of_block(&sources[..1]), Ok(None));
    }

    #[test]
    fn same_converts_scalars_and_treats_null_as_unset() {
        let v = |text: &str| match hcl::from_str::<hcl::Value>(&format!("v = {text}")).unwrap() {
            hcl::Value::Object(map) => map["v"].clone(),
            other => panic!("{other:?}"),
        };
        for (a, b, expected) in [
            ("\"x\"", "\"x\"", true),
            ("\"x\"", "\"y\"", false),
            ("true", "\"true\"", true),
            ("5", "\"5\"", true),
            ("{ s3 = \"u\" }", "{ s3 = \"u\", iam = null }", true),
            ("{ s3 = \"u\" }", "{ s3 = \"v\" }", false),
            ("{ s3 = \"u\" }", "{ iam = \"u\" }", false),
            ("[\"a\"]", "[\"a\", \"b\"]", false),
            ("null", "null", true),
            ("\"x\"", "null", false),
        ] {
            assert_eq!(same(&v(a), &v(b)), expected, "{a} vs {b}");
        }
    }
}
