//! The streaming path's tables in memory: one zeroed allocation, its hot pages mapped at once.

use super::{Tables, S_MAX};

impl Tables {
    /// Zeroed tables, by the allocator (fresh pages), mapped at once but for order 5's region
    /// ([`Tables::hot_ranges`], [`populate_write`]: a 2,000-pair bleu run touches those 43
    /// pages anyway, each twice without it).
    pub(super) fn zeroed() -> Box<Tables> {
        let layout = std::alloc::Layout::new::<Tables>();
        #[allow(unsafe_code)]
        // SAFETY: `layout` has a non-zero size; all-zero bytes are a valid `Tables` (integer
        // arrays only); a non-null pointer from the global allocator for `Layout::new::<T>()`
        // is what `Box<T>` owns and frees. (`Box::new_zeroed` once the MSRV reaches 1.92.)
        // Exercised by every streaming-path test, which starts from these tables.
        unsafe {
            let p = std::alloc::alloc_zeroed(layout).cast::<Tables>();
            if p.is_null() {
                std::alloc::handle_alloc_error(layout);
            }
            for r in Tables::hot_ranges() {
                populate_write(p.cast::<u8>(), layout.size(), r);
            }
            Box::from_raw(p)
        }
    }

    /// Byte ranges of the tables that calls of orders up to 4 (bleu's and gleu's) use: token
    /// keys and the regions of orders 2 to 4, then tags and count rows. Order 5's region (32
    /// KiB) is used by no metric; it faults in on first use like any fresh memory.
    fn hot_ranges() -> [std::ops::Range<usize>; 2] {
        let grams = std::mem::offset_of!(Tables, grams);
        let tags = std::mem::offset_of!(Tables, tags);
        [
            0..grams + 3 * S_MAX * S_MAX * std::mem::size_of::<u16>(),
            tags..std::mem::size_of::<Tables>(),
        ]
    }
}

/// Maps the pages holding bytes `range` of the `len` bytes at `p` (memory this thread owns,
/// just allocated; pages only partly within it are left out) writable at once (Linux
/// `madvise(MADV_POPULATE_WRITE)`, 5.14+): one call instead of two page faults per page at
/// first touch — the loops read a slot before they write it, so a fresh page was first mapped
/// to the shared zero page, then copied on the write (83 faults over the 43 pages a 2,000-pair
/// bleu run touches). Changes no byte: a page already mapped is left as it is, a new one is
/// zero, as the allocator's zeroed memory is. A failure (an older kernel, no memory to spare
/// now) is ignored: the pages then fault in as before. Nothing on other systems.
fn populate_write(p: *mut u8, len: usize, range: std::ops::Range<usize>) {
    #[cfg(target_os = "linux")]
    {
        const MADV_POPULATE_WRITE: std::ffi::c_int = 23;
        const PAGE: usize = 4096;
        extern "C" {
            fn madvise(
                addr: *mut std::ffi::c_void,
                len: usize,
                advice: std::ffi::c_int,
            ) -> std::ffi::c_int;
        }
        let base = p as usize;
        let start = ((base + range.start) & !(PAGE - 1)).max(base.next_multiple_of(PAGE));
        let end = (base + range.end.min(len))
            .next_multiple_of(PAGE)
            .min((base + len) & !(PAGE - 1));
        if end > start {
            #[allow(unsafe_code)]
            // SAFETY: an advice on whole pages inside the allocation at `p` (never past its
            // first or last whole page), which nothing else refers to yet:
            // MADV_POPULATE_WRITE only maps the pages as a write would, without writing, and
            // changes no byte and no protection. Runs at the first streaming call of every
            // thread (every streaming-path test).
            unsafe {
                madvise(
                    start as *mut std::ffi::c_void,
                    end - start,
                    MADV_POPULATE_WRITE,
                );
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (p, len, range);
}

#[cfg(test)]
mod tests {
    use super::Tables;

    /// The tables come zeroed and, on Linux, already mapped: every whole page inside them is
    /// resident before anything touched it (`mincore`), so the first calls take no page
    /// faults. Fails if `populate_write` is dropped or advises anything else.
    #[test]
    fn tables_are_zero_and_mapped_at_once() {
        let t = Tables::zeroed();
        #[cfg(target_os = "linux")]
        {
            extern "C" {
                fn mincore(addr: *mut std::ffi::c_void, len: usize, vec: *mut u8) -> i32;
            }
            const PAGE: usize = 4096;
            let p = std::ptr::from_ref::<Tables>(&t) as usize;
            let ranges = Tables::hot_ranges();
            // Keys first, then orders 2 to 4, at least 150 KiB; tags and rows last.
            assert!(ranges[0].len() >= 150 << 10);
            assert_eq!(ranges[1].end, std::mem::size_of::<Tables>());
            for r in ranges {
                let start = ((p + r.start) & !(PAGE - 1)).max(p.next_multiple_of(PAGE));
                let end = (p + r.end)
                    .next_multiple_of(PAGE)
                    .min((p + std::mem::size_of::<Tables>()) & !(PAGE - 1));
                let mut resident = vec![0u8; (end - start) / PAGE];
                #[allow(unsafe_code)]
                // SAFETY: `start..end` are whole pages of the live allocation behind `t`;
                // `resident` has one byte per page, as mincore writes.
                let rc = unsafe {
                    mincore(
                        start as *mut std::ffi::c_void,
                        end - start,
                        resident.as_mut_ptr(),
                    )
                };
                assert_eq!(rc, 0);
                assert!(
                    resident.iter().all(|&r| r & 1 == 1),
                    "pages not mapped: {resident:?}"
                );
            }
        }
        assert!(t.keys.iter().all(|k| *k == [0, 0]));
        assert!(t.grams.iter().all(|&g| g == 0));
        assert!(t.tags.iter().all(|&g| g == 0));
        assert!(t.rows.iter().all(|&g| g == 0));
    }
}
