//! A `limen serve` child process on a free loopback port, for the commands
//! that measure the service from outside, as its clients see it.

use std::ffi::OsString;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::bail;

/// A running `limen serve`, stopped when dropped.
pub struct ServeProcess {
    child: Child,
    pub url: String,
}

impl ServeProcess {
    /// Starts `limen serve` with these `LIMEN_*` settings besides its
    /// address (its log goes to this process's standard error) and waits
    /// until it is ready.
    pub fn start(settings: &[(&str, OsString)]) -> anyhow::Result<ServeProcess> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = Command::new(std::env::current_exe()?)
            .arg("serve")
            .env_remove("LIMEN_CONFIG")
            .env("LIMEN_BIND", format!("127.0.0.1:{port}"))
            .envs(settings.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()?;
        let mut server = ServeProcess {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let ready = format!("{}/readyz", server.url);
        let deadline = Instant::now() + Duration::from_secs(120);
        while ureq::get(&ready).call().is_err() {
            if let Some(status) = server.child.try_wait()? {
                bail!("limen serve stopped before it was ready ({status})");
            }
            if Instant::now() > deadline {
                bail!("limen serve did not become ready");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(server)
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
