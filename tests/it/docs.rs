//! The README and docs/ as a user reads them: every `tfw` command line they show parses with
//! tfw's own parser, and every relative link leads to a file (and heading) that exists.
//!
//! The rule that tells a parse error from the rest: each command line runs the built tfw in an
//! empty directory (no stack, no repository, the fake terraform on PATH), so whatever parses
//! then fails at run time with tfw's own message, or prints help. A clap error is the one that
//! reaches the user through `cli::usage_error`: exit 64 and a `help:` line ending in
//! "see `--help`", which no error of tfw's own writes (they say what to run instead). tfw's own
//! hints for a line that parses but means something else (`MISREAD`) fail it too, except on
//! the lines shown as examples of them (`SHOWN_AS_WRONG`), and so does a panic (exit 101).
//! `a_misspelt_flag_on_a_page_is_caught` pins the rule to the binary.

use crate::common::Test;
use std::path::{Path, PathBuf};

/// Synopsis words and the plausible value each command line gets in their place. A word still
/// holding `<…>` after these is an error, so a new placeholder must be added here.
const PLACEHOLDERS: &[(&str, &str)] = &[
    ("<ENV>", "stg"),
    ("<env>", "stg"),
    ("ENV", "stg"),
    ("<ENV_A>", "stg"),
    ("<ENV_B>", "prd"),
    ("<COMMAND>", "plan"),
    ("<command>", "plan"),
    ("<SUBCOMMAND>", "stacks"),
    ("N", "2"),
    ("REF", "HEAD~1"),
    ("FILE", "out.json"),
    ("PLANFILE", "tfplan"),
];

/// Synopsis words that stand for "anything more" and are left out.
const DROPPED: &[&str] = &["[OPTIONS]", "[ARGS]...", "[args]", "…"];

/// What tfw's own hints (src/cli/hints.rs) say, before any stack is read, of a line that
/// parses but means something else: a misspelt subcommand, `--affected REF` without `=`, one of
/// tfw's options after the command.
const MISREAD: &[&str] = &[
    "is neither a subcommand nor an environment",
    "takes its ref joined with `=`",
    "went to terraform: tfw's own options go before the env",
];

/// Lines the pages show to say what tfw answers to them: they must get their hint.
const SHOWN_AS_WRONG: &[&str] = &["tfw --all dev plan -j 3"];

/// Shown keys rather than words: `tfw <TAB>` is a completion demo, not a command line.
const SKIPPED: &[&str] = &["<TAB>"];

/// One `tfw` command line as a page shows it, and each concrete form of it to run.
#[derive(Debug)]
struct Shown {
    place: String,
    text: String,
    env: Vec<(String, String)>,
    /// A synopsis (`--format text|json`) gives one argument list per alternative.
    forms: Vec<Vec<String>>,
}

/// A shell word and whether any of it was quoted (a quoted word is never synopsis).
#[derive(Default)]
struct Word {
    text: String,
    quoted: bool,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// README.md and every docs/*.md, by path from the root.
fn pages() -> Vec<(String, String)> {
    let mut names = vec!["README.md".to_string()];
    let mut docs: Vec<String> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".md"))
        .map(|name| format!("docs/{name}"))
        .collect();
    docs.sort();
    names.extend(docs);
    names
        .into_iter()
        .map(|name| {
            let text = std::fs::read_to_string(root().join(&name)).unwrap();
            (name, text)
        })
        .collect()
}

/// The lines of fenced code blocks (`\` continuations joined), with their line numbers, and
/// the page's text outside them (code lines blanked, so inline spans keep their line numbers).
fn split_code(page: &str) -> (Vec<(usize, String)>, String) {
    let (mut code, mut prose) = (Vec::new(), String::new());
    let mut fenced = false;
    let mut pending: Option<(usize, String)> = None;
    for (index, line) in page.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            prose.push('\n');
            continue;
        }
        if !fenced {
            prose.push_str(line);
            prose.push('\n');
            continue;
        }
        prose.push('\n');
        let (number, mut joined) = pending.take().unwrap_or((index + 1, String::new()));
        match line.strip_suffix('\\') {
            Some(start) => {
                joined.push_str(start);
                pending = Some((number, joined));
            }
            None => {
                joined.push_str(line);
                code.push((number, joined));
            }
        }
    }
    (code, prose)
}

/// A code line as the shell would get it: without the YAML step (`- run: `) or prompt (`$ `)
/// in front of it.
fn command_text(line: &str) -> &str {
    let line = line.trim_start();
    let line = line.strip_prefix("- ").unwrap_or(line);
    let line = line.strip_prefix("run: ").unwrap_or(line);
    line.strip_prefix("$ ").unwrap_or(line)
}

/// Inline code spans (CommonMark: a run of backticks closed by a run of the same length) that
/// start with `tfw ` and have arguments, with their line numbers; a table's `\|` is a `|`. A
/// span of one word after `tfw` names a subcommand in prose (`` [`tfw diff`](diff.md) ``).
fn inline_spans(prose: &str) -> Vec<(usize, String)> {
    let bytes = prose.as_bytes();
    let run_at = |at: usize| bytes[at..].iter().take_while(|&&b| b == b'`').count();
    let mut spans = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] != b'`' {
            at += 1;
            continue;
        }
        let open = run_at(at);
        let start = at + open;
        let mut end = start;
        let close = loop {
            match bytes[end..].iter().position(|&b| b == b'`') {
                None => break None,
                Some(offset) => {
                    end += offset;
                    let run = run_at(end);
                    if run == open {
                        break Some(end);
                    }
                    end += run;
                }
            }
        };
        let Some(close) = close else {
            at = start;
            continue;
        };
        let content = prose[start..close].replace('\n', " ");
        let content = content.strip_prefix(' ').unwrap_or(&content);
        let content = content.strip_suffix(' ').unwrap_or(content);
        if content.starts_with("tfw ") && content.split_whitespace().nth(2).is_some() {
            let line = prose[..at].matches('\n').count() + 1;
            spans.push((line, content.replace("\\|", "|")));
        }
        at = close + open;
    }
    spans
}

/// Splits a line into commands (at `|`, `||`, `&&`, `;`) of shell words, dropping comments and
/// redirection targets. Variables (`$ENV`, `${fpath[1]}`) and GitHub's `${{ … }}` become `x`.
/// An operator is one only at the start of a word, so a synopsis's `text|json` stays a word
/// (the pages always space their pipes).
fn shell_commands(line: &str) -> Result<Vec<Vec<Word>>, String> {
    let line = github_expressions_replaced(line);
    let mut commands = vec![Vec::new()];
    let mut word: Option<Word> = None;
    let mut redirect = false;
    let mut chars = line.chars().peekable();
    let finish = |word: &mut Option<Word>, commands: &mut Vec<Vec<Word>>, redirect: &mut bool| {
        if let Some(done) = word.take()
            && !std::mem::take(redirect)
        {
            commands.last_mut().unwrap().push(done);
        }
    };
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => finish(&mut word, &mut commands, &mut redirect),
            '#' if word.is_none() => break,
            ';' => {
                finish(&mut word, &mut commands, &mut redirect);
                commands.push(Vec::new());
            }
            '|' | '&' if word.is_none() => {
                if chars.peek() == Some(&c) {
                    chars.next();
                } else if c == '&' {
                    return Err("a background `&`".into());
                }
                commands.push(Vec::new());
            }
            '>' if word.is_none() => {
                if chars.peek() == Some(&'>') {
                    chars.next();
                }
                redirect = true;
            }
            '\'' => {
                let current = word.get_or_insert_with(Word::default);
                current.quoted = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => current.text.push(c),
                        None => return Err("an unclosed `'`".into()),
                    }
                }
            }
            '"' => {
                let current = word.get_or_insert_with(Word::default);
                current.quoted = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') if matches!(chars.peek(), Some('"' | '\\' | '$' | '`')) => {
                            current.text.push(chars.next().unwrap());
                        }
                        Some('$') => current.text.push_str(&variable(&mut chars)),
                        Some(c) => current.text.push(c),
                        None => return Err("an unclosed `\"`".into()),
                    }
                }
            }
            '\\' => {
                let escaped = chars.next().ok_or("a trailing `\\`")?;
                word.get_or_insert_with(Word::default).text.push(escaped);
            }
            '$' => {
                let value = variable(&mut chars);
                word.get_or_insert_with(Word::default).text.push_str(&value);
            }
            c => word.get_or_insert_with(Word::default).text.push(c),
        }
    }
    finish(&mut word, &mut commands, &mut redirect);
    if redirect {
        return Err("a redirection without a target".into());
    }
    Ok(commands.into_iter().filter(|c| !c.is_empty()).collect())
}

/// GitHub substitutes `${{ … }}` before the shell sees the line.
fn github_expressions_replaced(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        match rest[start..].find("}}") {
            Some(end) => {
                out.push('x');
                rest = &rest[start + end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// The value of the variable after a `$`: `x` for `$NAME` and `${…}`, else the `$` itself.
fn variable(chars: &mut std::iter::Peekable<std::str::Chars>) -> String {
    match chars.peek() {
        Some('{') => {
            for c in chars.by_ref() {
                if c == '}' {
                    break;
                }
            }
            "x".into()
        }
        Some(c) if c.is_ascii_alphabetic() || *c == '_' => {
            while chars
                .peek()
                .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_')
            {
                chars.next();
            }
            "x".into()
        }
        _ => "$".into(),
    }
}

/// `NAME=value` in front of a command.
fn assignment(word: &Word) -> Option<(String, String)> {
    let (name, value) = word.text.split_once('=')?;
    let valid = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    valid.then(|| (name.to_string(), value.to_string()))
}

/// The argument lists a synopsis stands for: placeholders filled in, optional `[…]` taken,
/// each `a|b` alternative once. `Ok(None)`: a completion demo, skipped.
fn forms(words: &[Word]) -> Result<Option<Vec<Vec<String>>>, String> {
    let mut forms = vec![Vec::new()];
    for word in words {
        if word.quoted {
            forms.iter_mut().for_each(|f| f.push(word.text.clone()));
            continue;
        }
        if SKIPPED.iter().any(|key| word.text.contains(key)) {
            return Ok(None);
        }
        if DROPPED.contains(&word.text.as_str()) {
            continue;
        }
        let bare = word.text.trim_start_matches('[').trim_end_matches(']');
        let alternatives: Vec<String> = bare
            .split('|')
            .map(|alternative| {
                PLACEHOLDERS
                    .iter()
                    .find(|(placeholder, _)| *placeholder == alternative)
                    .map_or(alternative, |(_, value)| value)
                    .to_string()
            })
            .collect();
        if let Some(left) = alternatives
            .iter()
            .find(|a| a.contains('<') && a.contains('>'))
        {
            return Err(format!("placeholder {left}: add it to PLACEHOLDERS"));
        }
        forms = forms
            .into_iter()
            .flat_map(|form| {
                alternatives.iter().map(move |alternative| {
                    let mut form = form.clone();
                    form.push(alternative.clone());
                    form
                })
            })
            .collect();
    }
    Ok(Some(forms))
}

/// Every `tfw` command of `text` (a code line or an inline span), or why it cannot be read.
fn shown_in(place: &str, text: &str) -> Vec<Result<Shown, String>> {
    let commands = match shell_commands(text) {
        Ok(commands) => commands,
        // Only a line that starts as a tfw command line must be readable shell.
        Err(why) => {
            let first = text
                .split_whitespace()
                .find(|w| !w.contains('='))
                .unwrap_or("");
            return if first == "tfw" {
                vec![Err(format!("{place}: {text}: {why}"))]
            } else {
                Vec::new()
            };
        }
    };
    let mut shown = Vec::new();
    for words in commands {
        let env: Vec<(String, String)> = words.iter().map_while(assignment).collect();
        let rest = &words[env.len()..];
        if rest.first().is_none_or(|w| w.text != "tfw" || w.quoted) {
            continue;
        }
        match forms(&rest[1..]) {
            Ok(Some(forms)) => shown.push(Ok(Shown {
                place: place.to_string(),
                text: text.to_string(),
                env,
                forms,
            })),
            Ok(None) => {}
            Err(why) => shown.push(Err(format!("{place}: {text}: {why}"))),
        }
    }
    shown
}

/// Every `tfw` command line of one page.
fn shown_on(name: &str, page: &str) -> Vec<Result<Shown, String>> {
    let (code, prose) = split_code(page);
    let code = code
        .into_iter()
        .map(|(line, text)| (line, command_text(&text).to_string()));
    code.chain(inline_spans(&prose))
        .flat_map(|(line, text)| shown_in(&format!("{name}:{line}"), &text))
        .collect()
}

/// Runs each form of each command line in `test`'s empty directory (a form shown twice once);
/// returns the failures.
fn parse_failures(test: &Test, shown: &[Shown]) -> Vec<String> {
    let mut failures = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for command_line in shown {
        for form in &command_line.forms {
            if !seen.insert((&command_line.env, form)) {
                continue;
            }
            let mut command = test.command();
            command.args(form);
            command.envs(command_line.env.iter().map(|(name, value)| (name, value)));
            let run = test.finish(command.output().unwrap());
            let stderr = run.stderr();
            let clap_error = run.code() == 64
                && stderr
                    .lines()
                    .any(|line| line.starts_with("help: ") && line.ends_with("see `--help`"));
            let misread = MISREAD.iter().any(|hint| stderr.contains(hint));
            let shown_as_wrong = SHOWN_AS_WRONG.contains(&command_line.text.as_str());
            if clap_error || misread != shown_as_wrong || run.code() == 101 || !run.calls.is_empty()
            {
                failures.push(format!(
                    "{}: `{}` as {form:?}: exit {}, {} terraform calls{}\n{stderr}",
                    command_line.place,
                    command_line.text,
                    run.code(),
                    run.calls.len(),
                    if shown_as_wrong {
                        ", no hint for an example of a wrong line"
                    } else {
                        ""
                    }
                ));
            }
        }
    }
    failures
}

fn readable(shown: Vec<Result<Shown, String>>) -> Vec<Shown> {
    let (ok, unreadable): (Vec<_>, Vec<_>) = shown.into_iter().partition(Result::is_ok);
    let unreadable: Vec<String> = unreadable.into_iter().map(Result::unwrap_err).collect();
    assert!(unreadable.is_empty(), "{}", unreadable.join("\n"));
    ok.into_iter().map(Result::unwrap).collect()
}

#[test]
fn every_tfw_command_line_in_the_readme_and_docs_parses() {
    let shown = readable(
        pages()
            .iter()
            .flat_map(|(name, page)| shown_on(name, page))
            .collect(),
    );
    // The pages show over eighty: finding few means the extraction broke.
    let forms: usize = shown.iter().map(|s| s.forms.len()).sum();
    assert!(forms >= 60, "only {forms} command lines found: {shown:#?}");
    for example in SHOWN_AS_WRONG {
        assert!(
            shown.iter().any(|s| s.text == *example),
            "no page shows {example} any more: take it out of SHOWN_AS_WRONG"
        );
    }
    let failures = parse_failures(&Test::new(), &shown);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_misspelt_flag_on_a_page_is_caught() {
    let page = "Run\n\n```sh\nTF_SKIP_INIT=1 tfw --al stg plan | tee log\n```\n\n\
                and `tfw check --formt json` or `tfw graph [--format text|dto]`; `tfw chekc --format json`\n\
                and `tfw stg plan -q`, but `tfw --all dev plan -j 3` is fine.\n";
    let shown = readable(shown_on("page.md", page));
    let failures = parse_failures(&Test::new(), &shown);
    let places = [
        "page.md:4",
        "page.md:7",
        "page.md:7",
        "page.md:7",
        "page.md:8",
    ];
    assert_eq!(failures.len(), places.len(), "{failures:#?}");
    for (failure, place) in failures.iter().zip(places) {
        assert!(failure.starts_with(place), "{failure}");
    }
    assert!(failures[0].contains("'--al'"), "{}", failures[0]);
    assert!(failures[2].contains("\"dto\""), "{}", failures[2]);
    assert!(
        failures[3].contains("did you mean `tfw check`"),
        "{}",
        failures[3]
    );
    assert!(
        failures[4].contains("`-q` went to terraform"),
        "{}",
        failures[4]
    );
}

#[test]
fn command_lines_are_read_as_the_shell_reads_them() {
    let page = "```yaml\n      - run: tfw -C \"${{ matrix.path }}\" \"$ENV\" plan \\\n          -input=false > out # note\n```\n\
                ```sh\ncd a && TF_SKIP_INIT=1 tfw <env> apply PLANFILE | tee log\n```\n\
                `tfw prd plan -out=tfplan; tfw stg apply tfplan`, `tfw <TAB>` and `` tfw '*' plan ``.\n";
    let shown = readable(shown_on("page.md", page));
    let forms: Vec<String> = shown
        .iter()
        .flat_map(|s| {
            s.forms
                .iter()
                .map(|f| format!("{} {:?} {f:?}", s.place, s.env))
        })
        .collect();
    let expected = [
        r#"page.md:2 [] ["-C", "x", "x", "plan", "-input=false"]"#,
        r#"page.md:6 [("TF_SKIP_INIT", "1")] ["stg", "apply", "tfplan"]"#,
        r#"page.md:8 [] ["prd", "plan", "-out=tfplan"]"#,
        r#"page.md:8 [] ["stg", "apply", "tfplan"]"#,
        r#"page.md:8 [] ["*", "plan"]"#,
    ];
    assert_eq!(forms, expected);
}

/// GitHub's anchor for a heading: lower case, punctuation but `-` and `_` dropped, spaces `-`.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn anchors(page: &str) -> Vec<String> {
    let (_, prose) = split_code(page);
    prose
        .lines()
        .filter(|line| line.starts_with('#'))
        .map(|line| anchor(line.trim_start_matches('#')))
        .collect()
}

#[test]
fn every_relative_link_in_the_readme_and_docs_leads_somewhere() {
    let mut broken = Vec::new();
    let mut links = 0;
    for (name, page) in pages() {
        let (_, prose) = split_code(&page);
        let dir = Path::new(&name).parent().unwrap();
        for target in prose
            .split("](")
            .skip(1)
            .filter_map(|s| s.split(')').next())
        {
            if target.contains("://") {
                continue;
            }
            links += 1;
            let (file, fragment) = target.split_once('#').unwrap_or((target, ""));
            let path = if file.is_empty() {
                PathBuf::from(&name)
            } else {
                dir.join(file)
            };
            let path = root().join(path);
            if !path.exists() {
                broken.push(format!("{name}: {target}: no such file"));
            } else if !fragment.is_empty() {
                let text = std::fs::read_to_string(&path).unwrap();
                if !anchors(&text).iter().any(|a| a == fragment) {
                    broken.push(format!("{name}: {target}: no such heading"));
                }
            }
        }
    }
    assert!(links >= 20, "only {links} relative links found");
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}
