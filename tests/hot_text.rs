//! The layout of the `gradekit` executable's code (`build.rs`, `link/hot_text.txt`): the
//! linker script made of the list, and, when the build applied it, the listed functions in
//! the output section `.text.hot`; and the size of its thread-local initial image.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../link/hot_text_script.rs"]
mod hot_text_script;
use hot_text_script::hot_text_script;

#[test]
fn the_list_becomes_input_sections_of_one_output_section() {
    let list = "# a comment\n\
        sym _ZN12gradekit_cli5score4scan4scan17h\n\
        libc memcpy.o\n\
        libm e_exp.o\n\
        crt rcrt1.o\n\
        sym _RNvCs1_3std4main\n\
        other x\n\
        sym bad)name\n\
        sym a*b\n\
        sym\n";
    let script = hot_text_script(list).unwrap();
    let inputs: Vec<&str> = script
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with('*'))
        .collect();
    assert_eq!(
        inputs,
        [
            "*(.text._ZN12gradekit_cli5score4scan4scan17h* .text.unlikely._ZN12gradekit_cli5score4scan4scan17h*)",
            "*libc.a:memcpy.o(.text .text.*)",
            "*libm*.a:e_exp.o(.text .text.*)",
            "*rcrt1.o(.text .text.*)",
            "*(.text._RNvCs1_3std4main* .text.unlikely._RNvCs1_3std4main*)",
        ]
    );
    assert!(script.contains(".text.hot :"), "{script}");
    assert!(
        script.trim_end().ends_with("INSERT BEFORE .text;"),
        "{script}"
    );
    assert_eq!(hot_text_script("# nothing\n\nsym a(b\n"), None);
}

/// A section header or symbol of a 64-bit little-endian ELF file.
fn u(b: &[u8], at: usize, n: usize) -> u64 {
    b[at..at + n]
        .iter()
        .rev()
        .fold(0, |v, &x| (v << 8) | u64::from(x))
}

/// The executable's sections: (name, address, offset, size, link).
fn sections(elf: &[u8]) -> Vec<(String, u64, usize, usize, usize)> {
    assert_eq!(
        &elf[..6],
        b"\x7fELF\x02\x01",
        "a 64-bit little-endian ELF file"
    );
    let (shoff, shentsize) = (u(elf, 0x28, 8) as usize, u(elf, 0x3a, 2) as usize);
    let (shnum, shstrndx) = (u(elf, 0x3c, 2) as usize, u(elf, 0x3e, 2) as usize);
    let header = |i: usize| &elf[shoff + i * shentsize..shoff + (i + 1) * shentsize];
    let names = header(shstrndx);
    let names_at = u(names, 0x18, 8) as usize;
    (0..shnum)
        .map(|i| {
            let h = header(i);
            let name_at = names_at + u(h, 0, 4) as usize;
            let end = elf[name_at..].iter().position(|&c| c == 0).unwrap();
            (
                String::from_utf8_lossy(&elf[name_at..name_at + end]).into_owned(),
                u(h, 0x10, 8),
                u(h, 0x18, 8) as usize,
                u(h, 0x20, 8) as usize,
                u(h, 0x28, 4) as usize,
            )
        })
        .collect()
}

#[test]
fn the_hot_functions_are_laid_out_together() {
    if option_env!("GRADEKIT_HOT_TEXT") != Some("1") {
        eprintln!("this build of gradekit has no hot text layout (see build.rs): nothing to check");
        return;
    }
    let elf = std::fs::read(env!("CARGO_BIN_EXE_gradekit")).unwrap();
    let secs = sections(&elf);
    let hot = secs.iter().find(|s| s.0 == ".text.hot").expect(".text.hot");
    let text = secs.iter().find(|s| s.0 == ".text").expect(".text");
    // The code of a run is ~1 MB of the ~10 MB, before the rest.
    assert!(hot.3 > 256 << 10 && hot.3 < text.3 / 2, "{hot:?} {text:?}");
    assert!(hot.1 < text.1);
    let (symtab, strtab) = match secs.iter().position(|s| s.0 == ".symtab") {
        Some(i) => (&secs[i], &secs[secs[i].4]),
        None => {
            eprintln!("no symbol table (a stripped build): the section alone was checked");
            return;
        }
    };
    // The functions of the list this build has (one renamed or inlined since the list was
    // made is not: it is then laid out as usual) lie in `.text.hot`, but for a few whose code
    // a symbol shares with another (a precompiled `std` function the linker keeps elsewhere).
    let list = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("link/hot_text.txt"),
    )
    .unwrap();
    let listed: std::collections::HashSet<&str> = list
        .lines()
        .filter_map(|l| l.strip_prefix("sym "))
        .collect();
    let (mut present, mut inside, mut outside) = (std::collections::HashSet::new(), 0, vec![]);
    for e in elf[symtab.2..symtab.2 + symtab.3].chunks_exact(24) {
        let name_at = strtab.2 + u(e, 0, 4) as usize;
        let end = elf[name_at..].iter().position(|&c| c == 0).unwrap();
        let name = String::from_utf8_lossy(&elf[name_at..name_at + end]);
        let p = pattern(&name);
        if e[4] & 0xf != 2 || !listed.contains(p) {
            continue; // not a function, or not listed
        }
        present.insert(p.to_owned());
        match (hot.1..hot.1 + hot.3 as u64).contains(&u(e, 8, 8)) {
            true => inside += 1,
            false => outside.push(name.into_owned()),
        }
    }
    assert!(
        outside.len() * 50 <= inside,
        "{} listed functions outside .text.hot ({inside} inside): {:?}",
        outside.len(),
        &outside[..outside.len().min(10)]
    );
    // Most of the list is in any build made soon after it.
    assert!(
        present.len() * 2 > listed.len(),
        "{} of {} listed",
        present.len(),
        listed.len()
    );
}

/// The executable's program headers: (type, flags, vaddr, memsz).
fn program_headers(elf: &[u8]) -> Vec<(u32, u32, u64, u64)> {
    let (phoff, phentsize, phnum) = (
        u(elf, 0x20, 8) as usize,
        u(elf, 0x36, 2) as usize,
        u(elf, 0x38, 2) as usize,
    );
    (0..phnum)
        .map(|i| {
            let h = &elf[phoff + i * phentsize..];
            (
                u(h, 0, 4) as u32,
                u(h, 4, 4) as u32,
                u(h, 0x10, 8),
                u(h, 0x28, 8),
            )
        })
        .collect()
}

/// With glibc linked statically, the executable starts at `gradekit_entry` (`link/entry.s`),
/// which maps each writable segment (RELRO, then `.data`/`.bss`) with one
/// `madvise(MADV_POPULATE_WRITE)` and applies the packed relative relocations before glibc's
/// `_start` runs. Checked on the ELF header, on a run (a relocation missed or applied twice
/// crashes it), and, where `strace` is installed, on the system calls of a run.
#[test]
fn the_entry_point_maps_and_relocates_before_glibc() {
    if option_env!("GRADEKIT_POPULATING_ENTRY") != Some("1") {
        eprintln!(
            "this build of gradekit keeps glibc's entry point (see build.rs): nothing to check"
        );
        return;
    }
    let exe = env!("CARGO_BIN_EXE_gradekit");
    let elf = std::fs::read(exe).unwrap();
    let secs = sections(&elf);
    if let Some(i) = secs.iter().position(|s| s.0 == ".symtab") {
        let (symtab, strtab) = (&secs[i], &secs[secs[i].4]);
        let entry = elf[symtab.2..symtab.2 + symtab.3]
            .chunks_exact(24)
            .find(|e| {
                let at = strtab.2 + u(e, 0, 4) as usize;
                elf[at..].starts_with(b"gradekit_entry\0")
            })
            .map(|e| u(e, 8, 8))
            .expect("the symbol gradekit_entry");
        assert_eq!(u(&elf, 0x18, 8), entry, "e_entry is gradekit_entry");
    }
    // The writable segments, in whole pages, in program-header order.
    let page = |a: u64| a / 4096 * 4096;
    let writable: Vec<u64> = program_headers(&elf)
        .into_iter()
        .filter(|h| h.0 == 1 && h.1 & 2 != 0)
        .map(|h| (h.2 + h.3).next_multiple_of(4096) - page(h.2))
        .collect();
    assert!(!writable.is_empty());
    // It relocated the executable once, as glibc would have: the program runs.
    let run = std::process::Command::new(exe)
        .arg("--version")
        .output()
        .unwrap();
    assert!(run.status.success(), "{run:?}");
    assert!(String::from_utf8_lossy(&run.stdout).starts_with("gradekit "));
    let Ok(traced) = std::process::Command::new("strace")
        .args(["-e", "trace=madvise,brk", exe, "--version"])
        .output()
    else {
        eprintln!("no strace here: the entry point and a run were checked");
        return;
    };
    if !traced.status.success() {
        // The run itself succeeded above: strace cannot trace here (no ptrace in a container).
        eprintln!("strace failed here: the entry point and a run were checked");
        return;
    }
    let calls = String::from_utf8_lossy(&traced.stderr);
    // The first system calls of the process (strace prints the `execve` only with `-e
    // trace=execve`): one populate per writable segment, before glibc's first `brk`.
    let first: Vec<&str> = calls
        .lines()
        .filter(|l| l.starts_with("madvise(") || l.starts_with("brk("))
        .take(writable.len())
        .collect();
    let lens: Vec<u64> = first
        .iter()
        .map(|l| {
            assert!(
                l.contains("MADV_POPULATE_WRITE") && l.ends_with("= 0"),
                "{calls}"
            );
            l.split(", ").nth(1).unwrap().parse().unwrap()
        })
        .collect();
    assert_eq!(lens, writable, "{calls}");
}

/// The thread-local variables with a non-zero initial value (`.tdata`) are an image the program
/// carries and copies into every thread of every run (the main thread's, the I/O thread's of
/// `score --threads 1`); zero-initialized ones (`.tbss`) are only cleared. A 16 KiB table
/// (bleu's `ln` memo) was all of it: such a table starts zeroed.
#[test]
fn the_thread_local_initial_image_is_small() {
    let elf = std::fs::read(env!("CARGO_BIN_EXE_gradekit")).unwrap();
    let tdata = sections(&elf)
        .into_iter()
        .find(|s| s.0 == ".tdata")
        .map_or(0, |s| s.3);
    assert!(tdata <= 2 << 10, ".tdata is {tdata} bytes");
}

/// A symbol as `link/hot_text.txt` names it: a Rust function's mangled path without its hash
/// (`_ZN…17h`), or its whole name without a `.llvm.N` suffix.
fn pattern(name: &str) -> &str {
    let name = name.split(".llvm.").next().unwrap_or(name);
    match name.rfind("17h") {
        Some(i)
            if name.starts_with("_ZN")
                && name.len() == i + 3 + 16 + 1
                && name.ends_with('E')
                && name[i + 3..i + 19].bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            &name[..i + 3]
        }
        _ => name,
    }
}
