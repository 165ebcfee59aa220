//! The string entry point `meteor::meteor` reads the tokenizer's list in place (keys lower-cased
//! in registers, a common tail paired without hashing, non-ASCII and long words lower-cased
//! into a buffer); `meteor_tokens` on the same tokens takes the general path (each word through
//! `str.lower()`, a string table), which `tests/meteor_vectors.rs` pins to NLTK and to a naive
//! transcription. Both must agree on every pair.

use gradekit_metrics::meteor::{meteor, meteor_tokens};
use gradekit_metrics::tokenize::nltk_tokenize;
use proptest::prelude::*;

/// Both paths on a pair of texts.
fn check(hyp: &str, refr: &str) -> Result<(), TestCaseError> {
    let (h, r) = (nltk_tokenize(hyp), nltk_tokenize(refr));
    prop_assert_eq!(
        meteor(hyp, refr).to_bits(),
        meteor_tokens(&h, &r).to_bits(),
        "hyp {:?} ref {:?}",
        h,
        r
    );
    Ok(())
}

/// Words of every key shape: 1–8 bytes, 9–16, over 16 (equal first 16 bytes, equal lengths),
/// capitals, non-ASCII (case pairs, final sigma, a lower-casing that changes the length),
/// inflections and synonyms (so stages 2 and 3 see what stage 1 leaves).
fn word() -> impl Strategy<Value = String> {
    let words = [
        "the",
        "The",
        "THE",
        "a",
        "A",
        "cat",
        "Cat",
        "cats",
        "sat",
        "sitting",
        "sits",
        "on",
        "mat",
        ".",
        ",",
        "'s",
        "n't",
        "run",
        "ran",
        "Running",
        "runs",
        "big",
        "large",
        "dogs",
        "hound",
        "geese",
        "goose",
        "abcdefgh",
        "ABCDEFGH",
        "abcdefghi",
        "Abcdefghi",
        "responsibility",
        "Responsibilities",
        "abcdefghijklmnop",
        "ABCDEFGHIJKLMNOP",
        "abcdefghijklmnopq",
        "abcdefghijklmnopQ",
        "abcdefghijklmnopr",
        "internationalization",
        "Internationalization",
        "internationalizations",
        "café",
        "Café",
        "CAFÉ",
        "ΣΑΣ",
        "σας",
        "Straße",
        "STRASSE",
        "İstanbul",
        "istanbul",
        "ǅemal",
        "ꭰꭱꭲꭳꭴꭵꭶꭷꭸꭹꭺꭻꭼꭽꭾ",
        "ᏀᏁᏂᏃᏄᏅᏆᏇᏈᏉᏊᏋᏌᏍᏎ",
        "日本語",
        "42",
        // Non-ASCII words whose `str.lower()` is ASCII (the Kelvin sign lower-cases to `k`):
        // keyed out of line on one side, in registers on the other, they must meet.
        "\u{212a}",
        "k",
        "\u{212a}elvin",
        "kelvin",
    ];
    prop_oneof![
        8 => proptest::sample::select(words.to_vec()).prop_map(str::to_owned),
        1 => "[a-zA-Z]{1,20}",
        1 => "[a-zé]{1,3}",
    ]
}

/// A reference and a hypothesis made from it by dropping, replacing, re-casing and inserting
/// words, so the pair shares most words, often a tail, and sometimes nothing.
fn pair() -> impl Strategy<Value = (String, String)> {
    (
        prop::collection::vec(word(), 0..40),
        prop::collection::vec((0..5u8, word()), 0..40),
        prop::collection::vec(word(), 0..4),
    )
        .prop_map(|(refr, edits, tail)| {
            let mut hyp = Vec::new();
            for (k, w) in refr.iter().enumerate() {
                match edits.get(k).map(|e| e.0) {
                    Some(0) => {}
                    Some(1) => hyp.push(edits[k].1.clone()),
                    Some(2) => hyp.push(w.to_uppercase()),
                    Some(3) => {
                        hyp.push(edits[k].1.clone());
                        hyp.push(w.clone());
                    }
                    _ => hyp.push(w.clone()),
                }
            }
            let mut refr = refr;
            refr.extend(tail.iter().cloned());
            hyp.extend(tail);
            (hyp.join(" "), refr.join(" "))
        })
}

/// Long texts of unrelated words: dozens of positions left free by stage 1, so stage 2 pairs
/// through its per-stem buckets rather than its scan of few positions.
fn long_pair() -> impl Strategy<Value = (String, String)> {
    (
        prop::collection::vec(word(), 60..160),
        prop::collection::vec(word(), 60..160),
    )
        .prop_map(|(h, r)| (h.join(" "), r.join(" ")))
}

/// Both paths on a pair, the general one in a thread of its own: the paths share their thread's
/// stem caches, so a wrong stem cached by one would be read back by the other.
fn check_apart(hyp: &str, refr: &str) -> Result<(), TestCaseError> {
    let (h, r) = (nltk_tokenize(hyp), nltk_tokenize(refr));
    let general = std::thread::spawn(move || meteor_tokens(&h, &r))
        .join()
        .map_err(|_| TestCaseError::fail("general path panicked"))?;
    prop_assert_eq!(meteor(hyp, refr).to_bits(), general.to_bits());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn string_path_matches_general_path_on_long_texts((hyp, refr) in long_pair()) {
        check(&hyp, &refr)?;
    }

    #[test]
    fn string_path_matches_general_path((hyp, refr) in pair()) {
        check(&hyp, &refr)?;
        // The other direction and a text against itself (one cached tokenization).
        check(&refr, &hyp)?;
        check(&hyp, &hyp)?;
    }

    #[test]
    fn string_path_matches_general_path_with_separate_caches((hyp, refr) in pair()) {
        check_apart(&hyp, &refr)?;
    }

    #[test]
    fn string_path_matches_general_path_on_any_text(a in any::<String>(), b in any::<String>()) {
        check(&a, &b)?;
        check(&format!("{a} {b}"), &b)?;
    }
}

/// A reference of thousands of words (stage 1's table then at most half full instead of an
/// eighth), and a short pair right after it on the same thread (the large buffers are given
/// back, smaller ones made).
#[test]
fn long_reference_then_short_pair() {
    let words = [
        "the", "Cat", "sat", "on", "a", "mat", "dogs", "run", "ran", "big", "large",
    ];
    let text = |n: usize, step: usize| -> String {
        (0..n)
            .map(|k| format!("{}{}", words[(k * step) % words.len()], k % 97))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let (hyp, refr) = (text(9_000, 7), text(80_000, 3));
    check(&hyp, &refr).unwrap_or_else(|e| panic!("long pair: {e}"));
    check(&refr, &hyp).unwrap_or_else(|e| panic!("long pair swapped: {e}"));
    check("The cat sat on the mat", "the mat sat on a cat")
        .unwrap_or_else(|e| panic!("short pair: {e}"));
}

#[test]
fn edge_pairs() {
    let cases = [
        ("", ""),
        ("a", ""),
        ("", "a"),
        ("The cat", "the cat"),
        ("cat the the the", "the the cat the"),
        (
            "Internationalization internationalizations",
            "internationalizations INTERNATIONALIZATION",
        ),
        (
            "abcdefghijklmnopq abcdefghijklmnopr",
            "abcdefghijklmnopr abcdefghijklmnopq",
        ),
        ("ΣΑΣ σας Σας", "σας ΣΑΣ"),
        ("Café café CAFÉ", "café"),
        ("İstanbul", "i̇stanbul"),
        ("sat on the mat", "sitting on the mat"),
        // The Kelvin sign lower-cases to ASCII `k`: out-of-line and in-register keys agree.
        ("k \u{212a}", "\u{212a} k"),
        ("\u{212a} k x", "k \u{212a} y"),
        ("\u{212a}elvin k x \u{212a}", "kelvin \u{212a} y k"),
    ];
    for (h, r) in cases {
        check(h, r).unwrap_or_else(|e| panic!("{h:?} / {r:?}: {e}"));
    }
}
