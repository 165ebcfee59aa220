//! The fused rouge_l path against the general tokenizer and LCS (the oracle).

use super::*;

fn fused_tokens(text: &str) -> Option<Vec<String>> {
    let mut b = Bitmap::default();
    if !b.fill(text.as_bytes()) {
        return None;
    }
    let mut out = Vec::new();
    for (s, e) in b.tokens() {
        out.push(text[s..e].to_ascii_lowercase());
    }
    assert_eq!(out.len(), b.tokens, "{text:?}");
    Some(out)
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Random text over pieces chosen to hit every corner: case, digits, separators, non-ASCII
/// (including the two special code points and E2/C4 lead bytes of other characters),
/// tokens of exactly 7/8/9/16/17 bytes sharing their first eight bytes, runs across
/// 64-byte block boundaries.
fn random_text(r: &mut Rng, max_pieces: usize) -> String {
    const PIECES: &[&str] = &[
        "a",
        "B",
        "cat",
        "Cat",
        "CAT",
        "the",
        "The",
        "0",
        "42",
        "x9",
        " ",
        "  ",
        ".",
        ",",
        "-",
        "_",
        "'",
        "\n",
        "\t",
        "é",
        "É",
        "ß",
        "東",
        "“",
        "”",
        "…",
        "€",
        "Ĳ",
        "ĭ",
        "abcdefg",
        "abcdefgh",
        "ABCDEFGH",
        "abcdefghi",
        "abcdefghj",
        "ABCDEFGHI",
        "abcdefghijklmnop",
        "abcdefghijklmnoq",
        "abcdefghijklmnopq",
        "ABCDEFGHIJKLMNOPQ",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "İ",
        "\u{212A}",
        "zz",
        "Zz",
        "\u{0}",
        "\u{7f}",
    ];
    let n = r.below(max_pieces + 1);
    let mut s = String::new();
    for _ in 0..n {
        s.push_str(PIECES[r.below(PIECES.len())]);
        if r.below(3) == 0 {
            s.push(' ');
        }
    }
    s
}

#[test]
fn bitmap_tokens_equal_the_tokenizer() {
    let mut r = Rng(0x9E37_79B9_7F4A_7C15);
    for round in 0..20_000 {
        let t = random_text(&mut r, if round % 10 == 0 { 200 } else { 30 });
        match fused_tokens(&t) {
            Some(tokens) => assert_eq!(tokens, super::super::tokenize(&t), "{t:?}"),
            None => assert!(t.contains('İ') || t.contains('\u{212A}'), "{t:?}"),
        }
    }
    for len in 0..300 {
        let t = "x".repeat(len);
        assert_eq!(fused_tokens(&t), Some(super::super::tokenize(&t)));
        let t = format!("{} y", "Q".repeat(len));
        assert_eq!(fused_tokens(&t), Some(super::super::tokenize(&t)));
    }
}

/// One reference against many inputs in a row (the table is reused), interleaved with
/// inputs that leave early (empty, special code points, other references).
#[test]
fn reused_reference_equals_general() {
    let mut r = Rng(0x1234_5678_9ABC_DEF1);
    for round in 0..3000 {
        let reference = random_text(&mut r, if round % 10 == 0 { 300 } else { 40 });
        for k in 0..6 {
            let input = match (round + k) % 9 {
                0 => String::new(),
                1 => "İ x".to_owned(),
                2 => reference.clone(),
                _ => random_text(&mut r, 60),
            };
            let got = super::super::rouge_l(&input, &reference);
            let want = super::super::rouge_l_general(&input, &reference);
            assert_eq!(got.to_bits(), want.to_bits(), "{input:?} / {reference:?}");
            if k == 3 {
                // another reference in between, then back to this one
                let other = random_text(&mut r, 40);
                assert_eq!(
                    super::super::rouge_l(&input, &other).to_bits(),
                    super::super::rouge_l_general(&input, &other).to_bits()
                );
            }
        }
    }
}

#[test]
fn fused_equals_general() {
    let mut r = Rng(0x2545_F491_4F6C_DD1D);
    let mut general = 0;
    // ROUGE_FUSED_CASES=N for a longer run (e.g. 1,000,000 in release).
    let cases: usize = std::env::var("ROUGE_FUSED_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30_000);
    for round in 0..cases {
        let max = match round % 20 {
            0 => 300, // beyond 64 tokens on both sides
            1 | 2 => 120,
            _ => 40,
        };
        let a = random_text(&mut r, max);
        let b = if round % 7 == 0 {
            // a close edit of `a`
            let mut b = a.to_uppercase();
            b.push_str(" extra words here");
            b
        } else {
            random_text(&mut r, if round % 5 == 0 { 300 } else { max })
        };
        for (i, rf) in [(&a, &b), (&b, &a)] {
            let want = super::super::rouge_l_general(i, rf);
            let got = with_fused(|f| match f.lcs(i, rf, false) {
                Outcome::Counts {
                    input,
                    reference,
                    lcs,
                } => Some(super::super::lcs_f(lcs, input, reference)),
                _ => None,
            });
            match got {
                Some(got) => assert_eq!(got.to_bits(), want.to_bits(), "{i:?} / {rf:?}"),
                None => general += 1,
            }
            assert_eq!(super::super::rouge_l(i, rf).to_bits(), want.to_bits());
        }
    }
    assert!(general > 0, "the special code points were never generated");
}

/// The small table (references of at most 64 tokens) at its edges: exactly 64 and 65 tokens,
/// many distinct tokens (long probe runs), tokens of 8/9/16/17/24/25+ bytes sharing their first
/// 8 or 16 bytes and differing only in case, length or a late byte, repeated tokens, and
/// Unicode characters whose case mappings are non-ASCII (separators); scored against the
/// general path.
#[test]
fn small_table_edges_equal_general() {
    const VOCAB: &[&str] = &[
        "abcdefgh",
        "ABCDEFGH",
        "abcdefghi",
        "abcdefghj",
        "abcdefghijklmnop",
        "abcdefghijklmnoP",
        "abcdefghijklmnoq",
        "abcdefghijklmnopq",
        "abcdefghijklmnopr",
        "ABCDEFGHIJKLMNOPQ",
        "abcdefghijklmnopqrstuvwx",
        "abcdefghijklmnopqrstuvwy",
        "abcdefghijklmnopqrstuvwxy",
        "abcdefghijklmnopqrstuvwxyz0123456789",
        "abcdefghijklmnopqrstuvwxyz0123456780",
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
        "x",
        "X",
        "9",
        "the",
        "The",
        "ǅungla",
        "ﬁne",
        "ẞtraße",
        "Σίσυφος",
        "ſtar",
    ];
    let mut r = Rng(0x0DDB_1A5E_5BAD_5EED);
    for round in 0..4000 {
        let n_ref = match round % 4 {
            0 => 64,
            1 => 65,
            2 => 1 + r.below(64),
            _ => 60 + r.below(8),
        };
        let word = |r: &mut Rng| -> String {
            if r.below(3) == 0 {
                // many distinct tokens: fills the table far past its usual load
                format!("w{}", r.below(200))
            } else {
                VOCAB[r.below(VOCAB.len())].to_owned()
            }
        };
        let reference: Vec<String> = (0..n_ref).map(|_| word(&mut r)).collect();
        let reference = reference.join(if round % 2 == 0 { " " } else { ", " });
        for _ in 0..3 {
            let n = r.below(90);
            let input: Vec<String> = (0..n).map(|_| word(&mut r)).collect();
            let input = input.join(" ");
            let want = super::super::rouge_l_general(&input, &reference);
            let got = super::super::rouge_l(&input, &reference);
            assert_eq!(got.to_bits(), want.to_bits(), "{input:?} / {reference:?}");
        }
    }
}

/// The portable build of the small table's loops (what runs on a CPU without BMI1/BMI2/POPCNT)
/// against the general path, on the same cases as [`small_table_edges_equal_general`] and
/// [`fused_equals_general`] use (this thread only).
#[test]
fn portable_small_table_equals_general() {
    small::PORTABLE.with(|p| p.set(true));
    let mut r = Rng(0x5EED_0FB0_A7AB_1E00);
    for round in 0..20_000 {
        let max = if round % 10 == 0 { 120 } else { 40 };
        let a = random_text(&mut r, max);
        let b = if round % 3 == 0 {
            format!("{} {}", a.to_uppercase(), random_text(&mut r, 8))
        } else {
            random_text(&mut r, max)
        };
        for (i, rf) in [(&a, &b), (&b, &a)] {
            let want = super::super::rouge_l_general(i, rf);
            assert_eq!(
                super::super::rouge_l(i, rf).to_bits(),
                want.to_bits(),
                "{i:?} / {rf:?}"
            );
        }
    }
    small::PORTABLE.with(|p| p.set(false));
}

/// Random strings — ASCII of every byte value, and UTF-8 of every plane — against the general
/// path, each also shifted by a run of spaces so that its tokens land at every offset of the
/// 64-byte bitmap words and within 16 bytes of the text's end (the small table's inline path
/// and each of its out-of-line cases: tokens across words, longer than 16 bytes, at the end).
#[test]
fn random_strings_at_every_offset_equal_general() {
    let mut r = Rng(0xA076_1D64_78BD_642F);
    let chars = |r: &mut Rng, n: usize| -> String {
        (0..n)
            .map(|_| match r.below(10) {
                // ASCII, any byte value (control characters, punctuation, both cases, digits)
                0..=5 => char::from(r.below(128) as u8),
                // runs of one letter: tokens of every length, across words
                6 => 'q',
                7 => char::from_u32(0x80 + r.below(0x780) as u32).unwrap_or('é'),
                8 => char::from_u32(0x800 + r.below(0xD000) as u32).unwrap_or('東'),
                _ => char::from_u32(0x10000 + r.below(0xFFFF) as u32).unwrap_or('😀'),
            })
            .collect()
    };
    for round in 0..6000 {
        let n = if round % 10 == 0 { 400 } else { 90 };
        let (n_ref, n_inp) = (r.below(n), r.below(n));
        let reference = chars(&mut r, n_ref);
        let input = chars(&mut r, n_inp);
        for shift in [0, 1, 7, 15, 31, 63] {
            let pad = " ".repeat(shift);
            let (i, rf) = (format!("{pad}{input}"), format!("{reference}{pad}"));
            let want = super::super::rouge_l_general(&i, &rf);
            let got = super::super::rouge_l(&i, &rf);
            assert_eq!(got.to_bits(), want.to_bits(), "{i:?} / {rf:?}");
            let got = super::super::rouge_l(&rf, &i);
            let want = super::super::rouge_l_general(&rf, &i);
            assert_eq!(got.to_bits(), want.to_bits(), "{rf:?} / {i:?}");
        }
    }
}

/// Pairs that share leading and trailing tokens (`affix`): a text and an edit of it — words
/// changed, dropped or added anywhere, case flipped, separators changed (runs of spaces,
/// punctuation, non-ASCII), a text and its own prefix or suffix, repeated tokens where the
/// shared part ends (`a a a` / `a a`), tokens longer than 16 bytes and runs across 64-byte
/// words at the edges — against the general path, both ways, the same reference scored
/// against several inputs in a row (the table reused or not).
#[test]
fn affix_pairs_equal_general() {
    const WORDS: &[&str] = &[
        "a",
        "A",
        "the",
        "The",
        "cat",
        "x9",
        "42",
        "abcdefgh",
        "abcdefghi",
        "abcdefghijklmnop",
        "abcdefghijklmnopq",
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
        "é",
        "東",
    ];
    const SEPS: &[&str] = &[" ", "  ", ", ", "-", "\n", " “", "” ", "…", ". "];
    let mut r = Rng(0x0A1F_1C5E_D0C5_A1F1);
    let cases: usize = std::env::var("ROUGE_AFFIX_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    for round in 0..cases {
        let n = match round % 10 {
            0 => 40 + r.below(60),
            _ => r.below(40),
        };
        let words: Vec<&str> = (0..n).map(|_| WORDS[r.below(WORDS.len())]).collect();
        let join = |r: &mut Rng, ws: &[&str]| -> String {
            let mut s = String::new();
            if r.below(4) == 0 {
                s.push_str(SEPS[r.below(SEPS.len())]);
            }
            for (i, w) in ws.iter().enumerate() {
                if i > 0 {
                    s.push_str(SEPS[r.below(SEPS.len())]);
                }
                s.push_str(w);
            }
            if r.below(2) == 0 {
                s.push_str(SEPS[r.below(SEPS.len())]);
            }
            s
        };
        let reference = join(&mut r, &words);
        let mut inputs = Vec::new();
        for k in 0..3 {
            let mut edit = words.clone();
            match (round + k) % 6 {
                0 => edit.truncate(r.below(n + 1)),           // a prefix of it
                1 => drop(edit.drain(..r.below(n + 1))),      // a suffix of it
                2 => edit.insert(r.below(n + 1), "inserted"), // one word added
                3 => {
                    // a few words changed, case flipped
                    for _ in 0..1 + r.below(3) {
                        if !edit.is_empty() {
                            let i = r.below(edit.len());
                            edit[i] = WORDS[r.below(WORDS.len())];
                        }
                    }
                }
                4 => edit.push(edit.last().copied().unwrap_or("a")), // a repeat at the end
                _ => {
                    if !edit.is_empty() {
                        edit.remove(r.below(edit.len()));
                    }
                }
            }
            let mut input = join(&mut r, &edit);
            if r.below(3) == 0 {
                input = input.to_uppercase();
            }
            if r.below(5) == 0 {
                input = format!("In short, {input}");
            }
            inputs.push(input);
        }
        // The reference against each input in a row, then each input against it.
        let pairs = inputs.iter().map(|i| (i, &reference));
        for (i, rf) in pairs.clone().chain(pairs.map(|(i, rf)| (rf, i))) {
            let want = super::super::rouge_l_general(i, rf);
            let got = super::super::rouge_l(i, rf);
            assert_eq!(got.to_bits(), want.to_bits(), "{i:?} / {rf:?}");
        }
    }
}

/// Pairs of the same text (the fused path counts every token as common without a table):
/// random texts (special code points, non-ASCII, empty) alone, after another pair with the
/// same reference (its table reused) and after another reference; the cost limit still
/// applies to the token counts.
#[test]
fn identical_texts_equal_general() {
    let mut r = Rng(0x1D3E_0000_7E57_0001);
    for round in 0..5_000 {
        let t = random_text(&mut r, if round % 10 == 0 { 200 } else { 30 });
        let other = random_text(&mut r, 30);
        let want = super::super::rouge_l_general(&t, &t);
        for (i, rf) in [
            (&t, &t),
            (&other, &t),
            (&t, &t),
            (&t, &t),
            (&t, &other),
            (&t, &t),
        ] {
            let got = super::super::rouge_l(i, rf);
            let expect = super::super::rouge_l_general(i, rf);
            assert_eq!(got.to_bits(), expect.to_bits(), "{i:?} / {rf:?}");
            if i == rf {
                assert_eq!(got.to_bits(), want.to_bits(), "{t:?}");
                let checked = super::super::rouge_l_checked(i, rf);
                assert_eq!(checked.map(f64::to_bits), Ok(want.to_bits()), "{t:?}");
            }
        }
    }
    let long = "a ".repeat(150_000);
    assert!(super::super::rouge_l_checked(&long, &long).is_err());
    let _ = super::super::rouge_l_checked("b", &long);
    assert!(super::super::rouge_l_checked(&long, &long).is_err());
    let fine = "a ".repeat(1_000);
    assert_eq!(super::super::rouge_l_checked(&fine, &fine), Ok(1.0));
}
