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

use std::sync::atomic::{AtomicBool, Ordering};

/// Bytes mapped by one call of [`populate_until`] before it looks at its flag again: 8
/// pages, ~12 µs on the virtual machines measured (#17 "rouge17").
pub(super) const PIECE_BYTES: usize = 32 << 10;

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

/// [`populate`] [`PIECE_BYTES`] at a time, stopping once `stop` is raised (the pages not
/// mapped by then fault in when written, as without it); whether all of `buf` was mapped.
pub(super) fn populate_until(buf: &mut [u8], stop: &AtomicBool) -> bool {
    range_until(buf.as_mut_ptr() as usize, buf.len(), stop)
}

/// [`populate_spare_up_to`] [`PIECE_BYTES`] at a time, stopping once `stop` is raised;
/// whether all of it was mapped.
pub(super) fn populate_spare_until(buf: &mut Vec<u8>, most: usize, stop: &AtomicBool) -> bool {
    let spare = buf.spare_capacity_mut();
    range_until(spare.as_mut_ptr() as usize, spare.len().min(most), stop)
}

/// `start..start + len`: memory of a buffer the caller holds a unique borrow of. Pieces
/// end on page boundaries, so that no page is left between two of them.
fn range_until(start: usize, len: usize, stop: &AtomicBool) -> bool {
    let end = start.saturating_add(len);
    let mut at = start;
    while at < end {
        if stop.load(Ordering::Acquire) {
            return false;
        }
        let next = (at + 1).next_multiple_of(PIECE_BYTES).min(end);
        #[cfg(target_os = "linux")]
        linux::populate_range(at, next - at);
        at = next;
    }
    true
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

#[cfg(all(test, target_os = "linux"))]
mod until_tests {
    #![allow(unsafe_code, clippy::unwrap_used)]
    use super::*;

    /// Pages of `len` bytes at `p` in memory (`mincore`).
    fn resident(p: *mut u8, len: usize) -> usize {
        let mut v = vec![0u8; len.div_ceil(4096)];
        // SAFETY: `p..p + len` is a mapping of the caller's; `v` has a byte per page.
        let r = unsafe { libc::mincore(p.cast(), len, v.as_mut_ptr()) };
        assert_eq!(r, 0);
        v.iter().filter(|&&b| b & 1 == 1).count()
    }

    /// Populating until a flag maps every page while the flag is down, stops before the
    /// next piece once it is raised, and keeps the bytes either way.
    #[test]
    fn populating_stops_at_a_raised_flag() {
        let len = 64 * 4096;
        // SAFETY: a fresh private anonymous mapping, unmapped at the end; none of it is
        // mapped in until written or populated.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(p, libc::MAP_FAILED);
        // SAFETY: the mapping above, `len` bytes, used only through this slice.
        let buf = unsafe { std::slice::from_raw_parts_mut(p.cast::<u8>(), len) };
        let (down, up) = (AtomicBool::new(false), AtomicBool::new(true));
        let half = len / 2;
        assert!(!populate_until(&mut buf[..half], &up));
        assert_eq!(resident(buf.as_mut_ptr(), len), 0);
        buf[half + 5] = 7;
        assert!(populate_until(&mut buf[half..], &down));
        assert_eq!(resident(buf.as_mut_ptr(), len), half / 4096);
        let mut room: Vec<u8> = Vec::with_capacity(1 << 20);
        room.push(1);
        assert!(!populate_spare_until(&mut room, 100_000, &up));
        assert!(populate_spare_until(&mut room, 100_000, &down));
        assert_eq!((room.len(), room[0]), (1, 1));
        assert_eq!(buf[half + 5], 7);
        assert!(buf[..half].iter().all(|&b| b == 0));
        // SAFETY: the mapping made above, not used after this.
        unsafe { libc::munmap(p, len) };
    }
}
