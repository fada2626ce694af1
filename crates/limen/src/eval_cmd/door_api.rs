//! Limen's public HTTP API as `limen eval door` uses it: as an
//! organisation's admin, as its employees (who read their invitation from
//! the file mailer's outbox) and as a camera device.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};

/// The password every evaluated employee chooses.
const PASSWORD: &str = "a door that opens for the right face";

/// The session cookie the registration page sets (the server's name for it).
const SESSION_COOKIE: &str = "limen_session";

pub struct Api {
    base: String,
    agent: ureq::Agent,
}

struct Reply {
    status: u16,
    body: String,
    session: Option<String>,
}

impl Reply {
    fn expect(self, status: u16, what: &str) -> anyhow::Result<Reply> {
        if self.status != status {
            bail!("{what}: answered {} {}", self.status, self.body);
        }
        Ok(self)
    }

    fn json(&self) -> anyhow::Result<Value> {
        serde_json::from_str(&self.body).with_context(|| format!("not JSON: {}", self.body))
    }

    /// The error message of a JSON error answer.
    fn error(&self) -> String {
        self.json()
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_owned))
            .unwrap_or_else(|| self.body.clone())
    }
}

/// One row of the people import.
pub struct Employee<'a> {
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub email: &'a str,
    pub acs_id: &'a str,
}

/// What the door answered to one frame.
#[derive(Debug, Clone, PartialEq)]
pub enum DoorAnswer {
    Matched { acs_id: String },
    Unknown,
    PoorQuality,
    NoFace,
}

impl Api {
    pub fn new(base: &str) -> Api {
        Api {
            base: base.to_owned(),
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .max_redirects(0)
                .timeout_global(Some(Duration::from_secs(300)))
                .build()
                .into(),
        }
    }

    fn get(&self, path: &str, bearer: &str) -> anyhow::Result<Reply> {
        let response = self
            .agent
            .get(format!("{}{path}", self.base))
            .header("Authorization", format!("Bearer {bearer}"))
            .call()
            .with_context(|| format!("GET {path}"))?;
        read(response)
    }

    fn post(
        &self,
        path: &str,
        bearer: Option<&str>,
        content_type: &str,
        body: &[u8],
    ) -> anyhow::Result<Reply> {
        let mut request = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("Content-Type", content_type);
        if let Some(token) = bearer {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        read(request.send(body).with_context(|| format!("POST {path}"))?)
    }

    fn post_json(&self, path: &str, bearer: Option<&str>, body: &Value) -> anyhow::Result<Reply> {
        self.post(
            path,
            bearer,
            "application/json",
            body.to_string().as_bytes(),
        )
    }

    /// Imports everyone at once (the API takes all or nothing) and returns
    /// each person's id by e-mail address.
    pub fn import(
        &self,
        admin: &str,
        employees: &[Employee<'_>],
    ) -> anyhow::Result<std::collections::HashMap<String, String>> {
        let rows: Vec<Value> = employees
            .iter()
            .map(|e| {
                json!({
                    "first_name": e.first_name,
                    "last_name": e.last_name,
                    "email": e.email,
                    "acs_id": e.acs_id,
                })
            })
            .collect();
        self.post_json("/api/v1/people", Some(admin), &Value::Array(rows))?
            .expect(200, "importing people")?;
        let people = self
            .get("/api/v1/people", admin)?
            .expect(200, "listing people")?;
        people
            .json()?
            .as_array()
            .context("the people list is not an array")?
            .iter()
            .map(|p| {
                let field = |name: &str| {
                    p[name]
                        .as_str()
                        .map(str::to_owned)
                        .with_context(|| format!("a person without {name}: {p}"))
                };
                Ok((field("email")?, field("id")?))
            })
            .collect()
    }

    /// How many of the organisation's people are enrolled (in its gallery).
    pub fn enrolled_people(&self, admin: &str) -> anyhow::Result<usize> {
        let people = self
            .get("/api/v1/people", admin)?
            .expect(200, "listing people")?;
        Ok(people
            .json()?
            .as_array()
            .context("the people list is not an array")?
            .iter()
            .filter(|p| p["status"] == "enrolled")
            .count())
    }

    /// The invitation mail is sent, and the employee follows its link:
    /// registers through the page (which signs them in: the API's login
    /// is rate-limited per address, and every employee here shares one)
    /// and consents to the statement shown. Returns the session token.
    pub fn onboard(
        &self,
        admin: &str,
        person_id: &str,
        email: &str,
        outbox: &Path,
    ) -> anyhow::Result<String> {
        self.post(
            &format!("/api/v1/people/{person_id}/invitation"),
            Some(admin),
            "application/json",
            b"",
        )?
        .expect(200, "sending the invitation")?;
        let token = take_registration_token(outbox, email)?;
        let response = self
            .agent
            .post(format!("{}/register", self.base))
            .send_form([
                ("token", token.as_str()),
                ("password", PASSWORD),
                ("password_again", PASSWORD),
            ])
            .context("POST /register")?;
        let registered = read(response)?.expect(303, "registering")?;
        let session = registered
            .session
            .context("registration set no session cookie")?;
        let statement = self
            .get("/api/v1/me/statement", &session)?
            .expect(200, "reading the statement")?
            .json()?;
        let version = statement["version"]
            .as_str()
            .context("a statement without version")?;
        self.post_json(
            "/api/v1/me/consent",
            Some(&session),
            &json!({ "statement_version": version }),
        )?
        .expect(204, "consenting")?;
        Ok(session)
    }

    /// Enrols the frames of one sitting; `Err` carries the API's reason
    /// for a refusal.
    pub fn enrol(&self, session: &str, frames: &[Vec<u8>]) -> anyhow::Result<Result<(), String>> {
        let boundary = "limen-eval-door-4f1c9a";
        let mut body = Vec::new();
        for (i, frame) in frames.iter().enumerate() {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"frame\"; filename=\"frame{i}.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(frame);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let reply = self.post(
            "/api/v1/me/face",
            Some(session),
            &format!("multipart/form-data; boundary={boundary}"),
            &body,
        )?;
        match reply.status {
            201 => Ok(Ok(())),
            422 => Ok(Err(reply.error())),
            _ => bail!("enrolling: answered {} {}", reply.status, reply.body),
        }
    }

    /// Creates an OSDP entrance and a camera device there; returns the
    /// device's token.
    pub fn device(&self, admin: &str) -> anyhow::Result<String> {
        let entrance = self
            .post_json(
                "/api/v1/entrances",
                Some(admin),
                &json!({ "name": "Evaluated door", "connector": { "type": "osdp" } }),
            )?
            .expect(201, "creating the entrance")?
            .json()?;
        let id = entrance["id"].as_str().context("an entrance without id")?;
        let device = self
            .post(
                &format!("/api/v1/entrances/{id}/devices"),
                Some(admin),
                "application/json",
                b"",
            )?
            .expect(201, "registering the device")?
            .json()?;
        Ok(device["token"]
            .as_str()
            .context("a device without token")?
            .to_owned())
    }

    /// Sends one frame as its own pass (no pass header).
    pub fn frame(&self, device: &str, jpeg: &[u8]) -> anyhow::Result<DoorAnswer> {
        let answer = self
            .post("/api/v1/frames", Some(device), "image/jpeg", jpeg)?
            .expect(200, "sending a frame")?
            .json()?;
        Ok(match answer["decision"].as_str() {
            Some("matched") => DoorAnswer::Matched {
                acs_id: answer["acs_id"]
                    .as_str()
                    .context("matched without an ACS id")?
                    .to_owned(),
            },
            Some("unknown") => DoorAnswer::Unknown,
            Some("poor_quality") => DoorAnswer::PoorQuality,
            Some("no_face") => DoorAnswer::NoFace,
            _ => bail!("an OSDP entrance answered {answer}"),
        })
    }
}

fn read(mut response: ureq::http::Response<ureq::Body>) -> anyhow::Result<Reply> {
    let status = response.status().as_u16();
    let session = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next()?.split_once('='))
        .find(|(name, value)| name.trim() == SESSION_COOKIE && !value.is_empty())
        .map(|(_, value)| value.to_owned());
    let body = response.body_mut().read_to_string()?;
    Ok(Reply {
        status,
        body,
        session,
    })
}

/// Finds the invitation mailed to `email` in the outbox, removes it and
/// returns the token of its registration link.
fn take_registration_token(outbox: &Path, email: &str) -> anyhow::Result<String> {
    let addressed = format!("To: {email}");
    for entry in std::fs::read_dir(outbox).context("reading the outbox")? {
        let path = entry?.path();
        // Another employee's mail may be taken away meanwhile.
        let Ok(message) = std::fs::read_to_string(&path) else {
            continue;
        };
        let (head, _) = message.split_once("\r\n\r\n").unwrap_or((&message, ""));
        if !head.lines().any(|line| line.trim() == addressed) {
            continue;
        }
        std::fs::remove_file(&path)?;
        let text = plain_text(&message).context("an invitation without a text part")?;
        return text
            .split_whitespace()
            .find_map(|word| word.split("/register?token=").nth(1))
            .map(str::to_owned)
            .context("an invitation without a registration link");
    }
    bail!("no invitation to {email} in the outbox")
}

/// The decoded `text/plain` part of a MIME message.
fn plain_text(message: &str) -> Option<String> {
    let boundary = message
        .split("boundary=")
        .nth(1)?
        .trim_start_matches('"')
        .split(['"', '\r', '\n', ';'])
        .next()?;
    message
        .split(&format!("--{boundary}"))
        .filter_map(|part| part.split_once("\r\n\r\n"))
        .find(|(head, _)| {
            head.to_ascii_lowercase()
                .contains("content-type: text/plain")
        })
        .and_then(|(head, body)| {
            let head = head.to_ascii_lowercase();
            if head.contains("quoted-printable") {
                quoted_printable(body)
            } else if head.contains("base64") {
                use base64::Engine;
                let compact: String = body.split_whitespace().collect();
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(compact)
                    .ok()?;
                String::from_utf8(bytes).ok()
            } else {
                Some(body.to_owned())
            }
        })
}

fn quoted_printable(body: &str) -> Option<String> {
    let joined = body.replace("=\r\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_link_in_every_transfer_encoding() {
        let message = |encoding: &str, body: &str| {
            format!(
                "To: a@b.test\r\nContent-Type: multipart/alternative; boundary=\"XyZ\"\r\n\r\n--XyZ\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: {encoding}\r\n\r\n{body}\r\n--XyZ--\r\n"
            )
        };
        let link = "To register:\r\nhttp://h/register?token=Ab-_9\r\n";
        let qp = "To register:\r\nhttp://h/register?token=3DAb=\r\n-_9\r\n";
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode(link);
        for (encoding, body) in [("7bit", link), ("quoted-printable", qp), ("base64", &b64)] {
            let text = plain_text(&message(encoding, body)).expect(encoding);
            assert!(text.contains("register?token=Ab-_9"), "{encoding}: {text}");
        }
    }
}
