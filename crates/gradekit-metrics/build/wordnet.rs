//! Build-time tables of the wordnet data (see `build.rs`); nothing yet.

use std::path::Path;

/// Write this area's tables into `out` (read from `manifest`'s `data/`).
pub fn generate(_manifest: &Path, _out: &Path) -> std::io::Result<()> {
    Ok(())
}
