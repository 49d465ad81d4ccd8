//! What apply and destroy show while they work.
//!
//! Two forms of the same events:
//! - **Lines**, when stdout is no terminal (CI logs, pipes, the tests): one line per step,
//!   Terraform's (`service.web: Creating...`, `Still creating... [10s elapsed]`,
//!   `Creation complete after 3s [id=...]`); an image build says where cargo is at most
//!   once every ten seconds, and once per build however many replicas wait for it.
//! - **Bars**, on a terminal (indicatif): a bar per image build (cargo's units done of
//!   the units expected, and the crate it is compiling), a spinner with the time elapsed
//!   per change in flight; what is finished is left above them as the line the plain form
//!   prints, so the scrollback reads the same.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use engine::apply::Event;
use engine::kind::Progress;
use engine::plan::{Action, Instance};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use resources::binary::Compiling;

/// How often the plain form says how far a build is.
const BUILD_LINE_EVERY: Duration = Duration::from_secs(10);
/// How often the bars redraw on their own (the elapsed time moves without events).
const TICK: Duration = Duration::from_millis(120);

/// Shows apply's events: see the module's comment.
pub struct Display {
    form: Mutex<Form>,
}

enum Form {
    Lines(Lines),
    // Boxed: one display per command, and clippy wants the variants of a size.
    Bars(Box<Bars>),
}

impl Display {
    /// Bars when `terminal`, coloured when `color`; lines otherwise.
    pub fn new(terminal: bool, color: bool) -> Arc<Display> {
        let form = if terminal {
            Form::Bars(Box::new(Bars::new(color)))
        } else {
            Form::Lines(Lines::default())
        };
        Arc::new(Display {
            form: Mutex::new(form),
        })
    }

    /// What apply takes to report to it.
    pub fn events(self: &Arc<Self>) -> Arc<dyn Fn(Event) + Send + Sync> {
        let display = self.clone();
        Arc::new(move |event| display.show(event))
    }

    /// Shows one event.
    pub fn show(&self, event: Event) {
        match &mut *self.form.lock().expect("the display") {
            Form::Lines(lines) => lines.show(event),
            Form::Bars(bars) => bars.show(event),
        }
    }

    /// Takes what is still drawn off the screen, before the summary is printed.
    pub fn finish(&self) {
        if let Form::Bars(bars) = &mut *self.form.lock().expect("the display") {
            bars.clear();
        }
    }
}

/// The words of an action: `Creating`, `creating`, `Creation`.
fn verb(action: Action) -> (&'static str, &'static str, &'static str) {
    match action {
        Action::Create => ("Creating", "creating", "Creation"),
        Action::Update => ("Modifying", "modifying", "Modifications"),
        Action::Replace => ("Replacing", "replacing", "Replacement"),
        Action::Delete => ("Destroying", "destroying", "Destruction"),
    }
}

/// The line an event leaves in the output, the same in both forms; `None` for what only
/// the plain form says (still working, cargo's progress).
fn line(event: &Event) -> Option<String> {
    Some(match event {
        Event::Started(instance, action) => format!("{instance}: {}...", verb(*action).0),
        Event::StillWorking(instance, action, elapsed) => format!(
            "{instance}: Still {}... [{}s elapsed]",
            verb(*action).1,
            elapsed.as_secs()
        ),
        Event::Progress(instance, Progress::Step(message)) => format!("{instance}: {message}"),
        Event::Progress(instance, Progress::Built { tag, took }) => {
            format!("{instance}: Image {tag} built after {}s", took.as_secs())
        }
        Event::Progress(instance, Progress::Pushed { image, took }) => {
            format!("{instance}: Image {image} pushed after {}s", took.as_secs())
        }
        Event::Progress(_, Progress::Compiling(_)) => return None,
        Event::Finished(instance, action, elapsed, id) => {
            let id = id
                .as_ref()
                .map(|id| format!(" [id={id}]"))
                .unwrap_or_default();
            format!(
                "{instance}: {} complete after {}s{id}",
                verb(*action).2,
                elapsed.as_secs()
            )
        }
        Event::Failed(instance) => format!("{instance}: Failed"),
        Event::Skipped(instance, root) => format!("{instance}: Skipped, because {root} failed"),
    })
}

/// cargo's progress in words: `cargo 45/210, compiling tokio`.
fn cargo_words(compiling: &Compiling) -> String {
    let mut words = if compiling.total > 0 {
        format!(
            "cargo {}/{}",
            compiling.done,
            compiling.total.max(compiling.done)
        )
    } else {
        format!("cargo {} done", compiling.done)
    };
    if !compiling.current.is_empty() {
        words.push_str(&format!(", compiling {}", compiling.current));
    }
    words
}

/// The plain form: a line per event, cargo's progress every ten seconds per build.
#[derive(Default)]
struct Lines {
    /// Per build (by resource): when it started, and when its last line was printed.
    builds: HashMap<Instance, (Instant, Instant)>,
}

impl Lines {
    fn show(&mut self, event: Event) {
        match &event {
            Event::Progress(instance, Progress::Step(_)) => {
                let now = Instant::now();
                self.builds.insert(instance.clone(), (now, now));
            }
            Event::Progress(instance, Progress::Compiling(compiling)) => {
                let now = Instant::now();
                let (began, last) = self.builds.entry(instance.clone()).or_insert((now, now));
                if now.duration_since(*last) >= BUILD_LINE_EVERY {
                    *last = now;
                    print_line(&format!(
                        "{instance}: Still building... [{}s elapsed] ({})",
                        now.duration_since(*began).as_secs(),
                        cargo_words(compiling)
                    ));
                }
                return;
            }
            Event::Progress(instance, Progress::Built { .. } | Progress::Pushed { .. }) => {
                self.builds.remove(instance);
            }
            _ => {}
        }
        if let Some(text) = line(&event) {
            print_line(&text);
        }
    }
}

/// One line on stdout, at once (a pipe would otherwise hold it back).
fn print_line(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{text}");
    let _ = stdout.flush();
}

/// The terminal form.
struct Bars {
    multi: MultiProgress,
    /// A spinner per change in flight.
    changes: HashMap<Instance, ProgressBar>,
    /// A bar per image build, by resource.
    builds: HashMap<Instance, ProgressBar>,
    spinner: ProgressStyle,
    bar: ProgressStyle,
}

impl Bars {
    fn new(color: bool) -> Bars {
        let (spinner, bar) = if color {
            (
                "{spinner:.cyan} {prefix}: {msg} [{elapsed}]",
                "{spinner:.cyan} {prefix}: {msg} [{elapsed}]\n    [{bar:30.cyan/blue}] {pos}/{len}",
            )
        } else {
            (
                "{spinner} {prefix}: {msg} [{elapsed}]",
                "{spinner} {prefix}: {msg} [{elapsed}]\n    [{bar:30}] {pos}/{len}",
            )
        };
        let style = |template: &str| {
            ProgressStyle::with_template(template)
                .expect("a valid progress template")
                .progress_chars("=> ")
        };
        Bars {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stdout()),
            changes: HashMap::new(),
            builds: HashMap::new(),
            spinner: style(spinner),
            bar: style(bar),
        }
    }

    /// A spinner under the others.
    fn spinner(&self, prefix: &Instance, message: String) -> ProgressBar {
        // Made whole before it is added: adding draws it.
        let spinner = ProgressBar::new_spinner()
            .with_style(self.spinner.clone())
            .with_prefix(prefix.to_string())
            .with_message(message);
        let spinner = self.multi.add(spinner);
        spinner.enable_steady_tick(TICK);
        spinner
    }

    fn show(&mut self, event: Event) {
        let text = line(&event);
        match event {
            Event::Started(instance, action) => {
                let spinner = self.spinner(&instance, format!("{}...", verb(action).0));
                self.changes.insert(instance, spinner);
                return;
            }
            // The spinner shows the time.
            Event::StillWorking(..) => return,
            Event::Progress(instance, Progress::Step(message)) => {
                match self.builds.get(&instance) {
                    Some(bar) => bar.set_message(message),
                    None => {
                        let bar = self.spinner(&instance, message);
                        self.builds.insert(instance, bar);
                    }
                }
            }
            Event::Progress(instance, Progress::Compiling(compiling)) => {
                if let Some(bar) = self.builds.get(&instance) {
                    if compiling.total > 0 && bar.length().is_none() {
                        bar.set_style(self.bar.clone());
                    }
                    bar.set_length(compiling.total.max(compiling.done) as u64);
                    bar.set_position(compiling.done as u64);
                    bar.set_message(cargo_words(&compiling));
                }
                return;
            }
            Event::Progress(instance, Progress::Built { .. } | Progress::Pushed { .. }) => {
                if let Some(bar) = self.builds.remove(&instance) {
                    bar.finish_and_clear();
                    self.multi.remove(&bar);
                }
            }
            Event::Finished(instance, ..)
            | Event::Failed(instance)
            | Event::Skipped(instance, _) => {
                if let Some(spinner) = self.changes.remove(&instance) {
                    spinner.finish_and_clear();
                    self.multi.remove(&spinner);
                }
            }
        }
        if let Some(text) = text {
            let _ = self.multi.println(text);
        }
    }

    fn clear(&mut self) {
        for (_, bar) in self.changes.drain().chain(self.builds.drain()) {
            bar.finish_and_clear();
        }
        let _ = self.multi.clear();
    }
}
