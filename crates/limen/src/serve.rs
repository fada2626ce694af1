//! `limen serve`: the HTTP service.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use limen_server::AppState;
use limen_server::config::Config;
use limen_server::mailer::Mailer;
use limen_server::tls::TlsTermination;
use limen_services::{ModelLibrary, Services};
use limen_store::{MasterKey, Store, StoreError};
use tracing_subscriber::filter::Targets;

/// Opens the database named by the configuration, creating the data
/// directory (private to its owner) and the master key on first use, and
/// anchors the audit trail's heads in the configured file.
///
/// A rotation of the master key (`limen admin key rotate`) interrupted at
/// any point is finished or undone here: the new key waits in
/// [`pending_key_file`] until the database is re-keyed; whichever of the
/// two keys opens the database is kept, and the other is removed. A
/// rotation under way holds [`lock_key_file`], so this waits for it rather
/// than take its pending key for a stale one.
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    create_private_dir(&config.data_dir)?;
    let _no_rotation = lock_key_file(&config.master_key_file)?;
    let current = MasterKey::load_or_create(&config.master_key_file)?;
    let pending = pending_key_file(&config.master_key_file);
    let store = match Store::open(&config.database_url, current).await {
        Ok(store) => {
            if pending.exists() {
                // The rotation stopped before the database committed.
                std::fs::remove_file(&pending)
                    .with_context(|| format!("cannot remove {}", pending.display()))?;
            }
            store
        }
        Err(StoreError::KeyMismatch) if pending.exists() => {
            // The database committed the rotation; its key file did not follow.
            let new = MasterKey::load_or_create(&pending)?;
            let store = Store::open(&config.database_url, new)
                .await
                .context("neither the master key nor the pending one opens the database")?;
            replace_key_file(&pending, &config.master_key_file)?;
            store
        }
        Err(e) => return Err(e).context("cannot open the database"),
    };
    store
        .anchor_audit_to(&config.audit_anchor_file)
        .await
        .context("cannot anchor the audit trail")
}

/// An exclusive lock beside the master key file, held by a rotation from
/// before its new key exists until it replaces the old one, and briefly by
/// every opening of the store.
pub fn lock_key_file(master_key_file: &Path) -> anyhow::Result<std::fs::File> {
    let mut name = master_key_file.as_os_str().to_owned();
    name.push(".lock");
    let path = PathBuf::from(name);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open the lock file {}", path.display()))?;
    file.lock()
        .with_context(|| format!("cannot lock {}", path.display()))?;
    Ok(file)
}

/// Where a new master key waits while the database is re-keyed.
pub fn pending_key_file(master_key_file: &Path) -> PathBuf {
    let mut name = master_key_file.as_os_str().to_owned();
    name.push(".new");
    PathBuf::from(name)
}

/// Moves the new key over the old, whose bytes are overwritten first:
/// from here on only the new key opens the database.
pub fn replace_key_file(pending: &Path, master_key_file: &Path) -> anyhow::Result<()> {
    let context = || {
        format!(
            "cannot replace the master key file {}",
            master_key_file.display()
        )
    };
    let mut old = std::fs::OpenOptions::new()
        .write(true)
        .open(master_key_file)
        .with_context(context)?;
    old.write_all(&[0; 32]).with_context(context)?;
    old.sync_all().with_context(context)?;
    std::fs::rename(pending, master_key_file).with_context(context)?;
    if let Some(dir) = master_key_file
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .with_context(context)?;
    }
    Ok(())
}

/// On SQLite, only one `limen serve` may use a database: a second would
/// hold galleries that nothing keeps in step with the first's changes. An
/// exclusive lock on a file beside the database, held for as long as the
/// returned file is, refuses the second. (`limen admin` takes no lock: the
/// running server follows its changes.)
pub fn lock_sqlite_database(config: &Config) -> anyhow::Result<Option<std::fs::File>> {
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
    init_logging()?;
    let config = Config::load(config_file.as_deref())?;
    let tls = config
        .tls
        .as_ref()
        .map(TlsTermination::load)
        .transpose()
        .context("cannot serve https")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        create_private_dir(&config.data_dir)?;
        let _only_instance = lock_sqlite_database(&config)?;
        let store = open_store(&config).await?;
        let mailer = Mailer::from_url(&config.mail_url, &config.mail_from)?;
        let models = crate::model_source(config.models_dir.as_deref());
        let library = ModelLibrary::new(&models, limen_face::FaceModel::DEFAULT);
        let mut services = Services::start(store, library, config.retention.clone())
            .await
            .with_context(|| format!("cannot load the model versions in use (from {models}) and their galleries"))?;
        if let Some(workers) = config.engine_workers {
            services = services.with_engine_workers(workers);
        }
        let listener = tokio::net::TcpListener::bind(config.bind)
            .await
            .with_context(|| format!("cannot listen on {}", config.bind))?;
        let address = listener.local_addr()?;
        let metrics = match config.metrics_bind {
            Some(bind) => {
                let listener = tokio::net::TcpListener::bind(bind)
                    .await
                    .with_context(|| format!("cannot listen for metrics on {bind}"))?;
                tracing::info!(address = %listener.local_addr()?, "metrics at /metrics");
                Some(listener)
            }
            None => None,
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        tracing::info!(%address, scheme, model = %services.model_version(), "listening");
        println!("Limen is listening on {scheme}://{address} (public address {}).", config.public_url);
        println!(
            "Next: create an organisation and invite its first admin with `limen admin org create --name \"Your organisation\" --admin-email you@example.org --admin-name \"Your Name\"`;"
        );
        println!(
            "the invitation's link leads to {0}/admin/register, then {0}/admin/login. The API is at {0}/api/docs.",
            config.public_url
        );
        let state = Arc::new(AppState::new(config, services, mailer));
        let listeners = limen_server::Listeners {
            service: listener,
            tls,
            metrics,
        };
        limen_server::serve(state, listeners).await?;
        Ok(())
    })
}

/// Structured logs on stderr, as text lines or, with
/// `LIMEN_LOG_FORMAT=json`, one JSON object a line. `LIMEN_LOG` filters
/// them: a level (error, warn, info, debug, trace; default info), and
/// levels for modules, such as `info,limen_server=debug`. Nothing logged
/// carries images, vectors, passwords, tokens or session ids: the server
/// logs routes, not URIs.
pub fn init_logging() -> anyhow::Result<()> {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    let filter = match std::env::var("LIMEN_LOG") {
        Ok(text) if !text.is_empty() => text
            .parse::<Targets>()
            .with_context(|| format!("LIMEN_LOG={text:?} is not a level or module=level list"))?,
        _ => Targets::new().with_default(tracing::Level::INFO),
    };
    let lines = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(false);
    let logs = tracing_subscriber::registry().with(filter);
    match std::env::var("LIMEN_LOG_FORMAT").as_deref() {
        Err(_) | Ok("" | "text") => logs.with(lines).init(),
        Ok("json") => logs.with(lines.json()).init(),
        Ok(other) => bail!("LIMEN_LOG_FORMAT={other:?}: use text or json"),
    }
    Ok(())
}
