//! The `yoyoform` command: the only place that prints and picks exit codes.
//!
//! Exit codes: 0 success (for `plan --detailed-exitcode`: no changes), 1 error,
//! 2 (`plan --detailed-exitcode` only) the plan has changes, 3 (`fmt --check` only) env.toml
//! is not in the canonical layout.

mod progress;

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail};
use clap::{Parser, Subcommand};
use engine::apply::{self, Applier, Outcome};
use engine::backend::routing::Routing;
use engine::config::model::Config;
use engine::config::{self, Overrides};
use engine::plan::{self, Mode, SavedPlan, Style};
use engine::session::{Reading, Scope, Session, state_path};
use engine::{state_edit, state_json, views};
use resources::logs::LogsRequest;
use resources::source::{Disk, Git, Source};
use resources::timestamp::Time;

/// Declare the Yoyo platform's development environment in env.toml; plan, apply and
/// destroy it on one Docker daemon or a Docker Swarm cluster.
#[derive(Debug, Parser)]
#[command(
    name = "yoyoform",
    version,
    after_help = "YOYOFORM_LOG=debug (or trace) prints what yoyoform does on stderr."
)]
struct Cli {
    /// The environment file.
    #[arg(short = 'f', long = "file", global = true, default_value = "env.toml")]
    file: PathBuf,
    /// Project name used in Docker names and labels (overrides `[project] name`).
    #[arg(long, global = true, env = "YOYOFORM_PROJECT")]
    project: Option<String>,
    /// Set a variable, NAME=VALUE (also YOYOFORM_VAR_NAME=VALUE). Repeatable.
    #[arg(long = "var", global = true, value_name = "NAME=VALUE")]
    vars: Vec<String>,
    /// Set variables from a TOML file of `name = value` lines. Repeatable; --var beats it,
    /// it beats YOYOFORM_VAR_* from the environment and from `.env` beside env.toml.
    #[arg(long = "var-file", global = true, value_name = "FILE")]
    var_files: Vec<PathBuf>,
    /// The state file [default: .yoyoform/<project>.state.json beside the env file].
    #[arg(long, global = true)]
    state: Option<PathBuf>,
    /// No colours in the output (also NO_COLOR set to anything but empty).
    #[arg(long, global = true)]
    no_color: bool,
    /// The Docker daemon (a swarm's manager for `backend = "swarm"`), as the Docker CLI
    /// names one: unix:///PATH, tcp://HOST:PORT (TLS with DOCKER_TLS_VERIFY and
    /// DOCKER_CERT_PATH), ssh://USER@HOST [default: DOCKER_HOST, else the local socket].
    #[arg(short = 'H', long, global = true, value_name = "DAEMON")]
    host: Option<String>,
    /// How long to wait for the state file's lock when another command holds it: `30s`,
    /// `2m` [default: 0s, refuse at once].
    #[arg(long, global = true, value_name = "DURATION", value_parser = lock_timeout, default_value = "0s", hide_default_value = true)]
    lock_timeout: Duration,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check env.toml without touching Docker or the state file.
    Validate {
        /// Print the result as JSON (Terraform's shape: `valid`, `error_count`,
        /// `diagnostics` with `summary`, `detail` and `range`); exit 1 when invalid.
        #[arg(long)]
        json: bool,
    },
    /// Show what apply would change. Reads Docker; changes nothing.
    Plan {
        /// Exit 0 when there are no changes, 2 when there are, 1 on error.
        #[arg(long)]
        detailed_exitcode: bool,
        /// Save the plan to this file, for `yoyoform apply FILE` (mode 0600: it may hold
        /// secrets).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Print the plan as JSON (sensitive values hidden): `--format json`.
        #[arg(long, conflicts_with = "format")]
        json: bool,
        /// How to print the plan: text, json (sensitive values hidden, `format_version`
        /// 2, see docs/plan-json.md) or markdown (a pull-request comment).
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Review a change: plan env.toml as the work tree (or --head) has it against how
        /// this git revision has it, from the repository alone: no Docker, no state file,
        /// no lock.
        #[arg(long, value_name = "REV", conflicts_with_all = ["out", "targets", "replace", "refresh_only", "destroy"])]
        base: Option<String>,
        /// With --base: the revision to review instead of the work tree.
        #[arg(long, value_name = "REV", requires = "base")]
        head: Option<String>,
        /// `--refresh=false`: plan against the state file alone, without asking Docker.
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
        refresh: bool,
        /// `--lock=false`: read the state file without taking its lock (a reviewer while
        /// someone applies); nothing is written.
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
        lock: bool,
        #[command(flatten)]
        scope: ScopeArgs,
        /// Plan the removal of everything the state records (with --target: of the
        /// targets and what depends on them), as `destroy` would.
        #[arg(long, conflicts_with_all = ["replace", "refresh_only"])]
        destroy: bool,
    },
    /// Print the state (what the last apply recorded), or a plan saved with `plan --out`.
    Show {
        /// A saved plan to print instead of the state.
        plan_file: Option<PathBuf>,
        /// As JSON (sensitive values hidden).
        #[arg(long)]
        json: bool,
    },
    /// Make Docker match env.toml, or carry out a plan saved with `plan --out`.
    Apply {
        /// A plan saved with `plan --out`: applied as it is, without asking, unless
        /// env.toml, the sources or the state changed since. It carries its variables
        /// and its scope.
        #[arg(conflicts_with_all = ["targets", "replace", "refresh_only"])]
        plan_file: Option<PathBuf>,
        /// Do not ask for confirmation.
        #[arg(long)]
        auto_approve: bool,
        /// How many changes may run at once (at least 1).
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..))]
        parallelism: u16,
        #[command(flatten)]
        scope: ScopeArgs,
    },
    /// Remove everything yoyoform made for this project.
    Destroy {
        /// Do not ask for confirmation.
        #[arg(long)]
        auto_approve: bool,
        /// Keep the images yoyoform built (faster next apply).
        #[arg(long)]
        keep_images: bool,
        /// Only this resource (`service.web`) or instance (`service.web[1]`) and what
        /// depends on it. Repeatable.
        #[arg(long = "target", value_name = "ADDRESS")]
        targets: Vec<String>,
    },
    /// Record an existing object as a resource of env.toml, without changing it.
    ///
    /// ADDRESS as env.toml names it (`network.platform`, `service.worker[1]`), ID the
    /// backend's.
    Import {
        /// The resource (or replica) env.toml declares.
        address: String,
        /// The id (or name) of the object on the backend.
        id: String,
    },
    /// Print the outputs recorded by the last apply.
    Output {
        /// Print only this output's value (a sensitive one too).
        name: Option<String>,
        /// As JSON: every output as `{"sensitive": .., "value": ..}` (a sensitive value
        /// as null), or with NAME its value alone.
        #[arg(long)]
        json: bool,
    },
    /// Read or change the state file by hand: list, show, rm (forget), mv (rename).
    State {
        #[command(subcommand)]
        command: StateCommand,
    },
    /// Let go of the project's hold on the Docker daemon that a command left behind.
    ///
    /// A command of another machine, or one killed while the daemon was unreachable, can
    /// leave it. LOCK_ID is the id the refused command named; a hold under another id stays.
    ForceUnlock {
        /// The hold's id, as the refused command said it.
        lock_id: String,
        /// Do not ask for confirmation.
        #[arg(long)]
        force: bool,
    },
    /// Print the dependency graph of env.toml's resources: DOT, SVG or JSON.
    ///
    /// Reads neither Docker nor the state; the picture is drawn by Graphviz's `dot`.
    Graph {
        /// dot (an edge from each resource to what it depends on), svg (drawn by
        /// Graphviz's `dot`, which must be installed) or json.
        #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
        format: GraphFormat,
    },
    /// List what runs for each recorded instance: container (on swarm, each task), state,
    /// health, published ports, uptime.
    Ps {
        /// One JSON object per container or task.
        #[arg(long)]
        json: bool,
    },
    /// Print the logs of the given instances (all by default), in time order, each line
    /// after its instance's name.
    Logs {
        /// An instance (`service.web[1]`), a resource (`service.web`: all its instances), or
        /// on swarm a task (`service.web#2`). Repeatable.
        addresses: Vec<String>,
        /// Go on printing new lines until Ctrl-C or until every container has stopped
        /// (`-f` after `logs`; before it, `-f` is the environment file).
        #[arg(long)]
        follow: bool,
        /// Only the lines since then: a duration back (`10m`, `1h`), a UNIX timestamp, or
        /// an RFC 3339 time (`2026-12-02T10:00:00Z`).
        #[arg(long, value_name = "DURATION|TIMESTAMP", value_parser = since)]
        since: Option<Time>,
        /// Only the last N lines of each container.
        #[arg(long, value_name = "N")]
        tail: Option<u64>,
    },
    /// Run a command in an instance's container, attached, and exit with its status:
    /// `yoyoform exec service.web -- sh`.
    Exec {
        /// The instance (a resource with several runs it in the first, and says so), or on
        /// swarm a task (`service.web#2`).
        address: String,
        /// The command and its arguments.
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        command: Vec<String>,
    },
    /// Rewrite env.toml in the canonical layout, comments kept (`--check`: only say
    /// whether it is, for CI).
    Fmt {
        /// Change nothing; exit 3 and name the file when it is not in the canonical
        /// layout.
        #[arg(long)]
        check: bool,
        /// Print the changes as a unified diff.
        #[arg(long)]
        diff: bool,
    },
    /// Print a completion script for SHELL.
    ///
    /// For example `yoyoform completions bash > /etc/bash_completion.d/yoyoform`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

fn main() -> ExitCode {
    // Like any Unix tool: `yoyoform plan | head` ends quietly when head stops reading,
    // instead of panicking on a broken pipe.
    // SAFETY: restoring the default action of one signal, before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse_from(follow_flag(std::env::args_os()));
    if let Err(error) = log_level(&cli) {
        eprintln!("Error: {error:#}");
        return ExitCode::FAILURE;
    }
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        // Problems in env.toml print as they are: each line starts `FILE:LINE:COL:`, the
        // form editors and CI annotate.
        Err(error) => {
            match error.downcast_ref::<InvalidConfig>() {
                Some(invalid) => eprintln!("{invalid}"),
                None => eprintln!("Error: {error:#}"),
            }
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let style = Style {
        color: !colours_off(&cli) && std::io::stdout().is_terminal(),
    };
    match &cli.command {
        Command::Validate { json: false } => {
            load(&cli)?;
            println!("Success! The configuration is valid.");
            Ok(ExitCode::SUCCESS)
        }
        Command::Validate { json: true } => {
            let valid = InvalidConfig(config::Diagnostics::new(cli.file.clone(), Vec::new()));
            let (document, code) = match load(&cli) {
                Ok(_) => (valid.to_json(), ExitCode::SUCCESS),
                Err(error) => match error.downcast_ref::<InvalidConfig>() {
                    Some(invalid) => (invalid.to_json(), ExitCode::FAILURE),
                    None => return Err(error),
                },
            };
            println!("{}", serde_json::to_string_pretty(&document)?);
            Ok(code)
        }
        Command::Plan {
            base: Some(base),
            head,
            detailed_exitcode,
            json,
            format,
            ..
        } => {
            let plan = review(&cli, base, head.as_deref())?;
            let head_name = head
                .as_deref()
                .map_or("the work tree".to_owned(), |head| format!("`{head}`"));
            let format = if *json { Format::Json } else { *format };
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&plan.to_json())?),
                Format::Markdown => {
                    let title = format!("`{base}` → {head_name}");
                    let mut see_all = format!("yoyoform plan --base {base}");
                    if let Some(head) = head {
                        see_all.push_str(&format!(" --head {head}"));
                    }
                    print!("{}", plan::markdown(&plan, &title, &see_all));
                }
                Format::Text if plan.is_empty() => println!(
                    "No changes. The change of env.toml from `{base}` to {head_name} changes nothing applied."
                ),
                Format::Text => print!("{}", plan::render(&plan, style)),
            }
            let code = if *detailed_exitcode && !plan.is_empty() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
            std::mem::forget(plan);
            Ok(code)
        }
        Command::Plan {
            detailed_exitcode,
            out,
            json,
            format,
            refresh,
            lock,
            scope,
            destroy,
            ..
        } => {
            let reading = Reading {
                refresh: *refresh,
                lock: *lock,
                ..Reading::default()
            };
            let mut session = open(&cli, "plan", reading).await?;
            session.scope = scope.scope();
            if *destroy {
                session.scope.mode = Mode::Destroy;
            }
            let plan = session.plan().await?;
            let format = if *json { Format::Json } else { *format };
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&plan.to_json())?),
                Format::Markdown => {
                    let see_all = "yoyoform plan";
                    print!(
                        "{}",
                        plan::markdown(&plan, "env.toml against its state", see_all)
                    );
                }
                Format::Text => print!("{}", plan::render(&plan, style)),
            }
            let json = format == Format::Json;
            if let Some(out) = out {
                SavedPlan::new(plan.clone(), &session.config)?.save(out)?;
                if !json {
                    println!(
                        "\nSaved the plan to `{}`. To carry out exactly these actions, run:\n    yoyoform apply {}",
                        out.display(),
                        out.display()
                    );
                }
            }
            let code = if *detailed_exitcode && !plan.is_empty() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
            // The process ends here: freeing the plan and the loaded env.toml map by map
            // costs a tenth of a large plan's time, and the kernel takes the memory back at
            // once. The state file's lock is let go properly.
            let Session {
                config,
                graph,
                state,
                prior,
                backend,
                actual,
                ..
            } = session;
            drop(state);
            std::mem::forget((config, graph, prior, backend, actual, plan));
            Ok(code)
        }
        Command::Show {
            plan_file: Some(plan_file),
            json,
        } => {
            let saved = SavedPlan::load(plan_file)?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&saved.plan.to_json())?);
            } else {
                print!("{}", plan::render(&saved.plan, style));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Show {
            plan_file: None,
            json,
        } => {
            let state = applied(&cli)?;
            if *json {
                let document = state_json::state(&state);
                println!("{}", serde_json::to_string_pretty(&document)?);
            } else {
                print!("{}", plan::render_state(&state));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::ForceUnlock { lock_id, force } => {
            let config = load(&cli)?;
            let project = &config.project;
            let host = engine::backend::docker::DockerHost::new(cli.host.clone());
            let Some((id, holder)) = host.holder(project).await? else {
                bail!(
                    "project `{project}` is not held on the Docker daemon at {}: there is \
                     nothing to unlock",
                    host.address()
                );
            };
            if id != *lock_id {
                bail!(
                    "project `{project}` is held by {holder} under another lock id than \
                     `{lock_id}`; nothing was removed"
                );
            }
            println!(
                "Project `{project}` is held on the Docker daemon by {holder} (lock id \
                 `{id}`).\nLetting go of it while that command still runs lets another one \
                 change the project at the same time."
            );
            confirm("force-unlock", *force, "--force")?;
            host.force_unlock(project, lock_id).await?;
            println!("yoyoform let go of the project `{project}`'s hold on the Docker daemon.");
            Ok(ExitCode::SUCCESS)
        }
        Command::Apply {
            plan_file,
            auto_approve,
            parallelism,
            scope,
        } => {
            let saved = plan_file.as_deref().map(SavedPlan::load).transpose()?;
            let config = match &saved {
                Some(saved) => load_saved(&cli, saved)?,
                None => load(&cli)?,
            };
            let mut session = open_config(&cli, config, "apply", Reading::default()).await?;
            let plan = match saved {
                // A saved plan was reviewed already: it is applied as it is, or not at all.
                Some(saved) => {
                    session.scope = Scope {
                        mode: saved.plan.mode,
                        targets: saved.plan.targets.clone(),
                        replace: Vec::new(),
                    };
                    session.saved_plan(saved).await?
                }
                None => {
                    session.scope = scope.scope();
                    let plan = session.plan().await?;
                    print!("{}", plan::render(&plan, style));
                    if !plan.is_empty() {
                        confirm("apply", *auto_approve, "--auto-approve")?;
                    }
                    plan
                }
            };
            match plan.mode {
                Mode::Normal => {}
                Mode::Destroy => return destroy(session, &plan, false, style.color).await,
                Mode::RefreshOnly => {
                    let recorded = session.record_refresh(&plan)?;
                    session.close().await?;
                    println!(
                        "\nApply complete! The state file records {recorded} change{} made outside \
                         yoyoform; nothing on the backend changed.",
                        if recorded == 1 { "" } else { "s" }
                    );
                    return Ok(ExitCode::SUCCESS);
                }
            }
            let display = progress::Display::new(std::io::stdout().is_terminal(), style.color);
            let applier = session.applier(display.events());
            finish_in_flight_on_interrupt(&applier);
            let mut outcome = apply::apply(applier.clone(), &plan, usize::from(*parallelism)).await;
            if exit_code(&outcome) == ExitCode::SUCCESS && !plan.is_empty() {
                let repair = plan_file.is_none();
                let show = |again: &plan::Plan| {
                    println!(
                        "\nOnce applied, this is not as planned any more; applying it again:\n"
                    );
                    print!("{}", plan::render(again, style));
                };
                session
                    .settle(
                        &applier,
                        &mut outcome,
                        repair,
                        usize::from(*parallelism),
                        &show,
                    )
                    .await?;
            }
            display.finish();
            let outputs = applier.outputs();
            session.record_outputs(&outputs)?;
            drop(applier);
            session.close().await?;
            report("Apply", &outcome);
            if exit_code(&outcome) == ExitCode::SUCCESS && !outputs.is_empty() {
                println!("\nOutputs:\n\n{}", plan::render_outputs(&outputs));
            }
            Ok(exit_code(&outcome))
        }
        Command::Destroy {
            auto_approve,
            keep_images,
            targets,
        } => {
            let mut session = open(&cli, "destroy", Reading::default()).await?;
            session.scope = Scope {
                mode: Mode::Destroy,
                targets: targets.clone(),
                replace: Vec::new(),
            };
            let plan = session.plan().await?;
            print!("{}", plan::render(&plan, style));
            if !plan.is_empty() {
                confirm("destroy", *auto_approve, "--auto-approve")?;
            }
            destroy(session, &plan, *keep_images, style.color).await
        }
        Command::Import { address, id } => {
            let session = open(&cli, "import", Reading::default()).await?;
            let change = session.import_change(address)?;
            println!("{address} will be imported from `{id}`; nothing on the backend changes.\n");
            let applied = session.import(&change, id).await?;
            let ids = applied.ids.join(", ");
            session.close().await?;
            println!(
                "Import complete! {address} is recorded as {ids}.\n\n\
                 Run `yoyoform plan` to see how it differs from env.toml."
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::State { command } => {
            let config = load(&cli)?;
            let path = state_path(&config, cli.state.as_deref());
            match command {
                StateCommand::List => {
                    for address in state::read_unlocked(&path)?.resources.keys() {
                        println!("{address}");
                    }
                }
                StateCommand::Show { address } => {
                    let state = state::read_unlocked(&path)?;
                    for (i, recorded) in state_edit::matching(&state, address)?.iter().enumerate() {
                        if i > 0 {
                            println!();
                        }
                        print!("{}", plan::render_recorded(&state.resources[recorded]));
                    }
                }
                StateCommand::Rm { address } => {
                    let locked = state::StateFile::new(&path)
                        .writer_version(env!("CARGO_PKG_VERSION"))
                        .lock_timeout(cli.lock_timeout)
                        .open("state rm")?;
                    for gone in state_edit::remove(&locked, address)? {
                        println!("Removed {gone}");
                    }
                    println!("Its objects were left as they are; yoyoform no longer manages them.");
                }
                StateCommand::Mv { from, to } => {
                    let locked = state::StateFile::new(&path)
                        .writer_version(env!("CARGO_PKG_VERSION"))
                        .lock_timeout(cli.lock_timeout)
                        .open("state mv")?;
                    for (from, to) in state_edit::rename(&locked, from, to)? {
                        println!("Moved {from} to {to}");
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Graph { format } => {
            let config = load(&cli)?;
            // A cycle was reported by the loader already.
            let graph = engine::graph::Graph::build(&config)?;
            match format {
                GraphFormat::Dot => print!("{}", graph.dot()),
                GraphFormat::Svg => std::io::stdout().write_all(&draw(&graph.dot())?)?,
                GraphFormat::Json => {
                    println!("{}", serde_json::to_string_pretty(&graph.to_json())?)
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Fmt { check, diff } => {
            let path = &cli.file;
            let text = std::fs::read_to_string(path)
                .map_err(|error| anyhow!("cannot read `{}`: {error}", path.display()))?;
            let formatted = config::format::format(&text).map_err(|problem| {
                InvalidConfig(config::Diagnostics::new(path.clone(), vec![problem]))
            })?;
            if formatted == text {
                return Ok(ExitCode::SUCCESS);
            }
            if *diff {
                let name = path.display().to_string();
                let changes = similar::TextDiff::from_lines(&text, &formatted);
                print!("{}", changes.unified_diff().header(&name, &name));
            }
            if *check {
                println!("{}", path.display());
                return Ok(ExitCode::from(3));
            }
            replace_file(path, &formatted)?;
            println!("{}", path.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut command = Cli::command();
            clap_complete::generate(*shell, &mut command, "yoyoform", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Command::Ps { json } => {
            let (config, state) = recorded(&cli)?;
            let backend = Routing::on_daemon(&config, cli.host.clone());
            let processes = views::processes(&state, &backend, &[]).await?;
            if *json {
                let document = views::ps::json(&processes, Time::now());
                println!("{}", serde_json::to_string_pretty(&document)?);
            } else if processes.is_empty() {
                println!("{}", nothing_runs(&config, &state));
            } else {
                print!("{}", views::ps::table(&processes, Time::now()));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Logs {
            addresses,
            follow,
            since,
            tail,
        } => {
            let (config, state) = recorded(&cli)?;
            let backend = Routing::on_daemon(&config, cli.host.clone());
            let processes = views::processes(&state, &backend, addresses).await?;
            let request = LogsRequest {
                since: *since,
                tail: *tail,
                follow: false,
            };
            let mut logs = views::logs::Logs::new(&backend, &processes, request, style.color);
            if logs.is_empty() {
                println!("{}", nothing_runs(&config, &state));
                return Ok(ExitCode::SUCCESS);
            }
            for line in logs.history().await? {
                println!("{line}");
            }
            if *follow {
                let mut live = logs.follow().await?;
                while let Some(line) = futures_util::StreamExt::next(&mut live).await {
                    println!("{}", line?);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Exec { address, command } => {
            let (config, state) = recorded(&cli)?;
            let backend = Routing::on_daemon(&config, cli.host.clone());
            let picked = views::exec::pick(&state, &backend, address).await?;
            if let Some(note) = &picked.note {
                eprintln!("{note}");
            }
            let (stdout, stderr) = (Box::new(tokio::io::stdout()), Box::new(tokio::io::stderr()));
            let code = views::exec::run(&backend, &picked.process, command.clone(), stdout, stderr)
                .await?;
            // Docker's statuses are 0-255; one it could not read (-1) is a failure.
            Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
        }
        Command::Output { name, json } => {
            let state = applied(&cli)?;
            match name {
                Some(name) => {
                    let output = state
                        .outputs
                        .get(name)
                        .ok_or_else(|| anyhow!("no output named `{name}` in the state file"))?;
                    if *json {
                        println!("{}", serde_json::Value::from(output.value.as_str()));
                    } else {
                        println!("{}", output.value);
                    }
                }
                None if *json => {
                    let outputs = state_json::outputs(&state);
                    println!("{}", serde_json::to_string_pretty(&outputs)?);
                }
                None => print!("{}", plan::render_recorded_outputs(&state.outputs)),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// env.toml and what its state file records, read without the lock (`ps`, `logs`,
/// `exec` change nothing); no state file records nothing.
fn recorded(cli: &Cli) -> anyhow::Result<(Config, state::State)> {
    let config = load(cli)?;
    let path = state_path(&config, cli.state.as_deref());
    let state = match path.exists() {
        true => state::read_unlocked(&path)?,
        false => state::State::new(env!("CARGO_PKG_VERSION")),
    };
    Ok((config, state))
}

/// What `ps` and `logs` say when nothing runs: exit 0, as nothing is wrong.
fn nothing_runs(config: &Config, state: &state::State) -> String {
    if state.resources.is_empty() {
        format!(
            "Nothing is recorded for the project `{}`: `yoyoform apply` brings it up.",
            config.project
        )
    } else {
        format!(
            "No container runs for what the state of the project `{}` records.",
            config.project
        )
    }
}

/// `logs --since`: a time, or a duration back from now.
fn since(text: &str) -> Result<Time, String> {
    views::logs::since(text, Time::now())
}

/// `logs -f` follows, as `docker compose logs -f` does; `-f` is also the global short of
/// `--file`, and clap refuses one short for two options: after the subcommand `logs`
/// (and before a `--`), `-f` is made `--follow`. The subcommand is the first argument that
/// is neither an option nor an option's value.
fn follow_flag(arguments: impl Iterator<Item = std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    use clap::CommandFactory;
    let command = Cli::command();
    let takes_value = |option: &str| {
        command.get_arguments().any(|argument| {
            let named = match option.strip_prefix("--") {
                Some(long) => argument.get_long() == Some(long),
                None => option.len() == 2 && argument.get_short() == option.chars().nth(1),
            };
            named && argument.get_action().takes_values()
        })
    };
    let mut arguments: Vec<std::ffi::OsString> = arguments.collect();
    let mut index = 1;
    while let Some(argument) = arguments.get(index).and_then(|argument| argument.to_str()) {
        if !argument.starts_with('-') {
            break;
        }
        index += if takes_value(argument) { 2 } else { 1 };
    }
    if arguments
        .get(index)
        .is_some_and(|argument| argument == "logs")
    {
        for argument in arguments.iter_mut().skip(index + 1) {
            if argument == "--" {
                break;
            }
            if argument == "-f" {
                *argument = "--follow".into();
            }
        }
    }
    arguments
}

/// Whether colours are turned off: `--no-color`, or NO_COLOR (no-color.org) set to
/// anything but the empty value.
fn colours_off(cli: &Cli) -> bool {
    cli.no_color || std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty())
}

/// The variable that sets how much yoyoform says of its own work on stderr.
const LOG_VARIABLE: &str = "YOYOFORM_LOG";

/// Diagnostics on stderr as `YOYOFORM_LOG` asks: a level (`debug`, `trace`) for
/// yoyoform's own crates, or tracing's filter syntax (`engine=debug,bollard=debug`);
/// nothing when unset. Each line says how long after the start it was written.
///
/// A bare level leaves other crates at `warn`: bollard's debug lines are whole Docker
/// API answers, containers' environments (secrets) included; they are there for whoever
/// names `bollard` on purpose.
fn log_level(cli: &Cli) -> anyhow::Result<()> {
    let Some(filter) = std::env::var_os(LOG_VARIABLE) else {
        return Ok(());
    };
    let filter = filter.to_string_lossy();
    let directives = if filter.contains(['=', ',']) {
        filter.to_string()
    } else {
        format!("warn,engine={filter},resources={filter},state={filter}")
    };
    let parsed = tracing_subscriber::EnvFilter::builder()
        .parse(&directives)
        .map_err(|error| {
            anyhow!(
                "{LOG_VARIABLE}={filter} is not a log level: write `debug`, `trace`, or \
                 `engine=debug,resources=trace` ({error})"
            )
        })?;
    tracing_subscriber::fmt()
        .with_env_filter(parsed)
        .with_writer(std::io::stderr)
        .with_ansi(!colours_off(cli) && std::io::stderr().is_terminal())
        .with_timer(tracing_subscriber::fmt::time::uptime())
        .init();
    Ok(())
}

/// Loads and validates env.toml with the command line's overrides.
fn load(cli: &Cli) -> anyhow::Result<Config> {
    load_from(cli, Arc::new(Disk), None)
}

/// [`load`] from `tree`; its problems name the file as `REVISION:PATH` when it is read at
/// a revision.
fn load_from(cli: &Cli, tree: Arc<dyn Source>, revision: Option<&str>) -> anyhow::Result<Config> {
    let mut overrides = Overrides::new();
    overrides.project = cli.project.clone();
    // `.env` is the work tree's, a local setting like the environment: a review reads the
    // same one for both of its sides.
    let folder = cli.file.parent().unwrap_or(std::path::Path::new(""));
    overrides.add_dotenv(&folder.join(".env"))?;
    overrides.add_environment(std::env::vars());
    for path in &cli.var_files {
        let text = std::fs::read_to_string(path)
            .map_err(|error| anyhow!("cannot read the var file `{}`: {error}", path.display()))?;
        overrides.add_var_file(path, &text)?;
    }
    for argument in &cli.vars {
        overrides.add_flag(argument)?;
    }
    load_with(cli, tree, revision, &overrides)
}

/// Loads env.toml for `apply FILE` with the project and the variables the saved plan was
/// made with, as Terraform does: giving variables again is refused, not merged.
fn load_saved(cli: &Cli, saved: &SavedPlan) -> anyhow::Result<Config> {
    if !cli.vars.is_empty() || !cli.var_files.is_empty() {
        bail!(
            "a saved plan carries the variables it was made with: --var and --var-file \
             cannot be given with it (make a new plan with `yoyoform plan --out` to change them)"
        );
    }
    let mut overrides = Overrides::new();
    overrides.project = Some(cli.project.clone().unwrap_or_else(|| saved.project.clone()));
    for (name, value) in &saved.variables {
        overrides.add_flag(&format!("{name}={value}"))?;
    }
    load_with(cli, Arc::new(Disk), None, &overrides)
}

/// [`load_from`] with the overrides given.
fn load_with(
    cli: &Cli,
    tree: Arc<dyn Source>,
    revision: Option<&str>,
    overrides: &Overrides,
) -> anyhow::Result<Config> {
    config::load_from(tree, &cli.file, overrides).map_err(|mut diagnostics| {
        let file = match revision {
            Some(revision) => format!("{revision}:{}", cli.file.display()),
            None => cli.file.display().to_string(),
        };
        diagnostics.path = PathBuf::from(&file);
        anyhow::Error::new(InvalidConfig(diagnostics))
    })
}

/// env.toml's problems: printed without the `Error: ` prefix, or as `validate --json`.
#[derive(Debug, thiserror::Error)]
#[error(
    "{0}\n{count} problem{plural} in `{file}`; nothing was changed",
    count = .0.len(),
    plural = if .0.len() == 1 { "" } else { "s" },
    file = .0.path.display()
)]
struct InvalidConfig(config::Diagnostics);

impl InvalidConfig {
    /// `validate --json`'s document, in the shape of Terraform's: each problem's summary,
    /// its help as the detail, and where it starts (no range when it is at no one place).
    fn to_json(&self) -> serde_json::Value {
        let file = self.0.path.display().to_string();
        let diagnostics: Vec<serde_json::Value> = self
            .0
            .iter()
            .map(|diagnostic| {
                let mut entry = serde_json::json!({
                    "severity": "error",
                    "summary": diagnostic.message,
                    "detail": diagnostic.help.clone().unwrap_or_default(),
                });
                let location = diagnostic.location;
                if location.line > 0 {
                    entry["range"] = serde_json::json!({
                        "filename": file,
                        "start": { "line": location.line, "column": location.column },
                    });
                }
                entry
            })
            .collect();
        serde_json::json!({
            "format_version": "1.0",
            "valid": diagnostics.is_empty(),
            "error_count": diagnostics.len(),
            "warning_count": 0,
            "diagnostics": diagnostics,
        })
    }
}

/// The state file as the last command left it, read without its lock; none is an error
/// (nothing was applied), where [`recorded`] takes it as recording nothing.
fn applied(cli: &Cli) -> anyhow::Result<state::State> {
    let config = load(cli)?;
    let path = state_path(&config, cli.state.as_deref());
    if !path.exists() {
        bail!(
            "no state file at {}: nothing has been applied for the project `{}`; \
             `yoyoform apply` records what it makes",
            path.display(),
            config.project
        );
    }
    Ok(state::read_unlocked(&path)?)
}

/// Loads env.toml and opens the command's session on the project's backends.
async fn open(cli: &Cli, operation: &str, reading: Reading) -> anyhow::Result<Session> {
    open_config(cli, load(cli)?, operation, reading).await
}

/// Opens the command's session over `config`, loaded already.
async fn open_config(
    cli: &Cli,
    config: Config,
    operation: &str,
    reading: Reading,
) -> anyhow::Result<Session> {
    let path = state_path(&config, cli.state.as_deref());
    let backend = Arc::new(Routing::on_daemon(&config, cli.host.clone()));
    let reading = Reading {
        lock_timeout: cli.lock_timeout,
        ..reading
    };
    Ok(Session::open(config, &path, operation, backend, reading).await?)
}

/// `--lock-timeout`: a duration as env.toml writes them.
fn lock_timeout(text: &str) -> Result<Duration, String> {
    config::duration::parse(text)
        .map(Duration::from_millis)
        .ok_or_else(|| format!("`{text}` is not a duration: write `500ms`, `30s`, `2m` or `1h`"))
}

/// What a plan covers, for `plan` and `apply` (Terraform's flags of the same names).
#[derive(Debug, clap::Args)]
struct ScopeArgs {
    /// Only this resource (`service.web`) or instance (`service.web[1]`) and what it
    /// depends on. Repeatable.
    #[arg(long = "target", value_name = "ADDRESS")]
    targets: Vec<String>,
    /// Make this recorded resource or instance anew, though nothing changed (what uses its
    /// new values follows). Repeatable.
    #[arg(long, value_name = "ADDRESS")]
    replace: Vec<String>,
    /// Only record in the state file what changed outside yoyoform; change nothing on the
    /// backend.
    #[arg(long, conflicts_with = "replace")]
    refresh_only: bool,
}

impl ScopeArgs {
    /// The session's scope these flags ask for.
    fn scope(&self) -> Scope {
        Scope {
            mode: if self.refresh_only {
                Mode::RefreshOnly
            } else {
                Mode::Normal
            },
            targets: self.targets.clone(),
            replace: self.replace.clone(),
        }
    }
}

/// `yoyoform state ...`: the state file by hand; no backend is touched.
#[derive(Debug, Subcommand)]
enum StateCommand {
    /// Print every instance the state records, one address a line.
    List,
    /// Print what the state records of ADDRESS (sensitive values hidden).
    Show {
        /// An instance (`service.web[1]`) or a resource (all its instances).
        address: String,
    },
    /// Forget ADDRESS without deleting what it made: its objects stay, no longer managed.
    Rm {
        /// An instance (`service.web[1]`) or a resource (all its instances).
        address: String,
    },
    /// Record FROM under the address TO (a resource renamed in env.toml), without
    /// recreating anything.
    Mv {
        /// The recorded instance or resource.
        from: String,
        /// Its new address, of the same kind.
        to: String,
    },
}

/// How `graph` prints the graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum GraphFormat {
    /// Graphviz's DOT.
    Dot,
    /// A picture, drawn by Graphviz.
    Svg,
    /// `{"resources": [{"address", "depends_on"}]}`, dependencies first.
    Json,
}

/// Writes `text` over the file at `path`, keeping its mode: a new file renamed over the
/// old one, so a crash leaves one or the other, never half of each.
fn replace_file(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".yoyoform-fmt");
    let temporary = PathBuf::from(temporary);
    let written = (|| {
        std::fs::write(&temporary, text)?;
        std::fs::set_permissions(&temporary, std::fs::metadata(path)?.permissions())?;
        std::fs::rename(&temporary, path)
    })();
    if let Err(error) = written {
        let _ = std::fs::remove_file(&temporary);
        bail!("cannot write `{}`: {error}", path.display());
    }
    Ok(())
}

/// The SVG picture Graphviz's `dot` draws of `dot_text`.
fn draw(dot_text: &str) -> anyhow::Result<Vec<u8>> {
    let child = std::process::Command::new("dot")
        .arg("-Tsvg")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => bail!(
            "Graphviz's `dot` is not installed (apt-get install graphviz); \
             `yoyoform graph` prints the DOT it would draw"
        ),
        Err(error) => bail!("cannot run Graphviz's `dot`: {error}"),
    };
    let mut stdin = child.stdin.take().expect("a piped stdin");
    // Written from a thread: dot may fill its stdout pipe before it has read all of stdin.
    let text = dot_text.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(text.as_bytes()));
    let output = child.wait_with_output()?;
    writer.join().expect("the writer does not panic")?;
    if !output.status.success() {
        bail!(
            "Graphviz's `dot` failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(output.stdout)
}

/// How a plan is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    /// For people, in Terraform's notation.
    Text,
    /// For programs: sensitive values hidden, `format_version` 2.
    Json,
    /// For a pull request: collapsible blocks, kept under GitHub's comment limit.
    Markdown,
}

/// The plan of env.toml at `head` (the work tree when `None`) against env.toml at `base`:
/// both read from the repository, neither from Docker nor a state file.
fn review(cli: &Cli, base: &str, head: Option<&str>) -> anyhow::Result<plan::Plan> {
    let here = std::env::current_dir()?;
    let at = |revision: Option<&str>| -> anyhow::Result<engine::config::model::Config> {
        let tree: Arc<dyn Source> = match revision {
            Some(revision) => Arc::new(Git::open(&here, revision)?),
            None => Arc::new(Disk),
        };
        let mut config = load_from(cli, tree, revision)?;
        config.review = true;
        Ok(config)
    };
    // The base (read, then planned as applied) and the head are read side by side: for a
    // large env.toml that is half of a review's time.
    let (base, head) = std::thread::scope(|scope| {
        let base = scope.spawn(|| -> anyhow::Result<_> {
            let config = at(Some(base))?;
            let prior = engine::review::applied(&config)?;
            Ok((config, prior))
        });
        let head = at(head);
        (base.join().expect("reading the base does not panic"), head)
    });
    let ((base, prior), head) = (base?, head?);
    let plan = engine::review::plan_against(&prior, &base, &head)?;
    // The process ends soon: the resources of the two files and the base's state need not
    // be freed map by map (a tenth of a large review). The trees go properly: git's
    // process is let go.
    for config in [base, head] {
        std::mem::forget(config.resources);
    }
    std::mem::forget(prior);
    Ok(plan)
}

/// On the first Ctrl-C, no further change starts; the ones in flight finish and are
/// recorded in the state file, so nothing yoyoform made is left unaccounted for. A second
/// Ctrl-C stops at once.
fn finish_in_flight_on_interrupt(applier: &Arc<Applier>) {
    let applier = applier.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        applier
            .interrupted
            .store(true, std::sync::atomic::Ordering::Relaxed);
        eprintln!(
            "\nInterrupt received: finishing the changes in flight and recording them; \
             press Ctrl-C again to stop at once."
        );
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("Stopped. Run `yoyoform plan` to see where things stand.");
            std::process::exit(130);
        }
    });
}

/// Carries out a destroy plan: its deletions, dependents first; then, unless it was
/// limited by `--target`, whatever is left with the project's label.
async fn destroy(
    session: Session,
    plan: &plan::Plan,
    keep_images: bool,
    color: bool,
) -> anyhow::Result<ExitCode> {
    let display = progress::Display::new(std::io::stdout().is_terminal(), color);
    let applier = session.applier(display.events());
    finish_in_flight_on_interrupt(&applier);
    let mut outcome = apply::apply(applier, plan, 10).await;
    display.finish();
    if plan.targets.is_empty() {
        let covered = session
            .sweep(&mut outcome, keep_images)
            .await
            .map_err(|error| anyhow!("removing what is left with the project's label: {error}"))?;
        for (instance, error) in covered {
            println!("{instance}: removed by the sweep by label (first attempt: {error})");
        }
    }
    session.close().await?;
    report("Destroy", &outcome);
    Ok(exit_code(&outcome))
}

/// Asks for `yes`, unless approved beforehand (with `flag`); refuses without a terminal
/// to ask on.
fn confirm(operation: &str, approved: bool, flag: &str) -> anyhow::Result<()> {
    if approved {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        bail!("{operation} needs confirmation, and there is no terminal to ask on: pass {flag}");
    }
    print!(
        "\nDo you want to perform these actions?\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: "
    );
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if answer.trim() != "yes" {
        bail!("{operation} cancelled; nothing was changed");
    }
    println!();
    Ok(())
}

fn report(operation: &str, outcome: &Outcome) {
    if outcome.failures.is_empty() && !outcome.not_started.is_empty() {
        let names: Vec<String> = outcome
            .not_started
            .iter()
            .map(ToString::to_string)
            .collect();
        eprintln!(
            "\n{operation} interrupted. Done: {} added, {} changed, {} destroyed; the state file records it. Not started: {}.",
            outcome.added,
            outcome.changed,
            outcome.destroyed,
            names.join(", ")
        );
        return;
    }
    if outcome.failures.is_empty() {
        let what = if operation == "Destroy" {
            format!("{} destroyed", outcome.destroyed)
        } else {
            format!(
                "{} added, {} changed, {} destroyed",
                outcome.added, outcome.changed, outcome.destroyed
            )
        };
        println!("\n{operation} complete! Resources: {what}.");
        return;
    }
    for (instance, error) in &outcome.failures {
        eprintln!("\nError: {instance}: {error}");
    }
    if !outcome.skipped.is_empty() {
        let skipped: Vec<String> = outcome.skipped.iter().map(ToString::to_string).collect();
        eprintln!(
            "\nSkipped because of the error above: {}",
            skipped.join(", ")
        );
    }
    eprintln!(
        "\n{operation} failed. Done before the failure: {} added, {} changed, {} destroyed; the state file records it.",
        outcome.added, outcome.changed, outcome.destroyed
    );
}

fn exit_code(outcome: &Outcome) -> ExitCode {
    if outcome.failures.is_empty() && outcome.not_started.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
