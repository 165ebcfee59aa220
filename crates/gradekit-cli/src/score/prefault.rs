//! Memory made ready before it is needed: the chunk buffers the I/O thread of
//! `score --threads 1` fills first are mapped while it would otherwise wait (see
//! `one_io`), not a page fault at a time while grading waits for its chunks.
//!
//! A buffer of fresh memory costs a page fault per 4 KiB when it is first written; a chunk
//! buffer set (input and rows, plans) is ~50 pages, and the first few sets are made while the
//! run starts, when the grading thread waits for the I/O thread (#17 "io8": ~200 faults of a
//! 2,000-line run's ~450). `MADV_POPULATE_WRITE` (Linux 5.14) maps a range in one call,
//! without a trap per page; where the kernel lacks it, the pages fault in when written, as
//! before.

/// Maps the pages of `buf` now, as writing to them would, without changing their bytes.
pub(super) fn populate(buf: &mut [u8]) {
    #[cfg(target_os = "linux")]
    linux::populate(buf);
    #[cfg(not(target_os = "linux"))]
    let _ = buf;
}

/// Maps the pages of the first `most` bytes of the room `buf` has past its length (its
/// capacity not used yet).
pub(super) fn populate_spare_up_to(buf: &mut Vec<u8>, most: usize) {
    let spare = buf.spare_capacity_mut();
    #[cfg(target_os = "linux")]
    linux::populate_range(spare.as_mut_ptr() as usize, spare.len().min(most));
    #[cfg(not(target_os = "linux"))]
    let _ = spare;
}

#[cfg(target_os = "linux")]
mod linux {
    const PAGE: usize = 4096;

    pub(super) fn populate(buf: &mut [u8]) {
        populate_range(buf.as_mut_ptr() as usize, buf.len());
    }

    /// `start..start + len` must be memory of a buffer the caller holds a unique borrow of.
    #[allow(unsafe_code)]
    pub(super) fn populate_range(start: usize, len: usize) {
        // The whole pages inside the range (a partial page at either end is left to fault in).
        let first = start.next_multiple_of(PAGE);
        let end = start.saturating_add(len) / PAGE * PAGE;
        if end <= first {
            return;
        }
        // SAFETY: `first..end` lies inside the caller's buffer, memory this process owns and
        // holds a unique borrow of for the call (`populate`, `populate_spare_up_to`). MADV_POPULATE_WRITE only faults the range's pages in, as a
        // write of their own bytes would: it changes no byte, no mapping and no protection
        // (unlike MADV_DONTNEED or MADV_FREE), and fails (EINVAL on kernels before 5.14,
        // EFAULT/ENOMEM without memory) without side effects, which is then ignored.
        unsafe {
            libc::madvise(
                first as *mut libc::c_void,
                end - first,
                libc::MADV_POPULATE_WRITE,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Populating keeps every byte (fresh zeroed memory, then a written pattern, at any
    /// alignment and length), and on Linux maps the pages: this process's minor faults do
    /// not grow when they are written afterwards.
    #[test]
    fn populating_keeps_the_bytes_and_maps_the_pages() {
        let mut fresh = vec![0u8; 3 << 20];
        populate(&mut fresh[..]);
        assert!(fresh.iter().all(|&b| b == 0));
        let mut v: Vec<u8> = (0..100_003u32).map(|i| (i % 251) as u8).collect();
        for (lo, hi) in [(0, 0), (1, 2), (7, 5000), (4096, 8192), (13, 100_003)] {
            populate(&mut v[lo..hi]);
        }
        assert!(v.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8));
        let mut room = Vec::with_capacity(1 << 20);
        room.extend_from_slice(b"kept");
        populate_spare_up_to(&mut room, usize::MAX);
        populate_spare_up_to(&mut room, 5000);
        assert_eq!(
            (room.as_slice(), room.capacity() >= 1 << 20),
            (&b"kept"[..], true)
        );
        #[cfg(target_os = "linux")]
        {
            let faults = || {
                let s = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
                // minflt: the 10th field after the parenthesised name.
                let after = s.rsplit(')').next().unwrap_or_default();
                after
                    .split_whitespace()
                    .nth(7)
                    .and_then(|f| f.parse::<u64>().ok())
            };
            let mut buf = vec![0u8; 4 << 20];
            let populated = faults();
            populate(&mut buf[..]);
            let before = faults();
            for i in (0..buf.len()).step_by(4096) {
                buf[i] = 1;
            }
            let after = faults();
            if let (Some(_), Some(b), Some(a)) = (populated, before, after) {
                // Kernels before 5.14 refuse the advice: the pages then fault in as written.
                let refused = std::fs::read_to_string("/proc/sys/kernel/osrelease")
                    .ok()
                    .and_then(|r| {
                        let mut p = r.trim().split(['.', '-']).map(|x| x.parse::<u32>().ok());
                        Some((p.next()??, p.next()??))
                    })
                    .is_some_and(|v| v < (5, 14));
                assert!(
                    refused || a - b < 64,
                    "{} faults writing populated pages",
                    a - b
                );
            }
            assert!(buf.iter().step_by(4096).all(|&b| b == 1));
        }
    }
}
