//! The plan as a pull-request comment: a one-line summary, the counts, then each change in
//! a collapsible `<details>` block with its diff; replacements and destroys first. The whole
//! comment stays under GitHub's limit, saying what it left out and how to see it all.
//! Sensitive values are `(sensitive value)` here as everywhere.

use std::fmt::Write;

use super::model::{Action, Change, Plan};
use super::render::{Style, change_text, render_output_changes};

/// GitHub refuses comments longer than this many characters.
pub const LIMIT: usize = 65_536;
/// Kept free at the end for the note of what was left out.
const RESERVE: usize = 1_024;

/// The comment for `plan`: `title` names what is compared (`main..HEAD`), `see_all` is the
/// command that prints the whole plan.
pub fn markdown(plan: &Plan, title: &str, see_all: &str) -> String {
    let mut out = String::new();
    let (add, change, destroy) = plan.counts();
    let replacements = plan
        .changes
        .iter()
        .filter(|change| change.action == Action::Replace)
        .count();
    if plan.is_empty() {
        let _ = writeln!(out, "### yoyoform: no changes ({title})");
        out.push_str("\nThis change of env.toml changes nothing applied.\n");
        return out;
    }
    let _ = writeln!(
        out,
        "### yoyoform: {add} to add, {change} to change, {destroy} to destroy ({title})"
    );
    let _ = writeln!(
        out,
        "\n**Plan:** {add} to add, {change} to change, {destroy} to destroy; {} {} \
         ({replacements} replacement{}).\n",
        plan.changes.len(),
        if plan.changes.len() == 1 {
            "change"
        } else {
            "changes"
        },
        if replacements == 1 { "" } else { "s" },
    );
    // What can break things first.
    let mut changes: Vec<&Change> = plan.changes.iter().collect();
    changes.sort_by_key(|change| match change.action {
        Action::Replace => 0,
        Action::Delete => 1,
        Action::Create => 2,
        Action::Update => 3,
    });
    let outputs = (!plan.outputs.is_empty()).then(|| {
        format!(
            "<details><summary>Changes to outputs</summary>\n\n````text\n{}````\n\n</details>\n",
            render_output_changes(&plan.outputs, Style::default())
        )
    });
    let budget = LIMIT - RESERVE - outputs.as_ref().map_or(0, String::len);
    let mut left_out: Vec<&Change> = Vec::new();
    for change in changes {
        let block = details(change);
        if left_out.is_empty() && out.chars().count() + block.chars().count() <= budget {
            out.push_str(&block);
        } else {
            left_out.push(change);
        }
    }
    if let Some(outputs) = outputs {
        out.push_str(&outputs);
    }
    if !left_out.is_empty() {
        let counted = |action: Action| {
            left_out
                .iter()
                .filter(|change| change.action == action)
                .count()
        };
        let _ = writeln!(
            out,
            "\n**{} more change{} not shown** ({} replacements, {} destroys, {} creates, {} \
             updates), to keep this comment under {LIMIT} characters. The whole plan: `{see_all}`",
            left_out.len(),
            if left_out.len() == 1 { "" } else { "s" },
            counted(Action::Replace),
            counted(Action::Delete),
            counted(Action::Create),
            counted(Action::Update),
        );
    }
    out
}

/// One change: its header as the summary, its attributes as a diff.
fn details(change: &Change) -> String {
    let text = change_text(change, Style::default());
    let mut lines = text.lines().peekable();
    let header = lines
        .next()
        .unwrap_or_default()
        .trim_start_matches([' ', '#'])
        .to_owned();
    let mut summary = header
        .trim_start_matches(&change.instance.to_string())
        .trim()
        .to_owned();
    // Why (drift, the sources of an image) belongs in the summary, seen without opening.
    if let Some(reason) = lines
        .peek()
        .and_then(|line| line.trim().strip_prefix("# ("))
    {
        summary = format!("{summary}: {}", reason.trim_end_matches(')'));
        lines.next();
    }
    let mut body = String::new();
    for line in lines {
        body.push_str(&as_diff(line));
        body.push('\n');
    }
    format!(
        "<details><summary><code>{} {}</code> {}</summary>\n\n````diff\n{body}````\n\n</details>\n",
        change.symbol(),
        change.instance,
        escape(&summary),
    )
}

/// A plan line with its `+`, `-` or `~` moved to the first column, where a diff block
/// colours it.
fn as_diff(line: &str) -> String {
    let trimmed = line.trim_start();
    let indent = line.len() - trimmed.len();
    match trimmed.chars().next() {
        Some(symbol @ ('+' | '-' | '~')) if indent > 0 => {
            format!("{symbol}{}{}", " ".repeat(indent), &trimmed[1..])
        }
        _ => line.to_owned(),
    }
}

/// Text for HTML: `<`, `>` and `&` escaped.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
