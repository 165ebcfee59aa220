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

/// Maps the pages of the calling thread's block of the executable's thread-locals
/// (`thread_local!` data) as writing them would, without changing a byte. Called before the
/// thread starts another one: a page of that block the thread reads first is mapped to the
/// kernel's shared zero page, and its first write then replaces the mapping, which must be
/// flushed from every CPU the process runs on. With the I/O thread of `score --threads 1`
/// on the other CPU, that was an inter-processor interrupt the grading thread waited for at
/// its first rouge_l call (a thread-local's first use reads its state, then writes it), in
/// every run (#17 "rouge18"); before the other thread exists, the flush stays on this CPU.
/// A no-op where the block cannot be found (see `statics::block`).
pub(super) fn thread_statics() {
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    if let Some((start, len)) = statics::block() {
        linux::populate_covering(start, len);
    }
}

/// Where the calling thread's block of the executable's thread-locals lies (x86-64 Linux).
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod statics {
    thread_local! {
        /// A thread-local of this executable: its address checks the block found.
        static HERE: std::cell::Cell<u8> = const { std::cell::Cell::new(0) };
    }

    /// `(start, len)` of the calling thread's block, which ends at its thread pointer (the
    /// x86-64 layout: the executable's block right below the thread control block, which
    /// `pthread_self` points to in glibc and musl), sized by the executable's `PT_TLS`
    /// header; `None` unless a thread-local of this executable lies inside it.
    pub(super) fn block() -> Option<(usize, usize)> {
        let (size, align) = segment()?;
        #[allow(unsafe_code)]
        // SAFETY: no preconditions; it returns the calling thread's handle.
        let tp = unsafe { libc::pthread_self() } as usize;
        let start = tp.checked_sub(size.checked_next_multiple_of(align.max(1))?)?;
        let here = HERE.with(|c| c.as_ptr() as usize);
        (start..tp).contains(&here).then_some((start, tp - start))
    }

    /// `p_memsz` and `p_align` of the executable's `PT_TLS` program header.
    #[allow(unsafe_code)]
    fn segment() -> Option<(usize, usize)> {
        // SAFETY: `getauxval` has no preconditions; 0 means the entry is absent.
        let (at, n) = unsafe {
            (
                libc::getauxval(libc::AT_PHDR),
                libc::getauxval(libc::AT_PHNUM),
            )
        };
        if at == 0 || n == 0 || at % std::mem::align_of::<libc::Elf64_Phdr>() as u64 != 0 {
            return None;
        }
        // SAFETY: the kernel's auxiliary vector gives the address and count of the
        // executable's program headers, mapped read-only for the life of the process.
        let headers =
            unsafe { std::slice::from_raw_parts(at as *const libc::Elf64_Phdr, n as usize) };
        let tls = headers.iter().find(|h| h.p_type == libc::PT_TLS)?;
        Some((
            usize::try_from(tls.p_memsz).ok()?,
            usize::try_from(tls.p_align).ok()?,
        ))
    }

    #[cfg(test)]
    pub(super) fn here() -> usize {
        HERE.with(|c| c.as_ptr() as usize)
    }
}

#[cfg(target_os = "linux")]
mod linux {
    const PAGE: usize = 4096;

    pub(super) fn populate(buf: &mut [u8]) {
        populate_range(buf.as_mut_ptr() as usize, buf.len());
    }

    /// Every page `start..start + len` touches, the partial ones at either end included (mapped
    /// memory of this process: populating changes none of their bytes, whoever uses them).
    #[cfg(target_arch = "x86_64")]
    pub(super) fn populate_covering(start: usize, len: usize) {
        let first = start / PAGE * PAGE;
        let end = start.saturating_add(len).next_multiple_of(PAGE);
        advise(first, end - first);
    }

    /// `start..start + len` must be memory of a buffer the caller holds a unique borrow of.
    pub(super) fn populate_range(start: usize, len: usize) {
        // The whole pages inside the range (a partial page at either end is left to fault in).
        let first = start.next_multiple_of(PAGE);
        let end = start.saturating_add(len) / PAGE * PAGE;
        if end <= first {
            return;
        }
        advise(first, end - first);
    }

    /// `MADV_POPULATE_WRITE` of the pages `first..first + len` (page-aligned).
    #[allow(unsafe_code)]
    fn advise(first: usize, len: usize) {
        let end = first + len;
        // SAFETY: `first..end` is memory of this process (`populate`, `populate_spare_up_to`:
        // a buffer the caller holds a unique borrow of; `thread_statics`: the pages of the
        // calling thread's thread-locals). MADV_POPULATE_WRITE only faults the range's pages
        // in, as a write of their own bytes would: it changes no byte, no mapping and no protection
        // (unlike MADV_DONTNEED or MADV_FREE), and fails (EINVAL on kernels before 5.14,
        // EFAULT/ENOMEM without memory or on a mapping that is not writable) without side
        // effects, which is then ignored.
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

    /// A fresh private anonymous mapping of `len` bytes (the caller unmaps it); none of it is
    /// mapped in until written or populated.
    pub(super) fn fresh_mapping(len: usize) -> *mut libc::c_void {
        // SAFETY: a new mapping chosen by the kernel; it aliases nothing.
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
        p
    }

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
        let p = fresh_mapping(len);
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

#[cfg(all(test, target_os = "linux", target_arch = "x86_64"))]
mod statics_tests {
    #![allow(unsafe_code, clippy::unwrap_used)]
    use super::*;

    /// This thread's minor faults so far.
    fn faults() -> u64 {
        let s = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
        // minflt: the 10th field, the 8th after the parenthesised name and state.
        let after = s.rsplit(')').next().unwrap();
        after.split_whitespace().nth(7).unwrap().parse().unwrap()
    }

    /// The block found holds this executable's thread-locals and ends at the thread
    /// pointer; populating a range maps every page it touches for writing — pages read
    /// before (mapped to the zero page) included — so that writing them takes no fault, and
    /// keeps their bytes; `thread_statics` runs on any thread.
    #[test]
    fn the_thread_locals_block_is_found_and_its_pages_mapped_for_writing() {
        let (start, len) = statics::block().unwrap();
        assert!((start..start + len).contains(&statics::here()));
        // SAFETY: no preconditions.
        assert_eq!(start + len, unsafe { libc::pthread_self() } as usize);
        std::thread::spawn(|| {
            let (s, l) = statics::block().unwrap();
            assert!((s..s + l).contains(&statics::here()));
            thread_statics();
        })
        .join()
        .unwrap();

        let pages = 64;
        let len = pages * 4096;
        let p = super::until_tests::fresh_mapping(len);
        let base = p as usize;
        let at = |i: usize| (base + i * 4096 + 7) as *mut u8;
        // Read first: each page is mapped to the zero page.
        let sum: u32 = (0..pages)
            // SAFETY: page `i` of the mapping above.
            .map(|i| u32::from(unsafe { std::ptr::read_volatile(at(i)) }))
            .sum();
        assert_eq!(sum, 0);
        // SAFETY: page 1 of the mapping above.
        unsafe { std::ptr::write_volatile(at(1), 9) };
        // A range from inside the first page to inside the last: every page.
        linux::populate_covering(base + 100, len - 4096);
        let before = faults();
        for i in 0..pages {
            // SAFETY: page `i` of the mapping above.
            unsafe { std::ptr::write_volatile(at(i).add(1), 1) };
        }
        let took = faults() - before;
        // (Reading the count may fault a page or two of its own.)
        assert!(
            took < 8,
            "{took} faults writing populated pages read before"
        );
        // SAFETY: the mapping above.
        assert_eq!(unsafe { std::ptr::read_volatile(at(1)) }, 9);
        // SAFETY: the mapping made above, not used after this.
        unsafe { libc::munmap(p, len) };
    }
}
