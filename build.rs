//! Link options for the `gradekit` executable.
//!
//! `gradekit score` is started once per file, often on files of a few thousand lines that
//! take a few milliseconds, so its start-up is a visible share of a run (#17). Two options
//! here, each used only where the toolchain has what it needs (checked once here), so other
//! toolchains still build:
//!
//! - The executable stays position-independent (its code and data at a random address, as
//!   every distribution builds programs that read untrusted input; `gradekit serve` is a
//!   network server), but its ~15,000 relative relocations (vtables, string tables, the
//!   bundled SQLite) are stored packed (`-z pack-relative-relocs`, glibc 2.36 and binutils
//!   2.38 or lld, or later): the table the dynamic loader reads at every start shrinks from ~360 KB
//!   to ~9 KB. Linking `-no-pie` instead saved ~0.25 ms more a start (no relocated pages to
//!   copy), measured in BENCHMARKS.md ("#17 lines3"); we keep address randomisation.
//! - The unwinder (what a panic uses) is linked in from GCC's static `libgcc_eh.a` instead of
//!   loaded from `libgcc_s.so.1` at every start: loading that library cost a file open and
//!   four mappings, its symbol lookups, and its constructor `__cpu_indicator_init`, which
//!   asks the CPU for its features with a dozen `cpuid` instructions (each traps to the
//!   hypervisor in a virtual machine, ~7 µs). ~0.1–0.15 ms a start, measured in BENCHMARKS.md
//!   ("#17 warm5"). Only this executable: the libraries and the Python extension are linked
//!   the usual way. Panics unwind and are caught the same (the same GCC unwinder code).

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os != "linux" {
        return;
    }
    if linker_packs_relocations() {
        println!("cargo:rustc-link-arg-bin=gradekit=-Wl,-z,pack-relative-relocs");
    }
    if env == "gnu" && has_static_unwinder() {
        // The whole archive: its objects are then linked before the libraries that would
        // otherwise provide `_Unwind_*` (`-lgcc_s`, which `--as-needed` then drops).
        println!(
            "cargo:rustc-link-arg-bin=gradekit=-Wl,--whole-archive,-Bstatic,-lgcc_eh,-Bdynamic,--no-whole-archive"
        );
    }
}

fn cc() -> String {
    std::env::var("CC").unwrap_or_else(|_| "cc".to_owned())
}

/// Whether the system linker (through `cc`) accepts `-z pack-relative-relocs`: GNU ld older
/// than 2.38 warns about an unknown `-z` option and ignores it, so the check looks for the
/// option in its help text instead of linking a test program.
fn linker_packs_relocations() -> bool {
    Command::new(cc())
        .args(["-Wl,--help"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("pack-relative-relocs"))
        .unwrap_or(false)
}

/// Whether `cc` finds GCC's static unwinder `libgcc_eh.a` (it prints the bare name when it
/// does not; clang without a GCC installation, musl toolchains).
fn has_static_unwinder() -> bool {
    Command::new(cc())
        .args(["-print-file-name=libgcc_eh.a"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .is_some_and(|p| {
            std::path::Path::new(&p).is_absolute() && std::path::Path::new(&p).is_file()
        })
}
