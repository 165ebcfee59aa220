//! The `gradekit` executable's global allocator: the system's, except for the large blocks a
//! thread asks for inside [`within`], which are cut from one 2 MiB region.
//!
//! Why: `score --threads 1` makes its first chunk buffer sets ahead of need, five sets of
//! ~400 KB (see `score::one_io`), and maps their pages at once. The system allocator gives
//! each such buffer a mapping of its own (a `mmap` call each, and as many mappings to tear
//! down at exit); here they share one.
//!
//! The region is made of ordinary 4 KiB pages, not a transparent huge page. A huge page was
//! ~0.2 ms cheaper to map than its 512 small ones when the kernel had one ready (#17
//! "fixed11"), but on virtual machines that hand free memory back to the host (free page
//! reporting: on the ones measured, every free 2 MiB block is reported), the huge page is
//! often a block the host has dropped, and zeroing it then makes the host find 512 pages at
//! once: 3.5–9 ms, up to hundreds of milliseconds when the host is short of memory, in about
//! half the runs started a second or more after the last (#17 "host15"). The I/O thread that
//! touched it was then stuck in the kernel for the whole run, the calling thread graded
//! everything alone, and the process could not exit before the I/O thread left the kernel: a
//! one-pass 2,000-line run took ~7 ms instead of ~3.7. Small pages come from the kernel's
//! per-CPU lists and small free blocks, which are not handed back.
//!
//! Blocks of at least [`MIN_BYTES`] asked for inside [`within`] are cut from the region one
//! after the other and never reused: a block freed stays unused (the buffers made there live
//! until the process exits), a block grown moves to the system allocator. Anything else, and
//! everything once the region is full or could not be made, is the system allocator's.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Bytes of the region: one huge page on x86-64.
pub const REGION_BYTES: usize = 2 << 20;

/// Least size of a block taken from the region: the buffers of a chunk, not the small
/// allocations made meanwhile.
pub const MIN_BYTES: usize = 16 << 10;

/// Start of the region; 0 until it is made, [`NO_REGION`] when it could not be.
static START: AtomicUsize = AtomicUsize::new(0);
const NO_REGION: usize = 1;
/// Bytes of the region handed out.
static USED: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    // Zero-initialized and without a destructor: reading it never allocates.
    static WITHIN: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with this thread's large blocks taken from the region (when this is the global
/// allocator and the region has room).
pub fn within<T>(f: impl FnOnce() -> T) -> T {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            WITHIN.set(self.0);
        }
    }
    let _reset = Reset(WITHIN.replace(true));
    f()
}

/// The global allocator of the `gradekit` executable (see the module docs).
#[derive(Debug)]
pub struct Alloc;

impl Alloc {
    /// Whether `p` points into the region.
    fn owns(p: *mut u8) -> bool {
        let start = START.load(Ordering::Acquire);
        let p = p as usize;
        start > NO_REGION && p >= start && p < start + REGION_BYTES
    }

    /// A block of the region for `layout`, or null: not asked inside [`within`], too small,
    /// no region, or no room left.
    fn take(layout: Layout) -> *mut u8 {
        if layout.size() < MIN_BYTES || !WITHIN.get() {
            return std::ptr::null_mut();
        }
        let start = match START.load(Ordering::Acquire) {
            0 => make_region(),
            s => s,
        };
        if start <= NO_REGION {
            return std::ptr::null_mut();
        }
        let mut used = USED.load(Ordering::Relaxed);
        loop {
            let at = (start + used).next_multiple_of(layout.align()) - start;
            let end = match at.checked_add(layout.size()) {
                Some(end) if end <= REGION_BYTES => end,
                _ => return std::ptr::null_mut(),
            };
            match USED.compare_exchange_weak(used, end, Ordering::Relaxed, Ordering::Relaxed) {
                // A block of the region's own memory, `layout.size()` bytes inside it, given
                // out once.
                Ok(_) => return (start + at) as *mut u8,
                Err(now) => used = now,
            }
        }
    }
}

/// Reserves the region (see the module docs); its start, or [`NO_REGION`].
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn make_region() -> usize {
    // SAFETY: a new private anonymous mapping: it aliases no memory of the program. It is
    // kept off huge pages (the kernel may otherwise give a 2 MiB mapping one where THP is
    // `always`): advice that changes no byte, and if refused the region is used as it is.
    // Its pages are mapped when the buffers cut from it are populated or written (see
    // `score::prefault`).
    let start = unsafe {
        let m = libc::mmap(
            std::ptr::null_mut(),
            REGION_BYTES,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        );
        if m == libc::MAP_FAILED {
            NO_REGION
        } else {
            libc::madvise(m, REGION_BYTES, libc::MADV_NOHUGEPAGE);
            m as usize
        }
    };
    match START.compare_exchange(0, start, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => start,
        Err(made) => {
            if start > NO_REGION {
                // SAFETY: the region just made, which no block was cut from.
                unsafe { libc::munmap(start as *mut libc::c_void, REGION_BYTES) };
            }
            made
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn make_region() -> usize {
    let _ = START.compare_exchange(0, NO_REGION, Ordering::AcqRel, Ordering::Acquire);
    NO_REGION
}

// SAFETY: every block is either the system allocator's, handed to and taken back from it
// with the same layout, or a part of the region given out once (see `Alloc::take`): at least
// `layout.size()` bytes aligned to `layout.align()`, never given out again, and fresh memory
// (zero) until its owner writes it. `owns` tells the two apart by address.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Alloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = Self::take(layout);
        match p.is_null() {
            true => unsafe { System.alloc(layout) },
            false => p,
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // The region's blocks are memory never written before: zero already.
        let p = Self::take(layout);
        match p.is_null() {
            true => unsafe { System.alloc_zeroed(layout) },
            false => p,
        }
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        // A block of the region is not reused.
        if !Self::owns(p) {
            unsafe { System.dealloc(p, layout) }
        }
    }

    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !Self::owns(p) {
            return unsafe { System.realloc(p, layout, new_size) };
        }
        if new_size <= layout.size() {
            return p; // it still fits where it is
        }
        // SAFETY (caller's): `new_size` with `layout.align()` is a valid layout.
        let grown = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        let q = unsafe { System.alloc(grown) };
        if !q.is_null() {
            // SAFETY: `p` holds `layout.size()` bytes, `q` at least as many; distinct blocks.
            unsafe { std::ptr::copy_nonoverlapping(p, q, layout.size()) };
        }
        q
    }
}

#[cfg(test)]
mod tests {
    #![allow(unsafe_code, clippy::unwrap_used)]
    use super::*;

    /// Large blocks asked for inside `within` come from the region, zeroed, aligned, one after
    /// the other; small ones, those asked for outside it, and those past its end are the
    /// system's; a region block grown moves and keeps its bytes, one shrunk stays.
    #[test]
    fn large_blocks_inside_within_come_from_the_region() {
        let a = Alloc;
        let big = Layout::from_size_align(100 << 10, 64).unwrap();
        let small = Layout::from_size_align(100, 8).unwrap();
        unsafe {
            let outside = a.alloc(big);
            assert!(!Alloc::owns(outside));
            a.dealloc(outside, big);
            let (p, q, s) = within(|| (a.alloc_zeroed(big), a.alloc(big), a.alloc(small)));
            #[cfg(target_os = "linux")]
            {
                assert!(Alloc::owns(p) && Alloc::owns(q), "{p:?} {q:?}");
                assert!(q as usize >= p as usize + big.size());
            }
            assert_eq!(p as usize % 64, 0);
            assert!(std::slice::from_raw_parts(p, big.size())
                .iter()
                .all(|&b| b == 0));
            assert!(!Alloc::owns(s));
            a.dealloc(s, small);
            // The flag is this thread's, and reset after `within`.
            assert!(!Alloc::owns(a.alloc(small)) && !WITHIN.get());
            std::ptr::write_bytes(q, 7, big.size());
            assert_eq!(a.realloc(q, big, 50 << 10), q);
            let moved = a.realloc(q, big, 300 << 10);
            assert!(!Alloc::owns(moved));
            assert!(std::slice::from_raw_parts(moved, big.size())
                .iter()
                .all(|&b| b == 7));
            a.dealloc(moved, Layout::from_size_align(300 << 10, 64).unwrap());
            a.dealloc(p, big);
            // Past its end, the system's.
            let huge = Layout::from_size_align(REGION_BYTES, 8).unwrap();
            let past = within(|| a.alloc(huge));
            assert!(!past.is_null() && !Alloc::owns(past));
            a.dealloc(past, huge);
        }
    }

    /// The region is kept off transparent huge pages (see the module docs): its mapping is
    /// advised `MADV_NOHUGEPAGE` (`nh` in smaps), never `MADV_HUGEPAGE` (`hg`), and holds no
    /// huge page once written.
    #[cfg(target_os = "linux")]
    #[test]
    fn the_region_is_kept_off_huge_pages() {
        let a = Alloc;
        let big = Layout::from_size_align(64 << 10, 64).unwrap();
        let p = within(|| unsafe { a.alloc(big) });
        assert!(Alloc::owns(p));
        unsafe { std::ptr::write_bytes(p, 1, big.size()) };
        let start = START.load(Ordering::Relaxed);
        // The smaps entry of the mapping holding the region: its range line, then its fields.
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let range = |l: &str| {
            let (lo, hi) = l.split_whitespace().next()?.split_once('-')?;
            Some((
                usize::from_str_radix(lo, 16).ok()?,
                usize::from_str_radix(hi, 16).ok()?,
            ))
        };
        let entry: Vec<&str> = smaps
            .lines()
            .skip_while(|l| !range(l).is_some_and(|(lo, hi)| lo <= start && start < hi))
            .skip(1)
            .take_while(|l| range(l).is_none())
            .collect();
        let field = |name: &str| {
            let line = entry.iter().find(|l| l.starts_with(name));
            line.unwrap_or_else(|| panic!("no {name} in {entry:?}"))
                .to_string()
        };
        let flags = field("VmFlags:");
        let flags: Vec<&str> = flags.split_whitespace().skip(1).collect();
        assert!(flags.contains(&"nh") && !flags.contains(&"hg"), "{flags:?}");
        let huge = field("AnonHugePages:");
        assert_eq!(huge.split_whitespace().nth(1), Some("0"), "{huge}");
    }
}
