//! The `switchyard` command: parse the command line, load settings, and hand
//! over to the library.

use std::{
    io::{BufRead, IsTerminal},
    path::PathBuf,
    process::ExitCode,
};

use clap::{Parser, Subcommand};
use switchyard::{
    app,
    auth::{check_password, password},
    first_start::AdminSeed,
    settings::{Overrides, Settings, redact_url},
    store::{self, Db},
};

#[derive(Parser)]
#[command(name = "switchyard", version, about = "A provisioning API server that speaks the Enswitch JSON API")]
struct Cli {
    /// Settings file (default: ./config.toml if present).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address to listen on, such as 127.0.0.1:8080.
    #[arg(long, global = true, value_name = "ADDR")]
    listen: Option<String>,
    /// sqlite://PATH or postgres://USER@HOST/DB.
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run migrations and the first-start set-up, then serve (the default).
    Serve,
    /// Run pending database migrations and exit.
    Migrate,
    /// Copy a SQLite database consistently to PATH while servers run (PostgreSQL: use pg_dump).
    Backup { path: PathBuf },
    /// Administer people from the command line.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Set a person's password, read as one line from standard input.
    Passwd { username: String },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let overrides = Overrides { listen: cli.listen.clone(), database_url: cli.database_url.clone() };
    let settings = match Settings::load(cli.config.as_deref(), &overrides) {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("switchyard: invalid settings: {err}");
            return ExitCode::from(2);
        }
    };
    switchyard::telemetry::init(&settings.log);
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let result = runtime.block_on(async {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => serve(settings).await,
            Command::Migrate => migrate(settings).await,
            Command::Backup { path } => backup(settings, &path).await,
            Command::Admin { command: AdminCommand::Passwd { username } } => passwd(settings, &username).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err}");
            ExitCode::FAILURE
        }
    }
}

type Outcome = Result<(), Box<dyn std::error::Error>>;

async fn serve(settings: Settings) -> Outcome {
    tracing::info!(database = %redact_url(&settings.database_url), "starting");
    let listen = settings.listen_addr();
    let state = switchyard::start(settings, AdminSeed::from_env()).await?;
    let shutdown = shutdown_signal()?;
    let listener =
        tokio::net::TcpListener::bind(listen).await.map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    tracing::info!(address = %listener.local_addr()?, "listening");
    let db = state.db.clone();
    let served = app::serve(listener, state, shutdown).await;
    db.close().await;
    served?;
    tracing::info!("stopped");
    Ok(())
}

async fn migrate(settings: Settings) -> Outcome {
    let db = Db::connect(&settings).await?;
    let migrated = db.migrate().await;
    db.close().await;
    migrated?;
    tracing::info!("migrations applied");
    Ok(())
}

async fn backup(settings: Settings, path: &std::path::Path) -> Outcome {
    store::backup::sqlite(&settings, path).await?;
    tracing::info!(path = %path.display(), "backup written");
    Ok(())
}

async fn passwd(settings: Settings, username: &str) -> Outcome {
    let password = if std::io::stdin().is_terminal() {
        // On a terminal: prompt twice, without echo.
        let first = rpassword::prompt_password(format!("New password for {username}: "))?;
        let again = rpassword::prompt_password("Again: ")?;
        if first != again {
            return Err("the two passwords differ".into());
        }
        first
    } else {
        // On a pipe: one line, as scripts send it.
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.strip_suffix('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).unwrap_or(&line).to_string()
    };
    check_password(&password).map_err(|why| format!("the password {why}"))?;
    let db = Db::connect(&settings).await?;
    let changed = set_password(&db, username, password).await;
    db.close().await;
    changed
}

async fn set_password(db: &Db, username: &str, password: String) -> Outcome {
    db.migrate().await?;
    let hash = tokio::task::spawn_blocking(move || password::hash_blocking(&password)).await?;
    if !store::auth::set_password_hash(db, username, &hash).await? {
        return Err(format!("no person has the username {username}").into());
    }
    tracing::info!(%username, "password changed");
    Ok(())
}

/// Ctrl-C or SIGTERM. The handlers are installed when this is called, not
/// when the future is first polled: a signal that arrives as soon as
/// "listening" is logged must stop the server gracefully, where the default
/// action would kill it (its calls cut off, the write-ahead log left behind).
fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {},
            _ = terminate.recv() => {},
        }
    })
}
