//! The engine ⇄ worker wire format (the Python side is `worker.py`).
//!
//! Every frame is `u32 LE payload length, u8 op, payload`. The init request is JSON; a batch
//! request is a list of `(sample, item)` tuples in CPython's `marshal` format (`marshal.rs`;
//! the harness decodes a whole frame with one `marshal.loads`, 2.5× cheaper than `json.loads`).
//! The batch reply is binary because it is tiny and fixed-shape: one record per pair,
//! `0, f64 LE` for a reward or `kind, u32 LE length, utf-8 details` for a failure.

use crate::PyOutcome;

pub(crate) const OP_INIT: u8 = b'I';
pub(crate) const OP_BATCH: u8 = b'B';
pub(crate) const OP_READY: u8 = b'R';
pub(crate) const OP_ERROR: u8 = b'E';

/// Largest reply frame the engine accepts (details are capped at ~4 KiB per record).
pub(crate) const MAX_REPLY: usize = 16 << 20;

pub(crate) const KIND_OK: u8 = 0;
pub(crate) const KIND_EXCEPTION: u8 = 1;
pub(crate) const KIND_BAD_RETURN: u8 = 2;
pub(crate) const KIND_TIMEOUT: u8 = 3;
pub(crate) const KIND_MEMORY: u8 = 4;

/// Starts a frame in `buf` (cleared); finish it with [`finish_frame`].
pub(crate) fn begin_frame(buf: &mut Vec<u8>, op: u8) {
    buf.clear();
    buf.extend_from_slice(&[0, 0, 0, 0, op]);
}

/// Writes the payload length into the header; `None` when the payload exceeds `u32`.
pub(crate) fn finish_frame(buf: &mut [u8]) -> Option<()> {
    let len = u32::try_from(buf.len().checked_sub(5)?).ok()?;
    buf.get_mut(..4)?.copy_from_slice(&len.to_le_bytes());
    Some(())
}

/// Splits one complete frame off the front of `buf[pos..]`: `Ok(Some((op, payload range,
/// next pos)))`, `Ok(None)` if more bytes are needed, `Err` when the announced size is too big.
pub(crate) fn split_frame(
    buf: &[u8],
    pos: usize,
) -> Result<Option<(u8, std::ops::Range<usize>, usize)>, usize> {
    let avail = buf.get(pos..).unwrap_or(&[]);
    let Some(hdr) = avail.get(..5) else {
        return Ok(None);
    };
    let len = u32::from_le_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]) as usize;
    if len > MAX_REPLY {
        return Err(len);
    }
    if avail.len() < 5 + len {
        return Ok(None);
    }
    let start = pos + 5;
    Ok(Some((hdr[4], start..start + len, start + len)))
}

#[derive(Debug)]
/// A decoded record: the outcome and whether the worker should be recycled after the batch.
pub(crate) struct Record {
    pub outcome: PyOutcome,
    pub recycle: bool,
}

/// Decodes a batch reply payload; `None` on any malformation.
pub(crate) fn parse_records(mut p: &[u8], expected: usize) -> Option<Vec<Record>> {
    let mut out = Vec::with_capacity(expected);
    while !p.is_empty() {
        let (&kind, rest) = p.split_first()?;
        if kind == KIND_OK {
            let bytes: [u8; 8] = rest.get(..8)?.try_into().ok()?;
            let v = f64::from_le_bytes(bytes);
            if !v.is_finite() {
                return None;
            }
            out.push(Record {
                outcome: PyOutcome::Reward(v),
                recycle: false,
            });
            p = &rest[8..];
            continue;
        }
        let lb: [u8; 4] = rest.get(..4)?.try_into().ok()?;
        let len = u32::from_le_bytes(lb) as usize;
        let text = rest.get(4..4usize.checked_add(len)?)?;
        let details = String::from_utf8_lossy(text).into_owned();
        let recycle = match kind {
            KIND_EXCEPTION | KIND_BAD_RETURN | KIND_TIMEOUT => false,
            KIND_MEMORY => true,
            _ => return None,
        };
        out.push(Record {
            outcome: PyOutcome::RuntimeError { details },
            recycle,
        });
        p = &rest[4 + len..];
    }
    (out.len() == expected).then_some(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn records_roundtrip_and_reject_garbage() {
        let mut p = vec![KIND_OK];
        p.extend_from_slice(&0.25f64.to_le_bytes());
        p.push(KIND_MEMORY);
        p.extend_from_slice(&3u32.to_le_bytes());
        p.extend_from_slice(b"mem");
        let r = parse_records(&p, 2).unwrap();
        assert_eq!(r[0].outcome, PyOutcome::Reward(0.25));
        assert!(r[1].recycle);
        assert!(parse_records(&p, 3).is_none());
        assert!(parse_records(&p[..p.len() - 1], 2).is_none());
        assert!(parse_records(&[9, 0, 0, 0, 0], 1).is_none());
        let mut nan = vec![KIND_OK];
        nan.extend_from_slice(&f64::NAN.to_le_bytes());
        assert!(parse_records(&nan, 1).is_none());
    }

    #[test]
    fn frames_split_only_when_complete() {
        let mut b = Vec::new();
        begin_frame(&mut b, OP_READY);
        b.extend_from_slice(b"{}");
        finish_frame(&mut b).unwrap();
        assert_eq!(split_frame(&b[..6], 0).unwrap(), None);
        let (op, range, next) = split_frame(&b, 0).unwrap().unwrap();
        assert_eq!((op, &b[range], next), (OP_READY, &b"{}"[..], 7));
        let mut huge = vec![0xff, 0xff, 0xff, 0x7f, OP_BATCH];
        huge.push(0);
        assert!(split_frame(&huge, 0).is_err());
    }
}
