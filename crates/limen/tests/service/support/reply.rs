//! The harness's HTTP client and what it reads from a reply.

use std::time::Duration;

use serde_json::Value;

use super::Server;

pub(super) fn http() -> ureq::Agent {
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
    pub(super) fn from(mut response: ureq::http::Response<ureq::Body>) -> Reply {
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
        self.cookie("limen_session")
    }

    /// The admin session token the server set in its cookie.
    pub fn admin_cookie(&self) -> Option<String> {
        self.cookie("limen_admin")
    }

    fn cookie(&self, name: &str) -> Option<String> {
        let cookie = self.header("set-cookie")?;
        let value = cookie
            .split(';')
            .next()?
            .strip_prefix(name)?
            .strip_prefix('=')?;
        (!value.is_empty()).then(|| value.to_owned())
    }

    pub fn error(&self) -> String {
        self.json()["error"].as_str().unwrap_or_default().to_owned()
    }
}

/// A GET with exactly these headers.
pub fn get_with_headers(server: &Server, path: &str, headers: &[(&str, &str)]) -> Reply {
    let mut request = http().get(&format!("{}{path}", server.url));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    Reply::from(request.call().expect("GET"))
}

/// A GET with exactly this `Cookie` header.
pub fn http_get_with_cookie(server: &Server, path: &str, cookie: &str) -> Reply {
    Reply::from(
        http()
            .get(&format!("{}{path}", server.url))
            .header("Cookie", cookie)
            .call()
            .expect("GET"),
    )
}
