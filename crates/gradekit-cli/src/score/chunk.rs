//! A chunk of `score`'s input: the lines the reader ([`super::read`]) hands to the grading
//! thread, and the buffers a written chunk hands back to be filled again.
//!
//! A chunk keeps its lines in one buffer (one allocation per chunk, not per line) with the
//! byte range and physical line number of each non-blank line.

use super::line;
use super::plan::{Planner, Plans};
use super::row::Outcome;
use std::ops::Range;
use std::sync::atomic::AtomicBool;

/// Lines per chunk; with [`CHUNK_BYTES`] the bound on input held in memory.
pub const CHUNK_LINES: usize = 2048;
/// Bytes per chunk, so that huge lines do not pile up.
pub const CHUNK_BYTES: usize = 8 << 20;

/// Default longest input line kept (`--max-line-bytes`).
pub const DEFAULT_MAX_LINE_BYTES: usize = 64 << 20;

/// Lines of input ready to grade, with where the input stands after them.
pub struct Chunk {
    pub(super) data: Vec<u8>,
    /// Physical line number (1-based) and byte range in `data` of each non-blank line.
    pub(super) lines: Vec<(u64, Range<usize>)>,
    /// Index in `lines` and size of each line that was too long to keep (its range is empty).
    pub(super) too_long: Vec<(usize, u64)>,
    pub(super) max_line: usize,
    pub last_line: u64,
    pub end_offset: u64,
    /// XXH3-64 of the input up to `end_offset` (see [`super::resume::hex`]).
    pub end_hash: u64,
    pub eof: bool,
    /// What each line grades as, read on the reader thread (when the run reads lines lean).
    pub plans: Option<Plans>,
    /// The lines are to be read into `plans` (emptied) by the grading thread: see
    /// [`super::read::Source::plan_elsewhere`] and [`Chunk::plan`].
    pub unplanned: bool,
    /// An empty vector for the chunk's results (reused from an earlier chunk when possible).
    pub results: Vec<Option<Outcome>>,
    /// The chunk's rows when the grading thread wrote them ([`super::Batch::Rows`]); an empty
    /// buffer otherwise (reused from an earlier chunk when possible).
    pub rows: Vec<u8>,
}

pub(super) fn too_long_message(size: u64, max: usize) -> String {
    format!(
        "the line is {size} bytes long, over the limit of {max} bytes (--max-line-bytes); it was not read"
    )
}

impl Chunk {
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// Makes the input buffer the rows buffer (and the rows buffer, empty, the input's): for a
    /// chunk read into its plans, whose input bytes are not needed any more. [`Chunk::line`]
    /// and [`Chunk::parse`] must not be asked after this.
    pub fn take_input_for_rows(&mut self) {
        std::mem::swap(&mut self.data, &mut self.rows);
        self.data.clear();
    }

    /// The physical line number (1-based) of the `i`th non-blank line.
    pub fn line_no(&self, i: usize) -> u64 {
        self.lines[i].0
    }

    /// The `i`th non-blank line: its number and its bytes (without the line break).
    pub fn line(&self, i: usize) -> (u64, &[u8]) {
        let (n, r) = &self.lines[i];
        (*n, self.data.get(r.clone()).unwrap_or_default())
    }

    /// The `i`th non-blank line, parsed (a line too long to keep is an error row).
    pub fn parse(
        &self,
        i: usize,
        sample_key: Option<&str>,
        parts: gradekit_model::SampleParts,
    ) -> line::Parsed {
        if let Ok(k) = self.too_long.binary_search_by_key(&i, |(k, _)| *k) {
            return line::Parsed::Invalid {
                id: None,
                code: "line_too_long",
                message: too_long_message(self.too_long[k].1, self.max_line),
            };
        }
        line::parse(self.line(i).1, sample_key, parts)
    }

    /// The chunk's buffers, for the reader to fill again (see [`Spare`]), with the results
    /// vector the chunk's results came in.
    pub fn into_spare(self, results: Vec<Option<Outcome>>) -> Spare {
        // A chunk that held a huge line does not keep its memory for the rest of the run.
        let keep = |cap: usize| cap <= 2 * CHUNK_BYTES;
        // Rows written into the input's own buffer (`sink::plan_rows`) leave it in `rows`:
        // it is the next chunk's input buffer again, kept at its length (its bytes past what
        // the next reads fill are never looked at; an emptied buffer would be zeroed again).
        let (data, rows) = match self.rows.len() > self.data.len() {
            true => (self.rows, self.data),
            false => (self.data, self.rows),
        };
        Spare {
            data: Some(data)
                .filter(|d| keep(d.capacity()))
                .unwrap_or_default(),
            lines: self.lines,
            plans: self.plans.filter(|p| keep(p.text.capacity())),
            results,
            rows: Some(rows)
                .filter(|r| keep(r.capacity()))
                .unwrap_or_default(),
        }
    }

    /// Reads the lines into their plans, when the reader left that to this thread
    /// ([`super::read::Source::plan_elsewhere`]): the plans the reader would have made.
    pub fn plan(&mut self, planner: &Planner) {
        let (true, Some(p)) = (self.unplanned, &mut self.plans) else {
            return;
        };
        p.clear(self.lines.len());
        p.text.reserve(self.data.len());
        let mut too_long = self.too_long.iter().peekable();
        for (i, (_, r)) in self.lines.iter().enumerate() {
            match too_long.next_if(|(k, _)| *k == i) {
                Some((_, n)) => {
                    p.push_invalid("line_too_long", too_long_message(*n, self.max_line))
                }
                None => p.push_line(&self.data[r.clone()], planner),
            }
        }
        self.unplanned = false;
    }

    /// Every line as (number, bytes).
    pub fn lines(&self) -> Vec<(u64, &[u8])> {
        (0..self.len()).map(|i| self.line(i)).collect()
    }
}

/// Bytes of a row, for the input buffer's pages mapped ahead ([`mapped_ahead`]): the rows
/// written into a chunk's input buffer (`super::sink::plan_rows`) reach further into it than
/// its lines do. The row of a one-metric grader without errors is ~1.09 KB (its `metadata`
/// alone ~0.9 KB), about twice a bench line.
pub(super) const ROW_BYTES_AHEAD: usize = 1152;

/// Bytes of text a line, for the plans' pages mapped ahead ([`mapped_ahead`]): the texts
/// (samples, observed values, ids) are most of a common line, ~480 bytes of a bench line's
/// ~530.
pub(super) const TEXT_BYTES_AHEAD: usize = 512;

/// Of a buffer set of `bytes` (see [`Spare::ahead`]) for `lines` lines, the bytes mapped at
/// once: of the input buffer, room for the lines' rows; of the plans' text room, for their
/// texts. Mapping all of the first and half of the second, sized for lines of 1 KiB and one
/// more read of 64 KiB (`super::read::ahead_bytes`), mapped ~40 % more pages than a chunk of
/// bench lines used (#17 "arena16": 72 pages a set, 51 used), each ~1.5 µs to map and ~0.4
/// µs to unmap at exit on the I/O thread, while the run starts.
pub(super) fn mapped_ahead(bytes: usize, lines: usize) -> (usize, usize) {
    (
        lines.saturating_mul(ROW_BYTES_AHEAD).min(bytes),
        lines.saturating_mul(TEXT_BYTES_AHEAD).min(bytes / 2),
    )
}

/// The buffers of a written chunk, handed back to the reader: a chunk is a megabyte or more,
/// and fresh memory for every chunk costs a page fault per 4 KiB.
#[derive(Default)]
pub struct Spare {
    pub(super) data: Vec<u8>,
    pub(super) lines: Vec<(u64, Range<usize>)>,
    pub(super) plans: Option<Plans>,
    pub(super) results: Vec<Option<Outcome>>,
    pub(super) rows: Vec<u8>,
}

impl Spare {
    /// Buffers for a chunk of up to `lines` lines made before they are needed, the pages a
    /// chunk of common lines uses mapped at once (see `super::prefault` and [`mapped_ahead`]):
    /// `bytes` of input (and of its rows, when they are written into it:
    /// `super::sink::plan_rows`), and as much room for the plans' texts.
    /// The two come from the region of `crate::arena` while it has room: the five sets of a
    /// run fit in its 2 MiB, one mapping instead of one each (its pages are small ones, not
    /// a huge page: see the `arena` module docs).
    pub fn ahead(bytes: usize, lines: usize) -> Spare {
        crate::arena::within(|| Self::made_ahead(bytes, lines, None))
    }

    /// [`Spare::ahead`], whose pages stop being mapped once `stop` is raised: a set made
    /// while its maker waits for other work, which takes that work as soon as it comes
    /// instead of after the ~50 pages of a set (~0.1 ms). The pages left fault in when
    /// the buffers are used.
    pub fn ahead_until(bytes: usize, lines: usize, stop: &AtomicBool) -> Spare {
        crate::arena::within(|| Self::made_ahead(bytes, lines, Some(stop)))
    }

    fn made_ahead(bytes: usize, lines: usize, stop: Option<&AtomicBool>) -> Spare {
        // Fresh memory, zeroed by the kernel (`calloc`): kept at this length, as a buffer
        // handed back is, so that reading into it does not zero it again.
        let mut data = vec![0u8; bytes];
        // The rest of each buffer faults in if it is used.
        let (rows, texts) = mapped_ahead(bytes, lines);
        let mut text = Vec::with_capacity(bytes);
        match stop {
            None => {
                super::prefault::populate(&mut data[..rows]);
                super::prefault::populate_spare_up_to(&mut text, texts);
            }
            Some(stop) => {
                let _ = super::prefault::populate_until(&mut data[..rows], stop)
                    && super::prefault::populate_spare_until(&mut text, texts, stop);
            }
        }
        let mut plans = Plans::default();
        plans.text = String::from_utf8(text).unwrap_or_default();
        Spare {
            data,
            lines: Vec::with_capacity(lines),
            plans: Some(plans),
            results: Vec::with_capacity(lines),
            rows: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::score::row::RowWriter;

    /// A line like the bench's (~530 bytes): a reference of ~250 bytes, the sample a little
    /// longer.
    fn bench_like(i: usize) -> String {
        let reference = format!(
            "Line {i}: Bruce Springsteen: Tracks, by Bruce Springsteen (Columbia). This four disc \
             collection of old songs--mainly unpublished material with a few B- sides--is said to \
             provide valuable insight into Springsteen's progression as an artist."
        );
        format!(
            "{{\"item\": {{\"reference\": \"{reference}\"}}, \"model_sample\": \"In short, {reference}\"}}"
        )
    }

    /// The pages a buffer set made ahead maps at once cover what a chunk of bench-like lines
    /// uses — its rows (written into the input buffer) and its plans' texts — and not much
    /// more (a page or two a buffer, and for a row a bit longer than the ones here).
    #[test]
    fn buffers_made_ahead_map_what_a_chunk_of_common_lines_uses() {
        let lines = 128;
        let bytes = super::super::read::ahead_bytes(None, lines);
        let (rows_mapped, texts_mapped) = mapped_ahead(bytes, lines);
        for metric in ["rouge_l", "meteor", "bleu", "fuzzy_match"] {
            let grader = gradekit_engine::compile(
                &serde_json::json!({"type": "text_similarity", "name": metric,
                    "evaluation_metric": metric, "input": "{{ sample.output_text }}",
                    "reference": "{{ item.reference }}"}),
                &Default::default(),
            )
            .unwrap();
            let planner = super::super::planner(&grader, None, false).unwrap();
            let (mut rows, mut plans, mut input) = (Vec::new(), Plans::default(), 0);
            for i in 0..lines {
                let line = bench_like(i);
                input += line.len() + 1;
                plans.push_line(line.as_bytes(), &planner);
                let line::Parsed::Grade { id, ctx } =
                    line::parse(line.as_bytes(), None, grader.sample_parts())
                else {
                    panic!("{line}")
                };
                let mut result = grader.grade(&ctx);
                // As long as a measured time gets.
                result.execution_time = 1.234_567_890_123_456_7e-5;
                RowWriter::new(&grader).graded(&mut rows, i as u64 + 1, id.as_ref(), &result);
            }
            assert!((500..560).contains(&(input / lines)), "{}", input / lines);
            let page = 4096;
            assert!(
                rows.len().max(input) <= rows_mapped && rows_mapped <= rows.len() + 8 * page,
                "{metric}: rows {} of {rows_mapped} mapped",
                rows.len()
            );
            assert!(
                plans.text.len() <= texts_mapped && texts_mapped <= plans.text.len() + 2 * page,
                "{metric}: texts {} of {texts_mapped} mapped",
                plans.text.len()
            );
        }
    }
}
