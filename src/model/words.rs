//! Suggestions for a mistyped word: the closest of the words a value may be.

/// The candidate closest to `word` (case ignored) when it is close enough to be a typo: at
/// most two edits away, and fewer than half the word's letters.
pub fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let word = word.trim().to_ascii_lowercase();
    candidates
        .iter()
        .map(|&c| (distance(&word, &c.to_ascii_lowercase()), c))
        .filter(|&(d, _)| d > 0 && d <= 2 && d * 2 < word.chars().count().max(2))
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// Levenshtein distance.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_their_word_and_nonsense_does_not() {
        let words = ["random", "lockstep", "worst", "serial"];
        assert_eq!(closest("randm", &words), Some("random"));
        assert_eq!(closest("Serail", &words), Some("serial"));
        assert_eq!(closest("xyz", &words), None);
        assert_eq!(closest("random", &words), None);
    }
}
