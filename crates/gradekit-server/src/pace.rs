//! The pace a request body must keep: slow clients are cut, fast large uploads are not.
//!
//! A client that trickles its body a byte at a time costs it almost nothing and, without a
//! bound, holds its connection, its share of the body budget and — before this module — a
//! request slot until the request deadline (300 s): 300 such clients kept a server with 256
//! slots answering 429 for minutes. The rule is Apache `mod_reqtimeout`'s: the body gets
//! `--body-timeout` (default 20 s) from the end of its headers, plus one second for every
//! `--body-min-rate` bytes (default 64 KiB) that have arrived. At time `t` a client is therefore
//! cut when it has sent fewer than `(t - timeout) × min_rate` bytes: a 16 MiB body on loopback
//! (milliseconds) or over a 1 MB/s link (16 s) is never near the bound, a stalled or trickling
//! body is cut after the timeout, and a body that keeps the minimum rate may take until the
//! request deadline, which caps every body.
//!
//! Why not one fixed body deadline: it must be long enough for the largest body on the slowest
//! supported link, and a trickling client then holds its connection for all of it; the rate
//! term lets the fixed part be short. Why not an idle timeout between reads (nginx's
//! `client_body_timeout`): one byte every few seconds resets it forever.
//!
//! A cut body ends with a [`TooSlow`] error, recorded in a [`PaceReport`] so that whoever
//! answers (the guard for buffered JSON bodies, after the handler for streamed uploads) can
//! say 408 and log what was cut.

use axum::body::{Body, Bytes};
use http_body::{Body as HttpBody, Frame, SizeHint};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

/// How fast a body must arrive (see the module docs).
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    /// Time every body gets, from the end of its headers.
    pub timeout: Duration,
    /// Bytes per second that each earn one more second (0: no extension).
    pub min_rate: u64,
}

/// What a body that was cut had done.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TooSlow {
    pub received: u64,
    pub elapsed: Duration,
    /// The request deadline, not the pace, was what ran out.
    pub deadline: bool,
}

impl std::fmt::Display for TooSlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the request body arrived too slowly ({} bytes in {:.1} s)",
            self.received,
            self.elapsed.as_secs_f64()
        )
    }
}

impl std::error::Error for TooSlow {}

/// Set once when a [`Paced`] body is cut.
pub(crate) type PaceReport = Arc<OnceLock<TooSlow>>;

/// A body that fails with [`TooSlow`] when it falls behind its [`Pace`] or passes `hard`.
pub(crate) struct Paced {
    inner: Body,
    pace: Pace,
    start: Instant,
    hard: Option<Instant>,
    received: u64,
    /// Armed the first time the body is not ready: a body that is already in (most JSON
    /// bodies, sent with their headers) never touches the timer.
    sleep: Option<Pin<Box<Sleep>>>,
    /// Bytes arrived since the timer was last set.
    moved: bool,
    report: PaceReport,
}

impl Paced {
    /// Wraps `inner`, timed from now; `hard` is the request deadline.
    pub(crate) fn new(inner: Body, pace: Pace, hard: Option<Instant>) -> (Paced, PaceReport) {
        let start = Instant::now();
        let report = PaceReport::default();
        let p = Paced {
            inner,
            pace,
            start,
            hard,
            received: 0,
            sleep: None,
            moved: false,
            report: report.clone(),
        };
        (p, report)
    }

    /// The timer, armed at [`Self::allowed`] (re-armed when bytes arrived since).
    fn timer(&mut self) -> Pin<&mut Sleep> {
        let at = self.allowed();
        let moved = std::mem::take(&mut self.moved);
        let sleep = self
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
        if moved {
            sleep.as_mut().reset(at);
        }
        sleep.as_mut()
    }

    /// The latest time the body may still be arriving with what it has sent so far.
    fn allowed(&self) -> Instant {
        let earned = match self.pace.min_rate {
            0 => Duration::ZERO,
            r => Duration::from_secs_f64(self.received as f64 / r as f64),
        };
        let by_pace = self
            .start
            .checked_add(self.pace.timeout.saturating_add(earned))
            .unwrap_or_else(|| self.start + Duration::from_secs(86_400 * 365));
        match self.hard {
            Some(h) if h < by_pace => h,
            _ => by_pace,
        }
    }
}

impl HttpBody for Paced {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::BoxError>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(d) = frame.data_ref() {
                    this.received += d.len() as u64;
                    this.moved = true;
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => match this.timer().poll(cx) {
                Poll::Ready(()) => {
                    let now = Instant::now();
                    let cut = TooSlow {
                        received: this.received,
                        elapsed: now - this.start,
                        deadline: this.hard.is_some_and(|h| h <= now),
                    };
                    let _ = this.report.set(cut);
                    Poll::Ready(Some(Err(Box::new(cut))))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use tokio::sync::mpsc;

    fn pace(timeout_ms: u64, min_rate: u64) -> Pace {
        Pace {
            timeout: Duration::from_millis(timeout_ms),
            min_rate,
        }
    }

    /// A body fed by a channel: frames arrive when the test sends them.
    struct Chan(mpsc::Receiver<Bytes>);

    impl HttpBody for Chan {
        type Data = Bytes;
        type Error = std::convert::Infallible;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            self.0.poll_recv(cx).map(|b| b.map(|b| Ok(Frame::data(b))))
        }
    }

    fn channel() -> (mpsc::Sender<Bytes>, Body) {
        let (tx, rx) = mpsc::channel(4);
        (tx, Body::new(Chan(rx)))
    }

    #[tokio::test(start_paused = true)]
    async fn a_stalled_body_is_cut_after_the_timeout_plus_what_it_earned() {
        let (tx, body) = channel();
        let (mut p, report) = Paced::new(body, pace(1000, 1000), None);
        assert!(tx.send(Bytes::from(vec![b'x'; 500])).await.is_ok());
        assert!(matches!(p.frame().await, Some(Ok(_))));
        let t = Instant::now();
        // 500 bytes at 1000 B/s earned 0.5 s on top of the 1 s timeout.
        assert!(matches!(p.frame().await, Some(Err(_))));
        let waited = t.elapsed();
        assert!(
            waited >= Duration::from_millis(1400) && waited <= Duration::from_millis(1600),
            "{waited:?}"
        );
        assert!(report
            .get()
            .is_some_and(|r| r.received == 500 && !r.deadline));
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_keeps_the_rate_is_not_cut() {
        let (tx, body) = channel();
        let (mut p, report) = Paced::new(body, pace(1000, 1000), None);
        // 200 bytes every 100 ms = 2000 B/s for 5 s: well past the 1 s timeout.
        for _ in 0..50 {
            assert!(tx.send(Bytes::from(vec![b'x'; 200])).await.is_ok());
            assert!(matches!(p.frame().await, Some(Ok(_))));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        drop(tx);
        assert!(p.frame().await.is_none());
        assert!(report.get().is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn the_request_deadline_caps_the_pace() {
        let (_tx, body) = channel();
        let hard = Instant::now() + Duration::from_millis(300);
        let (mut p, report) = Paced::new(body, pace(10_000, 0), Some(hard));
        assert!(matches!(p.frame().await, Some(Err(_))));
        assert!(report.get().is_some_and(|r| r.deadline));
    }
}
