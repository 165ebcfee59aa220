//! Link options for the `gradekit` executable.
//!
//! `gradekit score` is started once per file, often on files of a few thousand lines that
//! take a few milliseconds, so its start-up is a visible share of a run (#17). The executable
//! stays position-independent (its code and data at a random address, as every distribution
//! builds programs that read untrusted input; `gradekit serve` is a network server), but its
//! ~15,000 relative relocations (vtables, string tables, the bundled SQLite) are stored
//! packed (`-z pack-relative-relocs`, glibc >= 2.36 and binutils >= 2.38 or lld): the table
//! the dynamic loader reads at every start shrinks from ~360 KB to ~9 KB. Linking `-no-pie`
//! instead saved ~0.25 ms more a start (no relocated pages to copy), measured in
//! BENCHMARKS.md ("#17 lines3"); we keep address randomisation. The option is used only where
//! the linker accepts it (checked once here), so older toolchains still build.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "linux" && linker_packs_relocations() {
        println!("cargo:rustc-link-arg-bin=gradekit=-Wl,-z,pack-relative-relocs");
    }
}

/// Whether the system linker (through `cc`) accepts `-z pack-relative-relocs`: GNU ld older
/// than 2.38 warns about an unknown `-z` option and ignores it, so the check looks for the
/// option in its help text instead of linking a test program.
fn linker_packs_relocations() -> bool {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());
    Command::new(cc)
        .args(["-Wl,--help"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("pack-relative-relocs"))
        .unwrap_or(false)
}
