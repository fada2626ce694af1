//! A stand-in for the Limen server's frame endpoint on loopback: it records
//! every request it receives and answers with a fixed status and body.
// Each test binary uses its own part of this module.
#![allow(dead_code)]

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
    stopping: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    log: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    /// Listens on a free loopback port.
    pub fn start(status: u16, body: &str) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        Receiver::serve(listener, status, body, Arc::default())
    }

    /// Listens again on the port a stopped receiver used, keeping its log.
    pub fn restart(stopped: Stopped, status: u16, body: &str) -> Receiver {
        let listener = TcpListener::bind(stopped.addr).expect("rebind the same port");
        Receiver::serve(listener, status, body, stopped.log)
    }

    fn serve(
        listener: TcpListener,
        status: u16,
        body: &str,
        log: Arc<Mutex<Vec<Received>>>,
    ) -> Receiver {
        let addr = listener.local_addr().expect("address");
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
                    let Ok(mut conn) = conn else { continue };
                    if let Some(request) = read_request(&conn) {
                        log.lock().expect("log").push(request);
                        let _ = conn.write_all(answer.as_bytes());
                    }
                }
            })
        };
        Receiver {
            addr,
            stopping,
            thread: Some(thread),
            log,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
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

fn read_request(conn: &TcpStream) -> Option<Received> {
    conn.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
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
