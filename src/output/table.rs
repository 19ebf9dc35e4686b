//! Aligned plain-text tables, with optional colour that does not disturb the alignment.

use std::io::{self, Write};

/// How a column's cells line up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Align {
    Left,
    Right,
}

/// A cell: its text and an optional ANSI colour code (e.g. "31" for red).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cell {
    pub text: String,
    pub color: Option<&'static str>,
}

impl Cell {
    pub(crate) fn plain(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            color: None,
        }
    }

    pub(crate) fn colored(text: impl Into<String>, color: &'static str) -> Cell {
        Cell {
            text: text.into(),
            color: Some(color),
        }
    }
}

pub(crate) const RED: &str = "31";
pub(crate) const GREEN: &str = "32";

/// Writes `header` and `rows` with every column padded to its widest cell, two spaces apart.
pub(crate) fn write_table(
    out: &mut dyn Write,
    header: &[(&str, Align)],
    rows: &[Vec<Cell>],
    color: bool,
) -> io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|(h, _)| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.text.chars().count());
        }
    }
    let header_cells: Vec<Cell> = header.iter().map(|(h, _)| Cell::plain(*h)).collect();
    for row in std::iter::once(&header_cells).chain(rows) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            let pad = widths[i].saturating_sub(cell.text.chars().count());
            let padded = match header[i].1 {
                Align::Left => format!("{}{}", cell.text, " ".repeat(pad)),
                Align::Right => format!("{}{}", " ".repeat(pad), cell.text),
            };
            match (color, cell.color) {
                (true, Some(code)) => line.push_str(&format!("\x1b[{code}m{padded}\x1b[0m")),
                _ => line.push_str(&padded),
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// As [`write_table`] when its lines fit in `width` columns; otherwise each row stacked as a
/// block: its first cell, then `header value` pairs, as many to a line as fit.
pub(crate) fn write_table_within(
    out: &mut dyn Write,
    header: &[(&str, Align)],
    rows: &[Vec<Cell>],
    color: bool,
    width: usize,
) -> io::Result<()> {
    let mut plain = Vec::new();
    write_table(&mut plain, header, rows, false)?;
    let fits = String::from_utf8_lossy(&plain)
        .lines()
        .all(|l| l.chars().count() <= width);
    if fits {
        return write_table(out, header, rows, color);
    }
    for row in rows {
        let Some((first, rest)) = row.split_first() else {
            continue;
        };
        writeln!(out, "{}", first.text)?;
        let mut line = String::new();
        let mut shown = 0;
        for ((name, _), cell) in header.iter().skip(1).zip(rest) {
            let text = match (color, cell.color) {
                (true, Some(code)) => format!("\x1b[{code}m{}\x1b[0m", cell.text),
                _ => cell.text.clone(),
            };
            let pair = format!("{name} {}", cell.text);
            if shown > 0 && shown + 2 + pair.chars().count() > width {
                writeln!(out, "{line}")?;
                line.clear();
                shown = 0;
            }
            line.push_str(&format!("  {name} {text}"));
            shown += 2 + pair.chars().count();
        }
        if shown > 0 {
            writeln!(out, "{line}")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up() {
        let mut out = Vec::new();
        let rows = vec![
            vec![Cell::plain("unlocked"), Cell::plain("158")],
            vec![Cell::plain("mutex"), Cell::colored("200", GREEN)],
        ];
        write_table(
            &mut out,
            &[("mode", Align::Left), ("min", Align::Right)],
            &rows,
            false,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "mode      min\nunlocked  158\nmutex     200\n"
        );
    }

    #[test]
    fn a_table_too_wide_is_stacked_row_by_row() {
        let header = [
            ("mode", Align::Left),
            ("min", Align::Right),
            ("lost updates", Align::Left),
        ];
        let rows = vec![vec![
            Cell::plain("per-access"),
            Cell::plain("158"),
            Cell::plain("Sometimes (41/400)"),
        ]];
        let mut out = Vec::new();
        write_table_within(&mut out, &header, &rows, false, 40).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "mode        min  lost updates\nper-access  158  Sometimes (41/400)\n"
        );
        let mut out = Vec::new();
        write_table_within(&mut out, &header, &rows, false, 30).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "per-access\n  min 158\n  lost updates Sometimes (41/400)\n"
        );
    }

    #[test]
    fn colour_wraps_the_padded_cell() {
        let mut out = Vec::new();
        let rows = vec![vec![Cell::colored("7", RED)]];
        write_table(&mut out, &[("lost", Align::Right)], &rows, true).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "lost\n\x1b[31m   7\x1b[0m\n"
        );
    }
}
