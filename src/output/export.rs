//! Extra files a run writes beside its output on stdout (`--trace-svg`), all behind one list,
//! as hyperfine's `ExportManager` does. Adding one means a variant here, its option in `cli`,
//! and its renderer.

use std::path::PathBuf;

use super::svg::svg;
use crate::results::Report;

/// What an extra file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportKind {
    /// The traced timeline drawn as SVG.
    TraceSvg,
}

impl ExportKind {
    /// The option that asked for it, for error messages.
    pub fn option(self) -> &'static str {
        match self {
            ExportKind::TraceSvg => "--trace-svg",
        }
    }

    /// The file's bytes.
    pub fn render(self, report: &Report) -> Vec<u8> {
        match self {
            ExportKind::TraceSvg => svg(report).into_bytes(),
        }
    }
}

/// One extra file to write after the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    pub kind: ExportKind,
    pub path: PathBuf,
}

impl Export {
    /// Writes the file; on failure, the one line that says which and why.
    pub fn write(&self, report: &Report) -> Result<(), String> {
        std::fs::write(&self.path, self.kind.render(report)).map_err(|e| {
            format!(
                "cannot write {} {}: {e}",
                self.kind.option(),
                self.path.display()
            )
        })
    }
}
