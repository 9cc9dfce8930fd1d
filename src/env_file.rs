//! Reading var, backend and `.tf` files: their literal attributes, a backend block, or why they
//! do not parse (with the line).

use crate::parse_cache::{Attributes, Parsed};

/// Literal attributes of a var or backend file (strings, numbers, bools), or why it is invalid.
pub fn parse_attributes(bytes: &[u8], is_json: bool) -> Parsed {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Parsed::Invalid("not UTF-8 text".into());
    };
    if is_json {
        return match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::Object(object)) => Parsed::Attributes(Attributes::new(
                object
                    .iter()
                    .filter_map(|(k, v)| Some((k.as_str(), literal_json(v)?))),
            )),
            Ok(_) => Parsed::Invalid("invalid JSON: expected an object".into()),
            Err(e) => Parsed::Invalid(format!("line {}: invalid JSON: {e}", e.line())),
        };
    }
    match hcl::parse(text) {
        Ok(body) => Parsed::Attributes(literal_attributes(&body)),
        Err(hcl::Error::Parse(e)) => Parsed::Invalid(format!(
            "line {}: invalid HCL: {}",
            e.location().line(),
            e.message()
        )),
        Err(other) => Parsed::Invalid(format!("invalid HCL: {other}")),
    }
}

/// The `terraform { backend "<type>" { … } }` block of a `.tf` file.
pub fn backend_of(bytes: &[u8]) -> Parsed {
    let text = String::from_utf8_lossy(bytes);
    if !text.contains("backend") {
        return Parsed::Backend(None);
    }
    let Ok(body) = hcl::parse(&text) else {
        return Parsed::Backend(None);
    };
    Parsed::Backend(
        body.blocks()
            .filter(|b| b.identifier() == "terraform")
            .find_map(|terraform| {
                let backend = terraform
                    .body()
                    .blocks()
                    .find(|b| b.identifier() == "backend")?;
                let kind = backend.labels().first()?.as_str().to_string();
                Some((kind, literal_attributes(backend.body())))
            }),
    )
}

fn literal_json(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn literal_attributes(body: &hcl::Body) -> Attributes {
    Attributes::new(body.attributes().filter_map(|a| {
        let value = match a.expr() {
            hcl::Expression::String(s) => s.clone(),
            hcl::Expression::Number(n) => n.to_string(),
            hcl::Expression::Bool(b) => b.to_string(),
            _ => return None,
        };
        Some((a.key(), value))
    }))
}
