//! Configuration: an optional TOML file, then `LIMEN_*` environment
//! variables, which win. `limen serve` and `limen admin …` read the same.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use limen_services::Retention;

use limen_access::http::{AllowedHost, ConnectorPolicy};
use limen_domain::AddressRange;
use serde::Deserialize;

use crate::connections::ConnectionLimits;
use crate::tls::TlsFiles;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("the configuration file {path} is not valid: {message}")]
    Parse { path: String, message: String },
    #[error("{variable} is not valid: {message}")]
    Invalid {
        variable: &'static str,
        message: String,
    },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    bind: Option<String>,
    metrics_bind: Option<String>,
    public_url: Option<String>,
    tls_certificate_file: Option<PathBuf>,
    tls_key_file: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    master_key_file: Option<PathBuf>,
    audit_anchor_file: Option<PathBuf>,
    mail_url: Option<String>,
    mail_from: Option<String>,
    models_dir: Option<PathBuf>,
    device_frames_per_minute: Option<u32>,
    device_down_after_secs: Option<usize>,
    trusted_proxies: Option<Vec<String>>,
    max_connections: Option<usize>,
    header_timeout_secs: Option<usize>,
    body_timeout_secs: Option<usize>,
    engine_workers: Option<usize>,
    connector_hosts: Option<Vec<String>>,
    #[serde(default)]
    retention: Retention,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub bind: SocketAddr,
    /// Where `/metrics` is served, apart from the service; off when unset.
    pub metrics_bind: Option<SocketAddr>,
    /// When set, `limen serve` speaks https itself, with this certificate.
    pub tls: Option<TlsFiles>,
    /// The address people reach the service at; links in e-mails start with it.
    pub public_url: String,
    pub data_dir: PathBuf,
    /// `sqlite:PATH` (default: `limen.db` in the data directory) or `postgres://…`.
    pub database_url: String,
    pub master_key_file: PathBuf,
    /// Where the audit chains' heads are recorded outside the database
    /// (default: `audit-anchor` in the data directory).
    pub audit_anchor_file: PathBuf,
    /// `smtp://host:port`, `smtps://host:port` or `file:DIR` (an outbox).
    pub mail_url: String,
    pub mail_from: String,
    /// A directory of model files to use instead of those built into the
    /// binary.
    pub models_dir: Option<PathBuf>,
    /// Frames one camera device may send per minute; beyond it, 429.
    pub device_frames_per_minute: u32,
    /// A device silent (no frame, no heartbeat) for longer than this is
    /// shown as down.
    pub device_down_after: Duration,
    /// Reverse proxies whose `X-Forwarded-For` names the client; from
    /// anyone else the header is ignored.
    pub trusted_proxies: Vec<AddressRange>,
    /// How many connections, and how long their clients may take.
    pub connections: ConnectionLimits,
    /// Face engine jobs at once; `None`: one per core.
    pub engine_workers: Option<usize>,
    /// Where HTTP connectors may connect: by default public addresses only.
    pub connector_policy: ConnectorPolicy,
    pub retention: Retention,
}

/// A camera sends a frame per passage, after a cooldown: two a second is
/// already a busy door.
const DEFAULT_DEVICE_FRAMES_PER_MINUTE: u32 = 120;

/// Two minutes: four missed heartbeats of an agent (it sends one every 30
/// seconds when it has no frame to send).
const DEFAULT_DEVICE_DOWN_AFTER_SECS: usize = 120;

/// Ten seconds for a request's head: a person's browser on a poor link
/// sends it in well under one.
const DEFAULT_HEADER_TIMEOUT_SECS: usize = 10;
/// A minute for a body: a 12 MiB enrolment at 2 Mbit/s.
const DEFAULT_BODY_TIMEOUT_SECS: usize = 60;

/// Below the common 1,024 file descriptors' default soft limit, with room
/// for the database pool, SMTP and the log.
const DEFAULT_MAX_CONNECTIONS: usize = 768;

impl Config {
    pub fn is_https(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// The scheme, host and port of the public URL, as browsers send it in
    /// `Origin`.
    pub fn public_origin(&self) -> &str {
        let after_scheme = self.public_url.find("://").map_or(0, |i| i + 3);
        match self.public_url[after_scheme..].find('/') {
            Some(path) => &self.public_url[..after_scheme + path],
            None => &self.public_url,
        }
    }

    /// Reads the file (if any) and the process environment.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        let text = match file {
            Some(path) => {
                Some(
                    std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                        path: path.display().to_string(),
                        source,
                    })?,
                )
            }
            None => None,
        };
        let label = file.map(|p| p.display().to_string()).unwrap_or_default();
        Config::from_sources(text.as_deref(), &label, |name| std::env::var(name).ok())
    }

    pub fn from_sources(
        file_text: Option<&str>,
        file_label: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let file: FileConfig = match file_text {
            Some(text) => toml::from_str(text).map_err(|e| ConfigError::Parse {
                path: file_label.to_owned(),
                message: e.message().to_owned(),
            })?,
            None => toml::from_str("").map_err(|e| ConfigError::Parse {
                path: String::new(),
                message: e.to_string(),
            })?,
        };
        let pick = |variable: &str, from_file: Option<String>| {
            env(variable).filter(|v| !v.is_empty()).or(from_file)
        };

        let bind_text = pick("LIMEN_BIND", file.bind).unwrap_or_else(|| "127.0.0.1:8080".into());
        let bind: SocketAddr = bind_text.parse().map_err(|_| ConfigError::Invalid {
            variable: "LIMEN_BIND",
            message: format!("{bind_text:?} is not host:port"),
        })?;
        let metrics_bind = match pick("LIMEN_METRICS_BIND", file.metrics_bind) {
            Some(text) => Some(text.parse().map_err(|_| ConfigError::Invalid {
                variable: "LIMEN_METRICS_BIND",
                message: format!("{text:?} is not host:port"),
            })?),
            None => None,
        };
        if metrics_bind == Some(bind) {
            return Err(ConfigError::Invalid {
                variable: "LIMEN_METRICS_BIND",
                message: "must be another address than LIMEN_BIND".into(),
            });
        }
        let tls = match (
            env("LIMEN_TLS_CERTIFICATE_FILE")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .or(file.tls_certificate_file),
            env("LIMEN_TLS_KEY_FILE")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .or(file.tls_key_file),
        ) {
            (Some(certificate_file), Some(key_file)) => Some(TlsFiles {
                certificate_file,
                key_file,
            }),
            (None, None) => None,
            (Some(_), None) | (None, Some(_)) => {
                return Err(ConfigError::Invalid {
                    variable: "LIMEN_TLS_CERTIFICATE_FILE",
                    message: "a TLS certificate needs its key (LIMEN_TLS_KEY_FILE), and a key its certificate: set both or neither".into(),
                });
            }
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        let public_url = pick("LIMEN_PUBLIC_URL", file.public_url)
            .unwrap_or_else(|| format!("{scheme}://{bind}"));
        let public_url = public_url.trim_end_matches('/').to_owned();
        // Served over https, the session cookie is Secure and HSTS is sent:
        // a public http:// address would contradict both.
        if tls.is_some() && !public_url.starts_with("https://") {
            return Err(ConfigError::Invalid {
                variable: "LIMEN_PUBLIC_URL",
                message: "must start with https:// when Limen serves TLS itself".into(),
            });
        }
        // Links in e-mails start with it: `http://` alone would make them
        // `http:/register…`.
        let host = ["http://", "https://"]
            .iter()
            .find_map(|scheme| public_url.strip_prefix(scheme))
            .map(|rest| rest.split('/').next().unwrap_or(""));
        if host.is_none_or(str::is_empty) {
            return Err(ConfigError::Invalid {
                variable: "LIMEN_PUBLIC_URL",
                message: "must be http:// or https:// followed by a host".into(),
            });
        }
        let data_dir = env("LIMEN_DATA_DIR")
            .map(PathBuf::from)
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from(".limen-data"));
        let database_url = pick("LIMEN_DATABASE_URL", file.database_url)
            .unwrap_or_else(|| format!("sqlite:{}", data_dir.join("limen.db").display()));
        let master_key_file = env("LIMEN_MASTER_KEY_FILE")
            .map(PathBuf::from)
            .or(file.master_key_file)
            .unwrap_or_else(|| data_dir.join("master.key"));
        let audit_anchor_file = env("LIMEN_AUDIT_ANCHOR_FILE")
            .map(PathBuf::from)
            .or(file.audit_anchor_file)
            .unwrap_or_else(|| data_dir.join("audit-anchor"));
        let mail_url = pick("LIMEN_MAIL_URL", file.mail_url)
            .unwrap_or_else(|| format!("file:{}", data_dir.join("outbox").display()));
        if !["smtp://", "smtps://", "file:"]
            .iter()
            .any(|scheme| mail_url.starts_with(scheme))
        {
            return Err(ConfigError::Invalid {
                variable: "LIMEN_MAIL_URL",
                message: "must be smtp://host:port, smtps://host:port or file:DIR".into(),
            });
        }
        let mail_from = pick("LIMEN_MAIL_FROM", file.mail_from)
            .unwrap_or_else(|| "Limen <limen@localhost>".into());
        let models_dir = env("LIMEN_MODELS_DIR")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or(file.models_dir);
        let device_frames_per_minute =
            match env("LIMEN_DEVICE_FRAMES_PER_MINUTE").filter(|v| !v.is_empty()) {
                Some(text) => text.parse().map_err(|_| ConfigError::Invalid {
                    variable: "LIMEN_DEVICE_FRAMES_PER_MINUTE",
                    message: format!("{text:?} is not a whole number"),
                })?,
                None => file
                    .device_frames_per_minute
                    .unwrap_or(DEFAULT_DEVICE_FRAMES_PER_MINUTE),
            };
        if device_frames_per_minute == 0 {
            return Err(ConfigError::Invalid {
                variable: "LIMEN_DEVICE_FRAMES_PER_MINUTE",
                message: "must be at least 1".into(),
            });
        }
        let trusted_proxies: Vec<AddressRange> =
            list(&env, "LIMEN_TRUSTED_PROXIES", file.trusted_proxies)?;
        let max_connections = at_least_one(&env, "LIMEN_MAX_CONNECTIONS", file.max_connections)?
            .unwrap_or(DEFAULT_MAX_CONNECTIONS);
        let seconds = |variable, from_file: Option<usize>, default| {
            at_least_one(&env, variable, from_file)
                .map(|secs| Duration::from_secs(secs.unwrap_or(default) as u64))
        };
        let header_timeout = seconds(
            "LIMEN_HEADER_TIMEOUT_SECS",
            file.header_timeout_secs,
            DEFAULT_HEADER_TIMEOUT_SECS,
        )?;
        let body_timeout = seconds(
            "LIMEN_BODY_TIMEOUT_SECS",
            file.body_timeout_secs,
            DEFAULT_BODY_TIMEOUT_SECS,
        )?;
        let device_down_after = seconds(
            "LIMEN_DEVICE_DOWN_AFTER_SECS",
            file.device_down_after_secs,
            DEFAULT_DEVICE_DOWN_AFTER_SECS,
        )?;
        let engine_workers = at_least_one(&env, "LIMEN_ENGINE_WORKERS", file.engine_workers)?;
        let connector_policy = ConnectorPolicy::new(list::<AllowedHost>(
            &env,
            "LIMEN_CONNECTOR_HOSTS",
            file.connector_hosts,
        )?);
        let retention = file.retention;
        if retention.invitation_days == 0
            || retention.session_hours == 0
            || retention.decision_event_days == 0
        {
            return Err(ConfigError::Invalid {
                variable: "retention",
                message: "periods must be at least 1".into(),
            });
        }
        Ok(Config {
            bind,
            metrics_bind,
            tls,
            public_url,
            data_dir,
            database_url,
            master_key_file,
            audit_anchor_file,
            mail_url,
            mail_from,
            models_dir,
            device_frames_per_minute,
            device_down_after,
            trusted_proxies,
            connections: ConnectionLimits {
                max_connections,
                header_timeout,
                body_timeout,
            },
            engine_workers,
            connector_policy,
            retention,
        })
    }
}

/// A count from the environment or the file, if either sets it.
fn at_least_one(
    env: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    from_file: Option<usize>,
) -> Result<Option<usize>, ConfigError> {
    let count = match env(variable).filter(|v| !v.is_empty()) {
        Some(text) => Some(text.parse().map_err(|_| ConfigError::Invalid {
            variable,
            message: format!("{text:?} is not a whole number"),
        })?),
        None => from_file,
    };
    if count == Some(0) {
        return Err(ConfigError::Invalid {
            variable,
            message: "must be at least 1".into(),
        });
    }
    Ok(count)
}

/// A list: comma-separated in the environment, an array in the file.
fn list<T: std::str::FromStr<Err: std::fmt::Display>>(
    env: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    from_file: Option<Vec<String>>,
) -> Result<Vec<T>, ConfigError> {
    match env(variable).filter(|v| !v.is_empty()) {
        Some(text) => text.split(',').map(str::to_owned).collect(),
        None => from_file.unwrap_or_default(),
    }
    .iter()
    .map(|item| item.parse::<T>())
    .collect::<Result<Vec<_>, _>>()
    .map_err(|e| ConfigError::Invalid {
        variable,
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_live_in_the_data_directory() {
        let config = Config::from_sources(None, "", |name| {
            (name == "LIMEN_DATA_DIR").then(|| "/srv/limen".into())
        })
        .expect("valid");
        assert_eq!(config.database_url, "sqlite:/srv/limen/limen.db");
        assert_eq!(
            config.master_key_file,
            PathBuf::from("/srv/limen/master.key")
        );
        assert_eq!(
            config.audit_anchor_file,
            PathBuf::from("/srv/limen/audit-anchor")
        );
        assert_eq!(config.mail_url, "file:/srv/limen/outbox");
        assert_eq!(config.public_url, "http://127.0.0.1:8080");
        assert_eq!(config.models_dir, None, "the models built into the binary");
        assert_eq!(config.metrics_bind, None, "no metrics unless asked");
        assert_eq!(config.retention.invitation_days, 14);
        assert_eq!(config.retention.decision_event_days, 7);
        assert_eq!(config.device_frames_per_minute, 120);
        assert_eq!(config.device_down_after, Duration::from_secs(120));
        assert_eq!(config.connections.header_timeout, Duration::from_secs(10));
        assert_eq!(config.connections.body_timeout, Duration::from_secs(60));
    }

    #[test]
    fn environment_overrides_the_file() {
        let file = "bind = \"127.0.0.1:9000\"\npublic_url = \"https://limen.example/\"\n[retention]\ninvitation_days = 3\n";
        let config = Config::from_sources(Some(file), "limen.toml", |name| match name {
            "LIMEN_BIND" => Some("127.0.0.1:9100".into()),
            "LIMEN_MAIL_URL" => Some("smtp://127.0.0.1:2525".into()),
            _ => None,
        })
        .expect("valid");
        assert_eq!(config.bind.port(), 9100);
        assert_eq!(config.public_url, "https://limen.example");
        assert_eq!(config.public_origin(), "https://limen.example");
        assert!(config.is_https());
        assert_eq!(config.mail_url, "smtp://127.0.0.1:2525");
        assert_eq!(config.retention.invitation_days, 3);
        assert!(config.trusted_proxies.is_empty());
        let config = Config::from_sources(Some("trusted_proxies = [\"10.0.0.0/8\"]"), "", |name| {
            (name == "LIMEN_TRUSTED_PROXIES").then(|| "192.0.2.1, fd00::/8".into())
        })
        .expect("valid");
        assert_eq!(config.trusted_proxies.len(), 2);
        assert!(config.trusted_proxies[1].contains("fd00::1".parse().expect("ip")));
    }

    #[test]
    fn the_example_file_is_valid() {
        let example = include_str!("../limen.example.toml");
        let config =
            Config::from_sources(Some(example), "limen.example.toml", |_| None).expect("valid");
        assert_eq!(config.mail_url, "smtps://limen:secret@mail.example.org:465");
        assert_eq!(
            config.master_key_file,
            PathBuf::from("/etc/limen/master.key")
        );
        assert_eq!(config.retention.cancellation_record_days, 365);
    }

    #[test]
    fn mistakes_are_named() {
        let err = Config::from_sources(Some("bnid = 1"), "limen.toml", |_| None)
            .expect_err("unknown key");
        assert!(err.to_string().contains("limen.toml"), "{err}");
        let err = Config::from_sources(None, "", |n| {
            (n == "LIMEN_MAIL_URL").then(|| "http://x".into())
        })
        .expect_err("bad");
        assert!(err.to_string().contains("LIMEN_MAIL_URL"), "{err}");
        let err = Config::from_sources(Some("metrics_bind = \"127.0.0.1:8080\""), "", |_| None)
            .expect_err("metrics on the service's own address");
        assert!(err.to_string().contains("LIMEN_METRICS_BIND"), "{err}");
        let err = Config::from_sources(Some("body_timeout_secs = 120"), "", |n| {
            (n == "LIMEN_HEADER_TIMEOUT_SECS").then(|| "0".into())
        })
        .expect_err("no time at all");
        assert!(
            err.to_string().contains("LIMEN_HEADER_TIMEOUT_SECS"),
            "{err}"
        );
    }

    #[test]
    fn tls_needs_both_files_and_an_https_address() {
        let both = |name: &str| match name {
            "LIMEN_TLS_CERTIFICATE_FILE" => Some("/etc/limen/fullchain.pem".into()),
            "LIMEN_TLS_KEY_FILE" => Some("/etc/limen/key.pem".into()),
            "LIMEN_BIND" => Some("0.0.0.0:8443".into()),
            _ => None,
        };
        let config = Config::from_sources(None, "", both).expect("valid");
        assert_eq!(
            config.tls,
            Some(TlsFiles {
                certificate_file: "/etc/limen/fullchain.pem".into(),
                key_file: "/etc/limen/key.pem".into(),
            })
        );
        assert_eq!(config.public_url, "https://0.0.0.0:8443");
        assert!(config.is_https());
        let from_file = "tls_certificate_file = \"/c.pem\"\ntls_key_file = \"/k.pem\"\npublic_url = \"https://limen.example\"";
        let config = Config::from_sources(Some(from_file), "", |_| None).expect("valid");
        assert_eq!(config.tls.map(|t| t.key_file), Some("/k.pem".into()));

        for only in ["LIMEN_TLS_CERTIFICATE_FILE", "LIMEN_TLS_KEY_FILE"] {
            let err =
                Config::from_sources(None, "", |name| (name == only).then(|| "/x.pem".into()))
                    .expect_err("one file of two");
            assert!(err.to_string().contains("set both or neither"), "{err}");
        }
        let err = Config::from_sources(None, "", |name| match name {
            "LIMEN_PUBLIC_URL" => Some("http://limen.example".into()),
            other => both(other),
        })
        .expect_err("http public address over TLS");
        assert!(err.to_string().contains("LIMEN_PUBLIC_URL"), "{err}");
    }

    #[test]
    fn a_public_url_needs_a_host() {
        for url in [
            "http://",
            "https:///",
            "http:///register",
            "ftp://limen.example",
        ] {
            let err =
                Config::from_sources(None, "", |n| (n == "LIMEN_PUBLIC_URL").then(|| url.into()))
                    .expect_err(url);
            assert!(
                err.to_string().contains("followed by a host"),
                "{url}: {err}"
            );
        }
        let config = Config::from_sources(None, "", |n| {
            (n == "LIMEN_PUBLIC_URL").then(|| "https://limen.example/base/".into())
        })
        .expect("valid");
        assert_eq!(config.public_url, "https://limen.example/base");
        assert_eq!(config.public_origin(), "https://limen.example");
    }
}
