//! What `--dry-run` prints: each pair's steps as they would run, with what decided them.

use super::confirm::shown_workspace;
use super::guard::Decision;
use crate::terraform::Prepared;
use crate::terraform::invocation::inherited;
use crate::terraform::resolve::StepKind;

pub fn text(decision: &Decision, prepared: &Prepared) -> String {
    let plan = &prepared.plan;
    let mut text = String::new();
    if let Some(workspace) = shown_workspace(&prepared.workspace) {
        text.push_str(&format!("# workspace: {workspace}\n"));
    }
    for step in plan.expected_steps() {
        if let Ok((_, used)) = step.invocation.terraform_args(&inherited) {
            for env_args in used {
                let words: Vec<String> = env_args
                    .words
                    .iter()
                    .map(|w| crate::terraform::quote::quote(w))
                    .collect();
                text.push_str(&format!(
                    "# {} adds to `{}`: {}\n",
                    env_args.name,
                    step.invocation.args[0].to_string_lossy(),
                    words.join(" ")
                ));
            }
        }
    }
    if *decision != Decision::Proceed {
        text.push_str(&format!(
            "# confirmation required: {0} is protected (type it at the prompt, or pass --confirm {0})\n",
            plan.env
        ));
    }
    if plan.init_up_to_date {
        text.push_str(&format!("# init up to date ({})\n", plan.env));
    } else if let (Some(cache), true) = (&prepared.plugin_cache, prepared.binary.is_opentofu()) {
        text.push_str(&format!(
            "# plugin cache {}: not locked with OpenTofu 1.10 or later (its cache is safe for concurrent inits)\n",
            cache.dir.display()
        ));
    }
    let mut said = false;
    for step in plan.expected_steps() {
        // An init tfw decided on (and the workspace step after it): say which input made it
        // necessary, once.
        if let StepKind::Init {
            when_stale: true, ..
        } = step.kind
            && !std::mem::replace(&mut said, true)
        {
            let why = prepared.record.why_stale();
            text.push_str(&format!(
                "# init: {}\n",
                why.as_deref().unwrap_or("its record does not match")
            ));
        }
        text.push_str(&format!("{}\n", step.invocation));
    }
    text
}
