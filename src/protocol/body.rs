//! The memory a frame's body is read into.
//!
//! A body is up to [`MAX_BODY`](super::frame::MAX_BODY) bytes, and a search's first body is read
//! into memory that was never touched: every 4 KiB page of it is a page fault as `read` reaches
//! it, and on a 100 MB body those faults were a fifth of the command's whole run (26,000 of them,
//! about 3.5 µs each on a VM). On Linux a large buffer is therefore its own anonymous mapping,
//! sized to whole 2 MiB pages and advised `MADV_HUGEPAGE`: where transparent huge pages are
//! offered on request (`enabled` = `madvise`, the default of several distributions), the kernel
//! faults it in 2 MiB at a time. Where they are not (`never`, as Splunk recommends for its own
//! hosts), the advice is a no-op and the buffer behaves like any other. Elsewhere, and if the
//! mapping cannot be made, the buffer is a heap allocation.
//!
//! A buffer is taken at its declared length and an eighth more, as zeroed memory (untouched
//! pages, address space rather than resident memory), so a frame that declares a large length
//! and then ends early costs what was sent, and a buffer that fits the next body is reused.

use std::ops::{Deref, DerefMut};

/// Bodies at least this long get their own mapping; below it the heap is as good and a mapping
/// per small frame would be a system call each.
#[cfg(target_os = "linux")]
const MAPPED_FROM: usize = 4 << 20;

/// The huge page size the mapping is rounded to: x86_64's and aarch64's (with 4 KiB base pages)
/// PMD size. A mapping whose length is a multiple of it is placed on that boundary by recent
/// kernels, so all of it can be huge pages.
#[cfg(target_os = "linux")]
const HUGE_PAGE: usize = 2 << 20;

/// A frame body: `len` bytes at the front of memory that is reused from frame to frame.
#[derive(Default)]
pub struct BodyBuffer {
    memory: Memory,
    len: usize,
}

enum Memory {
    Heap(Vec<u8>),
    #[cfg(target_os = "linux")]
    Mapped(memmap2::MmapMut),
}

impl Default for Memory {
    fn default() -> Memory {
        Memory::Heap(Vec::new())
    }
}

impl Memory {
    fn bytes(&self) -> &[u8] {
        match self {
            Memory::Heap(v) => v,
            #[cfg(target_os = "linux")]
            Memory::Mapped(m) => m,
        }
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        match self {
            Memory::Heap(v) => v,
            #[cfg(target_os = "linux")]
            Memory::Mapped(m) => m,
        }
    }

    /// Zeroed memory of at least `capacity` bytes.
    fn zeroed(capacity: usize) -> Memory {
        #[cfg(target_os = "linux")]
        if capacity >= MAPPED_FROM
            && let Some(mapped) = huge_page_mapping(capacity)
        {
            return Memory::Mapped(mapped);
        }
        Memory::Heap(vec![0u8; capacity])
    }
}

/// An anonymous mapping of `capacity` bytes rounded up to whole huge pages, advised to be backed
/// by them; `None` if the kernel refused the mapping (then the heap serves).
#[cfg(target_os = "linux")]
fn huge_page_mapping(capacity: usize) -> Option<memmap2::MmapMut> {
    let len = capacity.checked_next_multiple_of(HUGE_PAGE)?;
    let mapped = memmap2::MmapMut::map_anon(len).ok()?;
    // EINVAL where the kernel has no transparent huge pages: the mapping serves as it is.
    let _ = mapped.advise(memmap2::Advice::HugePage);
    Some(mapped)
}

/// The capacity a new buffer for `len` bytes is taken with: an eighth more, because the frames
/// of one search differ in size by a few percent, and a buffer that fits the next one is reused
/// rather than taken (and faulted in) again. Headroom never written is address space, not memory.
pub(super) fn with_headroom(len: usize) -> usize {
    len + len / 8
}

impl BodyBuffer {
    /// Makes the buffer `len` bytes long, taking new memory only if it has less. The bytes are
    /// zeros or an earlier body's, not cleared: the caller reads over them.
    pub fn set_len(&mut self, len: usize) {
        if self.memory.bytes().len() < len {
            // The old memory goes first, so the peak is one body, not two.
            self.memory = Memory::default();
            self.memory = Memory::zeroed(with_headroom(len));
        }
        self.len = len;
    }

    /// Shortens the body to `len` bytes (no-op if it is shorter).
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }
}

impl Deref for BodyBuffer {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.memory.bytes()[..self.len]
    }
}

impl DerefMut for BodyBuffer {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.memory.bytes_mut()[..self.len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_keeps_its_memory_for_a_body_that_fits_and_is_replaced_for_one_that_does_not() {
        let mut b = BodyBuffer::default();
        assert!(b.is_empty());
        for (len, fill) in [(10usize, 1u8), (5, 2), (11, 3), (9 << 20, 4), (1, 5), (9 << 20, 6), (12 << 20, 7)] {
            b.set_len(len);
            assert_eq!(b.len(), len);
            b.fill(fill);
            assert!(b.iter().all(|&x| x == fill));
            b.truncate(len / 2);
            assert_eq!(b.len(), len / 2);
            b.truncate(len);
            assert_eq!(b.len(), len / 2, "truncate never lengthens");
        }
    }

    #[test]
    fn new_memory_is_zeroed_and_reused_memory_keeps_its_bytes() {
        let mut b = BodyBuffer::default();
        b.set_len(6 << 20);
        assert!(b.iter().all(|&x| x == 0));
        b[..3].copy_from_slice(b"abc");
        b.set_len(3);
        assert_eq!(&*b, b"abc", "a body that fits is read over the last one's bytes, not cleared");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn large_bodies_are_mapped_in_whole_huge_pages() {
        let mut b = BodyBuffer::default();
        b.set_len(1000);
        assert!(matches!(b.memory, Memory::Heap(_)));
        b.set_len(MAPPED_FROM);
        match &b.memory {
            Memory::Mapped(m) => {
                assert_eq!(m.len() % HUGE_PAGE, 0);
                assert!(m.len() >= with_headroom(MAPPED_FROM));
            }
            _ => panic!("a body of {MAPPED_FROM} bytes is not mapped"),
        }
    }
}
