//! Known label noise in lfw-dev: images whose label is wrong for the face
//! the protocols would use. At FPIR near 0.1% each of them alone is worth a
//! whole false match, so the protocols set them apart and the report says
//! how many; the list, with the evidence for each, is
//! `crates/eval/data/lfw-dev-label-noise.tsv`.

use std::collections::HashSet;

const LIST: &str = include_str!("../data/lfw-dev-label-noise.tsv");

/// One listed image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Noise {
    /// Relative to the LFW folder: `Name/Name_0001.jpg`.
    pub path: String,
    pub kind: String,
    pub evidence: String,
}

/// The lfw-dev list.
pub fn lfw_dev() -> Vec<Noise> {
    parse(LIST)
}

/// The paths of a list, for setting apart.
pub fn paths(list: &[Noise]) -> HashSet<String> {
    list.iter().map(|n| n.path.clone()).collect()
}

fn parse(text: &str) -> Vec<Noise> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let mut fields = l.splitn(3, '\t');
            Some(Noise {
                path: fields.next()?.trim().to_owned(),
                kind: fields.next()?.trim().to_owned(),
                evidence: fields.next()?.trim().to_owned(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_image_has_a_kind_and_evidence() {
        let list = lfw_dev();
        assert!(list.len() >= 3);
        for noise in &list {
            assert!(
                noise.path.ends_with(".jpg") && noise.path.contains('/'),
                "{noise:?}"
            );
            assert!(
                !noise.kind.is_empty() && noise.evidence.len() > 20,
                "{noise:?}"
            );
        }
        assert_eq!(paths(&list).len(), list.len());
    }
}
