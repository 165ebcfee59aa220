//! Log lines for what the server cut (slow clients, full connection table), rate-limited.
//!
//! An operator must be able to see that clients are being cut and why, but a slowloris attack
//! is thousands of connections: one line each would flood the log. At most [`BURST`] lines
//! are written per [`WINDOW`]; the next line after a window with suppressed lines says how
//! many were left out.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Lines written per window before the rest are counted instead.
const BURST: u32 = 10;
/// The rate-limit window.
const WINDOW: Duration = Duration::from_secs(10);

struct State {
    window_start: Option<Instant>,
    written: u32,
    suppressed: u64,
}

static STATE: Mutex<State> = Mutex::new(State {
    window_start: None,
    written: 0,
    suppressed: 0,
});

/// Writes `gradekit serve: <line>` to stderr unless the window's burst is spent.
pub(crate) fn note(line: impl FnOnce() -> String) {
    let now = Instant::now();
    let mut st = STATE.lock().unwrap_or_else(|e| e.into_inner());
    let fresh = st
        .window_start
        .is_none_or(|s| now.duration_since(s) >= WINDOW);
    let mut left_out = 0;
    if fresh {
        left_out = std::mem::take(&mut st.suppressed);
        st.window_start = Some(now);
        st.written = 0;
    }
    if st.written >= BURST {
        st.suppressed += 1;
        return;
    }
    st.written += 1;
    drop(st);
    if left_out > 0 {
        eprintln!(
            "gradekit serve: {left_out} more line(s) like the ones above were left out of the log"
        );
    }
    eprintln!("gradekit serve: {}", line());
}
