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
//! - The code a `score` run executes is laid out together at the start of the executable's
//!   code (`link/hot_text.txt`, see [`hot_text`]): ~27 code page faults a run instead of ~48,
//!   half the code pages mapped (and unmapped again at exit), measured in BENCHMARKS.md
//!   ("#17 fixed10").
//! - With glibc linked statically, the executable's entry point is `gradekit_entry`
//!   (`link/entry.s`, see [`populating_entry`]): it maps the writable segments with one
//!   `MADV_POPULATE_WRITE` each and applies the packed relative relocations itself before
//!   jumping to glibc's `_start`; ~0.06–0.09 ms a start, measured in BENCHMARKS.md ("#17
//!   start14").
//! - Otherwise (glibc linked dynamically), the unwinder (what a panic uses) is linked in
//!   from GCC's static `libgcc_eh.a` instead of loaded from `libgcc_s.so.1` at every start:
//!   loading that library cost a file open and four mappings, its symbol lookups, and its
//!   constructor `__cpu_indicator_init`, which asks the CPU for its features with a dozen
//!   `cpuid` instructions (each traps to the hypervisor in a virtual machine, ~7 µs).
//!   ~0.1–0.15 ms a start, measured in BENCHMARKS.md ("#17 warm5"). Panics unwind and are
//!   caught the same (the same GCC unwinder code; statically linked glibc takes it from
//!   `libgcc_eh.a` too).

use std::path::{Path, PathBuf};

#[path = "link/hot_text_script.rs"]
mod hot_text_script;
use hot_text_script::hot_text_script;
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
    let packed = || packs.then(|| "-Wl,-z,pack-relative-relocs".to_owned());
    if !dynamic {
        if let Some(dir) = static_glibc(packs) {
            println!("cargo:rustc-link-arg-bin=gradekit=-L{}", dir.display());
            println!("cargo:rustc-link-arg-bin=gradekit=-static-pie");
            let link: Vec<String> = static_link_args(&dir).into_iter().chain(packed()).collect();
            populating_entry(&dir, link.clone());
            hot_text(link);
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
    hot_text(packed().into_iter().collect());
}

/// Lays out the code a `score` run executes together, at the start of the executable's code
/// (the output section `.text.hot`), when the list `link/hot_text.txt` exists and a C program
/// linked with the same options (`link`) and the layout's linker script links and runs.
///
/// Why: the code a run executes is scattered over ~10 MB (every crate's code in link order).
/// Each 64 KiB stretch of it a run enters for the first time costs a page fault, and the
/// kernel maps the 16 pages around (fault-around): ~48 faults and ~1,000 mapped pages of code
/// per run, the mappings undone again at exit. Laid out together (~1.3 MB), ~27 faults and
/// half the mapped pages, ~0.1 ms less of a run's fixed cost (BENCHMARKS.md "#17 fixed10").
/// The list names functions by their path without the build's hash (a linker script pattern
/// `.text.P*`: each function has a section of its own) and glibc's code by archive member, so
/// it holds across builds; a renamed function is laid out as usual until the list is
/// regenerated (`scripts/hot_text.py`). Only where the layout is: the order of code, not what
/// it does.
fn hot_text(link: Vec<String>) {
    let Some(dir) = std::env::var_os("OUT_DIR").map(PathBuf::from) else {
        return;
    };
    let list = Path::new(&std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default())
        .join("link")
        .join("hot_text.txt");
    println!("cargo:rerun-if-changed={}", list.display());
    let target = std::env::var("TARGET").unwrap_or_default();
    // The probe runs what it links.
    if target != std::env::var("HOST").unwrap_or_default() {
        return;
    }
    let Some(script) = std::fs::read_to_string(&list)
        .ok()
        .and_then(|l| hot_text_script(&l))
    else {
        return;
    };
    let path = dir.join("hot_text.ld");
    if std::fs::write(&path, script).is_err() {
        return;
    }
    let arg = format!("-Wl,-T,{}", path.display());
    let probe = dir.join("hot-text-probe");
    if std::fs::create_dir_all(&probe).is_ok()
        && probe_runs(&probe, link.into_iter().chain([arg.clone()]).collect())
    {
        println!("cargo:rustc-link-arg-bin=gradekit={arg}");
        // For the tests: the layout is in this build.
        println!("cargo:rustc-env=GRADEKIT_HOT_TEXT=1");
    }
}

/// Makes `gradekit_entry` (`link/entry.s`, assembled into the executable by `src/main.rs`)
/// the executable's entry point, when it links into a C program linked as the executable is
/// (`link`: glibc static, position-independent) and that program runs.
///
/// Why: glibc's start-up writes a relocated address into nearly every page of the RELRO
/// segment (~60 pages: vtables, panic locations, string tables, the GOT) and then writes the
/// pages of `.data` and `.bss`; each first write of a page is a page fault. The entry maps
/// the writable segments in one system call each (`MADV_POPULATE_WRITE`), then jumps to
/// glibc's `_start` (BENCHMARKS.md "#17 start14"). Only with glibc linked statically: the
/// dynamic loader relocates before any entry point of the executable runs.
fn populating_entry(dir: &Path, link: Vec<String>) {
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let asm = root.join("link").join("entry.s");
    println!("cargo:rerun-if-changed={}", asm.display());
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() != Ok("x86_64") {
        return;
    }
    let probe = dir.join("entry-probe");
    let arg = "-Wl,-e,gradekit_entry".to_owned();
    if std::fs::create_dir_all(&probe).is_ok()
        && probe_runs(
            &probe,
            link.into_iter()
                .chain([asm.display().to_string(), arg.clone()])
                .collect(),
        )
    {
        println!("cargo:rustc-link-arg-bin=gradekit={arg}");
        // For the tests: this build starts at `gradekit_entry`.
        println!("cargo:rustc-env=GRADEKIT_POPULATING_ENTRY=1");
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

/// The options of a static position-independent link against the libraries in `libs`.
fn static_link_args(libs: &Path) -> Vec<String> {
    [format!("-L{}", libs.display())]
        .into_iter()
        .chain(["-pie", "-static-pie", "-nodefaultlibs", "-Wl,-Bdynamic"].map(String::from))
        // What rustc asks for, found as the scripts.
        .chain(RUSTC_LIBS.map(|l| format!("-l{l}")))
        .collect()
}

/// Whether a C program linked as the executable will be (`-static-pie`, these libraries,
/// packed relocations when `packs`) links and runs: the toolchain has the static start
/// files, and glibc's start-up applies packed relocations (glibc 2.36 or later).
fn links_and_runs(libs: &Path, packs: bool) -> bool {
    let mut args = static_link_args(libs);
    if packs {
        args.push("-Wl,-z,pack-relative-relocs".to_owned());
    }
    probe_runs(libs, args)
}

/// Whether a C program (using libm and stdio) built in `dir` with the link options `args`
/// links and runs.
fn probe_runs(dir: &Path, args: Vec<String>) -> bool {
    let src = dir.join("probe.c");
    let exe = dir.join("probe");
    // A table of 200 addresses: relocations packed as bitmaps too (`-z pack-relative-relocs`),
    // each of which must be applied exactly once.
    let table = (0..200)
        .map(|i| format!("&xs[{i}]"))
        .collect::<Vec<_>>()
        .join(",");
    let program = format!(
        "#include <math.h>\n#include <stdio.h>\n#include <stdlib.h>\n\
        static const char *msg = \"ok\";\n\
        static int xs[200]; static int *ps[200] = {{{table}}};\n\
        int main(int argc, char **argv) {{ (void)argv; double x = pow(2.0, argc + 0.5);\n\
        for (int i = 0; i < 200; i++) if (ps[i] != &xs[i]) return 1;\n\
        char *b = malloc(64); if (!b) return 1; snprintf(b, 64, \"%s %.3f\", msg, x);\n\
        return b[0] == 'o' && x > 2.8 ? 0 : 1; }}\n"
    );
    if std::fs::write(&src, program).is_err() {
        return false;
    }
    let linked = Command::new(cc())
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .args(args)
        .arg("-lm")
        .output()
        .is_ok_and(|o| o.status.success());
    linked && Command::new(&exe).status().is_ok_and(|s| s.success())
}
