//! Replays a fuzz target's kept inputs through its check without cargo
//! fuzz: the regression inputs of the crate that owns the check
//! (`tests/fuzz/regressions/TARGET/*`) and the target's committed seeds
//! (`fuzz/corpus/TARGET/seed-*`). Included by each such crate's
//! `tests/fuzz_regressions.rs`, so CI replays them on stable.

use std::path::{Path, PathBuf};

pub fn replay(crate_dir: &str, target: &str, check: fn(&[u8])) {
    let crate_dir = Path::new(crate_dir);
    let mut inputs = files(&crate_dir.join("tests/fuzz/regressions").join(target));
    inputs.extend(
        files(&crate_dir.join("../../fuzz/corpus").join(target))
            .into_iter()
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("seed-"))
            }),
    );
    assert!(!inputs.is_empty(), "no inputs for {target}");
    for input in inputs {
        let data = std::fs::read(&input).expect("a readable input");
        eprintln!("{}", input.display());
        check(&data);
    }
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("a readable directory").path())
        .collect();
    files.sort();
    files
}
