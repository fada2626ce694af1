//! The binary installed away from the repository: its default models are
//! built in, so it runs from any working directory with no models beside
//! it and no `LIMEN_MODELS_DIR`, and makes the vectors the repository's
//! files make.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{BIN, fixture_path, random_suffix};

/// A copy of the built `limen` in a directory of its own, as `cargo
/// install` leaves it, and an unrelated working directory.
struct Installed {
    root: PathBuf,
    binary: PathBuf,
    work: PathBuf,
}

impl Installed {
    fn new() -> Installed {
        let root = std::env::temp_dir().join(format!("limen-installed-{}", random_suffix()));
        let bin = root.join("bin");
        let work = root.join("work");
        std::fs::create_dir_all(&bin).expect("bin");
        std::fs::create_dir_all(&work).expect("work");
        let binary = bin.join("limen");
        std::fs::copy(BIN, &binary).expect("copy the binary");
        Installed { root, binary, work }
    }

    /// The installed binary, run from the unrelated directory with none of
    /// the repository's settings.
    fn command(&self) -> Command {
        let mut command = Command::new(&self.binary);
        command
            .current_dir(&self.work)
            .env_remove("LIMEN_MODELS_DIR")
            .env_remove("LIMEN_CONFIG");
        command
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }
}

#[test]
fn the_installed_binary_runs_from_anywhere_on_its_built_in_models() {
    let installed = Installed::new();
    let face = fixture_path("Andre_Agassi_0005.jpg");
    let embedded = installed
        .command()
        .args(["face", "embed", "--json"])
        .arg(&face)
        .output()
        .expect("run the installed limen");
    assert!(
        embedded.status.success(),
        "{}",
        String::from_utf8_lossy(&embedded.stderr)
    );
    let checkout_models = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models");
    let from_files = Command::new(BIN)
        .args(["face", "embed", "--json", "--models"])
        .arg(&checkout_models)
        .arg(&face)
        .output()
        .expect("run limen on the repository's models");
    assert!(from_files.status.success());
    let embedding = |stdout: &[u8]| {
        let line: serde_json::Value = serde_json::from_slice(stdout).expect("JSON");
        line["embedding"].as_array().cloned().unwrap_or_default()
    };
    let vector = embedding(&embedded.stdout);
    assert_eq!(
        vector.len(),
        256,
        "{}",
        String::from_utf8_lossy(&embedded.stdout)
    );
    assert_eq!(
        vector,
        embedding(&from_files.stdout),
        "the built-in models make the repository's vectors"
    );

    // A directory given still wins, and is checked as before.
    let missing = installed
        .command()
        .args(["face", "embed", "--models", "no-models-here"])
        .arg(&face)
        .output()
        .expect("run the installed limen");
    assert!(!missing.status.success());
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("no-models-here"),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );

    // The service starts there too, loading the active version's models.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let log = std::fs::File::create(installed.root.join("serve.log")).expect("log");
    let mut serve = installed
        .command()
        .arg("serve")
        .env("LIMEN_BIND", format!("127.0.0.1:{port}"))
        .env("LIMEN_DATA_DIR", installed.work.join("data"))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start the installed limen serve");
    let deadline = Instant::now() + Duration::from_secs(120);
    let ready = loop {
        let answer = ureq::get(&format!("http://127.0.0.1:{port}/readyz")).call();
        if answer.is_ok_and(|r| r.status() == 200) {
            break true;
        }
        if serve.try_wait().ok().flatten().is_some() || Instant::now() > deadline {
            break false;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let _ = serve.kill();
    let _ = serve.wait();
    let log = std::fs::read_to_string(installed.root.join("serve.log")).unwrap_or_default();
    assert!(ready, "the installed limen serve did not start: {log}");
    assert!(
        log.contains("model=omz-reid-0095"),
        "the default version's models loaded: {log}"
    );
}
