//! The deployment files, checked as far as this machine can: the systemd
//! units verified and their sandboxing scored by `systemd-analyze` with
//! the built binary where they expect it; `compose.yaml` valid against the
//! Compose Specification and its settings accepted by Limen; the example
//! configuration and agent environment accepted. Building the image and
//! starting the composition need a container engine, which this machine
//! lacks (see deploy/README.md).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use limen_server::config::Config;

use crate::support::{BIN, ScratchDir};

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Whether a tool is there; outside CI a missing one skips the test.
fn have(program: &str, probe: &[&str]) -> bool {
    let found = Command::new(program)
        .args(probe)
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but {program} {probe:?} fails: run the tests through scripts/test.sh"
        );
        eprintln!("NOTICE: {program} is missing, so this packaging test is SKIPPED");
    }
    found
}

#[test]
fn the_systemd_units_verify_and_are_sandboxed() {
    if !have("systemd-analyze", &["--version"]) {
        return;
    }
    // A root with the system's own units (the targets ours order
    // against), ours, and the binary where they run it.
    let root = ScratchDir::new("units");
    let units = root.path().join("etc/systemd/system");
    for dir in [
        &units,
        &root.path().join("usr/local/bin"),
        &root.path().join("usr/lib/systemd"),
    ] {
        std::fs::create_dir_all(dir).expect("a directory of the root");
    }
    std::fs::copy(BIN, root.path().join("usr/local/bin/limen")).expect("install the binary");
    let copied = Command::new("cp")
        .args(["-r", "/usr/lib/systemd/system"])
        .arg(root.path().join("usr/lib/systemd"))
        .status()
        .is_ok_and(|s| s.success());
    assert!(copied, "the system's units copied");
    for unit in ["limen.service", "limen-agent@.service"] {
        std::fs::copy(
            repository().join("deploy/systemd").join(unit),
            units.join(unit),
        )
        .expect("install the unit");
    }

    let root_arg = format!("--root={}", root.path().display());
    let verified = Command::new("systemd-analyze")
        .args(["verify", &root_arg])
        .args([
            "/etc/systemd/system/limen.service",
            "/etc/systemd/system/limen-agent@front-door.service",
        ])
        .output()
        .expect("run systemd-analyze verify");
    let complaints = String::from_utf8_lossy(&verified.stderr);
    assert!(
        verified.status.success() && complaints.trim().is_empty(),
        "the units verify without a complaint: {complaints}"
    );
    for unit in ["limen.service", "limen-agent@front-door.service"] {
        // 2.0 of systemd's 10-point exposure scale ("OK"; 10 is a unit
        // with no sandboxing at all).
        let scored = Command::new("systemd-analyze")
            .args([
                "security",
                "--offline=yes",
                "--threshold=20",
                &root_arg,
                unit,
            ])
            .output()
            .expect("run systemd-analyze security");
        let report = String::from_utf8_lossy(&scored.stdout);
        assert!(
            scored.status.success(),
            "{unit} is exposed more than 2.0: {}",
            report.lines().last().unwrap_or("")
        );
    }
}

fn accepted(file: Option<&str>, env: &HashMap<String, String>) -> Config {
    Config::from_sources(file, "deployment file", |name| env.get(name).cloned())
        .unwrap_or_else(|e| panic!("Limen refuses the deployment's settings: {e}"))
}

#[test]
fn the_example_settings_and_the_composition_are_accepted() {
    let example =
        std::fs::read_to_string(repository().join("deploy/limen.toml")).expect("deploy/limen.toml");
    let config = accepted(Some(&example), &HashMap::new());
    assert!(
        !config.master_key_file.starts_with(&config.data_dir),
        "the master key is kept apart from the data it unlocks"
    );

    // Debian's Python, where scripts/test.sh installs the two modules.
    if !have("/usr/bin/python3", &["-c", "import yaml, jsonschema"]) {
        return;
    }
    let checked = Command::new("/usr/bin/python3")
        .arg(repository().join("deploy/check_compose.py"))
        .arg(repository().join("compose.yaml"))
        .args(["limen", "POSTGRES_PASSWORD=s3cret"])
        .output()
        .expect("run deploy/check_compose.py");
    assert!(
        checked.status.success(),
        "compose.yaml follows the Compose Specification: {}",
        String::from_utf8_lossy(&checked.stderr)
    );
    let env: HashMap<String, String> =
        serde_json::from_slice(&checked.stdout).expect("the environment as JSON");
    let config = accepted(None, &env);
    assert!(
        config
            .database_url
            .starts_with("postgres://limen:s3cret@postgres:5432/")
    );
    assert!(!config.master_key_file.starts_with(&config.data_dir));
}

#[test]
fn the_agent_takes_its_settings_from_the_environment_file() {
    let text =
        std::fs::read_to_string(repository().join("deploy/agent.env")).expect("deploy/agent.env");
    let mut env: HashMap<&str, &str> = text
        .lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .collect();
    for name in ["LIMEN_SERVER", "LIMEN_SOURCE", "LIMEN_DEVICE_TOKEN"] {
        assert!(env.contains_key(name), "agent.env sets {name}");
    }
    // The example's camera and server are not here: an empty recording
    // and a loopback server. The options come from the environment alone.
    let frames = ScratchDir::new("empty-recording");
    let source = format!("dir:{}", frames.path().display());
    env.insert("LIMEN_SOURCE", &source);
    env.insert("LIMEN_SERVER", "http://127.0.0.1:9");
    let ran = Command::new(BIN)
        .arg("agent")
        .env_clear()
        .envs(&env)
        .output()
        .expect("run limen agent");
    let said = String::from_utf8_lossy(&ran.stderr);
    assert!(
        ran.status.success(),
        "the agent runs from the environment alone: {said}"
    );
    assert!(
        !said.contains("the-token-shown"),
        "the token is not repeated: {said}"
    );
}
