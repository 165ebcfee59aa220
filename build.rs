//! Links the `gradekit` executable at a fixed address on Linux (`-no-pie`).
//!
//! Why: `gradekit score` is started once per file, often on files of a few thousand lines
//! that take a few milliseconds, so its start-up is a visible share of a run (#17). A
//! position-independent executable of this size carries ~15,000 relative relocations (vtables,
//! string tables, the bundled SQLite), which the dynamic loader applies at every start: it
//! reads the relocation table and writes ~230 KB of relocated data, a copy-on-write page fault
//! per 4 KiB. Linked at a fixed address, those pointers are final in the file and the
//! pages are mapped as they are read: ~50 page faults fewer, and measured ~0.25 ms less wall
//! time per run (an empty input: 1.9 ms to 1.6 ms; BENCHMARKS.md, "#17 lines3").
//!
//! The cost: the executable's own code and data are not placed at a random address (shared
//! libraries, the heap and the stacks still are). Only the binary is linked so: the libraries
//! (and the Python extension, a shared object) stay position-independent.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "linux" {
        println!("cargo:rustc-link-arg-bin=gradekit=-no-pie");
    }
}
