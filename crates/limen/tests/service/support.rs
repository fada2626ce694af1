//! The harness: a real `limen serve` process on a loopback port, its
//! configuration in the environment, an SMTP server on loopback that
//! receives its mail, and a plain HTTP client.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

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
        Some(Server::launch(root, database_url, mail_url, extra_env))
    }

    /// A server on a database made by the caller (the first of several).
    pub fn launch_on(database_url: &str, mail_url: &str) -> Server {
        let root = std::env::temp_dir().join(format!("limen-it-{}", random_suffix()));
        Server::launch(root, database_url.to_owned(), mail_url, &[])
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
        )
    }

    fn launch(
        root: PathBuf,
        database_url: String,
        mail_url: &str,
        extra_env: &[(&str, &str)],
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
        let child = Command::new(BIN)
            .arg("serve")
            .env_remove("LIMEN_CONFIG")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start limen serve");
        self.child = Some(child);
        self.wait_ready();
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
            other => panic!("unsupported method {other}"),
        };
        request = request.header("Content-Type", content_type);
        if let Some(token) = bearer {
            request = request.header("Authorization", &format!("Bearer {token}"));
        }
        Reply::from(request.send(body).expect("request"))
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

    /// A browser-style request with a cookie and, for POSTs, a form body.
    pub fn page(
        &self,
        method: &str,
        path: &str,
        cookie: Option<&str>,
        form: &[(&str, &str)],
    ) -> Reply {
        let url = format!("{}{path}", self.url);
        let cookie_header = cookie.map(|c| format!("limen_session={c}"));
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

fn http() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into()
}

pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    fn from(mut response: ureq::http::Response<ureq::Body>) -> Reply {
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    v.to_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        let body = response
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_string()
            .unwrap_or_default();
        Reply {
            status,
            headers,
            body,
        }
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The session token the server set in its cookie.
    pub fn session_cookie(&self) -> Option<String> {
        let cookie = self.header("set-cookie")?;
        let value = cookie.split(';').next()?.strip_prefix("limen_session=")?;
        (!value.is_empty()).then(|| value.to_owned())
    }

    pub fn error(&self) -> String {
        self.json()["error"].as_str().unwrap_or_default().to_owned()
    }
}

/// A multipart/form-data body with one part per frame.
pub fn multipart(frames: &[(&str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "limen-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (index, (content_type, bytes)) in frames.iter().enumerate() {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"frame\"; filename=\"frame{index}\"\r\nContent-Type: {content_type}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

pub fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/lfw")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/lfw")
        .join(name)
}

pub fn enrolment_frames() -> Vec<Vec<u8>> {
    [
        "Andre_Agassi_0005.jpg",
        "Andre_Agassi_0016.jpg",
        "Andre_Agassi_0027.jpg",
    ]
    .iter()
    .map(|n| fixture(n))
    .collect()
}

// ----- SMTP ----------------------------------------------------------------

/// A small SMTP server on loopback that accepts every message and keeps
/// its raw text: the server under test talks real SMTP to it.
pub struct SmtpSink {
    pub port: u16,
    messages: Arc<Mutex<Vec<String>>>,
}

impl SmtpSink {
    pub fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind SMTP");
        let port = listener.local_addr().expect("address").port();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let sink = messages.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let sink = sink.clone();
                std::thread::spawn(move || {
                    let _ = serve_smtp(stream, &sink);
                });
            }
        });
        SmtpSink { port, messages }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Waits for the `n`-th message (counting from 1) and returns it.
    pub fn message(&self, n: usize) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(message) = self.messages.lock().expect("lock").get(n - 1) {
                return message.clone();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("message {n} never arrived");
    }
}

fn serve_smtp(stream: TcpStream, sink: &Mutex<Vec<String>>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    writer.write_all(b"220 sink.test ESMTP ready\r\n")?;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_ascii_uppercase();
        if command.starts_with("EHLO") {
            writer.write_all(b"250-sink.test\r\n250 8BITMIME\r\n")?;
        } else if command.starts_with("HELO")
            || command.starts_with("MAIL FROM")
            || command.starts_with("RCPT TO")
        {
            writer.write_all(b"250 OK\r\n")?;
        } else if command == "DATA" {
            writer.write_all(b"354 end with <CRLF>.<CRLF>\r\n")?;
            let mut message = String::new();
            loop {
                line.clear();
                if reader.read_line(&mut line)? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" {
                    break;
                }
                message.push_str(
                    line.strip_prefix('.')
                        .filter(|_| line.starts_with(".."))
                        .unwrap_or(&line),
                );
            }
            sink.lock().expect("lock").push(message);
            writer.write_all(b"250 queued\r\n")?;
        } else if command == "QUIT" {
            writer.write_all(b"221 bye\r\n")?;
            return Ok(());
        } else {
            writer.write_all(b"250 OK\r\n")?;
        }
    }
}

/// The decoded text of the message part with this content type.
pub fn mail_part(message: &str, content_type: &str) -> String {
    let boundary = message
        .split("boundary=")
        .nth(1)
        .map(|rest| {
            rest.trim_start_matches('"')
                .split(['"', '\r', '\n', ';'])
                .next()
                .unwrap_or_default()
                .to_owned()
        })
        .expect("a multipart message");
    for part in message.split(&format!("--{boundary}")) {
        let Some((head, body)) = part.split_once("\r\n\r\n") else {
            continue;
        };
        if !head
            .to_ascii_lowercase()
            .contains(&format!("content-type: {content_type}"))
        {
            continue;
        }
        let encoding = head.to_ascii_lowercase();
        return if encoding.contains("quoted-printable") {
            decode_quoted_printable(body)
        } else if encoding.contains("base64") {
            use base64::Engine;
            let compact: String = body.split_whitespace().collect();
            String::from_utf8(
                base64::engine::general_purpose::STANDARD
                    .decode(compact)
                    .expect("base64"),
            )
            .expect("UTF-8")
        } else {
            body.to_owned()
        };
    }
    panic!("no {content_type} part in:\n{message}");
}

fn decode_quoted_printable(text: &str) -> String {
    let joined = text.replace("=\r\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'=' && i + 3 <= bytes.len())
            .then(|| {
                std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
            })
            .flatten();
        if let Some(byte) = escaped {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).expect("UTF-8")
}

/// The links in a text, in order.
pub fn links(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || c == '"' || c == '<' || c == '>')
        .filter(|w| w.starts_with("http://"))
        .map(str::to_owned)
        .collect()
}

// ----- scans -----------------------------------------------------------------

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files
}

/// Why these bytes look like (part of) an image, if they do.
pub fn image_trace(bytes: &[u8], uploads: &[Vec<u8>]) -> Option<String> {
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n";
    if bytes.windows(PNG.len()).any(|w| w == PNG) {
        return Some("a PNG signature".into());
    }
    // SOI followed by a marker segment: how every JPEG file begins.
    if bytes
        .windows(4)
        .any(|w| w[0] == 0xFF && w[1] == 0xD8 && w[2] == 0xFF && (w[3] >= 0xC0))
    {
        return Some("a JPEG signature".into());
    }
    for (index, upload) in uploads.iter().enumerate() {
        for start in (0..upload.len().saturating_sub(64)).step_by(997) {
            let sample = &upload[start..start + 64];
            if bytes.windows(64).any(|w| w == sample) {
                return Some(format!(
                    "64 bytes of uploaded frame {index} at offset {start}"
                ));
            }
        }
    }
    None
}

/// An employee taken from import to a logged-in, consenting account.
pub struct Employee {
    pub person_id: String,
    pub session: String,
    pub email: String,
}

/// Imports, invites (reading the link from the `mail_number`-th message),
/// registers, logs in and consents.
pub fn onboard(
    server: &Server,
    smtp: &SmtpSink,
    admin: &str,
    email: &str,
    acs_id: &str,
    mail_number: usize,
) -> Employee {
    let csv = format!("first_name,last_name,email,acs_id\nTest,Person,{email},{acs_id}\n");
    let imported = server.send(
        "POST",
        "/api/v1/people",
        Some(admin),
        "text/csv",
        csv.as_bytes(),
    );
    assert_eq!(imported.status, 200, "{}", imported.body);
    let people = server.get("/api/v1/people", Some(admin)).json();
    let person_id = people
        .as_array()
        .expect("array")
        .iter()
        .find(|p| p["email"] == email)
        .expect("imported")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let invited = server.send(
        "POST",
        &format!("/api/v1/people/{person_id}/invitation"),
        Some(admin),
        "application/json",
        b"",
    );
    assert_eq!(invited.status, 200, "{}", invited.body);
    let token = registration_token(&smtp.message(mail_number));
    let registered = server.post_json(
        "/api/v1/registration",
        None,
        &serde_json::json!({ "token": token, "password": GOOD_PASSWORD }),
    );
    assert_eq!(registered.status, 201, "{}", registered.body);
    let login = server.post_json(
        "/api/v1/session",
        None,
        &serde_json::json!({ "email": email, "password": GOOD_PASSWORD }),
    );
    assert_eq!(login.status, 200, "{}", login.body);
    let session = login.json()["token"].as_str().expect("token").to_owned();
    let version = server.get("/api/v1/me/statement", Some(&session)).json()["version"]
        .as_str()
        .expect("version")
        .to_owned();
    let consent = server.post_json(
        "/api/v1/me/consent",
        Some(&session),
        &serde_json::json!({ "statement_version": version }),
    );
    assert_eq!(consent.status, 204, "{}", consent.body);
    Employee {
        person_id,
        session,
        email: email.to_owned(),
    }
}

pub fn registration_token(message: &str) -> String {
    let text = mail_part(message, "text/plain");
    links(&text)
        .iter()
        .find_map(|l| l.split("/register?token=").nth(1).map(str::to_owned))
        .expect("registration link")
}

pub fn enrol(server: &Server, session: &str) -> Reply {
    let frames = enrolment_frames();
    let parts: Vec<(&str, &[u8])> = frames
        .iter()
        .map(|f| ("image/jpeg", f.as_slice()))
        .collect();
    let (content_type, body) = multipart(&parts);
    server.send(
        "POST",
        "/api/v1/me/face",
        Some(session),
        &content_type,
        &body,
    )
}

// ----- entrances ------------------------------------------------------------------

pub fn send_frame(server: &Server, device_token: &str, jpeg: &[u8]) -> Reply {
    server.send(
        "POST",
        "/api/v1/frames",
        Some(device_token),
        "image/jpeg",
        jpeg,
    )
}

pub fn decision(reply: &Reply) -> String {
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()["decision"]
        .as_str()
        .expect("decision")
        .to_owned()
}

pub fn create_entrance(
    server: &Server,
    admin: &str,
    name: &str,
    connector: serde_json::Value,
) -> String {
    let created = server.post_json(
        "/api/v1/entrances",
        Some(admin),
        &serde_json::json!({ "name": name, "connector": connector }),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    created.json()["id"].as_str().expect("id").to_owned()
}

/// Registers a device; returns its id and token.
pub fn create_device(server: &Server, admin: &str, entrance: &str) -> (String, String) {
    let created = server.send(
        "POST",
        &format!("/api/v1/entrances/{entrance}/devices"),
        Some(admin),
        "application/json",
        b"",
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let body = created.json();
    (
        body["id"].as_str().expect("id").to_owned(),
        body["token"].as_str().expect("token").to_owned(),
    )
}

pub fn status_of(server: &Server, admin: &str, person: &str) -> Option<String> {
    let people = server.get("/api/v1/people", Some(admin)).json();
    people
        .as_array()?
        .iter()
        .find(|p| p["id"] == person)
        .and_then(|p| p["status"].as_str())
        .map(str::to_owned)
}

/// The CSRF token in a page's forms.
pub fn csrf_of(html: &str) -> String {
    html.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a form with a CSRF token")
        .to_owned()
}

// ----- a route to the database that a test can cut ------------------------------

/// A TCP relay on loopback in front of a server (the test PostgreSQL): an
/// instance connected through it loses its database when the test cuts
/// the route (open connections are shut, new ones closed at once), while
/// instances connected directly keep theirs.
pub struct CuttableRoute {
    pub port: u16,
    cut: Arc<std::sync::atomic::AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
}

impl CuttableRoute {
    pub fn to(target: &str) -> CuttableRoute {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind relay");
        let port = listener.local_addr().expect("address").port();
        let cut = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let open = Arc::new(Mutex::new(Vec::new()));
        let (target, relay_cut, relay_open) = (target.to_owned(), cut.clone(), open.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if relay_cut.load(std::sync::atomic::Ordering::SeqCst) {
                    continue;
                }
                let Ok(server) = TcpStream::connect(&target) else {
                    continue;
                };
                let mut open = relay_open.lock().expect("lock");
                for stream in [&client, &server] {
                    open.push(stream.try_clone().expect("clone"));
                }
                for (mut from, mut to) in [
                    (
                        client.try_clone().expect("clone"),
                        server.try_clone().expect("clone"),
                    ),
                    (server, client),
                ] {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
        CuttableRoute { port, cut, open }
    }

    pub fn cut(&self) {
        self.cut.store(true, std::sync::atomic::Ordering::SeqCst);
        for stream in self.open.lock().expect("lock").drain(..) {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }

    pub fn restore(&self) {
        self.cut.store(false, std::sync::atomic::Ordering::SeqCst);
    }
}

/// `host:port` of a `postgres://user@host:port/db` URL.
pub fn postgres_address(url: &str) -> String {
    let after_at = url.rsplit_once('@').map_or(url, |(_, rest)| rest);
    after_at
        .split('/')
        .next()
        .expect("host and port")
        .to_owned()
}
