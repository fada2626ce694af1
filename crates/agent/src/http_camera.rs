//! An IP camera's MJPEG stream (`multipart/x-mixed-replace`) over `http://`
//! or `https://`, with Basic or Digest authentication.
//!
//! The first request carries no credentials: they are sent only in answer
//! to the camera's challenge, and then in the strongest scheme it offers
//! (Digest before Basic), so a password never crosses the network in the
//! clear to a camera that can do better.

use std::time::Duration;

use http_auth::{PasswordClient, PasswordParams};
use ureq::http::{Response, StatusCode, header};
use ureq::{Body, BodyReader};
use zeroize::Zeroizing;

use crate::camera_url::{CameraUrl, Credentials};
use crate::multipart::{MultipartStream, boundary_of};
use crate::source::{CAMERA_READ_TIMEOUT, SourceError};
use crate::tls::TrustedRoots;

const CAMERA_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

pub type MjpegStream = MultipartStream<BodyReader<'static>>;

/// Connects, authenticates if the camera asks, and checks that the answer
/// is an MJPEG stream.
pub fn open_mjpeg_stream(
    url: &CameraUrl,
    roots: &TrustedRoots,
) -> Result<MjpegStream, SourceError> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        // A camera is on the local network; a proxy would see its frames.
        .proxy(None)
        .timeout_connect(Some(CAMERA_CONNECT_TIMEOUT))
        .timeout_recv_response(Some(CAMERA_READ_TIMEOUT))
        // A stream has no end; a camera silent for this long is lost.
        .timeout_per_read(Some(CAMERA_READ_TIMEOUT))
        .tls_config(roots.tls_config())
        .build()
        .into();
    let mut response = get(&agent, url, None)?;
    if response.status() == StatusCode::UNAUTHORIZED {
        let Some(credentials) = url.credentials() else {
            return Err(SourceError::Protocol(
                "the camera asks for a user name and password (HTTP 401)".into(),
            ));
        };
        let authorization = answer_challenge(&response, url, credentials)?;
        response = get(&agent, url, Some(&authorization))?;
        if response.status() == StatusCode::UNAUTHORIZED {
            return Err(SourceError::Protocol(
                "the camera refused the user name and password (HTTP 401)".into(),
            ));
        }
    }
    if response.status() != StatusCode::OK {
        return Err(SourceError::Protocol(format!(
            "the camera answered HTTP status {}",
            response.status().as_u16()
        )));
    }
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let boundary = boundary_of(content_type).ok_or_else(|| {
        SourceError::Protocol(format!(
            "not an MJPEG stream (Content-Type {content_type:?})"
        ))
    })?;
    Ok(MultipartStream::new(
        response.into_body().into_reader(),
        &boundary,
    ))
}

fn get(
    agent: &ureq::Agent,
    url: &CameraUrl,
    authorization: Option<&str>,
) -> Result<Response<Body>, SourceError> {
    let mut request = agent
        .get(url.url().as_str())
        .header(header::ACCEPT, "multipart/x-mixed-replace, */*");
    if let Some(authorization) = authorization {
        request = request.header(header::AUTHORIZATION, authorization);
    }
    request.call().map_err(|e| match e {
        ureq::Error::Io(e) => SourceError::Io(e),
        // The URL in these messages carries no credentials.
        other => SourceError::Protocol(format!("the camera cannot be reached: {other}")),
    })
}

/// The `Authorization` value answering the 401's challenges.
fn answer_challenge(
    unauthorized: &Response<Body>,
    url: &CameraUrl,
    credentials: &Credentials,
) -> Result<Zeroizing<String>, SourceError> {
    let mut builder = PasswordClient::builder();
    for challenge in unauthorized.headers().get_all(header::WWW_AUTHENTICATE) {
        if let Ok(text) = challenge.to_str() {
            builder = builder.challenges(text);
        }
    }
    let mut client = builder.build().map_err(|why| {
        SourceError::Protocol(format!(
            "the camera asks for an authentication the agent cannot give: {why}"
        ))
    })?;
    let request_target = &url.url()[url::Position::BeforePath..];
    client
        .respond(&PasswordParams {
            username: &credentials.username,
            password: &credentials.password,
            uri: request_target,
            method: "GET",
            body: Some(&[]),
        })
        .map(Zeroizing::new)
        .map_err(|why| {
            SourceError::Protocol(format!("cannot answer the camera's challenge: {why}"))
        })
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;
    use std::thread::JoinHandle;

    use super::*;
    use crate::capture::Capture;
    use crate::jpeg::tests::sample_jpeg;
    use crate::mjpg::tests::without_tables;
    use crate::source::{FrameSource, Picture, SourceSpec};

    /// An IP camera on loopback answering its n-th connection with the
    /// n-th (head, MJPEG parts); returns the requests it read.
    fn camera(
        credentials: &str,
        answers: Vec<(&'static str, Vec<Vec<u8>>)>,
    ) -> (SourceSpec, JoinHandle<Vec<String>>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let spec = format!(
            "mjpeg:http://{credentials}127.0.0.1:{}/stream",
            listener.local_addr().expect("addr").port()
        );
        let server = std::thread::spawn(move || {
            let mut requests = Vec::new();
            for (head, parts) in answers {
                let (mut conn, _) = listener.accept().expect("accept");
                conn.set_read_timeout(Some(Duration::from_secs(5)))
                    .expect("timeout");
                let mut request = String::new();
                let mut reader = BufReader::new(conn.try_clone().expect("clone"));
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).expect("request line");
                    request.push_str(&line);
                    if line == "\r\n" || line.is_empty() {
                        break;
                    }
                }
                requests.push(request);
                conn.write_all(head.as_bytes()).expect("head");
                for part in parts {
                    conn.write_all(b"--cam\r\nContent-Type: image/jpeg\r\n\r\n")
                        .expect("part head");
                    conn.write_all(&part).expect("part");
                    conn.write_all(b"\r\n").expect("part end");
                }
            }
            requests
        });
        (spec.parse().expect("spec"), server)
    }

    const STREAM_HEAD: &str =
        "HTTP/1.0 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=cam\r\n\r\n";
    const BASIC_CHALLENGE: &str = "HTTP/1.0 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"cam\"\r\nContent-Length: 0\r\n\r\n";

    fn authorization(request: &str) -> Option<&str> {
        request.lines().find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("authorization")
                .then_some(value.trim())
        })
    }

    #[test]
    fn mjpeg_stream_over_http_yields_its_frames_and_skips_damaged_ones() {
        let a = sample_jpeg(16, 16, 10);
        let b = sample_jpeg(16, 8, 200);
        // The last frame as a webcam sends it, without Huffman tables.
        let (c_without_tables, _) = without_tables(&sample_jpeg(24, 16, 90));
        let (spec, server) = camera(
            "user:secret@",
            vec![
                (BASIC_CHALLENGE, vec![]),
                (
                    STREAM_HEAD,
                    vec![
                        a.clone(),
                        b[..b.len() - 30].to_vec(),
                        b.clone(),
                        c_without_tables,
                    ],
                ),
            ],
        );
        let source = FrameSource::open(&spec, &TrustedRoots::public()).expect("open");
        assert!(source.is_live());
        let mut capture = Capture::start(source);
        let mut frames = Vec::new();
        let mut skipped = Vec::new();
        while let Some(item) = capture.next_frame() {
            match item {
                Ok(frame) => {
                    let Picture::Encoded(jpeg) = frame.picture else {
                        panic!("an MJPEG stream delivers JPEGs");
                    };
                    frames.push(jpeg.to_vec());
                }
                Err(e) if e.is_skippable() => skipped.push(e.to_string()),
                Err(e) => panic!("stream failed: {e}"),
            }
            assert!(frames.len() + skipped.len() <= 4, "more items than sent");
        }
        // Credentials only in answer to the challenge, in its scheme.
        let requests = server.join().expect("camera");
        assert!(
            requests[0].starts_with("GET /stream HTTP/1.1\r\n"),
            "{requests:?}"
        );
        assert_eq!(authorization(&requests[0]), None);
        assert_eq!(authorization(&requests[1]), Some("Basic dXNlcjpzZWNyZXQ="));
        assert_eq!(skipped.len(), 1, "{skipped:?}");
        assert!(skipped[0].contains("truncated"));
        // A live feed keeps only the newest frame, so earlier frames may
        // have been replaced before they were taken; the last always arrives,
        // with its tables put back.
        let last = frames.pop().expect("frames");
        let c = limen_face::decode(&sample_jpeg(24, 16, 90)).expect("decode");
        let arrived = limen_face::decode(&last).expect("the last frame decodes");
        assert!(arrived.as_raw() == c.as_raw(), "the last frame is not c");
        assert!(
            [
                vec![],
                vec![a.clone()],
                vec![b.clone()],
                vec![a.clone(), b.clone()]
            ]
            .contains(&frames),
            "unexpected frames"
        );
    }

    #[test]
    fn a_camera_refusing_the_stream_is_an_error() {
        let cases = [
            (
                "",
                vec![BASIC_CHALLENGE],
                "asks for a user name and password",
            ),
            (
                "user:wrong@",
                vec![BASIC_CHALLENGE, BASIC_CHALLENGE],
                "refused the user name and password",
            ),
            (
                "user:secret@",
                vec!["HTTP/1.0 401 Unauthorized\r\nWWW-Authenticate: Negotiate\r\n\r\n"],
                "cannot give",
            ),
            (
                "",
                vec!["HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n"],
                "HTTP status 404",
            ),
            (
                "",
                vec!["HTTP/1.0 200 OK\r\nContent-Type: image/jpeg\r\n\r\n"],
                "not an MJPEG stream",
            ),
        ];
        for (credentials, heads, expected) in cases {
            let answers = heads.into_iter().map(|h| (h, vec![])).collect();
            let (spec, server) = camera(credentials, answers);
            let err = FrameSource::open(&spec, &TrustedRoots::public())
                .err()
                .expect("refused");
            assert!(err.to_string().contains(expected), "{err}");
            assert!(!err.to_string().contains("wrong"), "{err}");
            server.join().expect("camera");
        }
    }
}
