//! Tests of `porter_short.rs`: the short steps against the generic ones and NLTK's stems.

use super::super::run_steps;
use super::*;

fn generic(word: &str) -> String {
    let mut v = word.as_bytes().to_vec();
    run_steps(&mut v);
    String::from_utf8(v).expect("ascii")
}

fn check(word: &str) {
    let mut out = String::from("junk");
    stem_short(word.as_bytes(), &mut out);
    assert_eq!(out, generic(word), "{word:?}");
}

#[test]
fn paper_and_edge_words() {
    for w in [
        "caresses",
        "ponies",
        "ties",
        "cats",
        "feed",
        "agreed",
        "plastered",
        "motoring",
        "sing",
        "conflated",
        "hopping",
        "falling",
        "filing",
        "happy",
        "relational",
        "triplicate",
        "adoption",
        "controll",
        "roll",
        "dies",
        "spied",
        "ied",
        "ies",
        "eed",
        "aed",
        "yyy",
        "syzygy",
        "yying",
        "toying",
        "a*ded",
        "a*ding",
        "*ded",
        "fizzed",
        "hissing",
        "tied",
        "generalization",
        "generalizations",
        "bye",
        "ye'll",
        "e-mail",
        "1990s",
        "rationalization",
        "sensationalism",
        "abcdefghijklmnop",
        "allied",
        "finalli",
        "ballistically",
        "analogi",
        "electricity",
        "agreement",
        "adjustment",
    ] {
        check(w);
    }
}

/// NLTK's stems of its word list (`fixtures/vectors/porter_words.jsonl`), for every
/// lower-case ASCII word of 3..=[`MAX_LEN`] bytes the pool does not list.
#[test]
fn nltk_word_list() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/vectors/porter_words.jsonl");
    let text = std::fs::read_to_string(&path).expect("the word list");
    let (mut n, mut out) = (0, String::new());
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let row: (String, String) = serde_json::from_str(line).expect("a row");
        let (word, want) = row;
        let b = word.as_bytes();
        if !(3..=MAX_LEN).contains(&b.len())
            || !b.iter().all(|c| c.is_ascii() && !c.is_ascii_uppercase())
            || super::super::pool_stem_bytes(b).is_some()
        {
            continue;
        }
        stem_short(b, &mut out);
        assert_eq!(out, want, "{word:?}");
        n += 1;
    }
    assert!(n > 50_000, "{n}");
}

proptest::proptest! {
    /// The SSE2 classes are the word-at-a-time ones, on any 16 bytes.
    #[test]
    fn classes_are_the_word_forms(w0 in proptest::prelude::any::<u64>(), w1 in proptest::prelude::any::<u64>(), pick in 0usize..16) {
        // Some bytes forced to vowels and `y`s.
        let (w0, w1) = (w0 & !(0xff << (8 * (pick % 8))) | (u64::from(b"aeiouyyb"[pick % 8]) << (8 * (pick % 8))), w1);
        let want = (vowel_bits(w0) | vowel_bits(w1) << 8, y_bits(w0) | y_bits(w1) << 8);
        proptest::prop_assert_eq!(classes((w0, w1)), want);
    }
}

#[test]
fn classes_of_every_byte() {
    for c in 0..=255u8 {
        for at in 0..16 {
            let mut b = [b'b'; 16];
            b[at] = c;
            let (mut x, mut y) = ([0u8; 8], [0u8; 8]);
            x.copy_from_slice(&b[..8]);
            y.copy_from_slice(&b[8..]);
            let (w0, w1) = (u64::from_le_bytes(x), u64::from_le_bytes(y));
            let vowel = u32::from(b"aeiou".contains(&c)) << at;
            let ys = u32::from(c == b'y') << at;
            assert_eq!(classes((w0, w1)), (vowel, ys), "byte {c} at {at}");
            assert_eq!(
                (
                    vowel_bits(w0) | vowel_bits(w1) << 8,
                    y_bits(w0) | y_bits(w1) << 8
                ),
                (vowel, ys),
                "byte {c} at {at}"
            );
        }
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(20000))]

    /// Random stems followed by one or two of the rules' suffixes, and random short
    /// words over letters, `y` runs and the punctuation words carry.
    #[test]
    fn short_steps_are_the_generic_steps(
        word in "[a-z]{0,6}(y|yy|e|ee|l|ll|s|ss|d|dd|z|t|c|at|bl|iz)?(s|es|ies|sses|ed|eed|ied|ing|y|ly|li|alli|entli|eli|ousli|fulli|logi|bli|enci|anci|izer|ator|ation|ational|tional|ization|alism|iveness|fulness|ousness|aliti|iviti|biliti|icate|ative|alize|iciti|ical|ful|ness|al|ance|ence|er|ic|able|ible|ant|ement|ment|ent|ion|sion|tion|ou|ism|ate|iti|ous|ive|ize|e|ll)?|[a-z'.*-]{3,16}|[aeiouy]{1,4}[bcdy]{1,4}[aeiouy]{0,3}(ed|ing|e|y)",
    ) {
        if !(3..=MAX_LEN).contains(&word.len()) {
            return Ok(());
        }
        let mut out = String::new();
        stem_short(word.as_bytes(), &mut out);
        proptest::prop_assert_eq!(out, generic(&word), "{:?}", word);
    }
}
