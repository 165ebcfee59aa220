//! [`Stages::OneIo`]: `score --threads 1` grades on the calling thread beside one I/O thread,
//! which reads the input and writes the rows.
//!
//! How a run starts matters as much as how it goes on: one pass over a few thousand lines
//! lasts a few milliseconds (#17). A new thread first runs when the scheduler gives it a CPU:
//! on the CPU of the thread that started it (this one) when the machine packs threads
//! onto few CPUs, as the virtual machines measured here do, or on an idle CPU that has to be
//! woken first (a trip through the hypervisor when idle CPUs halt). Either took ~0.3–1.2 ms
//! after the I/O thread was started, while grading waited for the second chunk. So:
//!
//! - the I/O thread is placed on its CPU (see `pin`) by this thread, right after it is
//!   started, before it ever runs: it starts there, instead of starting here (once this
//!   thread waits) and moving itself;
//! - until it runs, this thread reads, grades and writes chunks itself, as
//!   [`Grading::inline`] does; the first chunk read after the I/O thread has started is
//!   handed to grading through the channel, and the input and the writer with it to the I/O
//!   thread, which takes them as soon as it is done with the buffers it is making (see
//!   [`IoThread::started`]). A short input may be done here entirely: the I/O thread then
//!   ends without work;
//! - the I/O thread polls for that hand-over rather than sleeping (see [`HANDOVER_SPIN`]);
//! - while it waits for its work and for the hand-over, it asks the CPU's features (see
//!   [`warm_cpu_features`]) and makes the chunk buffers of the first chunks, their pages
//!   mapped at once (see [`Ahead`]): the calling thread's first one, then its own. Made when
//!   the chunks needed them, they were most of a short run's page faults, paid while
//!   grading waited (#17 "io8");
//! - whenever it would wait, it maps a piece of the tables of the metrics graded instead
//!   (`gradekit_engine::metrics_idle_step`: METEOR's WordNet tables, ~120 page faults of a
//!   one-pass run over 2,000 new lines that the grading thread no longer takes; #17
//!   "meteor17").

use super::*;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::TryRecvError;
use std::sync::Mutex;

/// Longest the I/O thread polls for the hand-over once it runs (then it sleeps until it
/// comes): it comes after this thread has graded the chunk it is on, at most
/// [`ONE_IO_CHUNK_LINES`] lines (~0.2–1 ms); a sleeping thread's CPU halts in a virtual
/// machine, and waking it again costs about as much.
const HANDOVER_SPIN: Duration = Duration::from_millis(2);

/// What the calling thread hands the I/O thread once it runs: the input past the chunk just
/// sent to grading, and the writer.
struct Handover {
    source: read::Source,
    sink: Sink,
    /// Where the next chunks go to grading (`None`: the chunk sent was the last).
    tx: Option<mpsc::SyncSender<Result<Chunk>>>,
}

/// What the I/O thread ends with: `None` when it was never handed the run (it was all
/// graded and written on the calling thread).
type IoEnd = Result<Option<(Summary, progress::Progress)>>;

impl Grading<'_> {
    /// [`Stages::OneIo`] (see the module docs): chunks are read, graded and written here
    /// until the I/O thread runs; from then on the I/O thread keeps up to [`AHEAD`] chunks
    /// read ahead, and writes each graded chunk as soon as it is back, except while grading
    /// has no chunk queued: reading the next one comes first then. When grading turns out to
    /// wait for the I/O thread (a cheap grader: this thread idle more than [`SPLIT_IDLE`] of
    /// the time over [`SPLIT_WINDOW`] chunks), the writing moves to a thread of its own:
    /// reading, grading and writing then run at once, as with a pool.
    /// `io`: the I/O thread, when it was started early (see [`IoThread`]).
    pub(super) fn with_io_thread(
        &mut self,
        mut source: read::Source,
        mut sink: Sink,
        io: Option<IoThread>,
    ) -> Result<Finished> {
        let (tx, rx) = mpsc::sync_channel::<Result<Chunk>>(AHEAD);
        let (wtx, wrx) = mpsc::sync_channel::<(Batch, ChunkEnd)>(AHEAD);
        let idle = Arc::new(AtomicU64::new(0));
        let io = io.unwrap_or_else(|| IoThread::start(None));
        // Each thread on a CPU of its own (see `pin`), from the first chunk on.
        let pinning = io.pinning.clone();
        self.pinning = pinning.clone();
        let plan_here = Arc::new(AtomicBool::new(false));
        source.plan_elsewhere(Arc::clone(&plan_here));
        self.plan_here = Some(plan_here);
        let started = Arc::clone(&io.started);
        let ahead = Arc::clone(&io.ahead);
        let (start_tx, start_rx) = mpsc::sync_channel::<Handover>(1);
        let io = {
            let idle = Arc::clone(&idle);
            io.run(Box::new(move |ahead, made| {
                io_thread(start_rx, wrx, idle, pinning, ahead, made)
            }))
        };
        let Some((io, first)) = io else {
            anyhow::bail!("internal: the input and output thread was given work twice");
        };
        // The first buffers the I/O thread made, when they are ready.
        let mut spare = Some(first.unwrap_or_default());
        let mut ok = true;
        // This thread reads, grades and writes until the I/O thread has started.
        while let Some(chunk) = spare.take().and_then(|s| source.next_chunk(s)) {
            let Some(chunk) = readable(chunk) else {
                ok = false;
                break;
            };
            if !chunk.eof && started.load(Ordering::Acquire) {
                // A set the thread is making now stops mapping pages (see `Ahead::handed`).
                ahead.handed.store(true, Ordering::Release);
                // Cannot block (room for AHEAD chunks) nor fail (`rx` is alive).
                let _ = tx.send(Ok(chunk));
                let handover = Handover {
                    source,
                    sink,
                    tx: Some(tx),
                };
                // Cannot fail unless the I/O thread ended, which `join` below reports.
                let _ = start_tx.send(handover);
                let ok = self.serve(rx, wtx, Some(&idle));
                // Its result, not its end: the thread's exit (its stack handed back, the
                // wake of a thread waiting to join it) was ~60 µs more at the end of a run.
                let done = spin::Waiter::with_budget(self.pinning.is_some(), END_SPIN).recv(&io);
                self.release();
                return match done {
                    Ok(Ok(Some((summary, bar)))) => Ok((ok, summary, bar)),
                    Ok(Err(e)) => Err(e),
                    _ => Err(anyhow::anyhow!("the input and output thread failed")),
                };
            }
            let (end, last) = (ChunkEnd::of(&chunk), chunk.eof);
            let written = sink.write(self.grade(chunk, self.rows_here), end)?;
            match last {
                false => spare = Some(written),
                // The buffer goes back to the system with the process (see `io_thread`).
                true => std::mem::forget(written),
            }
        }
        // All of it was done here: the I/O thread ends as soon as it runs (it is not waited
        // for: the process exits without it).
        drop(start_tx);
        drop(io);
        self.release();
        let (summary, bar) = sink.finish()?;
        Ok((ok, summary, bar))
    }

    /// This thread may run on all of its CPUs again.
    fn release(&mut self) {
        if let Some(p) = self.pinning.take() {
            p.release_here();
        }
    }
}

/// Longest the calling thread polls for the I/O thread's result at the end of a run (the last
/// rows written, the checkpoint removed) before it sleeps until it comes.
const END_SPIN: Duration = Duration::from_millis(1);

/// Asks the CPU for its features, which the first call of `memchr`, `simdutf8` or a metric's
/// vector code does (`std_detect`, once per process): a dozen `cpuid` instructions, each a
/// trap to the hypervisor in a virtual machine, ~80 µs in all here (#17 "io8"). The I/O
/// thread does it first thing, while the calling thread checks the command line, compiles
/// the grader and opens the files, so that the first line it splits finds the answer ready.
fn warm_cpu_features() {
    #[cfg(target_arch = "x86_64")]
    let _ = std::hint::black_box(std::arch::is_x86_feature_detected!("avx2"));
}

/// The work of the I/O thread, given it once it is known (see [`IoThread::run`]), with the
/// chunk buffers it made meanwhile and how many it made.
type Job = Box<dyn FnOnce(&Ahead, usize) -> IoEnd + Send>;

/// Chunk buffers the I/O thread makes, their pages mapped, while it waits for its work and
/// for the hand-over (see `Spare::ahead`): the calling thread's first one, then its own,
/// [`read::MAX_BUFFERS`] at most. Made as the chunks need them, each was ~50 page faults
/// while grading waited for the first chunks (#17 "io8").
///
/// The first set, made before the thread has its work, is for the calling thread's first
/// chunk ([`read::FIRST_CHUNK_LINES`]) and maps that chunk's pages only (~26, not the ~52
/// of a set for [`ONE_IO_CHUNK_LINES`]): it is ready ~45 µs sooner, and the calling thread,
/// which takes it when it starts its first chunk, found it ready in 43–48 runs of 50 instead
/// of 30 (a chunk read into fresh memory took ~150–230 µs instead of ~45, #17 "rouge17").
/// When the thread takes that set for a chunk of its own instead (it started late), the
/// pages past the mapped ones fault in as the chunk uses them.
pub(super) struct Ahead {
    spares: Mutex<Vec<read::Spare>>,
    /// Bytes of a buffer (see [`read::ahead_bytes`]).
    bytes: usize,
    /// Raised by the calling thread as it hands the run over: a set being made stops mapping
    /// pages (see `Spare::ahead_until`), and the thread takes its work at once instead of
    /// after the rest of the set (~0.05 ms on average, while grading waits for its second
    /// chunk: #17 "rouge17").
    handed: AtomicBool,
    /// The two threads are pinned (see `pin`): waits poll before they sleep (see `spin`).
    /// Set by the calling thread right after it started the I/O thread, long before the
    /// I/O thread has made its buffers and waits (read as unset, it would only sleep sooner).
    poll: AtomicBool,
    /// The process may use two CPUs or more: while it waits, the I/O thread maps the tables of
    /// the metrics graded (`gradekit_engine::metrics_idle_step`), beside the grading thread
    /// rather than in turns with it.
    warm: bool,
}

impl Ahead {
    /// Makes one more set of buffers unless `made` reached [`read::MAX_BUFFERS`]; whether it
    /// made one. `first`: lines of the chunk the first set is for (see the type's docs).
    fn make(&self, made: &mut usize, first: usize) -> bool {
        if *made >= read::MAX_BUFFERS {
            return false;
        }
        let lines = match *made {
            0 => first,
            _ => ONE_IO_CHUNK_LINES,
        };
        let spare = read::Spare::ahead_until(self.bytes, lines, &self.handed);
        *made += 1;
        if let Ok(mut spares) = self.spares.lock() {
            spares.push(spare);
        }
        true
    }

    /// The first set of buffers made and not taken, if there is one.
    fn take(&self) -> Option<read::Spare> {
        let mut spares = self.spares.lock().ok()?;
        (!spares.is_empty()).then(|| spares.remove(0))
    }

    /// Every set of buffers made and not taken.
    fn take_all(&self) -> Vec<read::Spare> {
        self.spares
            .lock()
            .map(|mut s| std::mem::take(&mut *s))
            .unwrap_or_default()
    }
}

/// Waits for `rx`, making chunk buffers (see [`Ahead`]) while nothing came, then polling
/// up to `spin` once they are all made (when the threads are pinned: [`Ahead::poll`]).
/// Between the calling thread's set of buffers and the others, it maps the tables of the
/// metrics graded, a piece at a time ([`Ahead::warm`]): the grading thread reads them from
/// its first chunk on, and the later sets are needed only chunks later (or made when they
/// are). `first`: lines of the chunk the first set made is for.
fn recv_making<T>(
    rx: &mpsc::Receiver<T>,
    ahead: &Ahead,
    made: &mut usize,
    first: usize,
    spin: Duration,
) -> Option<T> {
    loop {
        match rx.try_recv() {
            Ok(v) => return Some(v),
            Err(TryRecvError::Disconnected) => return None,
            Err(TryRecvError::Empty)
                if *made >= 1 && ahead.warm && gradekit_engine::metrics_idle_step() => {}
            Err(TryRecvError::Empty) if ahead.make(made, first) => {}
            Err(TryRecvError::Empty) => {
                let poll = ahead.poll.load(Ordering::Acquire);
                return spin::Waiter::with_budget(poll, spin).recv(rx).ok();
            }
        }
    }
}

/// Longest the calling thread waits for the I/O thread's first chunk buffers once that
/// thread runs (see [`IoThread::first_set`]): they are mapped in ~50–70 µs, and a first
/// chunk read into fresh memory instead took ~100–190 µs longer (#17 "rouge17").
const FIRST_SET_WAIT: Duration = Duration::from_micros(100);

/// Longest the I/O thread, started early, polls for its work before it sleeps until it
/// comes (see [`HANDOVER_SPIN`]): the grader is compiled and the files opened meanwhile.
const JOB_SPIN: Duration = Duration::from_millis(2);

/// The I/O thread of [`Stages::OneIo`], started when a run is likely to have one, before
/// the grader is compiled and the files are opened (~0.2–0.5 ms): its start, and the wake of
/// the CPU it is to run on, overlap that. Dropped unused (the run has other stages, or
/// fails), it ends, and the calling thread gets its CPUs back.
pub(super) struct IoThread {
    /// Where the result of its work comes.
    done: Option<mpsc::Receiver<IoEnd>>,
    jobs: Option<mpsc::SyncSender<Job>>,
    /// The CPUs of the calling thread (already kept on its own) and of this thread.
    pinning: Option<Arc<pin::Pinning>>,
    /// The buffers it makes while it waits.
    ahead: Arc<Ahead>,
    /// Raised by the thread as it first runs. From then on the calling thread hands it the
    /// run (see [`Grading::with_io_thread`]) rather than reading, grading and writing more
    /// chunks itself: the thread takes the hand-over once the buffers it is making are made
    /// (its first set maps the region's huge page, ~0.2 ms), and the calling thread grades
    /// meanwhile. Waiting until it ran its work (as before) left the calling thread to write
    /// its first chunk and read the next alone whenever that chunk was read sooner, while
    /// the I/O thread, ready a few dozen microseconds later, waited for them (#17 "rouge15").
    started: Arc<AtomicBool>,
}

impl IoThread {
    /// Starts the thread, on a CPU of its own when there are two free (see `pin`); `size`:
    /// the input's, when known (the buffers it makes are no larger than it needs).
    pub(super) fn start(size: Option<u64>) -> IoThread {
        let (jobs, rx) = mpsc::sync_channel::<Job>(1);
        let (done_tx, done) = mpsc::sync_channel::<IoEnd>(1);
        let ahead = Arc::new(Ahead {
            spares: Mutex::new(Vec::new()),
            bytes: read::ahead_bytes(size, ONE_IO_CHUNK_LINES),
            handed: AtomicBool::new(false),
            poll: AtomicBool::new(false),
            warm: pin::cpus() >= 2,
        });
        let its = Arc::clone(&ahead);
        let started = Arc::new(AtomicBool::new(false));
        // Before the I/O thread exists (see `prefault::thread_statics`).
        prefault::thread_statics();
        let runs = Arc::clone(&started);
        // Not joined: its result comes through `done` (a panic drops the sender), and the
        // process may exit before the thread has (see `with_io_thread`).
        let thread = std::thread::spawn(move || {
            runs.store(true, Ordering::Release);
            warm_cpu_features();
            let mut made = 0;
            // The first set is the calling thread's (see `IoThread::run`).
            let first = read::FIRST_CHUNK_LINES;
            if let Some(job) = recv_making(&rx, &its, &mut made, first, JOB_SPIN) {
                let _ = done_tx.send(job(&its, made));
            }
        });
        // The CPUs are chosen after the spawn, and this thread is kept on its CPU after it:
        // the new thread starts meanwhile (~0.1 ms after `clone` here), and the choice (a read
        // of `/proc/loadavg`, ~30 µs) delayed everything it does first by as much (#17
        // "rouge15"). A thread inherits the CPUs of the one that starts it: started with all
        // of them, the system mostly puts it on an idle one at once; when it queues it here
        // instead (see `Pinning::after_spawn`), the placement moves it.
        let pinning = pin::Pinning::choose().map(Arc::new);
        if let Some(p) = &pinning {
            ahead.poll.store(true, Ordering::Release);
            // The I/O thread first: when it was queued on this CPU, it may run here before
            // this thread's own pinning returns (~0.6 ms seen) unless it has moved.
            p.place_io(&thread);
            p.grading_here();
        }
        IoThread {
            done: Some(done),
            jobs: Some(jobs),
            pinning,
            ahead,
            started,
        }
    }

    /// Gives the thread its work; where its result comes, and the first chunk buffers it
    /// made (see [`IoThread::first_set`]).
    fn run(mut self, job: Job) -> Option<(mpsc::Receiver<IoEnd>, Option<read::Spare>)> {
        // Taken before the thread has its work: until then, the sets it makes are the
        // calling thread's first one and then its own (see `Ahead`).
        let first = self.first_set(FIRST_SET_WAIT);
        if let Some(jobs) = self.jobs.take() {
            // Cannot fail unless the thread ended, which joining it reports.
            let _ = jobs.send(job);
        }
        // The pinning goes on with the stages (see `with_io_thread`).
        self.pinning = None;
        Some((self.done.take()?, first))
    }

    /// The first chunk buffers the thread made, for the calling thread's first chunk: when
    /// the thread runs and is making them on a CPU of its own (the two threads are pinned:
    /// [`Ahead::poll`]), they are polled for, up to `wait`; `None` when they are not made
    /// by then, or not being made elsewhere (the chunk is read into fresh memory). Unpinned,
    /// the thread may be queued behind this one, and yielding to it may mean yielding to
    /// anything else that runs for a time slice.
    fn first_set(&self, wait: Duration) -> Option<read::Spare> {
        let since = Instant::now();
        loop {
            if let Some(s) = self.ahead.take() {
                return Some(s);
            }
            let elsewhere =
                self.started.load(Ordering::Acquire) && self.ahead.poll.load(Ordering::Acquire);
            if !elsewhere || since.elapsed() >= wait {
                return None;
            }
            std::hint::spin_loop();
        }
    }
}

impl Drop for IoThread {
    /// Unused: the thread ends (it is not waited for), this thread may use all its CPUs.
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(p) = self.pinning.take() {
            p.release_here();
        }
    }
}

/// The I/O thread of [`Stages::OneIo`]: waits for the hand-over (see
/// [`Handover`]), then reads chunks into `tx` and writes graded chunks from `wrx`; `None` when
/// no hand-over came.
fn io_thread(
    start: mpsc::Receiver<Handover>,
    wrx: mpsc::Receiver<(Batch, ChunkEnd)>,
    grading_idle: Arc<AtomicU64>,
    mut pinning: Option<Arc<pin::Pinning>>,
    ahead: &Ahead,
    mut made: usize,
) -> IoEnd {
    let handover = recv_making(&start, ahead, &mut made, ONE_IO_CHUNK_LINES, HANDOVER_SPIN);
    let Some(Handover {
        mut source,
        mut sink,
        mut tx,
    }) = handover
    else {
        return Ok(None);
    };
    let mut io = OneIo::new(grading_idle);
    // The chunk sent with the hand-over, in the calling thread's buffers, and the buffers
    // made ahead that it did not take.
    io.in_flight = 1;
    io.spares = ahead.take_all();
    io.made = 1 + io.spares.len();
    // Graded chunks received and not written yet, in order.
    let mut graded = std::collections::VecDeque::new();
    let mut split = false;
    let mut waiter = spin::Waiter::new(pinning.is_some());
    while !split {
        if let Some(p) = pinning.take_if(|p| p.expired()) {
            p.release_here();
            waiter.stop();
        }
        while let Ok(g) = wrx.try_recv() {
            graded.push_back(g);
        }
        // Chunks sent to the grading thread and not back yet (one being graded).
        let ungraded = io.in_flight.saturating_sub(graded.len());
        // Reading comes first while the grading thread has no chunk queued: it waits
        // for nothing but the next chunk (while chunks double at the start, reading
        // one took longer than grading the one before).
        let read_first = ungraded <= 1 && io.in_flight < read::MAX_BUFFERS;
        let to_grade = tx
            .as_ref()
            .filter(|_| ungraded < AHEAD && (graded.is_empty() || read_first));
        if let Some(to_grade) = to_grade {
            // A set not made before the hand-over (it came early) is made like those: in
            // the region the first one mapped, its pages at once, not one fault at a time
            // while the chunk is read.
            let spare = io.spares.pop().unwrap_or_else(|| {
                io.made += 1;
                read::Spare::ahead(ahead.bytes, ONE_IO_CHUNK_LINES)
            });
            // The grading thread has no chunk queued beyond the one it grades: it takes this
            // one as soon as it is read, and reads its lines into their plans itself (see
            // `read::Source::plan_elsewhere`; its own flag moves planning only after it has
            // waited, and then a chunk or two too late). With a cheap grader this thread
            // bounds the run, and planning is most of reading a chunk: leaving it to the
            // grading thread whenever that one would be waiting for it next evens the two
            // threads' work (one pass over 2,000 rouge_l lines: stages 2.97 → 2.53 ms); a
            // costlier grader keeps chunks queued, and its chunks are planned here.
            if ungraded <= 1 {
                source.leave_next_unplanned();
            }
            match source.next_chunk(spare) {
                Some(chunk) => {
                    let last = chunk.as_ref().map_or(true, |c| c.eof);
                    if to_grade.send(chunk).is_err() || last {
                        tx = None;
                    }
                    io.in_flight += 1;
                }
                None => tx = None,
            }
        } else if let Some(g) = graded.pop_front() {
            split = io.write(&mut sink, g)?;
        } else if ahead.warm && gradekit_engine::metrics_idle_step() {
            // Nothing to read or write yet: a piece of a metric's tables is mapped for the
            // grading thread instead (METEOR's WordNet tables: ~120 page faults of a
            // 2,000-line run that the grading thread no longer takes; #17 "meteor17").
        } else {
            match waiter.recv(&wrx) {
                Ok(g) => graded.push_back(g),
                // Grading ended: every chunk it graded was received.
                Err(_) => {
                    // The run ends here (only `score`'s `main` runs these stages, once,
                    // and the process exits after it): the chunk buffers, a few
                    // megabytes of fresh mappings each freed by a `munmap` with its
                    // TLB shootdown while the grading thread is alive, go back to the
                    // system with the process instead (#17 "warm5": ~2 % of a
                    // one-pass run of 2,000 lines).
                    std::mem::forget(std::mem::take(&mut io.spares));
                    let r = sink.finish().map(Some);
                    return r;
                }
            }
        }
        // Only worth it while there is input left to read.
        split &= tx.is_some();
    }
    let Some(tx) = tx else {
        return Err(anyhow::anyhow!("internal: split with nothing left to read"));
    };
    let (spare_tx, spare_rx) = mpsc::sync_channel::<read::Spare>(8);
    for s in io.spares.drain(..) {
        let _ = spare_tx.try_send(s);
    }
    // Three threads from here on, on two CPUs or more: this one (reading) and the
    // writer it starts (which inherits this one's set) may run on any of them.
    if let Some(p) = pinning.take() {
        p.release_here();
    }
    let writer = std::thread::spawn(move || {
        for (batch, end) in graded.into_iter().chain(wrx) {
            let _ = spare_tx.try_send(sink.write(batch, end)?);
        }
        sink.finish()
    });
    read::read_chunks(source, &tx, Some(&spare_rx), io.made);
    drop(tx);
    writer
        .join()
        .map_err(|_| anyhow::anyhow!("the output writer thread failed"))?
        .map(Some)
}

/// The state of the one I/O thread of [`Stages::OneIo`].
pub(super) struct OneIo {
    /// Nanoseconds the grading thread waited for chunks.
    grading_idle: Arc<AtomicU64>,
    /// Start of the current window of [`SPLIT_WINDOW`] chunks: when, and the grading thread's
    /// waits by then.
    window: (Instant, u64),
    /// Buffers of written chunks, for the next chunks read.
    spares: Vec<read::Spare>,
    /// Chunks read and not written yet.
    in_flight: usize,
    /// Chunk buffers made (see [`read::MAX_BUFFERS`]).
    made: usize,
    written: usize,
}

impl OneIo {
    fn new(grading_idle: Arc<AtomicU64>) -> OneIo {
        OneIo {
            grading_idle,
            window: (Instant::now(), 0),
            spares: Vec::new(),
            in_flight: 0,
            made: 0,
            written: 0,
        }
    }

    /// Writes a graded chunk; true when writing should move to a thread of its own: the
    /// grading thread waited more than [`SPLIT_IDLE`] of a window of [`SPLIT_WINDOW`] chunks
    /// (windows start after the first ones, read while the chunks grow and the caches fill).
    fn write(&mut self, sink: &mut Sink, (batch, end): (Batch, ChunkEnd)) -> Result<bool> {
        self.in_flight = self.in_flight.saturating_sub(1);
        self.spares.push(sink.write(batch, end)?);
        self.written += 1;
        if !self.written.is_multiple_of(SPLIT_WINDOW) {
            return Ok(false);
        }
        let idle = self.grading_idle.load(Ordering::Relaxed);
        let (since, idle_then) = std::mem::replace(&mut self.window, (Instant::now(), idle));
        let waited = Duration::from_nanos(idle.saturating_sub(idle_then));
        Ok(self.written > SPLIT_WINDOW && waited > since.elapsed().mul_f64(SPLIT_IDLE))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The I/O thread runs the work it is given and sends its result; one dropped unused ends,
    /// and the calling thread has all of its CPUs back either way.
    #[test]
    fn the_io_thread_runs_its_work_or_ends_unused() {
        #[cfg(target_os = "linux")]
        let before = rustix::thread::sched_getaffinity(None).unwrap();
        let io = IoThread::start(None);
        // The pinning goes on with the stages, which release it at their end.
        let pinning = io.pinning.clone();
        let ran = Arc::new(AtomicBool::new(false));
        let r = Arc::clone(&ran);
        let (done, _) = io
            .run(Box::new(move |_, _| {
                r.store(true, Ordering::Release);
                Ok(None)
            }))
            .unwrap();
        assert!(matches!(done.recv(), Ok(Ok(None))));
        assert!(ran.load(Ordering::Acquire));
        if let Some(p) = pinning {
            p.release_here();
        }
        let io = IoThread::start(Some(1 << 20));
        drop(io);
        #[cfg(target_os = "linux")]
        assert_eq!(rustix::thread::sched_getaffinity(None).unwrap(), before);
        // A failing job's error comes back as the result.
        let (done, _) = IoThread::start(Some(0))
            .run(Box::new(|_, _| Err(anyhow::anyhow!("no"))))
            .unwrap();
        assert!(matches!(done.recv(), Ok(Err(_))));
    }

    /// The first chunk buffers the thread makes are for the calling thread's first chunk
    /// (sized for [`read::FIRST_CHUNK_LINES`] lines, half of [`ONE_IO_CHUNK_LINES`]), and once
    /// the thread runs they are waited for rather than missed.
    #[test]
    fn the_first_set_is_for_the_first_chunk_and_waited_for() {
        let io = IoThread::start(Some(1 << 20));
        let since = Instant::now();
        while !io.started.load(Ordering::Acquire) {
            assert!(since.elapsed() < Duration::from_secs(10), "never started");
            std::thread::yield_now();
        }
        // Pinned or not (the machine's load decides), once a set is made it is the first.
        while io.ahead.spares.lock().unwrap().is_empty() {
            assert!(since.elapsed() < Duration::from_secs(10), "no set made");
            std::thread::yield_now();
        }
        let first = io.first_set(Duration::ZERO);
        let lines = first.map(|s| s.lines.capacity());
        assert_eq!(lines, Some(read::FIRST_CHUNK_LINES));
        let pinning = io.pinning.clone();
        let (done, _) = io.run(Box::new(|_, _| Ok(None))).unwrap();
        assert!(matches!(done.recv(), Ok(Ok(None))));
        if let Some(p) = pinning {
            p.release_here();
        }
        // A thread that runs, pinned, and has not made its first set yet: it is waited for;
        // one that has not started, or is not pinned: it is not.
        let (done_tx, done) = mpsc::sync_channel::<IoEnd>(1);
        drop(done_tx);
        let io = IoThread {
            done: Some(done),
            jobs: None,
            pinning: None,
            ahead: Arc::new(Ahead {
                spares: Mutex::new(Vec::new()),
                bytes: 1 << 16,
                handed: AtomicBool::new(false),
                poll: AtomicBool::new(true),
                warm: false,
            }),
            started: Arc::new(AtomicBool::new(false)),
        };
        let not_waited = |io: &IoThread| {
            let since = Instant::now();
            io.first_set(Duration::from_secs(10)).is_none()
                && since.elapsed() < Duration::from_secs(5)
        };
        assert!(not_waited(&io));
        io.started.store(true, Ordering::Release);
        io.ahead.poll.store(false, Ordering::Release);
        assert!(not_waited(&io));
        io.ahead.poll.store(true, Ordering::Release);
        let ahead = Arc::clone(&io.ahead);
        let maker = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            ahead.make(&mut 0, 7)
        });
        let first = io.first_set(Duration::from_secs(10));
        assert_eq!(first.map(|s| s.lines.capacity()), Some(7));
        assert!(maker.join().unwrap());
    }

    /// The I/O thread says it runs as soon as it does, before it has any work (the calling
    /// thread then hands it the run rather than writing and reading more chunks itself).
    #[test]
    fn the_io_thread_says_it_started_before_it_has_work() {
        let io = IoThread::start(Some(1 << 20));
        // Its waits poll exactly when the two threads are pinned (chosen after the spawn).
        assert_eq!(io.ahead.poll.load(Ordering::Acquire), io.pinning.is_some());
        let started = Arc::clone(&io.started);
        let since = Instant::now();
        while !started.load(Ordering::Acquire) {
            assert!(since.elapsed() < Duration::from_secs(10), "never started");
            std::thread::yield_now();
        }
        let pinning = io.pinning.clone();
        let (done, _) = io.run(Box::new(|_, _| Ok(None))).unwrap();
        assert!(matches!(done.recv(), Ok(Ok(None))));
        if let Some(p) = pinning {
            p.release_here();
        }
    }
}
