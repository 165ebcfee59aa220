//! Overlap counts against brute force, the token table's growth and reuse.

#![allow(clippy::unwrap_used)]
use super::*;
use std::collections::HashMap;

/// Brute-force multiset intersection of n-gram tuples.
fn naive(reference: &[&str], input: &[&str], n: usize) -> u64 {
    let mut counts: HashMap<Vec<&str>, i64> = HashMap::new();
    if reference.len() >= n {
        for w in reference.windows(n) {
            *counts.entry(w.to_vec()).or_default() += 1;
        }
    }
    let mut o = 0;
    if input.len() >= n {
        for w in input.windows(n) {
            if let Some(c) = counts.get_mut(w) {
                if *c > 0 {
                    *c -= 1;
                    o += 1;
                }
            }
        }
    }
    o
}

#[test]
fn matches_naive_counts() {
    let cases: &[(&str, &str)] = &[
        ("the cat sat on the mat", "the cat is on the mat"),
        ("a a a a a", "a a a"),
        ("a b a b a b", "b a b a"),
        ("x y z", "p q r"),
        ("", "a b"),
        ("a b", ""),
        ("a b c d e f", "a b c d e f"),
        ("the the the the the the the", "the cat is on the mat"),
    ];
    with_scratch(|s| {
        for (r, h) in cases {
            let r: Vec<&str> = r.split_whitespace().collect();
            let h: Vec<&str> = h.split_whitespace().collect();
            s.intern(&r[..], &h[..]);
            let mut out = [0u64; 5];
            s.clipped_overlaps(&mut out);
            for n in 1..=5 {
                assert_eq!(out[n - 1], naive(&r, &h, n), "{r:?} {h:?} n={n}");
            }
        }
    });
}

#[test]
fn matches_naive_counts_past_the_direct_table() {
    // 300 distinct reference tokens: 300 × 300 entries exceed DIRECT_LIMIT, so the
    // hashed path runs; long tokens exercise the byte comparison.
    let words: Vec<String> = (0..300)
        .map(|i| format!("token-number-{}", i % 290))
        .collect();
    let r: Vec<&str> = words.iter().map(String::as_str).collect();
    let h: Vec<&str> = r.iter().rev().chain(r.iter().skip(7)).copied().collect();
    with_scratch(|s| {
        s.intern(&r[..], &h[..]);
        let mut out = [0u64; 5];
        s.clipped_overlaps(&mut out);
        for n in 1..=5 {
            assert_eq!(out[n - 1], naive(&r, &h, n), "n={n}");
        }
    });
}

#[test]
fn a_large_vocabulary_grows_the_token_table() {
    // 20,000 distinct tokens (short and long) in a reference of 30,000: the table starts
    // sized for SPARSE_UP_TO tokens and grows several times.
    let words: Vec<String> = (0..30_000)
        .map(|i| {
            let k = i % 20_000;
            if k % 3 == 0 {
                format!("a-rather-long-token-{k}")
            } else {
                format!("w{k}")
            }
        })
        .collect();
    let r: Vec<&str> = words.iter().map(String::as_str).collect();
    let h: Vec<&str> = r
        .iter()
        .step_by(7)
        .chain(["absent", "w3"].iter())
        .copied()
        .collect();
    with_scratch(|s| {
        s.intern(&r[..], &h[..]);
        assert_eq!(s.ids.vocab, 20_000);
        for (j, &id) in s.ids.reference.iter().enumerate() {
            assert_eq!(s.ids.reference[j % 20_000], id, "{j}");
        }
        let mut out = [0u64; 2];
        s.clipped_overlaps(&mut out);
        for n in 1..=2 {
            assert_eq!(out[n - 1], naive(&r, &h, n), "n={n}");
        }
    });
}

#[test]
fn nested_scratch_use_falls_back_to_fresh_buffers() {
    let v = with_scratch(|_| with_scratch(|s| s.ids.vocab));
    assert_eq!(v, 0);
}

// ---- Property tests: every path against the naive tuple count. ----

use proptest::prelude::*;

/// Token pool: many repeats of short tokens, tokens that differ only past byte 8 or 16, a
/// trailing NUL (same words as a shorter token), long tokens sharing a 16-byte prefix, and
/// non-ASCII text.
const POOL: &[&str] = &[
    "the",
    "a",
    ",",
    ".",
    "cat",
    "mat",
    "on",
    "é",
    "日本",
    "naïve",
    "a\0",
    "abcdefgh",
    "abcdefgi",
    "abcdefghijklmno",
    "abcdefghijklmn\0",
    "abcdefghijklmno\u{f}",
    "abcdefghijklmnop",
    "abcdefghijklmnoq",
    "abcdefghijklmnopq",
    "abcdefghijklmnopr",
    "a-rather-long-token-that-passes-16-bytes",
    "a-rather-long-token-that-passes-16-bytez",
    "🙂🙂🙂🙂🙂",
];

/// A token list over the first `k` pool tokens, or (when `fresh`) with tokens made up from
/// the index (a large vocabulary).
fn tokens(picks: &[usize], k: usize, fresh: bool) -> Vec<String> {
    picks
        .iter()
        .map(|&p| {
            if fresh {
                format!("w{}", p % (k * 40 + 1))
            } else {
                POOL[p % k.clamp(1, POOL.len())].to_owned()
            }
        })
        .collect()
}

/// A `Tokens` list holding `toks` (space-separated; the pool has no spaces).
fn as_tokens(toks: &[String]) -> crate::tokenize::Tokens {
    let mut t = crate::tokenize::Tokens::new();
    t.push_space_separated(toks.join(" ").as_bytes());
    t
}

/// Overlaps of orders 1..=orders by the crate's path for `Tokens` and for `[&str]`, checked
/// equal to each other and to the naive count; and by the streaming path (`stream.rs`) for
/// both kinds of lists (padded `Tokens` as the text cache keeps them, and unpadded), checked
/// equal to them whenever it takes the pair.
fn check_pair(r: &[String], h: &[String], orders: usize) -> Result<(), TestCaseError> {
    let rs: Vec<&str> = r.iter().map(String::as_str).collect();
    let hs: Vec<&str> = h.iter().map(String::as_str).collect();
    let (rt, ht) = (as_tokens(r), as_tokens(h));
    let (mut rp, mut hp) = (rt.clone(), ht.clone());
    rp.pad_for_keys();
    hp.pad_for_keys();
    prop_assert_eq!(rt.len(), r.len());
    let mut by_str = vec![0u64; orders];
    let mut by_tokens = vec![0u64; orders];
    let streamed = with_scratch(|s| {
        s.intern(&rs[..], &hs[..]);
        s.clipped_overlaps(&mut by_str);
        s.intern(&rt, &ht);
        s.clipped_overlaps(&mut by_tokens);
        [
            streamed(s, &rs[..], &hs[..], orders),
            streamed(s, &rt, &ht, orders),
            streamed(s, &rp, &hp, orders),
            streamed(s, &rt, &hp, orders),
        ]
    });
    for n in 1..=orders {
        prop_assert_eq!(by_str[n - 1], naive(&rs, &hs, n), "order {}", n);
    }
    prop_assert_eq!(&by_tokens, &by_str);
    let takes = (2..=stream::MAX_ORDER).contains(&orders)
        && !r.is_empty()
        && !h.is_empty()
        && r.len() <= stream::MAX_REFERENCE;
    for st in streamed {
        prop_assert_eq!(st.is_some(), takes);
        if let Some(st) = st {
            prop_assert_eq!(&st, &by_str);
        }
    }
    Ok(())
}

/// The streaming path's overlaps of orders 1..=orders (2 to 8), `None` when it does not take
/// the pair.
fn streamed<R, I>(s: &mut Scratch, r: &R, h: &I, orders: usize) -> Option<Vec<u64>>
where
    R: TokenSeq + Keyed + ?Sized,
    I: TokenSeq + Keyed + ?Sized,
{
    fn run<const K: usize, R, I>(s: &mut Scratch, r: &R, h: &I) -> Option<Vec<u64>>
    where
        R: TokenSeq + Keyed + ?Sized,
        I: TokenSeq + Keyed + ?Sized,
    {
        let mut out = [u64::MAX; K];
        s.overlaps_streamed(r, h, &mut out).then(|| out.to_vec())
    }
    match orders {
        2 => run::<2, _, _>(s, r, h),
        3 => run::<3, _, _>(s, r, h),
        4 => run::<4, _, _>(s, r, h),
        5 => run::<5, _, _>(s, r, h),
        6 => run::<6, _, _>(s, r, h),
        7 => run::<7, _, _>(s, r, h),
        8 => run::<8, _, _>(s, r, h),
        _ => None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// Short lists over a few tokens: many repeats, runs of ≥ 4 identical tokens.
    #[test]
    fn overlaps_match_naive_on_repetitive_lists(
        rp in prop::collection::vec(0usize..64, 0..40),
        hp in prop::collection::vec(0usize..64, 0..40),
        k in 1usize..6,
        orders in 1usize..8,
    ) {
        check_pair(&tokens(&rp, k, false), &tokens(&hp, k, false), orders)?;
    }

    /// The whole pool, including long and Unicode tokens, up to 300 tokens a side.
    #[test]
    fn overlaps_match_naive_on_the_pool(
        rp in prop::collection::vec(0usize..1000, 0..300),
        hp in prop::collection::vec(0usize..1000, 0..300),
        k in 1usize..=20,
        orders in 1usize..7,
    ) {
        check_pair(&tokens(&rp, k, false), &tokens(&hp, k, false), orders)?;
    }

    /// Inputs copied from their reference with edits (substitutions, often by a pool token
    /// sharing a prefix; deletions; insertions) between runs of copied tokens: the streaming
    /// input pass's in-step path, entered and left again at every kind of token.
    #[test]
    fn overlaps_match_naive_on_edited_copies(
        rp in prop::collection::vec(0usize..1000, 1..130),
        edits in prop::collection::vec((0u8..12, 0usize..1000), 1..40),
        k in 1usize..=20,
        orders in 2usize..7,
    ) {
        let mut hp = Vec::new();
        for (i, &p) in rp.iter().enumerate() {
            let (op, q) = edits[i % edits.len()];
            match op {
                0 => hp.push(q),
                1 => {}
                2 => hp.extend([q, p]),
                _ => hp.push(p),
            }
        }
        check_pair(&tokens(&rp, k, false), &tokens(&hp, k, false), orders)?;
    }

    /// Large vocabularies (past the direct tables) and long lists, bleu/gleu's 4 orders.
    #[test]
    fn overlaps_match_naive_on_large_vocabularies(
        rp in prop::collection::vec(0usize..100_000, 0..700),
        hp in prop::collection::vec(0usize..100_000, 0..700),
        k in 1usize..200,
    ) {
        check_pair(&tokens(&rp, k, true), &tokens(&hp, k, true), 4)?;
    }

    /// The fused path against the order-by-order one on id lists (input ids `vocab` and
    /// above stand for absent tokens), many pairs of varied sizes through one `Work` (stale
    /// table entries of earlier calls must never count).
    #[test]
    fn fused_matches_by_order_across_calls(
        pairs in prop::collection::vec(
            (
                prop::collection::vec(0u32..12, 1..120),
                prop::collection::vec(0u32..16, 1..120),
                2usize..=5,
            ),
            1..12,
        ),
    ) {
        let mut work = Work::default();
        let mut oracle = Work::default();
        for (r, h, orders) in pairs {
            let (r, h, vocab) = dense(&r, &h);
            let mut fast = vec![0u64; orders];
            work.clipped_overlaps(&r, &h, vocab, &mut fast);
            let mut slow = vec![0u64; orders];
            oracle.by_order(&r, &h, vocab, &mut slow);
            prop_assert_eq!(&fast, &slow);
            let rs: Vec<String> = r.iter().map(|i| i.to_string()).collect();
            let hs: Vec<String> = h.iter().map(|i| i.to_string()).collect();
            let rs: Vec<&str> = rs.iter().map(String::as_str).collect();
            let hs: Vec<&str> = hs.iter().map(String::as_str).collect();
            for n in 1..=orders {
                prop_assert_eq!(fast[n - 1], naive(&rs, &hs, n), "order {}", n);
            }
        }
    }
}

/// Reference ids renumbered dense by first occurrence, input ids mapped alike (`ABSENT`
/// when not in the reference); returns both and the vocabulary size.
fn dense(r: &[u32], h: &[u32]) -> (Vec<u32>, Vec<u32>, usize) {
    let mut map = HashMap::new();
    let r: Vec<u32> = r
        .iter()
        .map(|&t| {
            let next = map.len() as u32;
            *map.entry(t).or_insert(next)
        })
        .collect();
    let h = h
        .iter()
        .map(|t| map.get(t).copied().unwrap_or(ABSENT))
        .collect();
    (r, h, map.len())
}

#[test]
fn fused_tag_reset_clears_the_table() {
    // Pair A is scored just below the tag limit, a pair B passes it (reset), then the tag is
    // put back where A's entries were written, as if 2^31 tokens had passed: pair C, of the
    // same table layout, must not see A's n-grams (the reset cleared them).
    let a = [0u32, 1, 2, 3, 4, 5];
    let c = [5u32, 4, 3, 2, 1, 0];
    let mut expect = [0u64; 4];
    Work::default().by_order(&c, &a, 6, &mut expect);
    let mut work = Work::default();
    let start = (1 << 31) - 10;
    work.fused.set_tag_for_test(start);
    let mut out = [0u64; 4];
    work.clipped_overlaps(&a, &a, 6, &mut out);
    assert_eq!(out, [6, 5, 4, 3]);
    // Other keys than A's, so A's entries stay in the table unless cleared.
    work.clipped_overlaps(&[0; 6], &[0; 6], 1, &mut out);
    assert_eq!(out, [6, 5, 4, 3]);
    work.fused.set_tag_for_test(start);
    work.clipped_overlaps(&c, &a, 6, &mut out);
    assert_eq!(out, expect);
    // And near the top of u32: the tag never overflows.
    work.fused.set_tag_for_test(u32::MAX - 3);
    work.clipped_overlaps(&a, &a, 6, &mut out);
    assert_eq!(out, [6, 5, 4, 3]);
}

#[test]
fn pairs_past_the_fused_limits_take_the_order_by_order_path() {
    // 5,000 tokens (past the fused path's reference limit) and a vocabulary whose tables
    // exceed its entry limit: both still exact.
    let long: Vec<String> = (0..5_000).map(|i| format!("t{}", i % 7)).collect();
    let wide: Vec<String> = (0..600).map(|i| format!("v{}", i % 500)).collect();
    for r in [&long, &wide] {
        let h: Vec<String> = r.iter().skip(3).step_by(2).cloned().collect();
        let rs: Vec<&str> = r.iter().map(String::as_str).collect();
        let hs: Vec<&str> = h.iter().map(String::as_str).collect();
        with_scratch(|s| {
            s.intern(&rs[..], &hs[..]);
            let mut out = [0u64; 4];
            s.clipped_overlaps(&mut out);
            for n in 1..=4 {
                assert_eq!(out[n - 1], naive(&rs, &hs, n), "n={n}");
            }
        });
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Many pairs in a row through one scratch, bleu/gleu's entry (`Scratch::overlaps`, 4
    /// orders) against the naive count: the streaming path's tables and token table are reused
    /// across calls (entries of earlier pairs must never count), and pairs past its limits
    /// take the fallback in between.
    #[test]
    fn overlaps_1_to_4_across_calls(
        pairs in prop::collection::vec(
            (
                prop::collection::vec(0usize..1000, 0..80),
                prop::collection::vec(0usize..1000, 0..80),
                1usize..=20,
                any::<bool>(),
            ),
            1..10,
        ),
    ) {
        with_scratch(|s| -> Result<(), TestCaseError> {
            for (rp, hp, k, fresh) in &pairs {
                let (r, h) = (tokens(rp, *k, *fresh), tokens(hp, *k, *fresh));
                let (mut rt, mut ht) = (as_tokens(&r), as_tokens(&h));
                rt.pad_for_keys();
                ht.pad_for_keys();
                let mut out = [0u64; 4];
                s.overlaps(&rt, &ht, &mut out);
                prop_assert!(s.work.stream.rows_are_clear());
                let rs: Vec<&str> = r.iter().map(String::as_str).collect();
                let hs: Vec<&str> = h.iter().map(String::as_str).collect();
                for n in 1..=4 {
                    prop_assert_eq!(out[n - 1], naive(&rs, &hs, n), "order {}", n);
                }
            }
            Ok(())
        })?;
    }
}

#[test]
fn streamed_limits_and_tag_reset() {
    // References at the edges of the streaming path's strides (32, 64, 128), one past the
    // longest (fallback), and a tag reset between calls: all exact.
    let words =
        |n: usize, m: usize| -> Vec<String> { (0..n).map(|i| format!("w{}", i % m)).collect() };
    for (n, m) in [
        (30, 300),
        (31, 300),
        (62, 40),
        (63, 300),
        (stream::MAX_REFERENCE, 300),
        (stream::MAX_REFERENCE, 3),
        (stream::MAX_REFERENCE + 1, 7),
        (1, 1),
    ] {
        let r = words(n, m);
        let h: Vec<String> = r
            .iter()
            .skip(1)
            .step_by(2)
            .chain(r.iter())
            .cloned()
            .collect();
        let rs: Vec<&str> = r.iter().map(String::as_str).collect();
        let hs: Vec<&str> = h.iter().map(String::as_str).collect();
        for tag in [None, Some(stream::TAG_LIMIT - 5)] {
            with_scratch(|s| {
                if let Some(t) = tag {
                    s.work.stream.set_tag_for_test(t);
                }
                let mut out = [0u64; 4];
                s.overlaps(&rs[..], &hs[..], &mut out);
                for k in 1..=4 {
                    assert_eq!(out[k - 1], naive(&rs, &hs, k), "n={n} m={m} order {k}");
                }
                // Twice: after the reset the tag starts low again.
                s.overlaps(&rs[..], &hs[..], &mut out);
                for k in 1..=4 {
                    assert_eq!(out[k - 1], naive(&rs, &hs, k), "n={n} m={m} order {k}");
                }
            });
        }
    }
}

#[test]
fn streamed_counts_stay_exact_across_many_tag_resets() {
    // The streaming table's `u16` entries wrap every ~65,000 reference tokens: thousands of
    // calls through one scratch, the stride changing from call to call (a reset clears what
    // every stride since the last one wrote), references repetitive enough that n-grams recur
    // within and across calls. Every call exact against the naive count.
    let lens = [126usize, 20, 61, 100, 3, 33, 125, 64];
    with_scratch(|s| {
        s.work.stream.set_tag_for_test(stream::TAG_LIMIT - 300);
        let mut resets = 0;
        let mut last_tag = u32::MAX;
        for call in 0..3_000usize {
            let n = lens[call % lens.len()];
            let m = 2 + call % 11;
            let r: Vec<String> = (0..n).map(|i| format!("t{}", (i * 7 + call) % m)).collect();
            let h: Vec<String> = (0..n / 2 + 5)
                .map(|i| format!("t{}", (i * 3 + call / 2) % (m + 2)))
                .collect();
            let rs: Vec<&str> = r.iter().map(String::as_str).collect();
            let hs: Vec<&str> = h.iter().map(String::as_str).collect();
            let mut out = [0u64; 4];
            s.overlaps(&rs[..], &hs[..], &mut out);
            for k in 1..=4 {
                assert_eq!(out[k - 1], naive(&rs, &hs, k), "call {call} order {k}");
            }
            let tag = s.work.stream.tag_for_test();
            resets += usize::from(tag < last_tag);
            last_tag = tag;
        }
        assert!(resets >= 3, "only {resets} tag resets");
    });
}

#[test]
fn streamed_ranks_are_end_positions_up_to_the_stride() {
    // The streaming path ranks a new n-gram by the position it ends at: references whose new
    // n-grams first end at the last position each stride allows (29, 61, 125), mixed with
    // repeats, through one scratch, longer and shorter references alternating (an entry of an
    // earlier call may hold a position past this call's reference): all exact.
    let mut cases: Vec<(Vec<String>, Vec<String>)> = Vec::new();
    for n in [
        2,
        3,
        29,
        30,
        61,
        62,
        stream::MAX_REFERENCE - 1,
        stream::MAX_REFERENCE,
    ] {
        let s = |x: &str| x.to_string();
        // `a a … a b`: one new n-gram per order at the very end.
        let mut r: Vec<String> = (0..n - 1).map(|_| s("a")).collect();
        r.push(s("b"));
        // Then the same with a tail that repeats a prefix (ranks found again, not new).
        let mut r2: Vec<String> = (0..n).map(|i| format!("t{}", i % 5)).collect();
        r2[n - 1] = s("z");
        for h in [
            r.clone(),
            vec![s("a"), s("a"), s("b"), s("b"), s("a"), s("b")],
            r.iter().rev().cloned().collect(),
            r2.iter().skip(n / 2).cloned().collect(),
        ] {
            cases.push((r.clone(), h.clone()));
            cases.push((r2.clone(), h));
        }
    }
    for order in [false, true] {
        with_scratch(|s| {
            let mut run = |r: &[String], h: &[String]| {
                let rs: Vec<&str> = r.iter().map(String::as_str).collect();
                let hs: Vec<&str> = h.iter().map(String::as_str).collect();
                let mut out = [0u64; 4];
                assert!(s.overlaps_streamed(&rs[..], &hs[..], &mut out));
                for k in 1..=4 {
                    assert_eq!(out[k - 1], naive(&rs, &hs, k), "len {} order {k}", r.len());
                }
            };
            let mut it: Vec<&(Vec<String>, Vec<String>)> = cases.iter().collect();
            if order {
                it.reverse();
            }
            for (r, h) in it {
                run(r, h);
            }
        });
    }
}

#[test]
fn streamed_inputs_taking_more_than_the_reference_holds() {
    // The input pass takes one from a count for every occurrence it finds, below zero when the
    // input repeats an n-gram more often than the reference (the clipping happens after the
    // pass): inputs up to 40× the reference, made of its own n-grams, absent words and long
    // (> 16 bytes, probing-path) words, each stride, orders 2 to 5, through one scratch (count
    // rows and the absent marker's count left over from earlier calls): all exact.
    let long = |i: usize| format!("{}{i}", "l".repeat(20));
    with_scratch(|s| {
        for call in 0..120usize {
            let n = [1usize, 5, 30, 31, 47, 62, 63, 100, 126][call % 9];
            let m = 1 + call % 7;
            let r: Vec<String> = (0..n)
                .map(|i| match (i + call) % 5 {
                    0 => long(i % m),
                    _ => format!("r{}", (i * 3 + call) % m),
                })
                .collect();
            let reps = 1 + call % 40;
            let h: Vec<String> = (0..reps)
                .flat_map(|k| {
                    let mut part: Vec<String> = r.iter().skip(k % 3).cloned().collect();
                    part.push(format!("absent{}", k % 4));
                    part.push(long(k % (m + 2)));
                    part
                })
                .collect();
            let rs: Vec<&str> = r.iter().map(String::as_str).collect();
            let hs: Vec<&str> = h.iter().map(String::as_str).collect();
            let orders = 2 + call % 4;
            let got = streamed(s, &rs[..], &hs[..], orders).unwrap();
            assert!(s.work.stream.rows_are_clear(), "call {call}");
            for k in 1..=orders {
                assert_eq!(got[k - 1], naive(&rs, &hs, k), "call {call} order {k}");
            }
        }
    });
}

#[test]
fn streamed_inputs_up_to_the_longest_it_takes() {
    // Counts are `i16`: an input of `MAX_INPUT` copies of one reference token takes its count
    // from 1 down to 1 − MAX_INPUT without wrapping (exact), and one token more takes the
    // fallback (also exact). Long tokens sharing their first 15 bytes stay apart.
    let long = |c: char| format!("{}{c}", "x".repeat(15));
    let r: Vec<String> = vec!["a".into(), long('1'), "b".into(), long('2'), "a".into()];
    let rs: Vec<&str> = r.iter().map(String::as_str).collect();
    with_scratch(|s| {
        for n in [stream::MAX_INPUT, stream::MAX_INPUT + 1] {
            for word in ["a", rs[1], rs[3], "xxxxxxxxxxxxxxx", "xxxxxxxxxxxxxxx3"] {
                let hs: Vec<&str> = (0..n)
                    .map(|i| if i % 3 == 0 { rs[1] } else { word })
                    .collect();
                let mut out = [0u64; 4];
                let took = s.overlaps_streamed(&rs[..], &hs[..], &mut out);
                assert_eq!(took, n <= stream::MAX_INPUT);
                s.overlaps(&rs[..], &hs[..], &mut out);
                for k in 1..=4 {
                    assert_eq!(out[k - 1], naive(&rs, &hs, k), "n={n} {word} order {k}");
                }
                assert!(s.work.stream.rows_are_clear());
            }
        }
    });
}
