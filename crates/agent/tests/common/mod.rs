//! A stand-in for the Limen server's frame endpoint on loopback, over plain
//! HTTP or TLS: it records every request it receives and answers with a
//! fixed status and body.
// Each test binary uses its own part of this module.
#![allow(dead_code)]

pub mod tls;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

pub struct Receiver {
    addr: SocketAddr,
    tls: bool,
    stopping: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    log: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    /// Listens on a free loopback port.
    pub fn start(status: u16, body: &str) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        Receiver::serve(listener, status, body, Arc::default(), None)
    }

    /// Listens on a free loopback port for `https://`.
    pub fn start_tls(status: u16, body: &str, tls: Arc<rustls::ServerConfig>) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        Receiver::serve(listener, status, body, Arc::default(), Some(tls))
    }

    /// Listens again on the port a stopped receiver used, keeping its log.
    pub fn restart(stopped: Stopped, status: u16, body: &str) -> Receiver {
        let listener = TcpListener::bind(stopped.addr).expect("rebind the same port");
        Receiver::serve(listener, status, body, stopped.log, None)
    }

    fn serve(
        listener: TcpListener,
        status: u16,
        body: &str,
        log: Arc<Mutex<Vec<Received>>>,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> Receiver {
        let addr = listener.local_addr().expect("address");
        let is_tls = tls.is_some();
        let stopping = Arc::new(AtomicBool::new(false));
        let answer = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let thread = {
            let (stopping, log) = (Arc::clone(&stopping), Arc::clone(&log));
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stopping.load(Ordering::SeqCst) {
                        return;
                    }
                    let Ok(conn) = conn else { continue };
                    if conn.set_read_timeout(Some(Duration::from_secs(5))).is_err() {
                        continue;
                    }
                    let mut stream: Box<dyn ReadWrite> = match &tls {
                        None => Box::new(conn),
                        Some(config) => {
                            let Ok(session) = rustls::ServerConnection::new(Arc::clone(config))
                            else {
                                continue;
                            };
                            Box::new(rustls::StreamOwned::new(session, conn))
                        }
                    };
                    if let Some(request) = read_request(&mut stream) {
                        log.lock().expect("log").push(request);
                        let _ = stream.write_all(answer.as_bytes());
                        let _ = stream.flush();
                    }
                }
            })
        };
        Receiver {
            addr,
            tls: is_tls,
            stopping,
            thread: Some(thread),
            log,
        }
    }

    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    pub fn received(&self) -> Vec<Received> {
        self.log.lock().expect("log").clone()
    }

    /// Closes the port: connections are refused until a restart.
    pub fn stop(mut self) -> Stopped {
        self.shut_down();
        Stopped {
            addr: self.addr,
            log: Arc::clone(&self.log),
        }
    }

    fn shut_down(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag and drops the listener.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(thread) = self.thread.take() {
            thread.join().expect("receiver thread");
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// A receiver that is down; it remembers its port and what it received.
pub struct Stopped {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<Received>>>,
}

impl Stopped {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

fn read_request(conn: &mut dyn ReadWrite) -> Option<Received> {
    let mut reader = BufReader::new(conn);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let path = line.split_whitespace().nth(1)?.to_owned();
    let (mut authorization, mut content_type, mut length) = (None, None, 0usize);
    loop {
        line.clear();
        reader.read_line(&mut line).ok()?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        let value = value.trim().to_owned();
        match name.to_ascii_lowercase().as_str() {
            "authorization" => authorization = Some(value),
            "content-type" => content_type = Some(value),
            "content-length" => length = value.parse().ok()?,
            _ => {}
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Received {
        path,
        authorization,
        content_type,
        body,
    })
}

pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/lfw/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).expect("fixture")
}

/// A submitter to `url` (a loopback receiver) trusting the public roots.
pub fn submitter(
    url: &str,
    token: &str,
    policy: limen_agent::RetryPolicy,
) -> limen_agent::Submitter {
    let server: limen_agent::ServerUrl = url.parse().expect("server URL");
    limen_agent::Submitter::new(&server, token, policy, &limen_agent::TrustedRoots::public())
        .expect("submitter")
}
