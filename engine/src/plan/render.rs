//! The plan as people review it, in Terraform's notation: `+` create, `~` update in
//! place, `-/+` replace, `-` destroy; attribute by attribute, before -> after; secrets as
//! `(sensitive value)`; files and other multi-line values diffed line by line.

use std::collections::BTreeMap;
use std::fmt::Write;

use similar::{ChangeTag, TextDiff};

use super::model::{Action, Change, Mode, OutputChange, Plan};
use crate::attributes::{Attributes, Path, Value};

/// How to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Style {
    /// ANSI colours (when printing to a terminal).
    pub color: bool,
}

impl Style {
    fn paint(self, symbol: &str) -> String {
        if !self.color {
            return symbol.to_owned();
        }
        let code = match symbol.trim() {
            "+" => "32",
            "-" => "31",
            "~" => "33",
            "-/+" | "+/-" => "33",
            _ => return symbol.to_owned(),
        };
        format!("\x1b[{code}m{symbol}\x1b[0m")
    }
}

/// The whole plan, ending with the `Plan:` line or `No changes.`.
pub fn render(plan: &Plan, style: Style) -> String {
    let mut out = String::new();
    if plan.is_empty() {
        out.push_str(match plan.mode {
            Mode::Normal => {
                "No changes. Your environment matches the configuration.\n\n\
                 yoyoform found no differences between env.toml, the state file and Docker, \
                 so no changes are needed.\n"
            }
            Mode::Destroy => "No changes. The state file records nothing to destroy.\n",
            Mode::RefreshOnly => {
                "No changes. What the backend has is what the state file records: nothing \
                 changed outside yoyoform.\n"
            }
        });
        targeting_note(&mut out, plan);
        return out;
    }
    if !plan.changes.is_empty() {
        out.push_str(match plan.mode {
            Mode::RefreshOnly => "yoyoform found changes made outside yoyoform:\n",
            _ => "yoyoform will perform the following actions:\n",
        });
        for change in &plan.changes {
            out.push('\n');
            render_change(&mut out, change, plan.mode, style);
        }
        if plan.mode == Mode::RefreshOnly {
            out.push_str(
                "\nThis is a refresh-only plan: applying it records these changes in the \
                 state file, and changes nothing on the backend.\n",
            );
        } else {
            let (add, change, destroy) = plan.counts();
            let _ = writeln!(
                out,
                "\nPlan: {add} to add, {change} to change, {destroy} to destroy."
            );
        }
    }
    if !plan.outputs.is_empty() {
        if !plan.changes.is_empty() {
            out.push('\n');
        }
        out.push_str("Changes to Outputs:\n");
        out.push_str(&render_output_changes(&plan.outputs, style));
    }
    targeting_note(&mut out, plan);
    out
}

/// Under a plan limited by `--target`: what it leaves out.
fn targeting_note(out: &mut String, plan: &Plan) {
    if plan.targets.is_empty() {
        return;
    }
    let targets: Vec<String> = plan.targets.iter().map(|t| format!("`{t}`")).collect();
    let one = targets.len() == 1;
    let related = match plan.mode {
        Mode::Destroy if one => "what depends on it",
        Mode::Destroy => "what depends on them",
        _ if one => "what it depends on",
        _ => "what they depend on",
    };
    let _ = writeln!(
        out,
        "\nNote: this plan covers only --target {} and {related}; other differences wait \
         for a plan without --target.",
        targets.join(", ")
    );
}

/// A plan's outputs, each with its symbol and before -> after: `+` a new one, `~` a
/// changed one, `-` one env.toml no longer declares.
pub fn render_output_changes(outputs: &BTreeMap<String, OutputChange>, style: Style) -> String {
    let width = outputs.keys().map(String::len).max().unwrap_or(0);
    let mut out = String::new();
    for (name, output) in outputs {
        let shown = |value: Option<&String>| match value {
            _ if output.sensitive => "(sensitive value)".to_owned(),
            Some(value) => quote(value),
            None => "(known after apply)".to_owned(),
        };
        let (symbol, text) = match (&output.before, output.removed) {
            (before, true) => ("-", format!("{} -> null", shown(before.as_ref()))),
            (None, false) => ("+", shown(output.value.as_ref())),
            (Some(_), false) if output.sensitive => ("~", shown(None)),
            (Some(before), false) => (
                "~",
                format!("{} -> {}", quote(before), shown(output.value.as_ref())),
            ),
        };
        let _ = writeln!(out, "  {} {name:width$} = {text}", style.paint(symbol));
    }
    out
}

/// Outputs as `name = "value"` lines.
pub fn render_outputs(outputs: &BTreeMap<String, OutputChange>) -> String {
    let width = outputs.keys().map(String::len).max().unwrap_or(0);
    let mut out = String::new();
    for (name, output) in outputs {
        let value = if output.sensitive {
            "(sensitive value)".to_owned()
        } else {
            match &output.value {
                Some(value) => quote(value),
                None => "(known after apply)".to_owned(),
            }
        };
        let _ = writeln!(out, "  {name:width$} = {value}");
    }
    out
}

/// The state as `show` prints it: every recorded instance as `state show` prints it, then
/// the outputs.
pub fn render_state(state: &state::State) -> String {
    if state.resources.is_empty() && state.outputs.is_empty() {
        return "The state file records nothing: nothing is applied.\n".to_owned();
    }
    let records: Vec<String> = state.resources.values().map(render_recorded).collect();
    let mut out = records.join("\n");
    if !state.outputs.is_empty() {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str("Outputs:\n\n");
        out.push_str(&render_recorded_outputs(&state.outputs));
    }
    out
}

/// The outputs the state records, as `name = "value"` lines (sensitive ones hidden).
pub fn render_recorded_outputs(outputs: &BTreeMap<String, state::OutputState>) -> String {
    let outputs = outputs
        .iter()
        .map(|(name, output)| {
            let value = OutputChange {
                value: Some(output.value.clone()),
                sensitive: output.sensitive,
                ..OutputChange::default()
            };
            (name.clone(), value)
        })
        .collect();
    render_outputs(&outputs)
}

/// What the state records of one instance, as `state show` prints it: a header with its
/// kind, backend and ids, then its attributes in the plan's notation, sensitive values
/// hidden.
pub fn render_recorded(recorded: &state::ResourceState) -> String {
    let mut out = String::new();
    let backend = recorded.backend.as_deref().unwrap_or("docker");
    let _ = writeln!(
        out,
        "# {}: a {} on the {backend} backend, ids [{}]{}",
        recorded.address,
        recorded.kind,
        recorded.docker_ids.join(", "),
        if recorded.tainted {
            ", tainted (made anew by the next apply)"
        } else {
            ""
        }
    );
    let attributes = Attributes::from_json(&recorded.attributes, &recorded.sensitive_attributes);
    let _ = writeln!(out, "{} {{", recorded.address);
    let width = attributes.values.keys().map(String::len).max().unwrap_or(0);
    for (name, value) in &attributes.values {
        let shown = |path: &Path, text: &str| {
            if attributes.is_sensitive(path) {
                "(sensitive value)".to_owned()
            } else {
                quote(text)
            }
        };
        let path = Path::attribute(name);
        match value {
            Value::Map(map) if !attributes.is_sensitive(&path) => {
                let _ = writeln!(out, "    {name:width$} = {{");
                let key_width = map.keys().map(|key| key.len() + 2).max().unwrap_or(0);
                for (key, text) in map {
                    let shown = shown(&Path::key(name, key), text);
                    let _ = writeln!(out, "        {:key_width$} = {shown}", quote(key));
                }
                out.push_str("    }\n");
            }
            Value::Map(_) => {
                let _ = writeln!(out, "    {name:width$} = (sensitive value)");
            }
            Value::List(items) if !attributes.is_sensitive(&path) => {
                let items: Vec<String> = items.iter().map(|item| quote(item)).collect();
                let _ = writeln!(out, "    {name:width$} = [{}]", items.join(", "));
            }
            Value::List(_) => {
                let _ = writeln!(out, "    {name:width$} = (sensitive value)");
            }
            Value::Text(text) => {
                let _ = writeln!(out, "    {name:width$} = {}", shown(&path, text));
            }
        }
    }
    out.push_str("}\n");
    out
}

/// One change as `plan` prints it: its header lines and its attributes block.
pub fn change_text(change: &Change, style: Style) -> String {
    let mut out = String::new();
    render_change(&mut out, change, Mode::Normal, style);
    out
}

fn render_change(out: &mut String, change: &Change, mode: Mode, style: Style) {
    let verb = match change.action {
        // What was found, not what will be done.
        Action::Delete if mode == Mode::RefreshOnly => "has been removed outside yoyoform",
        _ if mode == Mode::RefreshOnly => "has changed outside yoyoform",
        Action::Create if change.unrecorded.is_some() => "will be adopted",
        Action::Delete if change.unrecorded.is_some() => "will be destroyed (not recorded)",
        Action::Create => "will be created",
        Action::Update => "will be updated in-place",
        Action::Replace if change.create_before_destroy => {
            "must be replaced (the new one first, then the old one goes)"
        }
        Action::Replace => "must be replaced (the old one goes first)",
        Action::Delete => "will be destroyed",
    };
    let _ = writeln!(out, "  # {} {verb}", change.instance);
    if let Some(reason) = &change.reason {
        let _ = writeln!(out, "  # ({reason})");
    }
    let symbol = change.symbol();
    let _ = writeln!(
        out,
        "{} {} {{",
        style.paint(&format!("{symbol:>3}")),
        change.instance
    );
    let empty = Attributes::default();
    let before = change.before.as_ref().unwrap_or(&empty);
    let after = change.after.as_ref().unwrap_or(&empty);
    // An empty map on both sides (or one side, the other having none) says nothing: a
    // service without env prints no `env = {}`.
    let nothing = |value: Option<&Value>| match value {
        None => true,
        Some(Value::Map(map)) => map.is_empty(),
        Some(_) => false,
    };
    let names: Vec<&String> = {
        let mut names: Vec<&String> = before.values.keys().chain(after.values.keys()).collect();
        names.sort();
        names.dedup();
        names.retain(|name| {
            !(nothing(before.values.get(*name)) && nothing(after.values.get(*name)))
        });
        names
    };
    let width = names.iter().map(|name| name.len()).max().unwrap_or(0);
    let mut hidden = 0;
    for name in names {
        let line = Line {
            before,
            after,
            path: Path::attribute(name),
            forces: change
                .forces_replacement
                .iter()
                .any(|path| path.attribute == *name),
            style,
        };
        let shown = match (before.values.get(name), after.values.get(name)) {
            (Some(Value::Map(old)), Some(Value::Map(new))) => {
                line.map_change(out, name, width, Some(old), Some(new), 6)
            }
            (old, new) => line.value_change(out, name, width, old, new, 6),
        };
        if !shown {
            hidden += 1;
        }
    }
    if hidden > 0 {
        let plural = if hidden == 1 { "" } else { "s" };
        let _ = writeln!(
            out,
            "        # ({hidden} unchanged attribute{plural} hidden)"
        );
    }
    out.push_str("    }\n");
}

/// Prints one attribute or map entry.
struct Line<'a> {
    before: &'a Attributes,
    after: &'a Attributes,
    path: Path,
    forces: bool,
    style: Style,
}

impl Line<'_> {
    /// Writes a top-level value; false when it is unchanged (and so hidden).
    fn value_change(
        &self,
        out: &mut String,
        name: &str,
        width: usize,
        old: Option<&Value>,
        new: Option<&Value>,
        indent: usize,
    ) -> bool {
        match (old, new) {
            (Some(Value::Map(old)), None) => {
                self.map_change(out, name, width, Some(old), None, indent)
            }
            (None, Some(Value::Map(new))) => {
                self.map_change(out, name, width, None, Some(new), indent)
            }
            _ => {
                let lines = [old, new].into_iter().flatten().any(multi_line);
                let changed = old != new;
                let old = old.map(|value| self.show(self.before, &self.path, value, lines));
                let new = new.map(|value| self.show(self.after, &self.path, value, lines));
                self.entry(out, &format!("{name:width$}"), old, new, changed, indent)
            }
        }
    }

    /// Writes a map attribute key by key.
    fn map_change(
        &self,
        out: &mut String,
        name: &str,
        width: usize,
        old: Option<&BTreeMap<String, String>>,
        new: Option<&BTreeMap<String, String>>,
        indent: usize,
    ) -> bool {
        let empty = BTreeMap::new();
        let (old_map, new_map) = (old.unwrap_or(&empty), new.unwrap_or(&empty));
        let mut keys: Vec<&String> = old_map.keys().chain(new_map.keys()).collect();
        keys.sort();
        keys.dedup();
        let changed = |key: &String| {
            let path = Path::key(name, key);
            old.is_none()
                || new.is_none()
                || old_map.get(key) != new_map.get(key)
                || self.after.is_unknown(&path)
        };
        if !keys.iter().any(|key| changed(key)) && old.is_some() && new.is_some() {
            return false;
        }
        let symbol = match (old, new) {
            (None, _) => "+",
            (_, None) => "-",
            _ => "~",
        };
        let _ = writeln!(
            out,
            "{:indent$}{} {name:width$} = {{",
            "",
            self.style.paint(symbol)
        );
        let key_width = keys.iter().map(|key| key.len() + 2).max().unwrap_or(0);
        let mut hidden = 0;
        for key in keys {
            let path = Path::key(name, key);
            let line = Line {
                path: path.clone(),
                forces: false,
                ..*self
            };
            let (old, new) = (
                old.and_then(|map| map.get(key))
                    .map(|text| Value::Text(text.clone())),
                new.and_then(|map| map.get(key))
                    .map(|text| Value::Text(text.clone())),
            );
            let lines = [&old, &new].into_iter().flatten().any(multi_line);
            let changed = old != new;
            let old = old.map(|value| line.show(self.before, &path, &value, lines));
            let new = new.map(|value| line.show(self.after, &path, &value, lines));
            let label = format!("{:key_width$}", quote(key));
            if !line.entry(out, &label, old, new, changed, indent + 4) {
                hidden += 1;
            }
        }
        if hidden > 0 {
            let plural = if hidden == 1 { "" } else { "s" };
            let _ = writeln!(
                out,
                "{:indent$}      # ({hidden} unchanged element{plural} hidden)",
                ""
            );
        }
        let forces = if self.forces && symbol == "~" {
            " # forces replacement"
        } else {
            ""
        };
        let _ = writeln!(out, "{:indent$}  }}{forces}", "");
        true
    }

    /// A value as printed: quoted text, a list, or a placeholder. `lines`: a text is
    /// printed as lines, as the other side of its change is (a file emptied diffs line
    /// by line too).
    fn show(&self, attributes: &Attributes, path: &Path, value: &Value, lines: bool) -> Shown {
        if attributes.is_sensitive(path) {
            return Shown::Plain("(sensitive value)".to_owned());
        }
        if attributes.is_unknown(path) {
            return Shown::Plain("(known after apply)".to_owned());
        }
        match value {
            Value::Text(text) if lines || text.contains('\n') => Shown::Lines(text.clone()),
            Value::Text(text) => Shown::Plain(quote(text)),
            Value::List(items) => {
                let items: Vec<String> = items.iter().map(|item| quote(item)).collect();
                Shown::Plain(format!("[{}]", items.join(", ")))
            }
            Value::Map(_) => Shown::Plain("{...}".to_owned()),
        }
    }

    /// Writes `label = old -> new`; false when the values are the same (hidden).
    /// `changed` compares the values themselves: two sensitive ones print alike.
    fn entry(
        &self,
        out: &mut String,
        label: &str,
        old: Option<Shown>,
        new: Option<Shown>,
        changed: bool,
        indent: usize,
    ) -> bool {
        let forces = if self.forces {
            " # forces replacement"
        } else {
            ""
        };
        let paint = |symbol: &str| self.style.paint(symbol);
        match (old, new) {
            (None, None) => false,
            (None, Some(new)) => {
                new.write(out, &paint("+"), label, indent, None);
                true
            }
            (Some(old), None) => {
                old.write(out, &paint("-"), label, indent, None);
                true
            }
            (Some(_), Some(_)) if !changed && !self.after.is_unknown(&self.path) => false,
            (Some(Shown::Lines(old)), Some(Shown::Lines(new))) => {
                Shown::Lines(new.clone()).write(out, &paint("~"), label, indent, Some(&old));
                if !forces.is_empty() {
                    let _ = writeln!(out, "{:indent$}  {forces}", "");
                }
                true
            }
            (Some(old), Some(new)) => {
                let _ = writeln!(
                    out,
                    "{:indent$}{} {label} = {} -> {}{forces}",
                    "",
                    paint("~"),
                    old.inline(),
                    new.inline()
                );
                true
            }
        }
    }
}

/// Whether a value is text of more than one line.
fn multi_line(value: &Value) -> bool {
    matches!(value, Value::Text(text) if text.contains('\n'))
}

/// A printed value: one line, or a multi-line text printed as a heredoc.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Shown {
    Plain(String),
    Lines(String),
}

impl Shown {
    fn inline(&self) -> String {
        match self {
            Shown::Plain(text) => text.clone(),
            Shown::Lines(text) => quote(text),
        }
    }

    /// Writes `symbol label = value`; a multi-line value as a heredoc, diffed line by line
    /// against `old` when given.
    fn write(&self, out: &mut String, symbol: &str, label: &str, indent: usize, old: Option<&str>) {
        match self {
            Shown::Plain(text) => {
                let _ = writeln!(out, "{:indent$}{symbol} {label} = {text}", "");
            }
            Shown::Lines(text) => {
                let _ = writeln!(out, "{:indent$}{symbol} {label} = <<-EOT", "");
                match old {
                    None => {
                        for line in text.lines() {
                            let _ = writeln!(out, "{:indent$}      {line}", "");
                        }
                    }
                    Some(old) => {
                        for change in TextDiff::from_lines(old, text).iter_all_changes() {
                            let sign = match change.tag() {
                                ChangeTag::Delete => "-",
                                ChangeTag::Insert => "+",
                                ChangeTag::Equal => " ",
                            };
                            let line = change.value().trim_end_matches('\n');
                            let _ = writeln!(out, "{:indent$}    {sign} {line}", "");
                        }
                    }
                }
                let _ = writeln!(out, "{:indent$}  EOT", "");
            }
        }
    }
}

/// A string as the plan prints it: in double quotes, escaped as JSON.
fn quote(text: &str) -> String {
    serde_json::to_string(text).expect("strings serialise")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::Address;
    use crate::plan::model::Instance;

    fn instance(kind: &'static str, name: &str, index: Option<u32>) -> Instance {
        Instance {
            resource: Address {
                kind,
                name: name.into(),
            },
            index,
        }
    }

    fn map(pairs: &[(&str, &str)]) -> Value {
        Value::Map(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    fn change(
        instance: Instance,
        action: Action,
        before: Option<Attributes>,
        after: Option<Attributes>,
        forces: &[Path],
    ) -> Change {
        Change {
            before,
            after,
            forces_replacement: forces.iter().cloned().collect(),
            ..Change::new(instance, action)
        }
    }

    #[test]
    fn no_changes() {
        let text = render(&Plan::default(), Style::default());
        assert!(text.starts_with("No changes. Your environment matches the configuration."));
    }

    #[test]
    fn create_with_secret_and_unknowns() {
        let mut after = Attributes::default();
        after.text("image", "yoyo-api:0123");
        after.text("id", "");
        after.unknown.insert(Path::attribute("id"));
        after.values.insert(
            "env".into(),
            map(&[("HTTP_PORT", "5000"), ("JWT_SECRET", "")]),
        );
        after.unknown.insert(Path::key("env", "JWT_SECRET"));
        after.sensitive.insert(Path::key("env", "JWT_SECRET"));
        let plan = Plan {
            changes: vec![change(
                instance("service", "api", Some(0)),
                Action::Create,
                None,
                Some(after),
                &[],
            )],
            outputs: [(
                "url".to_string(),
                OutputChange {
                    value: Some("http://127.0.0.1:8080".into()),
                    ..OutputChange::default()
                },
            )]
            .into(),
            ..Plan::default()
        };
        let expected = r#"yoyoform will perform the following actions:

  # service.api[0] will be created
  + service.api[0] {
      + env   = {
          + "HTTP_PORT"  = "5000"
          + "JWT_SECRET" = (sensitive value)
        }
      + id    = (known after apply)
      + image = "yoyo-api:0123"
    }

Plan: 1 to add, 0 to change, 0 to destroy.

Changes to Outputs:
  + url = "http://127.0.0.1:8080"
"#;
        assert_eq!(render(&plan, Style::default()), expected);
    }

    #[test]
    fn replace_shows_only_what_changes_and_why() {
        let mut before = Attributes::default();
        before.text("image", "yoyo-api:0123");
        before.text("id", "c0ffee");
        before.text("name", "yoyo-api");
        before
            .values
            .insert("env".into(), map(&[("A", "1"), ("B", "2"), ("C", "3")]));
        let mut after = before.clone();
        after
            .values
            .insert("env".into(), map(&[("A", "1"), ("B", "20"), ("C", "3")]));
        after.text("id", "");
        after.unknown.insert(Path::attribute("id"));
        let mut replace = change(
            instance("service", "api", None),
            Action::Replace,
            Some(before),
            Some(after),
            &[Path::key("env", "B")],
        );
        replace.create_before_destroy = true;
        let plan = Plan {
            changes: vec![replace],
            ..Plan::default()
        };
        let expected = r#"yoyoform will perform the following actions:

  # service.api must be replaced (the new one first, then the old one goes)
+/- service.api {
      ~ env   = {
          ~ "B" = "2" -> "20"
            # (2 unchanged elements hidden)
        } # forces replacement
      ~ id    = "c0ffee" -> (known after apply)
        # (2 unchanged attributes hidden)
    }

Plan: 1 to add, 0 to change, 1 to destroy.
"#;
        assert_eq!(render(&plan, Style::default()), expected);
    }

    #[test]
    fn files_are_diffed_line_by_line() {
        let mut before = Attributes::default();
        before.values.insert(
            "files".into(),
            map(&[("/etc/users.json", "[\n  \"alice\",\n  \"bob\"\n]\n")]),
        );
        let mut after = Attributes::default();
        after.values.insert(
            "files".into(),
            map(&[("/etc/users.json", "[\n  \"alice\",\n  \"carol\"\n]\n")]),
        );
        let plan = Plan {
            changes: vec![change(
                instance("service", "auth", None),
                Action::Replace,
                Some(before),
                Some(after),
                &[Path::key("files", "/etc/users.json")],
            )],
            ..Plan::default()
        };
        let expected = r#"yoyoform will perform the following actions:

  # service.auth must be replaced (the old one goes first)
-/+ service.auth {
      ~ files = {
          ~ "/etc/users.json" = <<-EOT
                [
                  "alice",
              -   "bob"
              +   "carol"
                ]
            EOT
        } # forces replacement
    }

Plan: 1 to add, 0 to change, 1 to destroy.
"#;
        assert_eq!(render(&plan, Style::default()), expected);
    }

    #[test]
    fn delete_and_update() {
        let mut before = Attributes::default();
        before.text("name", "yoyo-worker-2");
        let mut stopped = before.clone();
        stopped.text("running", "false");
        let mut started = before.clone();
        started.text("running", "true");
        let plan = Plan {
            changes: vec![
                change(
                    instance("service", "worker", Some(1)),
                    Action::Update,
                    Some(stopped),
                    Some(started),
                    &[],
                ),
                change(
                    instance("service", "worker", Some(2)),
                    Action::Delete,
                    Some(before),
                    None,
                    &[],
                ),
            ],
            ..Plan::default()
        };
        let expected = r#"yoyoform will perform the following actions:

  # service.worker[1] will be updated in-place
  ~ service.worker[1] {
      ~ running = "false" -> "true"
        # (1 unchanged attribute hidden)
    }

  # service.worker[2] will be destroyed
  - service.worker[2] {
      - name = "yoyo-worker-2"
    }

Plan: 0 to add, 1 to change, 1 to destroy.
"#;
        assert_eq!(render(&plan, Style::default()), expected);
    }

    #[test]
    fn a_sensitive_value_that_changes_is_shown_changed_and_a_file_filled_line_by_line() {
        let mut before = Attributes::default();
        before.text("image", "yoyo-api:0123");
        before
            .values
            .insert("secrets".into(), map(&[("jwt", ""), ("other", "same")]));
        before.sensitive.insert(Path::key("secrets", "jwt"));
        before.sensitive.insert(Path::key("secrets", "other"));
        before
            .values
            .insert("files".into(), map(&[("/etc/users.json", "")]));
        let mut after = before.clone();
        after.values.insert(
            "secrets".into(),
            map(&[("jwt", "s3cret"), ("other", "same")]),
        );
        after
            .values
            .insert("files".into(), map(&[("/etc/users.json", "[\n  1\n]\n")]));
        let plan = Plan {
            changes: vec![change(
                instance("service", "api", None),
                Action::Update,
                Some(before),
                Some(after),
                &[],
            )],
            ..Plan::default()
        };
        let text = render(&plan, Style::default());
        assert!(
            text.contains(
                "      ~ secrets = {\n          ~ \"jwt\"   = (sensitive value) -> (sensitive value)\n            # (1 unchanged element hidden)\n"
            ),
            "{text}"
        );
        assert!(!text.contains("s3cret"), "{text}");
        assert!(text.contains("          + [\n"), "{text}");
        assert!(text.contains("          +   1\n"), "{text}");
    }

    #[test]
    fn an_empty_map_is_not_printed() {
        let mut after = Attributes::default();
        after.text("image", "x:1");
        after.values.insert("env".into(), map(&[]));
        let plan = Plan {
            changes: vec![change(
                instance("service", "api", None),
                Action::Create,
                None,
                Some(after),
                &[],
            )],
            ..Plan::default()
        };
        let text = render(&plan, Style::default());
        assert!(
            text.contains("  + service.api {\n      + image = \"x:1\"\n    }\n"),
            "{text}"
        );
    }
}
