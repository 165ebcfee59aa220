//! The `gradekit` binary; the command-line code is in `crates/gradekit-cli`.
//!
//! On Linux the executable starts without Rust's runtime start-up (`#![no_main]`: C's `main`
//! is defined here and calls `gradekit_cli::main_without_runtime`, which does the parts of
//! that start-up `gradekit` relies on; why, and what it keeps, in `crates/gradekit-cli/src/
//! start.rs`). Elsewhere, and in test builds, `main` is the usual Rust one.
#![cfg_attr(all(target_os = "linux", not(test)), no_main)]

/// Large buffers `score` makes ahead of need come from one region (see `gradekit_cli::arena`);
/// everything else is the system allocator's.
#[global_allocator]
static ALLOC: gradekit_cli::arena::Alloc = gradekit_cli::arena::Alloc;

/// C's `main`: glibc calls it after the dynamic loader and the C library's start-up.
#[cfg(all(target_os = "linux", not(test)))]
// `no_mangle` is what makes this function C's `main`: the symbol must be named exactly that,
// which is why the workspace's `unsafe_code` lint (it flags `no_mangle`) is allowed here.
// The function takes no pointer it reads (`argv` is read by std itself) and unwinds nowhere:
// `main_without_runtime` catches panics.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn main(
    _argc: std::ffi::c_int,
    _argv: *const *const std::ffi::c_char,
) -> std::ffi::c_int {
    gradekit_cli::main_without_runtime()
}

/// The executable's entry point when glibc is linked in statically (`link/entry.s`; build.rs
/// makes it the entry point, `-e gradekit_entry`, only then): it maps the writable segments
/// that glibc's start-up relocates and writes in one system call each, then jumps to glibc's
/// `_start`. Plain assembly, run before anything of Rust or C. Also in the test harness of this
/// binary: build.rs's link arguments (the entry point among them) apply to it as well.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
// `global_asm!` is what the workspace's `unsafe_code` lint flags: the code runs before the
// relocations are applied, so it cannot be Rust.
#[allow(unsafe_code)]
mod entry {
    std::arch::global_asm!(include_str!("../link/entry.s"), options(att_syntax));
}

#[cfg(not(all(target_os = "linux", not(test))))]
fn main() -> std::process::ExitCode {
    gradekit_cli::main()
}
