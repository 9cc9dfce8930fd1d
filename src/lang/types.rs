//! Terraform's variable types and whether a literal value converts to one, by Terraform's own
//! rules (`"5"` is a number, `5` is a string; a list is never a string).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A declared type, as far as tfw reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Type {
    String,
    Number,
    Bool,
    List(Box<Type>),
    Set(Box<Type>),
    Map(Box<Type>),
    /// Attribute types, and whether each is `optional(…)`.
    Object(BTreeMap<String, (Type, bool)>),
    Tuple(Vec<Type>),
    Any,
}

/// A literal value from a var file; anything that is not a literal is `Unknown` and never
/// reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Value {
    String(String),
    Number,
    Bool,
    Null,
    List(Vec<Value>),
    Object(BTreeMap<String, Value>),
    Unknown,
}

impl Type {
    /// The type an HCL type expression declares; `None` for what tfw does not read.
    pub fn from_expression(expression: &hcl::Expression) -> Option<Type> {
        use hcl::Expression as E;
        match expression {
            E::Variable(name) => match name.as_str() {
                "string" => Some(Type::String),
                "number" => Some(Type::Number),
                "bool" => Some(Type::Bool),
                "any" => Some(Type::Any),
                _ => None,
            },
            E::FuncCall(call) => {
                let argument = call.args.first()?;
                let name = call.name.name.as_str();
                match (name, argument) {
                    ("list", _) => Some(Type::List(Box::new(Type::from_expression(argument)?))),
                    ("set", _) => Some(Type::Set(Box::new(Type::from_expression(argument)?))),
                    ("map", _) => Some(Type::Map(Box::new(Type::from_expression(argument)?))),
                    ("object", E::Object(attributes)) => {
                        let mut object = BTreeMap::new();
                        for (key, value) in attributes {
                            let key = match key {
                                hcl::ObjectKey::Identifier(id) => id.to_string(),
                                hcl::ObjectKey::Expression(E::String(s)) => s.clone(),
                                _ => return None,
                            };
                            let attribute = match value {
                                E::FuncCall(call) if call.name.name.as_str() == "optional" => {
                                    (Type::from_expression(call.args.first()?)?, true)
                                }
                                other => (Type::from_expression(other)?, false),
                            };
                            object.insert(key, attribute);
                        }
                        Some(Type::Object(object))
                    }
                    ("tuple", E::Array(elements)) => Some(Type::Tuple(
                        elements
                            .iter()
                            .map(Type::from_expression)
                            .collect::<Option<_>>()?,
                    )),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// Why `value` does not convert to this type, if it does not.
    pub fn mismatch(&self, value: &Value) -> Option<String> {
        let what = |value: &Value| match value {
            Value::String(_) => "a string",
            Value::Number => "a number",
            Value::Bool => "a bool",
            Value::List(_) => "a list",
            Value::Object(_) => "an object",
            Value::Null | Value::Unknown => "a value",
        };
        let fail = |wanted: &str| Some(format!("{wanted} is required, not {}", what(value)));
        match (self, value) {
            (_, Value::Unknown | Value::Null) | (Type::Any, _) => None,
            (Type::String, Value::String(_) | Value::Number | Value::Bool) => None,
            (Type::String, _) => fail("a string"),
            (Type::Number, Value::Number) => None,
            (Type::Number, Value::String(s)) if s.trim().parse::<f64>().is_ok() => None,
            (Type::Number, _) => fail("a number"),
            (Type::Bool, Value::Bool) => None,
            (Type::Bool, Value::String(s)) if s == "true" || s == "false" => None,
            (Type::Bool, _) => fail("a bool"),
            (Type::List(element) | Type::Set(element), Value::List(items)) => items
                .iter()
                .enumerate()
                .find_map(|(i, item)| Some(format!("element {i}: {}", element.mismatch(item)?))),
            (Type::List(_), _) => fail("a list"),
            (Type::Set(_), _) => fail("a set"),
            (Type::Map(element), Value::Object(entries)) => {
                entries.iter().find_map(|(key, item)| {
                    Some(format!("element {key:?}: {}", element.mismatch(item)?))
                })
            }
            (Type::Map(_), _) => fail("a map"),
            (Type::Object(attributes), Value::Object(entries)) => {
                attributes
                    .iter()
                    .find_map(|(name, (kind, optional))| match entries.get(name) {
                        None if !optional => Some(format!("attribute {name:?} is required")),
                        None => None,
                        Some(item) => Some(format!("attribute {name:?}: {}", kind.mismatch(item)?)),
                    })
            }
            (Type::Object(_), _) => fail("an object"),
            (Type::Tuple(elements), Value::List(items)) if elements.len() != items.len() => {
                Some(format!(
                    "a tuple of {} elements is required, not {}",
                    elements.len(),
                    items.len()
                ))
            }
            (Type::Tuple(elements), Value::List(items)) => elements
                .iter()
                .zip(items)
                .enumerate()
                .find_map(|(i, (kind, item))| {
                    Some(format!("element {i}: {}", kind.mismatch(item)?))
                }),
            (Type::Tuple(_), _) => fail("a tuple"),
        }
    }
}

impl Value {
    /// The same value with every string reduced to what conversion looks at (a number, a
    /// bool word, anything else): what `tfw check` keeps, never the content.
    pub fn shape(&self) -> Value {
        match self {
            Value::String(s) if s.trim().parse::<f64>().is_ok() => Value::String("0".into()),
            Value::String(s) if s == "true" || s == "false" => Value::String(s.clone()),
            Value::String(_) => Value::String(String::new()),
            Value::List(items) => Value::List(items.iter().map(Value::shape).collect()),
            Value::Object(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), v.shape()))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// The value of a literal HCL expression.
    pub fn from_expression(expression: &hcl::Expression) -> Value {
        use hcl::Expression as E;
        match expression {
            E::String(s) => Value::String(s.clone()),
            E::Number(_) => Value::Number,
            E::Bool(_) => Value::Bool,
            E::Null => Value::Null,
            E::Array(items) => Value::List(items.iter().map(Value::from_expression).collect()),
            E::Object(entries) => {
                let mut object = BTreeMap::new();
                for (key, value) in entries {
                    let key = match key {
                        hcl::ObjectKey::Identifier(id) => id.to_string(),
                        hcl::ObjectKey::Expression(E::String(s)) => s.clone(),
                        _ => return Value::Unknown,
                    };
                    object.insert(key, Value::from_expression(value));
                }
                Value::Object(object)
            }
            _ => Value::Unknown,
        }
    }

    /// The value of a literal of the simple subset (see `simple_hcl`).
    pub fn from_literal(literal: &crate::lang::simple_hcl::Literal) -> Value {
        use crate::lang::simple_hcl::Literal as L;
        match literal {
            L::String(s) => Value::String(s.to_string()),
            L::Integer(_) => Value::Number,
            L::Bool(_) => Value::Bool,
            L::Null => Value::Null,
            L::List(items) => Value::List(items.iter().map(Value::from_literal).collect()),
            L::Object(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.to_string(), Value::from_literal(v)))
                    .collect(),
            ),
        }
    }

    /// The value of a JSON literal (`*.tfvars.json`).
    pub fn from_json(value: &serde_json::Value) -> Value {
        use serde_json::Value as J;
        match value {
            J::String(s) => Value::String(s.clone()),
            J::Number(_) => Value::Number,
            J::Bool(_) => Value::Bool,
            J::Null => Value::Null,
            J::Array(items) => Value::List(items.iter().map(Value::from_json).collect()),
            J::Object(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::from_json(v)))
                    .collect(),
            ),
        }
    }
}

/// One `variable` block of a stack's root module.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Declared {
    /// Whether plan needs a value from somewhere: no default (or `nullable = false` with a null
    /// default).
    pub required: bool,
    /// `None` when tfw does not read the type expression.
    pub kind: Option<Type>,
    pub sensitive: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declared(text: &str) -> Type {
        let body: hcl::Body = hcl::parse(&format!("t = {text}\n")).unwrap();
        let attribute = body.attributes().next().unwrap();
        Type::from_expression(attribute.expr()).unwrap_or_else(|| panic!("{text}"))
    }

    fn literal(text: &str) -> Value {
        let body: hcl::Body = hcl::parse(&format!("v = {text}\n")).unwrap();
        Value::from_expression(body.attributes().next().unwrap().expr())
    }

    /// Declared type × literal → converts? The table is the e2e suite's too, which runs each
    /// row through a real `terraform plan`.
    #[test]
    fn conversion_table() {
        let table = include_str!("../../tests/fixtures/type_conversion.txt");
        let rows = table
            .lines()
            .filter(|line| !line.starts_with('#'))
            .map(|line| {
                let fields: Vec<&str> = line.split(" | ").collect();
                (fields[0], fields[1], fields[2] == "ok")
            })
            // Not a literal: never reported (terraform refuses it in a tfvars file anyway).
            .chain([("string", "var.x", true)]);
        for (kind, value, converts) in rows {
            let mismatch = declared(kind).mismatch(&literal(value));
            assert_eq!(
                mismatch.is_none(),
                converts,
                "{kind} ← {value}: {mismatch:?}"
            );
        }
    }

    #[test]
    fn types_tfw_does_not_read_are_left_alone() {
        let body: hcl::Body = hcl::parse("t = frob(string)\n").unwrap();
        assert_eq!(
            Type::from_expression(body.attributes().next().unwrap().expr()),
            None
        );
    }
}
