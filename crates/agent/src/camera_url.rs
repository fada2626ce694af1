//! A camera's address: `http://`, `https://` or `rtsp://`, with the
//! camera's user name and password, if any, taken out of the URL and kept
//! apart so that no `Display` or `Debug` output can show them (P6).

use std::fmt;

use percent_encoding::percent_decode_str;
use url::Url;
use zeroize::Zeroizing;

use crate::source::SourceError;

/// The protocols a camera URL may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CameraScheme {
    /// `http://` or `https://`: an MJPEG stream.
    Http,
    /// `rtsp://`: an H.264 stream over RTSP.
    Rtsp,
}

/// The camera's account, for Basic or Digest authentication.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: Zeroizing<String>,
    pub password: Zeroizing<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credentials(redacted)")
    }
}

#[derive(Clone, PartialEq, Eq)]
pub struct CameraUrl {
    /// The URL without user name and password.
    url: Url,
    credentials: Option<Credentials>,
}

impl CameraUrl {
    /// Parses `text` as a URL of `scheme`.
    pub fn parse(text: &str, scheme: CameraScheme) -> Result<CameraUrl, SourceError> {
        let (allowed, named): (&[&str], _) = match scheme {
            CameraScheme::Http => (&["http", "https"], "http:// or https://"),
            CameraScheme::Rtsp => (&["rtsp"], "rtsp://"),
        };
        let invalid = |why: &str| SourceError::InvalidSpec(format!("camera URL: {why}"));
        // The parser's message never quotes the input, so no password leaks.
        let mut url = Url::parse(text).map_err(|e| invalid(&e.to_string()))?;
        if !allowed.contains(&url.scheme()) {
            return Err(invalid(&format!("it must start with {named}")));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(invalid("it names no host"));
        }
        let decode = |part: &str| {
            percent_decode_str(part)
                .decode_utf8()
                .map(|text| Zeroizing::new(text.into_owned()))
                .map_err(|_| invalid("the user name or password is not UTF-8"))
        };
        let credentials = if url.username().is_empty() && url.password().is_none() {
            None
        } else {
            Some(Credentials {
                username: decode(url.username())?,
                password: decode(url.password().unwrap_or_default())?,
            })
        };
        // Both only fail for URLs without a host, refused above.
        let _ = url.set_username("");
        let _ = url.set_password(None);
        Ok(CameraUrl { url, credentials })
    }

    /// The URL to request, without credentials.
    pub fn url(&self) -> &Url {
        &self.url
    }

    pub fn credentials(&self) -> Option<&Credentials> {
        self.credentials.as_ref()
    }
}

impl fmt::Display for CameraUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.credentials {
            // The credentials' place is marked, so that a reader can tell
            // the agent is configured with some.
            Some(_) => {
                let mut shown = self.url.clone();
                let _ = shown.set_username("***");
                write!(f, "{shown}")
            }
            None => write!(f, "{}", self.url),
        }
    }
}

impl fmt::Debug for CameraUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_taken_out_and_decoded() {
        let url = CameraUrl::parse(
            "http://admin:p%40ss%3Aword@10.1.2.3:8080/video.mjpg?res=hd",
            CameraScheme::Http,
        )
        .expect("valid");
        assert_eq!(url.url().as_str(), "http://10.1.2.3:8080/video.mjpg?res=hd");
        let credentials = url.credentials().expect("credentials");
        assert_eq!(credentials.username.as_str(), "admin");
        assert_eq!(credentials.password.as_str(), "p@ss:word");
        assert_eq!(
            url.to_string(),
            "http://***@10.1.2.3:8080/video.mjpg?res=hd"
        );
        let debug = format!("{url:?} {credentials:?}");
        assert!(
            !debug.contains("admin") && !debug.contains("p%40ss"),
            "{debug}"
        );

        let plain =
            CameraUrl::parse("rtsp://cam.local/stream1", CameraScheme::Rtsp).expect("valid");
        assert!(plain.credentials().is_none());
        assert_eq!(plain.to_string(), "rtsp://cam.local/stream1");
        let https =
            CameraUrl::parse("https://user:pw@cam/mjpg", CameraScheme::Http).expect("valid");
        assert_eq!(https.url().scheme(), "https");
    }

    #[test]
    fn wrong_schemes_and_broken_urls_are_refused_without_echoing_secrets() {
        for (text, scheme) in [
            ("rtsp://admin:hunter2@cam/x", CameraScheme::Http),
            ("ftp://admin:hunter2@cam/x", CameraScheme::Http),
            ("http://admin:hunter2@cam/x", CameraScheme::Rtsp),
            ("http://admin:hunter2@cam:99999/x", CameraScheme::Http),
            ("http://admin:hunter2@/x", CameraScheme::Http),
            ("admin:hunter2@cam/x", CameraScheme::Http),
        ] {
            let err = CameraUrl::parse(text, scheme).expect_err(text);
            assert!(!err.to_string().contains("hunter2"), "{err}");
        }
    }
}
