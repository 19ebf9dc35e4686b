//! Every line of human output is made here, within a width: prose broken between words (a word
//! is never split; one longer than the line stands alone), phrases broken between phrases,
//! lists of numbers broken between numbers. Widths are counted in characters (`±` is one).

use std::io::{self, Write};

/// Prose never runs wider than this, however wide the terminal: lines longer are hard to read.
pub(crate) const PROSE: usize = 80;

/// The width prose gets in a terminal of `columns` (at least 20: narrower is not a terminal
/// anybody reads racecount in).
pub(crate) fn prose_width(columns: usize) -> usize {
    columns.clamp(20, PROSE)
}

fn len(text: &str) -> usize {
    text.chars().count()
}

/// `text`'s words in lines of at most `width` columns, the first line starting with `first`,
/// the others with `rest`.
pub(crate) fn words(text: &str, width: usize, first: &str, rest: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = first.to_string();
    let mut empty = true;
    let room = width.saturating_sub(len(rest)).max(8);
    for word in text.split_whitespace().flat_map(|w| at_slashes(w, room)) {
        if !empty && len(&line) + 1 + len(word) > width {
            lines.push(std::mem::replace(&mut line, rest.to_string()));
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    if !empty {
        lines.push(line);
    }
    lines
}

/// `word` as it is, or, when longer than `room` and a path or URL, in pieces that end at a
/// `/` (a URL breaks there, never inside a name).
fn at_slashes(word: &str, room: usize) -> Vec<&str> {
    if len(word) <= room || !word.contains('/') {
        return vec![word];
    }
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut last_cut = 0;
    for (i, c) in word.char_indices() {
        if c == '/' {
            if len(&word[start..=i]) > room && last_cut > start {
                pieces.push(&word[start..last_cut]);
                start = last_cut;
            }
            last_cut = i + 1;
        }
    }
    if len(&word[start..]) > room && last_cut > start && last_cut < word.len() {
        pieces.push(&word[start..last_cut]);
        start = last_cut;
    }
    pieces.push(&word[start..]);
    pieces
}

/// `phrases` joined by ", ", a line broken between two phrases before it would pass `width`;
/// a phrase too long for a line of its own is broken between its words.
pub(crate) fn phrases(phrases: &[String], width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for (i, phrase) in phrases.iter().enumerate() {
        let comma = if i + 1 < phrases.len() { "," } else { "" };
        let piece = format!("{phrase}{comma}");
        if line.is_empty() {
            line = piece;
        } else if len(&line) + 1 + len(&piece) <= width {
            line.push(' ');
            line.push_str(&piece);
        } else {
            lines.push(std::mem::take(&mut line));
            line = piece;
        }
        if len(&line) > width {
            let mut broken = words(&line, width, "", "");
            line = broken.pop().unwrap_or_default();
            lines.extend(broken);
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// `label` padded to `label_width`, then `items` separated by single spaces, a line broken
/// between two items; later lines start at the items' column (or two spaces in, when the
/// label leaves no room).
pub(crate) fn items(
    label: &str,
    label_width: usize,
    items: &[String],
    width: usize,
) -> Vec<String> {
    let first = format!("{label:<label_width$}");
    let indent = if label_width + 8 <= width {
        " ".repeat(label_width)
    } else {
        "  ".to_string()
    };
    let mut lines = Vec::new();
    let mut line = first;
    let mut empty = true;
    for item in items {
        let room = if empty { 0 } else { 1 };
        if !empty && len(&line) + room + len(item) > width {
            lines.push(std::mem::replace(&mut line, indent.clone()));
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(item);
        empty = false;
    }
    lines.push(line.trim_end().to_string());
    lines
}

/// Writes `lines`, one per line.
pub(crate) fn write_lines(out: &mut dyn Write, lines: &[String]) -> io::Result<()> {
    for line in lines {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn widest(lines: &[String]) -> usize {
        lines.iter().map(|l| len(l)).max().unwrap_or(0)
    }

    #[test]
    fn words_are_never_split_and_lines_keep_the_width() {
        let text = "a sentence made of several words, one of them incomprehensibilities";
        for width in [10, 20, 40] {
            let lines = words(text, width, "", "  ");
            let back: Vec<&str> = lines.iter().flat_map(|l| l.split_whitespace()).collect();
            assert_eq!(back, text.split_whitespace().collect::<Vec<_>>());
            for l in &lines {
                assert!(
                    len(l) <= width || !l.trim().contains(' '),
                    "{l:?} at {width}"
                );
            }
        }
    }

    #[test]
    fn phrases_break_between_phrases_then_between_words() {
        let p: Vec<String> = [
            "10 trials per mode",
            "workers forked per trial",
            "lock pthread",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            phrases(&p, 45),
            [
                "10 trials per mode, workers forked per trial,",
                "lock pthread"
            ]
        );
        let narrow = phrases(&p, 12);
        assert!(widest(&narrow) <= 12, "{narrow:?}");
        assert_eq!(
            narrow.join(" "),
            "10 trials per mode, workers forked per trial, lock pthread"
        );
    }

    #[test]
    fn numbers_break_between_numbers_under_their_column() {
        let totals: Vec<String> = (0..20).map(|i| (180 + i).to_string()).collect();
        let lines = items("unlocked", 12, &totals, 40);
        assert!(widest(&lines) <= 40, "{lines:?}");
        assert!(lines[1].starts_with("            1"), "{lines:?}");
        let joined: Vec<&str> = lines
            .iter()
            .flat_map(|l| l.split_whitespace())
            .skip(1)
            .collect();
        assert_eq!(joined.len(), 20);
    }
}
