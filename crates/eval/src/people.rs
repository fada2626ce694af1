//! LFW's `people.txt`: the number of sets, then for each set its number of
//! people followed by one `Name<TAB>image count` line per person. Image `k`
//! (1-based) of a person is `Name/Name_000k.jpg` under the `lfw/` folder.

use thiserror::Error;

#[derive(Debug, Error, PartialEq)]
pub enum PeopleError {
    #[error("people.txt line {line}: {reason}")]
    Malformed { line: usize, reason: String },
}

/// One person of one set.
#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    pub name: String,
    pub images: usize,
}

impl Person {
    /// Relative paths of this person's images, in order.
    pub fn image_paths(&self) -> Vec<String> {
        (1..=self.images)
            .map(|k| format!("{0}/{0}_{k:04}.jpg", self.name))
            .collect()
    }
}

/// The people sets, in file order.
pub fn parse(text: &str) -> Result<Vec<Vec<Person>>, PeopleError> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty());
    let bad = |line: usize, reason: &str| PeopleError::Malformed {
        line,
        reason: reason.to_string(),
    };
    let count = |(line, text): (usize, &str)| {
        text.parse::<usize>()
            .map_err(|_| bad(line, "expected a count"))
    };
    let sets = count(lines.next().ok_or_else(|| bad(1, "empty file"))?)?;
    let mut out = Vec::with_capacity(sets.min(64));
    for _ in 0..sets {
        let header = lines.next().ok_or_else(|| bad(0, "missing set header"))?;
        let n = count(header)?;
        let mut set = Vec::with_capacity(n.min(100_000));
        for _ in 0..n {
            let (line, text) = lines.next().ok_or_else(|| bad(0, "set ends early"))?;
            let (name, images) = text
                .split_once('\t')
                .ok_or_else(|| bad(line, "expected name<TAB>count"))?;
            let images = images
                .trim()
                .parse::<usize>()
                .map_err(|_| bad(line, "bad image count"))?;
            if name.is_empty() || name.contains(['/', '\\']) || images == 0 {
                return Err(bad(line, "bad name or zero images"));
            }
            set.push(Person {
                name: name.to_string(),
                images,
            });
        }
        out.push(set);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sets_and_paths() {
        let sets =
            parse("2\n2\nAda_Lovelace\t2\nAlan_Turing\t1\n1\nGrace_Hopper\t3\n").expect("ok");
        assert_eq!(sets.len(), 2);
        assert_eq!(
            sets[0][0].image_paths()[1],
            "Ada_Lovelace/Ada_Lovelace_0002.jpg"
        );
        assert_eq!(sets[1][0].images, 3);
    }

    #[test]
    fn rejects_malformed_lines() {
        assert!(parse("1\n1\nNoTab 3\n").is_err());
        assert!(parse("1\n2\nA\t1\n").is_err());
        assert!(parse("1\n1\n../etc\t1\n").is_err());
    }
}
