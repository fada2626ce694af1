//! The harness: a real `limen serve` process on a loopback port, its
//! configuration in the environment, an SMTP server on loopback that
//! receives its mail, and a plain HTTP client.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod fixtures;
mod flows;
pub mod live_agent;
mod reply;
mod route;
mod scan;
pub mod schema;
mod seed;
mod smtp;

pub use fixtures::*;
pub use flows::*;
pub use reply::*;
pub use route::*;
pub use scan::*;
pub use seed::*;
pub use smtp::*;

pub const BIN: &str = env!("CARGO_BIN_EXE_limen");
pub const GOOD_PASSWORD: &str = "tulips grow under the bridge";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server scripts/test.sh starts: required under CI,
/// skipped with a visible notice elsewhere.
pub fn postgres_base_url() -> Option<String> {
    match std::env::var("LIMEN_TEST_POSTGRES_URL") {
        Ok(url) => Some(url),
        Err(_) if std::env::var_os("CI").is_some() => {
            panic!(
                "CI is set but LIMEN_TEST_POSTGRES_URL is not: run the tests through scripts/test.sh"
            )
        }
        Err(_) => {
            eprintln!(
                "NOTICE: LIMEN_TEST_POSTGRES_URL is unset, so this PostgreSQL test is SKIPPED (scripts/test.sh sets it)"
            );
            None
        }
    }
}

pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(future)
}

pub fn random_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{}_{:x}", std::process::id(), nanos)
}

/// A directory of its own under the system's temporary directory,
/// removed with everything in it when dropped.
pub struct ScratchDir(PathBuf);

impl ScratchDir {
    pub fn new(label: &str) -> ScratchDir {
        let path = std::env::temp_dir().join(format!("limen-{label}-{}", random_suffix()));
        std::fs::create_dir_all(&path).expect("a scratch directory");
        ScratchDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A connection of our own to a server's database, as someone with access
/// to the database (not through the service) has.
pub async fn raw_connection(url: &str) -> sqlx::AnyConnection {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    sqlx::AnyConnection::connect(url)
        .await
        .expect("raw database connection")
}

/// A fresh, empty PostgreSQL database.
pub fn fresh_postgres_database(base: &str) -> String {
    use sqlx::Connection;
    let name = format!("limen_test_{}", random_suffix());
    block_on(async {
        let mut conn = sqlx::PgConnection::connect(base)
            .await
            .expect("connect to test PostgreSQL");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("create database");
    });
    let (prefix, _) = base.rsplit_once('/').expect("database URL with a path");
    format!("{prefix}/{name}")
}

pub struct Server {
    child: Option<Child>,
    pub url: String,
    pub root: PathBuf,
    pub data_dir: PathBuf,
    pub tmp_dir: PathBuf,
    pub database_url: String,
    env: Vec<(String, String)>,
    log_path: PathBuf,
    /// The process's file descriptor limit (`ulimit -n`), if set.
    fd_limit: Option<u32>,
}

impl Server {
    /// Starts a server; `None` when the backend is PostgreSQL and no test
    /// server is available outside CI.
    pub fn start(backend: Backend, mail_url: &str) -> Option<Server> {
        Server::start_with_env(backend, mail_url, &[])
    }

    /// As [`Server::start`], with more `LIMEN_*` settings in the environment.
    pub fn start_with_env(
        backend: Backend,
        mail_url: &str,
        extra_env: &[(&str, &str)],
    ) -> Option<Server> {
        let root = std::env::temp_dir().join(format!("limen-it-{}", random_suffix()));
        let database_url = match backend {
            Backend::Sqlite => format!("sqlite:{}", root.join("data").join("limen.db").display()),
            Backend::Postgres => fresh_postgres_database(&postgres_base_url()?),
        };
        Some(Server::launch(
            root,
            database_url,
            mail_url,
            extra_env,
            None,
        ))
    }

    /// A SQLite server whose process may open at most `fd_limit` files.
    pub fn start_with_fd_limit(
        mail_url: &str,
        extra_env: &[(&str, &str)],
        fd_limit: u32,
    ) -> Server {
        let root = std::env::temp_dir().join(format!("limen-it-{}", random_suffix()));
        let database_url = format!("sqlite:{}", root.join("data").join("limen.db").display());
        Server::launch(root, database_url, mail_url, extra_env, Some(fd_limit))
    }

    /// A server on a database made by the caller (the first of several).
    pub fn launch_on(database_url: &str, mail_url: &str) -> Server {
        let root = std::env::temp_dir().join(format!("limen-it-{}", random_suffix()));
        Server::launch(root, database_url.to_owned(), mail_url, &[], None)
    }

    /// Another instance on this one's database and master key (as behind
    /// a load balancer), with its own port and data directory.
    /// `database_url` may differ from this one's in how it reaches the
    /// same database (another application name, another route).
    pub fn another_instance(&self, database_url: &str) -> Server {
        let root = std::env::temp_dir().join(format!("limen-it-{}", random_suffix()));
        let master = self.data_dir.join("master.key").display().to_string();
        let mail_url = self.env_value("LIMEN_MAIL_URL");
        Server::launch(
            root,
            database_url.to_owned(),
            &mail_url,
            &[("LIMEN_MASTER_KEY_FILE", &master)],
            None,
        )
    }

    fn launch(
        root: PathBuf,
        database_url: String,
        mail_url: &str,
        extra_env: &[(&str, &str)],
        fd_limit: Option<u32>,
    ) -> Server {
        let data_dir = root.join("data");
        let tmp_dir = root.join("tmp");
        std::fs::create_dir_all(&tmp_dir).expect("tmp dir");
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models");
        let env = vec![
            ("LIMEN_BIND".to_owned(), format!("127.0.0.1:{port}")),
            ("LIMEN_PUBLIC_URL".to_owned(), url.clone()),
            ("LIMEN_DATA_DIR".to_owned(), data_dir.display().to_string()),
            ("LIMEN_DATABASE_URL".to_owned(), database_url.clone()),
            ("LIMEN_MAIL_URL".to_owned(), mail_url.to_owned()),
            ("LIMEN_MODELS_DIR".to_owned(), models.display().to_string()),
            ("LIMEN_LOG".to_owned(), "debug".to_owned()),
            // The test access systems listen on loopback.
            ("LIMEN_CONNECTOR_HOSTS".to_owned(), "127.0.0.0/8".to_owned()),
            // A dedicated temporary directory, to prove nothing lands in it.
            ("TMPDIR".to_owned(), tmp_dir.display().to_string()),
        ]
        .into_iter()
        .chain(
            extra_env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        )
        .collect::<Vec<_>>();
        let log_path = root.join("server.log");
        let mut server = Server {
            child: None,
            url,
            root,
            data_dir,
            tmp_dir,
            database_url,
            env,
            log_path,
            fd_limit,
        };
        server.spawn();
        server
    }

    fn env_value(&self, name: &str) -> String {
        self.env
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    /// Runs a second `limen serve` with this one's settings on another
    /// port, and returns how it ended (it is killed after a minute).
    pub fn second_serve(&self) -> Output {
        let port = free_port();
        let mut child = Command::new(BIN)
            .arg("serve")
            .env_remove("LIMEN_CONFIG")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env("LIMEN_BIND", format!("127.0.0.1:{port}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start a second limen serve");
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        child.wait_with_output().expect("second limen serve")
    }

    /// Starts the process, its log appended to the one file, and waits
    /// until it is ready.
    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .expect("log file");
        let mut command = match self.fd_limit {
            Some(limit) => {
                let mut shell = Command::new("sh");
                shell
                    .arg("-c")
                    .arg(format!("ulimit -n {limit} && exec \"$0\" serve"))
                    .arg(BIN);
                shell
            }
            None => {
                let mut command = Command::new(BIN);
                command.arg("serve");
                command
            }
        };
        let child = command
            .env_remove("LIMEN_CONFIG")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start limen serve");
        self.child = Some(child);
        self.wait_ready();
    }

    /// Stops the server and starts it again on the same data, with
    /// `LIMEN_CONFIG` pointing at `config` (a TOML file).
    pub fn restart_with_config(&mut self, config: &Path) {
        self.env.retain(|(k, _)| k != "LIMEN_CONFIG");
        self.env
            .push(("LIMEN_CONFIG".to_owned(), config.display().to_string()));
        self.restart();
    }

    /// Stops the server and starts it again on the same data.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            let ready = http()
                .get(&format!("{}/readyz", self.url))
                .call()
                .is_ok_and(|r| r.status() == 200);
            if ready {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the server did not become ready; its log:\n{}", self.logs());
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Runs `limen admin …` against this server's configuration.
    pub fn admin(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .arg("admin")
            .args(args)
            .env_remove("LIMEN_CONFIG")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .output()
            .expect("run limen admin")
    }

    /// Creates an organisation; returns its id and admin token.
    pub fn create_org(&self, name: &str) -> (String, String) {
        let output = self.admin(&["org", "create", "--name", name, "--json"]);
        assert!(
            output.status.success(),
            "org create failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let created: Value = serde_json::from_slice(&output.stdout).expect("JSON from org create");
        (
            created["id"].as_str().expect("id").to_owned(),
            created["admin_token"].as_str().expect("token").to_owned(),
        )
    }

    /// Imports people from CSV with an admin token, asserting it is
    /// accepted, and returns the first person's id.
    pub fn import_csv(&self, admin: &str, csv: &str) -> String {
        let reply = self.send(
            "POST",
            "/api/v1/people",
            Some(admin),
            "text/csv",
            csv.as_bytes(),
        );
        assert_eq!(reply.status, 200, "import refused: {}", reply.body);
        self.get("/api/v1/people", Some(admin)).json()[0]["id"]
            .as_str()
            .expect("id")
            .to_owned()
    }

    pub fn get(&self, path: &str, bearer: Option<&str>) -> Reply {
        let mut request = http().get(&format!("{}{path}", self.url));
        if let Some(token) = bearer {
            request = request.header("Authorization", &format!("Bearer {token}"));
        }
        Reply::from(request.call().expect("GET"))
    }

    pub fn delete(&self, path: &str, bearer: Option<&str>) -> Reply {
        let mut request = http().delete(&format!("{}{path}", self.url));
        if let Some(token) = bearer {
            request = request.header("Authorization", &format!("Bearer {token}"));
        }
        Reply::from(request.call().expect("DELETE"))
    }

    pub fn send(
        &self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        content_type: &str,
        body: &[u8],
    ) -> Reply {
        let url = format!("{}{path}", self.url);
        let mut request = match method {
            "POST" => http().post(&url),
            "PUT" => http().put(&url),
            "PATCH" => http().patch(&url),
            other => panic!("unsupported method {other}"),
        };
        request = request.header("Content-Type", content_type);
        if let Some(token) = bearer {
            request = request.header("Authorization", &format!("Bearer {token}"));
        }
        Reply::from(request.send(body).expect("request"))
    }

    /// A request with any method, no credentials and no body.
    pub fn bare(&self, method: &str, path: &str) -> Reply {
        let request = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.url))
            .body(())
            .expect("a request");
        Reply::from(http().run(request).expect("request"))
    }

    /// A POST with exactly these headers.
    pub fn send_with_headers(&self, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        let mut request = http().post(&format!("{}{path}", self.url));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        Reply::from(request.send(body).expect("request"))
    }

    pub fn post_json(&self, path: &str, bearer: Option<&str>, body: &Value) -> Reply {
        self.send(
            "POST",
            path,
            bearer,
            "application/json",
            body.to_string().as_bytes(),
        )
    }

    /// A browser-style request with an employee's session cookie and, for
    /// POSTs, a form body.
    pub fn page(
        &self,
        method: &str,
        path: &str,
        cookie: Option<&str>,
        form: &[(&str, &str)],
    ) -> Reply {
        self.page_with_cookie("limen_session", method, path, cookie, form)
    }

    /// As [`Server::page`], with an admin's session cookie.
    pub fn admin_page(
        &self,
        method: &str,
        path: &str,
        cookie: Option<&str>,
        form: &[(&str, &str)],
    ) -> Reply {
        self.page_with_cookie("limen_admin", method, path, cookie, form)
    }

    fn page_with_cookie(
        &self,
        cookie_name: &str,
        method: &str,
        path: &str,
        cookie: Option<&str>,
        form: &[(&str, &str)],
    ) -> Reply {
        let url = format!("{}{path}", self.url);
        let cookie_header = cookie.map(|c| format!("{cookie_name}={c}"));
        match method {
            "GET" => {
                let mut request = http().get(&url);
                if let Some(c) = &cookie_header {
                    request = request.header("Cookie", c);
                }
                Reply::from(request.call().expect("GET page"))
            }
            _ => {
                let body: String = form
                    .iter()
                    .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
                    .collect::<Vec<_>>()
                    .join("&");
                let mut request = http()
                    .post(&url)
                    .header("Content-Type", "application/x-www-form-urlencoded");
                if let Some(c) = &cookie_header {
                    request = request.header("Cookie", c);
                }
                Reply::from(request.send(body.as_bytes()).expect("POST form"))
            }
        }
    }

    /// Sends a large body on a raw connection, tolerating the server
    /// closing it early, and returns the status line's code.
    pub fn raw_post_status(
        &self,
        path: &str,
        bearer: &str,
        content_type: &str,
        body_len: usize,
    ) -> u16 {
        let address = self.url.trim_start_matches("http://");
        let mut stream = TcpStream::connect(address).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {bearer}\r\nContent-Type: {content_type}\r\nContent-Length: {body_len}\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).expect("write head");
        let chunk = vec![b'a'; 64 * 1024];
        let mut sent = 0;
        while sent < body_len {
            let n = chunk.len().min(body_len - sent);
            if stream.write_all(&chunk[..n]).is_err() {
                break;
            }
            sent += n;
        }
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response);
        let text = String::from_utf8_lossy(&response);
        text.split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("no HTTP response: {text:?}"))
    }

    /// Stops the server the way an operator would (SIGTERM) and waits.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("free port")
        .local_addr()
        .expect("address")
        .port()
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
