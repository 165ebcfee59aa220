//! Hand-overs between `score`'s grading thread and its I/O thread that poll a little before
//! they sleep.
//!
//! A thread that blocks on a channel sleeps and its CPU goes idle; waking it again is a
//! system call for the sender and, on a virtual machine whose idle CPUs halt, a trip through
//! the hypervisor before the woken thread runs. With a cheap grader the two threads hand a
//! chunk over every few hundred microseconds and most waits are short. Each of the two has
//! a CPU of its own (see `pin`), so a wait first polls the channel for up to [`SPIN`] —
//! taking nothing from the other thread — and only then blocks. A thread whose last wait
//! outlasted the poll (the I/O thread beside a slow grader may wait longer per chunk) blocks
//! at once the next time: see [`Waiter`]. Measured in BENCHMARKS.md ("#17 lines3", "#17
//! warm7").

use std::sync::mpsc::{Receiver, RecvError, SendError, SyncSender, TryRecvError, TrySendError};
use std::time::{Duration, Instant};

/// Longest poll before a wait blocks. 30, 50 and 100 µs measured the same under load
/// ("#17 lines3"); on a quiet machine, where a sleeping thread's CPU halts and waking it is
/// what costs, 1 ms made one pass over 2,000 pairs ~15–20 % faster than 50 µs (rouge_l, bleu;
/// 5 ms: mixed), at the price of the waits' CPU time (#17 "warm7"). Only while the two
/// threads are pinned, at most `pin::PIN_FOR` into a run.
pub(super) const SPIN: Duration = Duration::from_millis(1);

/// Polls between two reads of the clock.
const POLLS: u32 = 32;

/// One thread's waits: spins while its recent waits were short enough for a spin to end them,
/// blocks at once after a wait that a spin would not have ended (and spins again after the
/// next short wait).
#[derive(Debug)]
pub(super) struct Waiter {
    /// Poll at all: only a thread with a CPU of its own does (`false`: plain blocking waits).
    on: bool,
    /// The last wait outlasted [`SPIN`].
    long: bool,
    /// Longest poll ([`SPIN`] unless [`Waiter::with_budget`] says otherwise).
    spin: Duration,
}

impl Waiter {
    /// The waits of a thread that has a CPU of its own (`on`), or not.
    pub(super) fn new(on: bool) -> Waiter {
        Waiter::with_budget(on, SPIN)
    }

    /// Like [`Waiter::new`], polling up to `spin` before a wait blocks.
    pub(super) fn with_budget(on: bool, spin: Duration) -> Waiter {
        Waiter {
            on,
            long: false,
            spin,
        }
    }

    /// Polls no more: the thread no longer has a CPU of its own.
    pub(super) fn stop(&mut self) {
        self.on = false;
    }

    fn budget(&self) -> Duration {
        match self.on && !self.long {
            true => self.spin,
            false => Duration::ZERO,
        }
    }

    /// Receives from `rx`, polling first.
    pub(super) fn recv<T>(&mut self, rx: &Receiver<T>) -> Result<T, RecvError> {
        let start = Instant::now();
        let budget = self.budget();
        let mut round = 0;
        loop {
            match rx.try_recv() {
                Ok(v) => {
                    self.long = false;
                    return Ok(v);
                }
                Err(TryRecvError::Disconnected) => return Err(RecvError),
                Err(TryRecvError::Empty) => {}
            }
            if start.elapsed() >= budget {
                break;
            }
            pause(&mut round);
        }
        let r = rx.recv();
        self.long = start.elapsed() >= self.spin;
        r
    }

    /// Sends on `tx`, polling first while it is full.
    pub(super) fn send<T>(&mut self, tx: &SyncSender<T>, v: T) -> Result<(), SendError<T>> {
        let start = Instant::now();
        let budget = self.budget();
        let mut v = v;
        let mut round = 0;
        loop {
            match tx.try_send(v) {
                Ok(()) => {
                    self.long = false;
                    return Ok(());
                }
                Err(TrySendError::Disconnected(v)) => return Err(SendError(v)),
                Err(TrySendError::Full(back)) => v = back,
            }
            if start.elapsed() >= budget {
                break;
            }
            pause(&mut round);
        }
        let r = tx.send(v);
        self.long = start.elapsed() >= self.spin;
        r
    }
}

/// Waits a little between two polls; every [`YIELD_EVERY`]th time lets another thread
/// runnable on this CPU run (`sched_yield`: the writer thread split off mid-run has no CPU
/// of its own, and the thread that waits must not hold it back).
fn pause(round: &mut u32) {
    *round += 1;
    if (*round).is_multiple_of(YIELD_EVERY) {
        std::thread::yield_now();
    } else {
        for _ in 0..POLLS {
            std::hint::spin_loop();
        }
    }
}

/// Polls between two yields.
const YIELD_EVERY: u32 = 4;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::sync::mpsc;

    /// Values come through polled and blocking waits alike, in order; a closed channel ends a
    /// wait of either kind; a long wait turns polling off until a short one.
    #[test]
    fn waits_poll_then_block_and_lose_nothing() {
        for on in [false, true] {
            let (tx, rx) = mpsc::sync_channel::<u32>(2);
            let sender = std::thread::spawn(move || {
                let mut w = Waiter::new(on);
                for i in 0..200 {
                    if i % 50 == 0 {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    w.send(&tx, i).unwrap();
                }
            });
            let mut w = Waiter::new(on);
            let got: Vec<u32> = std::iter::from_fn(|| w.recv(&rx).ok()).collect();
            assert_eq!(got, (0..200).collect::<Vec<_>>());
            assert!(sender.join().is_ok());
        }
        // A wait past the poll blocks at once next time. The value comes 2 ms after the
        // spawn; on a loaded machine this thread may start its wait later than that (then
        // the wait is short and `long` rightly stays unset), so the case is tried again until
        // a wait did outlast the poll.
        let mut w = Waiter::new(true);
        let mut seen_long = false;
        for _ in 0..100 {
            let (tx, rx) = mpsc::sync_channel::<u32>(1);
            let late = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(2));
                tx.send(7).unwrap();
            });
            let start = std::time::Instant::now();
            assert_eq!(w.recv(&rx).unwrap(), 7);
            let waited = start.elapsed();
            late.join().unwrap();
            if waited < SPIN {
                assert!(!w.long, "a short wait ({waited:?}) is not a long one");
            }
            if w.long {
                assert_eq!(w.budget(), Duration::ZERO);
                assert!(w.recv(&rx).is_err(), "the sender is gone");
                seen_long = true;
                break;
            }
        }
        assert!(seen_long, "a wait past the poll blocks at once next time");
        assert!(!Waiter::new(false).on);
        let mut w = Waiter::new(true);
        w.stop();
        assert_eq!(
            w.budget(),
            Duration::ZERO,
            "a stopped waiter blocks at once"
        );
    }
}
