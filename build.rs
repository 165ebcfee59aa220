//! Link options for the `gradekit` executable.
//!
//! `gradekit score` is started once per file, often on files of a few thousand lines that
//! take a few milliseconds, so its start-up is a visible share of a run (#17). The options
//! here apply to that executable only (the libraries, the tests' own binaries and the Python
//! extension are linked the usual way), each only where the toolchain has what it needs
//! (checked once here), so other toolchains still build:
//!
//! - The executable stays position-independent (its code and data at a random address, as
//!   every distribution builds programs that read untrusted input; `gradekit serve` is a
//!   network server), but its ~15,000 relative relocations (vtables, string tables, the
//!   bundled SQLite) are stored packed (`-z pack-relative-relocs`, glibc 2.36 and binutils
//!   2.38 or lld, or later): the table applied at every start shrinks from ~360 KB to ~9 KB.
//!   Linking `-no-pie` instead saved ~0.25 ms more a start (no relocated pages to copy),
//!   measured in BENCHMARKS.md ("#17 lines3"); we keep address randomisation.
//! - glibc is linked in statically, the executable still position-independent
//!   (`-static-pie`, see [`static_glibc`]): no dynamic loader runs at start — no `libc.so.6`
//!   and `libm.so.6` to find, open and map, no symbol look-ups, no copy-on-write of their
//!   relocated pages. ~0.2–0.3 ms a start, measured in BENCHMARKS.md ("#17 start9"). What it
//!   costs: name look-ups (`getaddrinfo`: the judge client, `serve`) answer from
//!   `/etc/hosts` and DNS with glibc's built-in modules as before, but an NSS module that
//!   `/etc/nsswitch.conf` names besides `files` and `dns` (`mdns4_minimal`, `resolve`,
//!   `myhostname`) is loaded from the system at run time and must come from the glibc
//!   version the executable was linked with — true of a binary built where it runs (`cargo
//!   install`), not necessarily of one copied to another system. Set
//!   `GRADEKIT_DYNAMIC_GLIBC=1` when building to link glibc dynamically.
//! - Otherwise (glibc linked dynamically), the unwinder (what a panic uses) is linked in
//!   from GCC's static `libgcc_eh.a` instead of loaded from `libgcc_s.so.1` at every start:
//!   loading that library cost a file open and four mappings, its symbol lookups, and its
//!   constructor `__cpu_indicator_init`, which asks the CPU for its features with a dozen
//!   `cpuid` instructions (each traps to the hypervisor in a virtual machine, ~7 µs).
//!   ~0.1–0.15 ms a start, measured in BENCHMARKS.md ("#17 warm5"). Panics unwind and are
//!   caught the same (the same GCC unwinder code; statically linked glibc takes it from
//!   `libgcc_eh.a` too).

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=GRADEKIT_DYNAMIC_GLIBC");
    println!("cargo:rerun-if-env-changed=CC");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os != "linux" {
        return;
    }
    let packs = linker_packs_relocations();
    if packs {
        println!("cargo:rustc-link-arg-bin=gradekit=-Wl,-z,pack-relative-relocs");
    }
    if env != "gnu" {
        return;
    }
    // Built with `-C target-feature=+crt-static` already: rustc links glibc and the unwinder
    // statically itself.
    let crt_static = std::env::var("CARGO_CFG_TARGET_FEATURE")
        .is_ok_and(|f| f.split(',').any(|x| x == "crt-static"));
    if crt_static {
        return;
    }
    let dynamic = std::env::var_os("GRADEKIT_DYNAMIC_GLIBC").is_some_and(|v| v != "0");
    if !dynamic {
        if let Some(dir) = static_glibc(packs) {
            println!("cargo:rustc-link-arg-bin=gradekit=-L{}", dir.display());
            println!("cargo:rustc-link-arg-bin=gradekit=-static-pie");
            return;
        }
    }
    if has_static_unwinder() {
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

/// Where `cc` finds `name` (a library or start file of the toolchain), when it does: it
/// prints the bare name when it does not (clang without a GCC installation, musl toolchains).
fn toolchain_file(name: &str) -> Option<PathBuf> {
    let out = Command::new(cc())
        .arg(format!("-print-file-name={name}"))
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let p = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    (p.is_absolute() && p.is_file()).then_some(p)
}

/// Whether `cc` finds GCC's static unwinder `libgcc_eh.a`.
fn has_static_unwinder() -> bool {
    toolchain_file("libgcc_eh.a").is_some()
}

/// The libraries rustc links a `gnu` executable with (`-Bdynamic`), in its order.
const RUSTC_LIBS: [&str; 7] = ["gcc_s", "util", "rt", "pthread", "m", "dl", "c"];

/// Makes glibc's static archives what rustc's link of the executable finds, when the
/// toolchain can link and run a static position-independent executable (with its
/// relocations packed when `packs`); the directory to search first, or `None` (glibc is
/// then linked dynamically).
///
/// rustc links a `gnu` executable against the shared libraries (`-Bdynamic -lgcc_s -lutil
/// -lrt -lpthread -lm -ldl -lc`) unless the whole build has `-C target-feature=+crt-static`,
/// which cargo cannot give one executable of a package (and which, for the whole build,
/// refuses proc-macro crates). So this directory holds a linker script under each of those
/// names that stands for the static archive instead (`libc.so` is `GROUP(libc.a libgcc.a
/// libgcc_eh.a)`, as the toolchain's own `-static` link would take them), searched before
/// the system's directories; `-static-pie` then picks the static start files (`rcrt1.o`,
/// which relocates the executable itself) and no dynamic loader.
fn static_glibc(packs: bool) -> Option<PathBuf> {
    let target = std::env::var("TARGET").ok()?;
    let host = std::env::var("HOST").ok()?;
    // The probe below runs what it links.
    if target != host {
        return None;
    }
    let archive = |n: &str| toolchain_file(&format!("lib{n}.a"));
    let (c, gcc, eh) = (archive("c")?, archive("gcc")?, archive("gcc_eh")?);
    let dir = PathBuf::from(std::env::var_os("OUT_DIR")?).join("static-glibc");
    std::fs::create_dir_all(&dir).ok()?;
    let script = |name: &str, body: String| {
        std::fs::write(
            dir.join(format!("lib{name}.so")),
            format!("/* gradekit's build.rs: the static archive for -l{name} */\n{body}\n"),
        )
    };
    let files = |ps: &[&Path]| {
        ps.iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(" ")
    };
    for n in RUSTC_LIBS {
        let body = match n {
            "c" => format!("GROUP({})", files(&[&c, &gcc, &eh])),
            "gcc_s" => format!("INPUT({})", files(&[&eh])),
            // libm and, before glibc 2.34, the libraries split off libc; since then they are
            // empty archives kept for old link lines.
            _ => format!("INPUT({})", files(&[&archive(n)?])),
        };
        script(n, body).ok()?;
    }
    links_and_runs(&dir, packs).then_some(dir)
}

/// Whether a C program linked as the executable will be (`-static-pie`, these libraries,
/// packed relocations when `packs`) links and runs: the toolchain has the static start
/// files, and glibc's start-up applies packed relocations (glibc 2.36 or later).
fn links_and_runs(libs: &Path, packs: bool) -> bool {
    let src = libs.join("probe.c");
    let exe = libs.join("probe");
    let program = "#include <math.h>\n#include <stdio.h>\n#include <stdlib.h>\n\
        static const char *msg = \"ok\";\n\
        int main(int argc, char **argv) { (void)argv; double x = pow(2.0, argc + 0.5);\n\
        char *b = malloc(64); if (!b) return 1; snprintf(b, 64, \"%s %.3f\", msg, x);\n\
        return b[0] == 'o' && x > 2.8 ? 0 : 1; }\n";
    if std::fs::write(&src, program).is_err() {
        return false;
    }
    let mut link = Command::new(cc());
    link.arg(&src)
        .arg("-o")
        .arg(&exe)
        .arg(format!("-L{}", libs.display()))
        .args(["-pie", "-static-pie", "-nodefaultlibs", "-Wl,-Bdynamic"])
        // What rustc asks for, found as the scripts.
        .args(RUSTC_LIBS.map(|l| format!("-l{l}")));
    if packs {
        link.arg("-Wl,-z,pack-relative-relocs");
    }
    let linked = link.output().is_ok_and(|o| o.status.success());
    linked && Command::new(&exe).status().is_ok_and(|s| s.success())
}
