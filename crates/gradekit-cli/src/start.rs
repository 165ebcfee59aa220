//! The process start of the `gradekit` executable on Linux, without Rust's runtime start-up.
//!
//! Why: `gradekit score` is started once per file, often on files of a few thousand lines that
//! take a few milliseconds (#17), and Rust's start-up (`std::rt::lang_start`) cost ~75 µs of
//! each start in this VM, most of it finding the main thread's stack for the stack-overflow
//! message: glibc's `pthread_getattr_np` reads and `sscanf`s `/proc/self/maps` (~0.1M
//! instructions, ~14 % of an empty `score` run's). The root `src/main.rs` is therefore
//! `#![no_main]` on Linux and calls [`main_without_runtime`], which does what that start-up
//! did that `gradekit` relies on, then [`crate::main`]:
//!
//! - standard streams 0–2 that are closed are opened on `/dev/null` (a file `gradekit`
//!   opens must never become its stdout or stderr);
//! - SIGPIPE is ignored, so that a write to a closed pipe is an error `gradekit` handles
//!   (`gradekit … | head` ends quietly with 0), not a signal that kills it;
//! - a panic ends the process with status 101, its message printed by the panic hook;
//! - stdout is flushed at the end.
//!
//! What is not kept: the stack-overflow message (an overflow is then a plain SIGSEGV instead
//! of an abort after "has overflowed its stack"; either way the process dies, and no input
//! reaches one), and the name `main` of the main thread in a panic's message.

use std::io::Write;
use std::process::ExitCode;

/// What `main` of a `#![no_main]` executable returns: the exit status of [`crate::main`].
pub fn main_without_runtime() -> i32 {
    open_standard_streams();
    ignore_sigpipe();
    let code = std::panic::catch_unwind(crate::main).unwrap_or(ExitCode::from(101));
    let _ = std::io::stdout().flush();
    status(code)
}

/// Opens `/dev/null` until the descriptor it gets is not one of 0–2: each one below 3 was a
/// closed standard stream and stays open on `/dev/null` (what Rust's start-up does with
/// `poll` and `open`). When `poll` finds all three open and quiet, as in nearly every run,
/// nothing is opened: that `open` of `/dev/null` and its `close` were two system calls and a
/// path look-up at every start.
fn open_standard_streams() {
    use std::os::fd::{AsRawFd, IntoRawFd};
    if all_open([0, 1, 2]) {
        return;
    }
    for _ in 0..3 {
        let Ok(null) = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/null")
        else {
            return;
        };
        if null.as_raw_fd() > 2 {
            return; // closed again on drop: every standard stream was open
        }
        // A standard stream from now on, for the life of the process, and of the processes it
        // starts (`File` opens with close-on-exec).
        let _ = rustix::io::fcntl_setfd(&null, rustix::io::FdFlags::empty());
        let _ = null.into_raw_fd();
    }
}

/// Whether the descriptors `fds` are all open, by one `poll` that waits for nothing: a closed
/// one reports `POLLNVAL`. Any report at all (also a hung-up pipe) or a failed call answers
/// false, and the caller checks by opening.
#[allow(unsafe_code)]
fn all_open(fds: [libc::c_int; 3]) -> bool {
    let mut fds = fds.map(|fd| libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    });
    // SAFETY: `poll` reads and writes the three `pollfd`s of `fds`, which this function owns,
    // for the length it is given; a timeout of 0 returns at once.
    let ready = unsafe { libc::poll(fds.as_mut_ptr(), 3, 0) };
    ready == 0
}

#[allow(unsafe_code)]
fn ignore_sigpipe() {
    // SAFETY: `signal` with `SIG_IGN` installs no handler code; it changes this process's
    // disposition of SIGPIPE before any other thread exists, exactly as Rust's start-up does.
    // There is no safe interface for it in std or in our dependencies.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
}

/// The exit status an [`ExitCode`] stands for (`ExitCode` has no stable accessor; it
/// compares equal to the `ExitCode::from` of its status).
fn status(code: ExitCode) -> i32 {
    (0..=u8::MAX)
        .find(|&v| ExitCode::from(v) == code)
        .map_or(1, i32::from)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn closed_descriptors_are_found() {
        use std::os::fd::AsRawFd;
        let f = std::fs::File::open("/dev/null").unwrap();
        let open = f.as_raw_fd();
        assert!(all_open([open, open, open]));
        // A descriptor number far above any this process opens: closed.
        for at in 0..3 {
            let mut fds = [open; 3];
            fds[at] = 40_000;
            assert!(!all_open(fds), "{fds:?}");
        }
    }

    #[test]
    fn exit_codes_map_to_their_status() {
        assert_eq!(status(ExitCode::SUCCESS), 0);
        assert_eq!(status(ExitCode::FAILURE), 1);
        for v in 0..=u8::MAX {
            assert_eq!(status(ExitCode::from(v)), i32::from(v));
        }
    }
}
