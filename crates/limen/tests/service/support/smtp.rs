//! A small SMTP server on loopback that the server under test talks real
//! SMTP to, and reading the messages it received.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// A small SMTP server on loopback that accepts every message and keeps
/// its raw text: the server under test talks real SMTP to it.
pub struct SmtpSink {
    pub port: u16,
    messages: Arc<Mutex<Vec<String>>>,
    held: Arc<Hold>,
}

/// Whether the sink holds its answer to each message (and the message)
/// until released: a sender waits as it would on a slow mail server.
#[derive(Default)]
struct Hold {
    on: Mutex<bool>,
    released: Condvar,
}

impl Hold {
    fn wait(&self) {
        let mut on = self.on.lock().expect("lock");
        while *on {
            on = self.released.wait(on).expect("lock");
        }
    }
}

impl SmtpSink {
    pub fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind SMTP");
        let port = listener.local_addr().expect("address").port();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let held = Arc::new(Hold::default());
        let (sink, hold) = (messages.clone(), held.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (sink, hold) = (sink.clone(), hold.clone());
                std::thread::spawn(move || {
                    let _ = serve_smtp(stream, &sink, &hold);
                });
            }
        });
        SmtpSink {
            port,
            messages,
            held,
        }
    }

    /// Holds every message, and the answer to it, until [`SmtpSink::release`].
    pub fn hold(&self) {
        *self.held.on.lock().expect("lock") = true;
    }

    pub fn release(&self) {
        *self.held.on.lock().expect("lock") = false;
        self.held.released.notify_all();
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// How many messages arrived so far.
    pub fn count(&self) -> usize {
        self.messages.lock().expect("lock").len()
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

fn serve_smtp(stream: TcpStream, sink: &Mutex<Vec<String>>, hold: &Hold) -> std::io::Result<()> {
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
            hold.wait();
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
        .filter(|w| w.starts_with("http://") || w.starts_with("https://"))
        .map(str::to_owned)
        .collect()
}
