//! The command line: `serve`, `migrate`, `user add`, `config`, `audio`.

use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::config::{CliOverrides, Config, LogFormat};
use crate::domain::{Role, validate_username};
use crate::storage::users;

#[derive(Parser, Debug)]
#[command(name = "dictaflow", version, about = "Dictation and voice-recognition workflow server for hospitals")]
pub struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Debug)]
struct GlobalArgs {
    /// Configuration file (default: ./dictaflow.toml when present).
    #[arg(long, global = true, env = "DICTAFLOW_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory for the SQLite database and the audio store.
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// Database URL: sqlite://FILE or postgres://...
    #[arg(long, global = true)]
    database_url: Option<String>,
    /// Log output format.
    #[arg(long, global = true, value_parser = ["pretty", "json"])]
    log_format: Option<String>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the HTTP server (applies migrations and reconciles storage first).
    Serve {
        /// Address to listen on, e.g. 0.0.0.0:8080.
        #[arg(long)]
        bind: Option<SocketAddr>,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Print the effective configuration (secrets hidden).
    Config,
    /// Inspect or decode audio files the way the server does.
    #[command(subcommand)]
    Audio(AudioCommand),
    /// Manage Whisper models: list, fetch, import (CTranslate2 -> ggml), verify.
    #[command(subcommand)]
    Models(crate::cli_stt::ModelsCommand),
    /// Run transcription workers only (no HTTP), sharing the database with `serve`.
    Worker,
    /// Transcribe audio files directly, without the server.
    Transcribe {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Model name or ggml file (default: stt.model).
        #[arg(long)]
        model: Option<String>,
        /// text, json, srt or vtt.
        #[arg(long, default_value = "text")]
        format: String,
    },
    /// Check workflow, routing and calendar files.
    #[command(subcommand)]
    Workflows(WorkflowsCommand),
    /// Manage teams.
    #[command(subcommand)]
    Team(crate::cli_admin::TeamCommand),
    /// The audit trail.
    #[command(subcommand)]
    Audit(crate::cli_admin::AuditCommand),
    /// The audio store: `storage migrate-audio` moves a local store into a bucket.
    #[command(subcommand)]
    Storage(crate::cli_storage::StorageCommand),
    /// Development tools: `dev seed` fills a database for benchmarks and demos.
    #[command(subcommand)]
    Dev(crate::seed::DevCommand),
}

#[derive(Subcommand, Debug)]
enum WorkflowsCommand {
    /// Validate files and print every error as `file:line:column: path: message`.
    Validate {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
enum UserCommand {
    /// Create a user. The password is read from standard input.
    Add {
        #[arg(long)]
        username: String,
        /// clinician, secretary, team_lead or superuser.
        #[arg(long)]
        role: String,
        /// Team to join (repeatable); created if new.
        #[arg(long = "team")]
        teams: Vec<String>,
        /// Display name shown in the interface.
        #[arg(long, default_value = "")]
        display_name: String,
        /// Read the password from standard input (first line).
        #[arg(long)]
        password_stdin: bool,
        /// Also create a long-lived API token and print it.
        #[arg(long)]
        token: bool,
    },
    /// List users (username, role, state, teams, id).
    List,
    /// Disable a user (by username or id) and revoke their tokens.
    Disable { user: String },
    /// Enable a disabled user.
    Enable { user: String },
    /// Set a new password, read from standard input (first line); ends the user's sessions
    /// and revokes their API tokens.
    ResetPassword {
        user: String,
        /// Keep the user's API tokens working.
        #[arg(long)]
        keep_tokens: bool,
    },
}

#[derive(Subcommand, Debug)]
enum AudioCommand {
    /// Decode a file by content and print what dictaflow sees (container, codec, duration...).
    Inspect { files: Vec<PathBuf> },
    /// Decode to 16 kHz mono f32 little-endian samples (what the recogniser receives).
    Decode {
        file: PathBuf,
        /// Output file, or `-` for standard output.
        #[arg(long, short, default_value = "-")]
        output: String,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("dictaflow: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn overrides(global: &GlobalArgs, bind: Option<SocketAddr>) -> CliOverrides {
    CliOverrides {
        bind,
        data_dir: global.data_dir.clone(),
        database_url: global.database_url.clone(),
        log_format: global.log_format.as_deref().map(|f| if f == "json" { LogFormat::Json } else { LogFormat::Pretty }),
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Command::Workflows(WorkflowsCommand::Validate { files }) = &cli.command {
        return Ok(validate_files(files));
    }
    let bind = match &cli.command {
        Command::Serve { bind } => *bind,
        _ => None,
    };
    let config =
        Config::load(cli.global.config.as_deref(), &overrides(&cli.global, bind)).context("invalid configuration")?;
    crate::telemetry::init(&config.log);
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    match cli.command {
        Command::Serve { .. } => runtime.block_on(serve(config))?,
        Command::Migrate => runtime.block_on(async {
            let db = crate::storage::Db::connect(&config.database_url(), 2).await?;
            db.migrate().await?;
            println!("migrations applied");
            anyhow::Ok(())
        })?,
        Command::Config => print!("{}", config.to_redacted_toml()),
        Command::User(UserCommand::Add { username, role, teams, display_name, password_stdin, token }) => {
            runtime.block_on(add_user(&config, &username, &role, &teams, &display_name, password_stdin, token))?
        }
        Command::User(UserCommand::List) => runtime.block_on(crate::cli_admin::list_users(&config))?,
        Command::User(UserCommand::Disable { user }) => {
            runtime.block_on(crate::cli_admin::set_disabled(&config, &user, true))?
        }
        Command::User(UserCommand::Enable { user }) => {
            runtime.block_on(crate::cli_admin::set_disabled(&config, &user, false))?
        }
        Command::User(UserCommand::ResetPassword { user, keep_tokens }) => {
            runtime.block_on(crate::cli_admin::reset_password(&config, &user, keep_tokens))?
        }
        Command::Team(cmd) => runtime.block_on(crate::cli_admin::team(&config, cmd))?,
        Command::Audit(cmd) => return runtime.block_on(crate::cli_admin::audit(&config, cmd)),
        Command::Audio(cmd) => return audio_command(&config, cmd),
        Command::Models(cmd) => crate::cli_stt::models_command(&config, cmd)?,
        Command::Worker => runtime.block_on(crate::cli_stt::worker(config))?,
        Command::Transcribe { files, model, format } => {
            let mut config = config;
            if let Some(m) = model {
                config.stt.model = m;
            }
            runtime.block_on(crate::cli_stt::transcribe(&config, &files, &format))?
        }
        Command::Dev(cmd) => runtime.block_on(crate::seed::run(&config, cmd))?,
        Command::Storage(cmd) => return runtime.block_on(crate::cli_storage::run(&config, cmd)),
        Command::Workflows(_) => unreachable!("handled before configuration is loaded"),
    }
    Ok(ExitCode::SUCCESS)
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.server.bind)
        .await
        .with_context(|| format!("cannot listen on {}", config.server.bind))?;
    let state = crate::server::build_state(config, Clock::system()).await?;
    let shutdown = CancellationToken::new();
    crate::server::cancel_on_signals(shutdown.clone());
    crate::server::run(listener, state, shutdown).await
}

async fn add_user(
    config: &Config,
    username: &str,
    role: &str,
    teams: &[String],
    display_name: &str,
    password_stdin: bool,
    token: bool,
) -> anyhow::Result<()> {
    validate_username(username).map_err(anyhow::Error::msg)?;
    let role: Role = role.parse().map_err(anyhow::Error::msg)?;
    if !password_stdin && !token {
        bail!("give --password-stdin (and pipe the password in) or --token, or both");
    }
    let password = if password_stdin {
        let mut input = String::new();
        std::io::stdin().read_to_string(&mut input).context("cannot read the password from standard input")?;
        Some(input.lines().next().unwrap_or_default().to_string())
    } else {
        None
    };
    let clock = Clock::system();
    let (db, _blobs) = crate::server::open_storage(config).await?;
    let new = crate::auth::accounts::CreateUser {
        username: username.to_string(),
        display_name: display_name.to_string(),
        role,
        teams: teams.to_vec(),
        password,
        create_teams: true,
    };
    let id =
        match crate::auth::accounts::create_user(&db, &crate::audit::Who::command_line(), new, clock.now_ms()).await {
            Ok(account) => account.id,
            Err(crate::auth::accounts::AdminError::Internal(e)) => return Err(e),
            Err(e) => bail!("{e}"),
        };
    println!("created {role} {username} ({id})");
    if token {
        let (token, token_hash) = crate::auth::new_token();
        users::insert_token(&db, &id, &token_hash, "api", clock.now_ms(), None).await?;
        println!("api token: {token}");
    }
    Ok(())
}

fn audio_command(config: &Config, cmd: AudioCommand) -> anyhow::Result<ExitCode> {
    let limits = crate::server::limits_of(config);
    match cmd {
        AudioCommand::Inspect { files } => {
            let mut failed = false;
            for file in files {
                match crate::audio::inspect_file(&file, &limits) {
                    Ok(info) => println!("{}: {}", file.display(), serde_json::to_string(&info)?),
                    Err(e) => {
                        failed = true;
                        println!("{}: error {}: {e}", file.display(), e.code());
                    }
                }
            }
            Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
        }
        AudioCommand::Decode { file, output } => {
            let (samples, _info) = crate::audio::decode_16k_mono(&file, &limits)
                .map_err(|e| anyhow::anyhow!("{}: {} ({})", file.display(), e, e.code()))?;
            let mut out: Box<dyn std::io::Write> = if output == "-" {
                Box::new(std::io::BufWriter::new(std::io::stdout().lock()))
            } else {
                Box::new(std::io::BufWriter::new(
                    std::fs::File::create(&output).with_context(|| format!("cannot create {output}"))?,
                ))
            };
            let mut buf = Vec::with_capacity(64 * 1024);
            for chunk in samples.chunks(16 * 1024) {
                buf.clear();
                chunk.iter().for_each(|s| buf.extend_from_slice(&s.to_le_bytes()));
                out.write_all(&buf).with_context(|| format!("cannot write {output}"))?;
            }
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `dictaflow workflows validate FILE...`: offline checks (team and user names are not
/// known without the database; the server checks them on `PUT`).
fn validate_files(files: &[PathBuf]) -> ExitCode {
    let ctx = crate::workflow::ValidationContext::lenient();
    let mut failed = false;
    for file in files {
        let text = match std::fs::read_to_string(file) {
            Ok(t) => t,
            Err(e) => {
                failed = true;
                eprintln!("{}: cannot read: {e}", file.display());
                continue;
            }
        };
        let (kind, errors) = crate::workflow::files::check(&text, &ctx);
        for e in &errors {
            let path = if e.path.is_empty() { "(document)" } else { &e.path };
            println!("{}:{}:{}: {path}: {}", file.display(), e.line, e.column, e.message);
        }
        if errors.is_empty() {
            eprintln!("{}: ok ({kind:?})", file.display());
        }
        failed |= !errors.is_empty();
    }
    if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}
