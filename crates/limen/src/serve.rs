//! `limen serve`: the HTTP service.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use limen_face::FaceEngine;
use limen_server::AppState;
use limen_server::config::Config;
use limen_server::mailer::Mailer;
use limen_services::Services;
use limen_store::{MasterKey, Store};

/// Opens the database named by the configuration, creating the data
/// directory (private to its owner) and the master key on first use.
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    create_private_dir(&config.data_dir)?;
    let master = MasterKey::load_or_create(&config.master_key_file)?;
    Store::open(&config.database_url, master)
        .await
        .context("cannot open the database")
}

/// On SQLite, only one `limen serve` may use a database: a second would
/// hold galleries that nothing keeps in step with the first's changes. An
/// exclusive lock on a file beside the database, held for as long as the
/// returned file is, refuses the second. (`limen admin` takes no lock: the
/// running server follows its changes.)
fn lock_sqlite_database(config: &Config) -> anyhow::Result<Option<std::fs::File>> {
    let Some(path) = config.database_url.strip_prefix("sqlite:") else {
        return Ok(None);
    };
    let path = path.trim_start_matches("//");
    let path = path.split('?').next().unwrap_or(path);
    let lock_path = PathBuf::from(format!("{path}.serve-lock"));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("cannot open the lock file {}", lock_path.display()))?;
    match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(Some(file)),
        Err(rustix::io::Errno::WOULDBLOCK) => bail!(
            "another `limen serve` is already running on the SQLite database {path} (data directory {}). \
             SQLite serves one instance only; to run several instances, use PostgreSQL \
             (README: \"Running several instances\").",
            config.data_dir.display()
        ),
        Err(e) => Err(e).with_context(|| format!("cannot lock {}", lock_path.display())),
    }
}

fn create_private_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .with_context(|| format!("cannot create the data directory {}", dir.display()))
}

pub fn run(config_file: Option<PathBuf>) -> anyhow::Result<()> {
    init_logging();
    let config = Config::load(config_file.as_deref())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        create_private_dir(&config.data_dir)?;
        let _only_instance = lock_sqlite_database(&config)?;
        let store = open_store(&config).await?;
        let models_dir = config.models_dir.clone();
        let engine = tokio::task::spawn_blocking(move || FaceEngine::load(&models_dir, limen_face::FaceModel::DEFAULT))
            .await?
            .with_context(|| format!("cannot load the face models from {}", config.models_dir.display()))?;
        let mailer = Mailer::from_url(&config.mail_url, &config.mail_from)?;
        let mut services = Services::start(store, Arc::new(engine), config.retention.clone())
            .await
            .context("cannot load the galleries")?;
        if let Some(workers) = config.engine_workers {
            services = services.with_engine_workers(workers);
        }
        let listener = tokio::net::TcpListener::bind(config.bind)
            .await
            .with_context(|| format!("cannot listen on {}", config.bind))?;
        let address = listener.local_addr()?;
        tracing::info!(%address, model = %services.model_version(), "listening");
        println!("Limen is listening on http://{address} (public address {}).", config.public_url);
        println!("Next: create an organisation with `limen admin org create --name \"Your organisation\"`,");
        println!("then import people with its admin token: see {}/api/v1/openapi.json", config.public_url);
        let state = Arc::new(AppState::new(config, services, mailer));
        limen_server::serve(state, listener).await?;
        Ok(())
    })
}

/// Structured logs on stderr. Level from LIMEN_LOG (error, warn, info,
/// debug, trace; default info). Nothing logged carries images, vectors,
/// passwords, tokens or session ids: the server logs routes, not URIs.
pub fn init_logging() {
    let level = std::env::var("LIMEN_LOG")
        .ok()
        .and_then(|l| l.parse().ok())
        .unwrap_or(tracing::Level::INFO);
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .with_ansi(false)
        .init();
}
