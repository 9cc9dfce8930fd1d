//! Which stacks depend on which for an env: a `terraform_remote_state` data source whose
//! backend is another stack's state for that env, or tfw.toml `depends_on`. Evaluated without
//! terraform: literal settings and `var.…` references with the env's values; anything else is
//! reported as unresolved, never guessed.

use crate::error::Error;
use crate::lang::backend;
use crate::lang::hcl::{Parsed, attribute, backend_in, parse_attributes, parse_body};
use crate::lang::types::Value;
use crate::lang::variables;
use crate::parallel::in_parallel;
use crate::repo::{Repo, Stack};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// `from` needs `to` applied first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Edge {
    pub from: String,
    pub to: String,
    /// `datadog/remote.tf:3 → ./prd.tfbackend`, or `tfw.toml`.
    pub origin: String,
}

/// The edges of one env, and the remote states tfw could not evaluate.
#[derive(Debug, Default, Serialize)]
pub struct Graph {
    pub env: String,
    pub edges: Vec<Edge>,
    pub unresolved: Vec<String>,
}

/// The values `var.…` takes for `env` in `stack`: defaults, automatic files, var files, `vars`.
fn values(
    repo: &Repo,
    stack: &Stack,
    env: &str,
    sources: &[(String, String)],
) -> BTreeMap<String, String> {
    let mut values = BTreeMap::new();
    for (_, text) in hcl(sources) {
        if let Ok(body) = parse_body(text) {
            for block in body.blocks().filter(|b| b.identifier() == "variable") {
                let default = attribute(block.body(), "default").and_then(literal);
                if let (Some(name), Some(default)) = (block.labels().first(), default) {
                    values.insert(name.as_str().to_string(), default);
                }
            }
        }
    }
    let config = repo.settings.stack_for(&stack.path, Some(env));
    // Terraform's order: the automatic files, then the var files tfw passes.
    let inputs = repo.inputs(stack);
    let passed = inputs
        .env(env)
        .and_then(|e| e.passed().ok())
        .unwrap_or_default();
    for file in inputs.automatic.iter().chain(passed) {
        let Ok(text) = std::fs::read_to_string(stack.dir.join(&file.name)) else {
            continue;
        };
        let is_json = file.name.ends_with(".json");
        for (name, supplied) in variables::supplied(&text, is_json).unwrap_or_default() {
            if let Value::String(s) = supplied.value {
                values.insert(name, s);
            } else if matches!(supplied.value, Value::Number | Value::Bool) {
                values.insert(name, supplied.text);
            }
        }
    }
    values.extend(config.vars(env));
    locals(sources, &mut values);
    values
}

/// A literal's value as text.
fn literal(expression: &::hcl::Expression) -> Option<String> {
    match expression {
        ::hcl::Expression::String(s) => Some(s.clone()),
        ::hcl::Expression::Number(n) => Some(n.to_string()),
        ::hcl::Expression::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// An expression's value from literals, `var.NAME`, `local.NAME` (in `vars` as `local.NAME`),
/// `"${…}"` templates and the string functions real remote-state configs use (`format`, `join`,
/// `lower`, `upper`, `replace`); `None` for anything else, never a guess.
fn evaluate(expression: &::hcl::Expression, vars: &BTreeMap<String, String>) -> Option<String> {
    use ::hcl::Expression as E;
    if let Some(value) = literal(expression) {
        return Some(value);
    }
    match expression {
        E::Traversal(traversal) => {
            let E::Variable(root) = &traversal.expr else {
                return None;
            };
            match (root.as_str(), traversal.operators.as_slice()) {
                ("var", [::hcl::TraversalOperator::GetAttr(name)]) => {
                    vars.get(name.as_str()).cloned()
                }
                ("local", [::hcl::TraversalOperator::GetAttr(name)]) => {
                    vars.get(&format!("local.{}", name.as_str())).cloned()
                }
                _ => None,
            }
        }
        E::TemplateExpr(template) => {
            let template = ::hcl::Template::from_expr(template).ok()?;
            let mut out = String::new();
            for element in template.elements() {
                match element {
                    ::hcl::template::Element::Literal(text) => out.push_str(text),
                    ::hcl::template::Element::Interpolation(part) => {
                        out.push_str(&evaluate(&part.expr, vars)?)
                    }
                    ::hcl::template::Element::Directive(_) => return None,
                }
            }
            Some(out)
        }
        E::Parenthesis(inner) => evaluate(inner, vars),
        E::FuncCall(call) if call.name.namespace.is_empty() && !call.expand_final => {
            let args =
                || -> Option<Vec<String>> { call.args.iter().map(|a| evaluate(a, vars)).collect() };
            match (call.name.name.as_str(), call.args.as_slice()) {
                ("lower", [_]) => Some(args()?[0].to_lowercase()),
                ("upper", [_]) => Some(args()?[0].to_uppercase()),
                // A `/…/` pattern is a regular expression: not evaluated.
                ("replace", [_, _, _]) => {
                    let [text, from, to] = <[String; 3]>::try_from(args()?).ok()?;
                    let regex = from.len() > 1 && from.starts_with('/') && from.ends_with('/');
                    (!regex).then(|| text.replace(&from, &to))
                }
                ("join", [separator, E::Array(items)]) => {
                    let items: Option<Vec<String>> =
                        items.iter().map(|i| evaluate(i, vars)).collect();
                    Some(items?.join(&evaluate(separator, vars)?))
                }
                ("format", [_, ..]) => format_verbs(&args()?),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Terraform's `format(spec, values…)` for the verbs `%s`, `%d`, `%v` and `%%`; `None` for any
/// other verb or a count that does not match.
fn format_verbs(args: &[String]) -> Option<String> {
    let (spec, mut values) = (args.first()?, args[1..].iter());
    let mut out = String::new();
    let mut chars = spec.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            '%' => out.push('%'),
            's' | 'v' => out.push_str(values.next()?),
            'd' => {
                let value = values.next()?;
                value.parse::<i64>().ok()?;
                out.push_str(value);
            }
            _ => return None,
        }
    }
    values.next().is_none().then_some(out)
}

/// The `locals` of `sources` evaluated over `vars` and each other, as `local.NAME`: each pass
/// evaluates what the last one made possible; what stays unknown is left out.
fn locals(sources: &[(String, String)], vars: &mut BTreeMap<String, String>) {
    let mut pending: Vec<(String, ::hcl::Expression)> = Vec::new();
    for (_, text) in hcl(sources) {
        if let Ok(body) = parse_body(text) {
            for block in body.blocks().filter(|b| b.identifier() == "locals") {
                for attribute in block.body().attributes() {
                    pending.push((
                        format!("local.{}", attribute.key()),
                        attribute.expr().clone(),
                    ));
                }
            }
        }
    }
    loop {
        let before = pending.len();
        pending.retain(|(name, expression)| match evaluate(expression, vars) {
            Some(value) => {
                vars.insert(name.clone(), value);
                false
            }
            None => true,
        });
        if pending.is_empty() || pending.len() == before {
            return;
        }
    }
}

/// The state identity of `stack`'s backend for `env`.
fn own_state(repo: &Repo, stack: &Stack, env: &str, sources: &Sources) -> Option<String> {
    let kind = sources.backend().clone();
    let attributes = match repo.backend_file(stack, env) {
        Some(file) => {
            let bytes = std::fs::read(stack.dir.join(&file)).ok()?;
            let Parsed::Attributes(attributes) = parse_attributes(&bytes, file.ends_with(".json"))
            else {
                return None;
            };
            attributes
        }
        None => crate::lang::hcl::Attributes::default(),
    };
    let mut settings: BTreeMap<&str, &str> = BTreeMap::new();
    let (kind, block) = kind?;
    settings.extend(block.iter());
    settings.extend(attributes.iter());
    let config = repo.settings.stack_for(&stack.path, Some(env));
    let from_toml = config.backend_settings(env);
    settings.extend(from_toml.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let workspace = config
        .workspace(env)
        .unwrap_or_else(|| "default".to_string());
    Some(
        backend::locate(&kind, &settings, &stack.path)?
            .in_workspace(&workspace)
            .identity,
    )
}

/// The line of `needle` in `text`, 1 if absent.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .map_or(1, |i| i + 1)
}

/// A stack's `.tf` and `.tf.json` files by name, with their text, read once for every env's
/// graph and every run, and the backend block they declare, found once.
pub struct Sources {
    pub files: Vec<(String, String)>,
    backend: std::sync::OnceLock<Option<(String, crate::lang::hcl::Attributes)>>,
}

impl Sources {
    fn backend(&self) -> &Option<(String, crate::lang::hcl::Attributes)> {
        self.backend.get_or_init(|| {
            hcl(&self.files)
                .filter(|(_, text)| text.contains("backend"))
                .find_map(|(_, text)| backend_in(&parse_body(text).ok()?))
        })
    }
}

/// The `.tf` files among a stack's sources (what tfw evaluates here is HCL).
fn hcl(sources: &[(String, String)]) -> impl Iterator<Item = &(String, String)> {
    sources.iter().filter(|(name, _)| name.ends_with(".tf"))
}

/// Each stack's sources, read once for every env's graph and every run.
pub fn read_sources(repo: &Repo, stacks: &[&Stack]) -> Vec<Sources> {
    in_parallel(stacks, |part| {
        part.iter()
            .map(|stack| Sources {
                files: repo.terraform_sources(stack),
                backend: std::sync::OnceLock::new(),
            })
            .collect::<Vec<_>>()
    })
    .into_iter()
    .flatten()
    .collect()
}

/// The graph of `env` among `stacks` (those that have it), each stack's sources already read
/// (`all_sources[i]` is `stacks[i]`'s).
pub fn build(
    repo: &Repo,
    stacks: &[&Stack],
    env: &str,
    all_sources: &[&Sources],
) -> Result<Graph, Error> {
    let mut graph = Graph {
        env: env.to_string(),
        ..Graph::default()
    };
    // Every stack's own state, read only when some stack reads another's.
    let states = std::cell::OnceCell::new();
    let states = || -> &Vec<Option<String>> {
        states.get_or_init(|| {
            let indices: Vec<usize> = (0..stacks.len()).collect();
            in_parallel(&indices, |part| {
                part.iter()
                    .map(|&i| own_state(repo, stacks[i], env, all_sources[i]))
                    .collect::<Vec<_>>()
            })
            .into_iter()
            .flatten()
            .collect()
        })
    };
    for (index, (stack, sources)) in stacks.iter().zip(all_sources).enumerate() {
        for dependency in repo.depends_on(&stack.path) {
            if !stacks.iter().any(|s| s.path == dependency) {
                continue;
            }
            graph.edges.push(Edge {
                from: stack.path.clone(),
                to: dependency,
                origin: "tfw.toml".into(),
            });
        }
        let mut vars = None;
        // Most stacks read no other state: a byte search spares them the parse.
        for (file, text) in
            hcl(&sources.files).filter(|(_, t)| t.contains("terraform_remote_state"))
        {
            let Ok(body) = parse_body(text) else {
                continue;
            };
            for block in body.blocks().filter(|b| {
                b.identifier() == "data"
                    && b.labels()
                        .first()
                        .is_some_and(|l| l.as_str() == "terraform_remote_state")
            }) {
                let name = block.labels().get(1).map_or("", |l| l.as_str());
                let place = format!(
                    "{}:{}",
                    crate::repo::join_display(&stack.path, Path::new(file)),
                    line_of(text, &format!("\"{name}\""))
                );
                let vars = vars.get_or_insert_with(|| values(repo, stack, env, &sources.files));
                let kind = attribute(block.body(), "backend").and_then(|e| evaluate(e, vars));
                let mut config = BTreeMap::new();
                let mut unresolved = Vec::new();
                if let Some(::hcl::Expression::Object(object)) = attribute(block.body(), "config") {
                    for (key, value) in object {
                        let key = match key {
                            ::hcl::ObjectKey::Identifier(id) => id.to_string(),
                            ::hcl::ObjectKey::Expression(e) => literal(e).unwrap_or_default(),
                            _ => continue,
                        };
                        // What tfw cannot evaluate matters only where it locates the state
                        // (`endpoints = { … }` does not).
                        match evaluate(value, vars) {
                            Some(value) => {
                                config.insert(key, value);
                            }
                            None if kind.as_deref().is_none_or(|k| backend::locates(k, &key)) => {
                                unresolved.push(format!("{key} = {value}"))
                            }
                            None => {}
                        }
                    }
                }
                // The data source's `workspace` (default `default`) picks the state too.
                let workspace = attribute(block.body(), "workspace").map(|e| evaluate(e, vars));
                if let Some(None) = workspace {
                    unresolved.push("workspace".to_string());
                }
                let workspace = workspace.flatten().unwrap_or_else(|| "default".to_string());
                let location = kind.as_deref().and_then(|kind| {
                    let settings: BTreeMap<&str, &str> = config
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str()))
                        .collect();
                    backend::locate(kind, &settings, &stack.path)
                        .map(|location| location.in_workspace(&workspace))
                });
                let target = location.as_ref().and_then(|location| {
                    states().iter().enumerate().find(|(i, state)| {
                        *i != index && state.as_ref() == Some(&location.identity)
                    })
                });
                match (target, unresolved.is_empty() && kind.is_some()) {
                    (Some((i, _)), _) => {
                        let other = stacks[i];
                        // The other stack's backend file, else the stack (its block, tfw.toml).
                        let state = match repo.backend_file(other, env) {
                            Some(file) => crate::paths::normalize(Path::new(
                                &crate::repo::join_display(&other.path, Path::new(&file)),
                            ))
                            .to_string_lossy()
                            .into_owned(),
                            None => other.path.clone(),
                        };
                        graph.edges.push(Edge {
                            from: stack.path.clone(),
                            to: other.path.clone(),
                            origin: format!("{place} → {state}"),
                        });
                    }
                    (None, false) => graph.unresolved.push(format!(
                        "{place}: data.terraform_remote_state.{name}: cannot evaluate {} for {env}",
                        if kind.is_none() {
                            "backend".to_string()
                        } else {
                            unresolved.join(", ")
                        }
                    )),
                    // Another state (outside the repository, or no stack's): no edge.
                    (None, true) => {}
                }
            }
        }
    }
    graph
        .edges
        .sort_by(|a, b| (&a.from, &a.to).cmp(&(&b.from, &b.to)));
    graph
        .edges
        .dedup_by(|a, b| a.from == b.from && a.to == b.to);
    Ok(graph)
}

/// The graph of each env any of `stacks` has (or of `only`), with that env's stacks; a graph
/// with a cycle is its error. Each stack's files are read once for all envs.
pub fn by_env<'a>(
    repo: &Repo,
    stacks: &'a [Stack],
    only: Option<&'a str>,
) -> Vec<(&'a str, Vec<&'a Stack>, Result<Graph, Error>)> {
    let all_sources = read_sources(repo, &stacks.iter().collect::<Vec<_>>());
    by_env_read(repo, stacks, only, &all_sources)
}

/// `by_env` with each stack's files already read (`all_sources[i]` is `stacks[i]`'s).
pub fn by_env_read<'a>(
    repo: &Repo,
    stacks: &'a [Stack],
    only: Option<&'a str>,
    all_sources: &[Sources],
) -> Vec<(&'a str, Vec<&'a Stack>, Result<Graph, Error>)> {
    let envs: std::collections::BTreeSet<&str> = match only {
        Some(env) => [env].into(),
        None => stacks
            .iter()
            .flat_map(|s| s.envs.iter().map(String::as_str))
            .collect(),
    };
    envs.into_iter()
        .map(|env| {
            let (with_env, their_sources): (Vec<&Stack>, Vec<&Sources>) = stacks
                .iter()
                .zip(all_sources)
                .filter(|(s, _)| s.envs.iter().any(|e| e == env))
                .unzip();
            let graph = build(repo, &with_env, env, &their_sources)
                .and_then(|graph| levels(&with_env, &graph.edges).map(|_| graph));
            (env, with_env, graph)
        })
        .collect()
}

/// Each stack's level (0: depends on nothing) in `stacks`' order, or the stacks of a cycle.
pub fn levels(stacks: &[&Stack], edges: &[Edge]) -> Result<Vec<usize>, Error> {
    let index = |path: &str| stacks.iter().position(|s| s.path == path);
    let mut levels: Vec<Option<usize>> = vec![None; stacks.len()];
    fn visit(
        i: usize,
        stacks: &[&Stack],
        deps: &[Vec<usize>],
        levels: &mut Vec<Option<usize>>,
        path: &mut Vec<usize>,
    ) -> Result<usize, Error> {
        if let Some(level) = levels[i] {
            return Ok(level);
        }
        if let Some(start) = path.iter().position(|&p| p == i) {
            let mut cycle: Vec<String> = path[start..]
                .iter()
                .map(|&p| stacks[p].path.clone())
                .collect();
            cycle.push(stacks[i].path.clone());
            return Err(Error::Cycle { stacks: cycle });
        }
        path.push(i);
        let mut level = 0;
        for &d in &deps[i] {
            level = level.max(visit(d, stacks, deps, levels, path)? + 1);
        }
        path.pop();
        levels[i] = Some(level);
        Ok(level)
    }
    let mut deps: Vec<Vec<usize>> = vec![Vec::new(); stacks.len()];
    for edge in edges {
        if let (Some(from), Some(to)) = (index(&edge.from), index(&edge.to)) {
            deps[from].push(to);
        }
    }
    let mut path = Vec::new();
    (0..stacks.len())
        .map(|i| visit(i, stacks, &deps, &mut levels, &mut path))
        .collect()
}

/// For each of `stacks`, the indices of the stacks it waits for: its dependencies, or with
/// `reverse` (destroy) the stacks that depend on it.
pub fn waits(stacks: &[&Stack], edges: &[Edge], reverse: bool) -> Vec<Vec<usize>> {
    let index = |path: &str| stacks.iter().position(|s| s.path == path);
    let mut waits = vec![Vec::new(); stacks.len()];
    for edge in edges {
        if let (Some(from), Some(to)) = (index(&edge.from), index(&edge.to)) {
            match reverse {
                false => waits[from].push(to),
                true => waits[to].push(from),
            }
        }
    }
    waits
}
