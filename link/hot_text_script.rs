//! The linker script `build.rs` makes of `link/hot_text.txt` (also compiled into the test
//! `tests/hot_text.rs`).

/// The linker script of `link/hot_text.txt` (see `hot_text` in `build.rs`): its entries, in its order, as
/// the input sections of an output section `.text.hot` placed before `.text`; `None` when it
/// has none. Lines: `sym P` (the sections `.text.P*`, and `.text.unlikely.P*`: LLVM's section
/// of a function marked cold), `libc M` / `libm M` (member M of
/// glibc's static `libc.a` / `libm*.a`), `crt F` (a start file); `#` comments. An entry with a
/// character other than letters, digits and `_.$-` is skipped (no linker script syntax
/// through it).
pub fn hot_text_script(list: &str) -> Option<String> {
    let mut body = String::new();
    for line in list.lines().map(str::trim) {
        let Some((kind, what)) = line.split_once(' ') else {
            continue;
        };
        let plain = !what.is_empty()
            && what
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.$-".contains(&b));
        let input = match kind {
            "sym" => format!("*(.text.{what}* .text.unlikely.{what}*)"),
            "libc" => format!("*libc.a:{what}(.text .text.*)"),
            "libm" => format!("*libm*.a:{what}(.text .text.*)"),
            "crt" => format!("*{what}(.text .text.*)"),
            _ => continue,
        };
        if plain {
            body.push_str("    ");
            body.push_str(&input);
            body.push('\n');
        }
    }
    (!body.is_empty()).then(|| {
        format!(
            "/* gradekit's build.rs, from link/hot_text.txt */\nSECTIONS\n{{\n  .text.hot :\n  {{\n{body}  }}\n}}\nINSERT BEFORE .text;\n"
        )
    })
}
