//! The subcommands that report on the repository without running terraform: `envs`, `stacks`,
//! `check` and `atlantis`. Each prints text or typed JSON.

use crate::atlantis;
use crate::check::{self, Problem};
use crate::cli::arguments::{CheckFormat, Format, GraphFormat};
use crate::cli::output;
use crate::config::env_name;
use crate::diff;
use crate::error::Error;
use crate::repo::{OutsideLink, Presence, Repo};
use anyhow::Context as _;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// `tfw envs`: the envs of the stack at `start`.
pub fn envs(start: &Path, format: Format) -> anyhow::Result<i32> {
    let repo = Repo::open(start)?;
    let stack = repo.stack_at(start)?;
    match format {
        Format::Text => output::print(&lines(stack.envs.iter()))?,
        Format::Json => output::json(&stack.envs)?,
    }
    Ok(0)
}

#[derive(Serialize)]
struct StacksReport<'a> {
    root: &'a Path,
    stacks: Vec<StackReport<'a>>,
    /// Symbolic links to directories outside the repository: not followed.
    skipped_links: Vec<SkippedLink<'a>>,
}

#[derive(Serialize)]
struct StackReport<'a> {
    name: &'a str,
    path: &'a str,
    envs: &'a [String],
    missing: Vec<MissingFile<'a>>,
}

#[derive(Serialize)]
struct MissingFile<'a> {
    env: &'a str,
    file: String,
}

#[derive(Serialize)]
struct SkippedLink<'a> {
    path: &'a str,
    target: &'a Path,
}

/// `tfw stacks`: every stack with its envs and the env files terraform would not find.
pub fn stacks(start: &Path, format: Format) -> anyhow::Result<i32> {
    let repo = Repo::open(start)?;
    let stacks = repo.stacks(Presence::OnDisk)?;
    let links: Vec<OutsideLink> = repo.outside_links()?;
    let mut report = StacksReport {
        root: &repo.root,
        stacks: Vec::new(),
        skipped_links: links
            .iter()
            .map(|l| SkippedLink {
                path: &l.path,
                target: &l.target,
            })
            .collect(),
    };
    for stack in &stacks {
        let mut missing = Vec::new();
        for env in &stack.envs {
            for file in repo.missing_files(stack, env)? {
                missing.push(MissingFile { env, file });
            }
        }
        report.stacks.push(StackReport {
            name: stack.name(),
            path: &stack.path,
            envs: &stack.envs,
            missing,
        });
    }
    match format {
        Format::Json => output::json(&report)?,
        Format::Text => {
            let mut text = String::new();
            for stack in &report.stacks {
                text.push_str(&format!("{}\t{}\n", stack.path, stack.envs.join(" ")));
                for missing in &stack.missing {
                    text.push_str(&format!(
                        "  missing: {} (env {})\n",
                        missing.file, missing.env
                    ));
                }
            }
            output::print(&text)?;
            let mut notes = String::new();
            if report.stacks.is_empty() {
                notes.push_str(&format!(
                    "tfw: note: {}
",
                    repo.no_stacks()
                ));
            }
            for link in &report.skipped_links {
                notes.push_str(&format!(
                    "tfw: note: {} points outside the repository ({}): not followed\n",
                    link.path,
                    link.target.display()
                ));
            }
            output::eprint(&notes)?;
        }
    }
    Ok(0)
}

#[derive(Serialize)]
struct CheckReport<'a> {
    problems: Vec<Reported<'a>>,
}

/// A problem with its severity: `error`, or `warning` for the kinds that do not fail the check.
#[derive(Serialize)]
struct Reported<'a> {
    #[serde(flatten)]
    problem: &'a Problem,
    severity: &'static str,
}

/// `tfw check`: exits 1 when there is something to fix; says so on stderr when there is not
/// (unless `quiet`).
pub fn check(start: &Path, format: CheckFormat, quiet: bool) -> anyhow::Result<i32> {
    let repo = Repo::open(start)?.with_content_ids();
    let check::Checked {
        problems,
        warnings,
        stacks,
    } = check::check(&repo)?;
    let errors = problems.iter().filter(|p| !p.is_warning()).count();
    let severity = |p: &Problem| match p.is_warning() {
        true => "warning",
        false => "error",
    };
    // Under GitHub Actions the text gains annotations by itself.
    let format = match format {
        CheckFormat::Text
            if crate::terraform::invocation::inherited("GITHUB_ACTIONS")
                .is_some_and(|v| v == "true") =>
        {
            CheckFormat::Github
        }
        format => format,
    };
    match format {
        CheckFormat::Text | CheckFormat::Github => {
            output::print(&lines(problems.iter().map(|p| {
                let warning = if p.is_warning() { "warning: " } else { "" };
                match p.line {
                    Some(line) => format!("{}:{line}: {warning}{}", p.path, p.message),
                    None => format!("{}: {warning}{}", p.path, p.message),
                }
            })))?;
            let mut notes: Vec<String> = warnings.iter().map(|w| format!("warning: {w}")).collect();
            notes.extend(
                check::outside_files(&repo, &stacks)
                    .iter()
                    .map(|file| format!("note: {file} is outside the repository: not checked")),
            );
            notes.extend(unmatched_protection(&repo, &stacks).iter().map(|glob| {
                format!("note: protected pattern `{glob}` matches no env of any stack")
            }));
            let warned = problems.len() - errors;
            if warned > 0 {
                notes.push(format!(
                    "{warned} warning(s): not failing the check (`[check] skip = [\"providers\"]` turns them off)"
                ));
            }
            if errors > 0 {
                notes.push(format!(
                    "{errors} problem(s) found; fix the files named above"
                ));
            } else if !quiet && warned == 0 {
                let envs: std::collections::BTreeSet<&String> =
                    stacks.iter().flat_map(|s| &s.envs).collect();
                let plural = |n: usize, word: &str| match n {
                    1 => format!("1 {word}"),
                    n => format!("{n} {word}s"),
                };
                notes.push(format!(
                    "checked {} × {}: no problems",
                    plural(stacks.len(), "stack"),
                    plural(envs.len(), "env")
                ));
            }
            output::eprint(&lines(notes.iter().map(|note| format!("tfw: {note}"))))?;
            if format == CheckFormat::Github {
                output::print(&check::annotations::github(&problems, &warnings))?;
            }
        }
        CheckFormat::Json => output::json(&CheckReport {
            problems: problems
                .iter()
                .map(|problem| Reported {
                    problem,
                    severity: severity(problem),
                })
                .collect(),
        })?,
        CheckFormat::Gitlab => output::json(&check::annotations::gitlab(&problems))?,
    }
    Ok(i32::from(errors > 0))
}

/// The `protected` globs tfw.toml sets that no env of any stack matches: a likely typo, and a
/// production env left unguarded. (The default globs are not the user's to fix.)
fn unmatched_protection(repo: &Repo, stacks: &[crate::repo::Stack]) -> Vec<String> {
    let settings = &repo.settings;
    if settings.protected == crate::config::Settings::default().protected {
        return Vec::new();
    }
    settings
        .protected
        .iter()
        .filter(|glob| {
            !stacks
                .iter()
                .flat_map(|s| &s.envs)
                .any(|env| crate::config::protection_matches(glob, env))
        })
        .cloned()
        .collect()
}

/// `tfw atlantis`: renders atlantis.yaml, writes it, or compares it with the file on disk.
pub fn atlantis(
    start: &Path,
    file: Option<PathBuf>,
    check: bool,
    quiet: bool,
) -> anyhow::Result<i32> {
    let repo = Repo::open(start)?;
    if let Some(dir) = file.as_ref().filter(|f| f.is_dir()) {
        return Err(Error::Usage {
            message: format!("`{}` is a directory", dir.display()),
            help: "`--output` takes the path of the atlantis.yaml file itself".into(),
        }
        .into());
    }
    let stacks = repo.stacks(Presence::OnDisk)?;
    if stacks.is_empty() {
        return Err(repo.no_stacks().into());
    }
    let (text, warnings) = atlantis::render(&repo, &stacks);
    output::eprint(
        &warnings
            .iter()
            .map(|w| format!("tfw: warning: {w}\n"))
            .collect::<String>(),
    )?;
    if check {
        let file = file.unwrap_or_else(|| {
            // Named as the user would type it from here: `atlantis.yaml` at the root.
            let path = repo.root.join(atlantis::FILE_NAME);
            std::env::current_dir()
                .ok()
                .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
                .unwrap_or(path)
        });
        let on_disk = match std::fs::read_to_string(&file) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotGenerated { path: file }.into());
            }
            Err(e) => {
                return Err(Error::Usage {
                    message: format!("cannot read {}: {e}", file.display()),
                    help: "pass the atlantis.yaml file to compare with `--output FILE`".into(),
                }
                .into());
            }
        };
        if on_disk == text {
            if !quiet {
                output::eprint(&format!("tfw: {} is up to date\n", file.display()))?;
            }
            return Ok(0);
        }
        output::print(&atlantis::diff(
            &on_disk,
            &text,
            &file.display().to_string(),
        ))?;
        return Err(Error::Stale { path: file }.into());
    }
    match file {
        Some(file) => crate::atomic_file::write(&file, text.as_bytes())
            .with_context(|| format!("writing {}", file.display()))?,
        None => output::print(&text)?,
    }
    Ok(0)
}

#[derive(Serialize)]
struct DiffReport<'a> {
    stacks: &'a [diff::StackDiff],
}

/// `tfw diff`: how two envs' inputs differ in the stack at `start` (or, with `all`, in every
/// stack that has both). A report: exits 0.
pub fn diff(start: &Path, [a, b]: [&str; 2], all: bool, format: Format) -> anyhow::Result<i32> {
    for env in [a, b] {
        env_name::validate(env)?;
    }
    let repo = Repo::open(start)?;
    let stacks = match all {
        false => vec![repo.stack_at(start)?],
        true => repo
            .stacks(Presence::OnDisk)?
            .into_iter()
            .filter(|s| [a, b].iter().all(|env| s.envs.iter().any(|e| e == env)))
            .collect(),
    };
    if stacks.is_empty() {
        return Err(Error::Usage {
            message: format!("no stack has both {a} and {b}"),
            help: "list the stacks and their envs with `tfw stacks`".into(),
        }
        .into());
    }
    let diffs = stacks
        .iter()
        .map(|stack| diff::diff(&repo, stack, a, b))
        .collect::<Result<Vec<_>, _>>()?;
    match format {
        Format::Text => {
            output::print(&diffs.iter().map(diff::StackDiff::text).collect::<String>())?
        }
        Format::Json => output::json(&DiffReport { stacks: &diffs })?,
    }
    Ok(0)
}

/// `tfw affected`: the pairs to plan, as lines or as a CI matrix (`include`).
pub fn affected(
    start: &Path,
    base: Option<&str>,
    head: Option<&str>,
    format: Format,
    quiet: bool,
) -> anyhow::Result<i32> {
    // Content ids tell whether the working tree holds a commit's tree (then the model is kept
    // for it).
    let repo = Repo::open(start)?.with_content_ids();
    let affected = crate::affected::between(&repo, base, head, "tfw affected --base <REF>")?;
    for note in &affected.notes {
        output::eprint(&format!("tfw: note: {note}\n"))?;
    }
    if affected.include.is_empty() && !quiet {
        output::eprint(&format!(
            "tfw: no stack affected between {} and {}\n",
            affected.base, affected.head
        ))?;
    }
    match format {
        Format::Json => output::json(&affected)?,
        Format::Text => {
            output::print(&lines(affected.include.iter().map(|pair| {
                format!("{}\t{}\t{}", pair.path, pair.env, pair.reasons.join(", "))
            })))?
        }
    }
    Ok(0)
}

/// `tfw graph`: the dependencies between stacks, per env; exit 1 on a cycle.
pub fn graph(start: &Path, env: Option<&str>, format: GraphFormat) -> anyhow::Result<i32> {
    if let Some(env) = env {
        env_name::validate(env)?;
    }
    let repo = Repo::open(start)?;
    let stacks = repo.stacks(Presence::OnDisk)?;
    if stacks.is_empty() {
        // Nothing to draw: say why, as a run here would.
        repo.stack_at(start)?;
    }
    let graphs = crate::repo::graph::by_env(&repo, &stacks, env)
        .into_iter()
        .map(|(_, _, graph)| graph)
        .collect::<Result<Vec<_>, _>>()?;
    match format {
        GraphFormat::Json => output::json(&graphs)?,
        GraphFormat::Text => {
            let mut text = String::new();
            for graph in &graphs {
                text.push_str(&format!("{}:\n", graph.env));
                for edge in &graph.edges {
                    text.push_str(&format!(
                        "  {} → {}  ({})\n",
                        edge.from, edge.to, edge.origin
                    ));
                }
                for unresolved in &graph.unresolved {
                    text.push_str(&format!("  unresolved: {unresolved}\n"));
                }
            }
            output::print(&text)?;
        }
        GraphFormat::Dot => {
            let mut text = String::from("digraph tfw {\n");
            for graph in &graphs {
                for edge in &graph.edges {
                    text.push_str(&format!(
                        "  {:?} -> {:?} [label={:?}];\n",
                        edge.from, edge.to, graph.env
                    ));
                }
            }
            text.push_str("}\n");
            output::print(&text)?;
        }
    }
    Ok(0)
}

/// Each item on a line of its own.
fn lines(items: impl Iterator<Item = impl std::fmt::Display>) -> String {
    items.map(|item| format!("{item}\n")).collect()
}

/// `tfw providers`: the lock files' providers, skew, and the plugin cache; with `--check`,
/// exit 1 on skew.
pub fn providers(start: &Path, format: Format, check: bool) -> anyhow::Result<i32> {
    let repo = Repo::open(start)?;
    let cache = crate::run::prepare::plugin_cache_of(&repo);
    let report = crate::providers::report(&repo, cache.as_ref())?;
    match format {
        Format::Json => output::json(&report)?,
        Format::Text => output::print(&crate::providers::text(&report))?,
    }
    let skewed: Vec<&str> = report
        .providers
        .iter()
        .filter(|p| p.skew)
        .map(|p| p.source.as_str())
        .collect();
    if check && !skewed.is_empty() {
        output::eprint(&format!(
            "tfw: stacks lock different versions of {}: each version is one more copy and download\n",
            skewed.join(", ")
        ))?;
        return Ok(crate::exit_code::FINDINGS);
    }
    Ok(0)
}
