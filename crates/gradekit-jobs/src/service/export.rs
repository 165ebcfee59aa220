//! `gradekit jobs export`: a fine-tuned model or checkpoint copied out of the data directory.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// `gradekit jobs export`: copies the directory of a fine-tuned model (`ft:…`) or a checkpoint
/// (`ft:…:ckpt-step-N` or `ftckpt_…`) out of `data_dir` to `dest` (created; must not exist or
/// be empty). Returns the source directory.
pub fn export(data_dir: &Path, id: &str, dest: &Path) -> Result<PathBuf> {
    let store = crate::store::Store::open(&data_dir.join(crate::lifecycle::DB_NAME))?;
    let src = if let Some(c) = store.checkpoint(id)? {
        PathBuf::from(c.dir)
    } else if let Some(j) = store.job_by_model(id)? {
        j.model_dir
            .map(PathBuf::from)
            .ok_or_else(|| Error::not_found("model", format!("model {id:?} has no directory")))?
    } else {
        return Err(Error::not_found(
            "model",
            format!(
                "no fine-tuned model or checkpoint {id:?} in {}",
                data_dir.display()
            ),
        ));
    };
    if !src.is_dir() {
        return Err(Error::not_found(
            "model",
            format!("the directory of {id:?} ({}) is gone", src.display()),
        ));
    }
    if dest.exists() && std::fs::read_dir(dest)?.next().is_some() {
        return Err(Error::invalid(
            "invalid_value",
            "dest",
            format!("{} exists and is not empty", dest.display()),
        ));
    }
    copy_dir(&src, dest)?;
    Ok(src)
}

fn copy_dir(src: &Path, dest: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dest)?;
    for e in std::fs::read_dir(src)? {
        let e = e?;
        let t = e.file_type()?;
        let to = dest.join(e.file_name());
        if t.is_dir() {
            copy_dir(&e.path(), &to)?;
        } else if t.is_file() {
            std::fs::copy(e.path(), to)?;
        }
    }
    Ok(())
}
