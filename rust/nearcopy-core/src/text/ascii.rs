//! Byte-level kernels of the normalizer's ASCII fast path, which is where English text and source
//! code spend their time: classify 64 bytes at a time into bitmaps (alphanumeric, non-ASCII) and
//! lower-case words.
//!
//! On x86_64 the classification uses SSE2 (part of the x86_64 baseline, so no run-time detection is
//! needed): 16 bytes per compare and `movemask`, against a table lookup, shift and OR per byte.
//! Elsewhere a scalar loop gives the same bitmaps; tests check the two against each other.

/// Bytes per bitmap word.
const BLOCK: usize = 64;

/// Fills `alnum` with one bit per byte of the ASCII run that `bytes` starts with (set: an ASCII
/// letter or digit) and returns the run's length: the offset of the first byte >= 0x80, or
/// `bytes.len()`. No bit is set at or past the run's end.
pub(super) fn classify_run(bytes: &[u8], alnum: &mut Vec<u64>) -> usize {
    alnum.clear();
    let mut blocks = bytes.chunks_exact(BLOCK);
    for (b, block) in blocks.by_ref().enumerate() {
        let block: &[u8; BLOCK] = block.try_into().expect("chunks_exact yields whole blocks");
        let (bits, high) = classify_block(block);
        if high != 0 {
            let len = high.trailing_zeros() as usize;
            alnum.push(bits & low_bits(len));
            return b * BLOCK + len;
        }
        alnum.push(bits);
    }
    let tail = blocks.remainder();
    if tail.is_empty() {
        return bytes.len();
    }
    // Pad with NULs: neither alphanumeric nor non-ASCII, so the padding adds no bits.
    let mut padded = [0u8; BLOCK];
    padded[..tail.len()].copy_from_slice(tail);
    let (bits, high) = classify_block(&padded);
    let len = if high != 0 { high.trailing_zeros() as usize } else { tail.len() };
    alnum.push(bits & low_bits(len));
    bytes.len() - tail.len() + len
}

/// Clears every bit at or past `len` and drops the words that are then past the end.
pub(super) fn clear_from(alnum: &mut Vec<u64>, len: usize) {
    alnum.truncate(len.div_ceil(BLOCK));
    if let Some(last) = alnum.last_mut() {
        if len % BLOCK != 0 {
            *last &= low_bits(len % BLOCK);
        }
    }
}

/// Appends `text[from..to]`, ASCII letters and digits, to `buf`, lower-cased when `casefold`.
/// Letters differ from their lower case by bit 0x20 and digits already have it set, so lower-casing
/// is one OR. Words are short (a few bytes), so rather than a `memcpy` call and a byte loop, whole
/// 8-byte words are copied and OR-ed, reading past the word's end inside `text` and writing past it
/// into `buf`'s spare capacity; the length then stops at the word's end.
#[inline(always)]
pub(super) fn append_word(buf: &mut Vec<u8>, text: &[u8], from: usize, to: usize, casefold: bool) {
    let len = to - from;
    let chunks = len.div_ceil(8);
    let mask = if casefold { 0x2020_2020_2020_2020u64 } else { 0 };
    if from + 8 * chunks > text.len() {
        // Too close to the end of the text to read whole chunks: the plain way.
        buf.extend(text[from..to].iter().map(|&b| b | mask as u8));
        return;
    }
    buf.reserve(8 * chunks);
    let at = buf.len();
    // SAFETY: reads `text[from..from + 8 * chunks]`, in bounds by the test above; writes
    // `8 * chunks` bytes at `buf[at..]`, within the capacity just reserved; the length then covers
    // only the `len` bytes of the word, all of them written.
    unsafe {
        let src = text.as_ptr().add(from);
        let dst = buf.as_mut_ptr().add(at);
        let mut offset = 0;
        while offset < len {
            let word = src.add(offset).cast::<u64>().read_unaligned();
            dst.add(offset).cast::<u64>().write_unaligned(word | mask);
            offset += 8;
        }
        buf.set_len(at + len);
    }
}

/// The `n` lowest bits set (`n <= 64`).
fn low_bits(n: usize) -> u64 {
    if n >= 64 {
        u64::MAX
    } else {
        (1u64 << n) - 1
    }
}

/// (alphanumeric, non-ASCII) bitmaps of one block.
#[inline]
fn classify_block(block: &[u8; BLOCK]) -> (u64, u64) {
    #[cfg(target_arch = "x86_64")]
    {
        sse2::classify_block(block)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        classify_block_scalar(block)
    }
}

#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn classify_block_scalar(block: &[u8; BLOCK]) -> (u64, u64) {
    block.iter().enumerate().fold((0, 0), |(alnum, high), (i, &b)| {
        (alnum | (u64::from(b.is_ascii_alphanumeric()) << i), high | (u64::from(b >= 0x80) << i))
    })
}

#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::*;

    pub(super) fn classify_block(block: &[u8; super::BLOCK]) -> (u64, u64) {
        let (mut alnum, mut high) = (0u64, 0u64);
        for (i, chunk) in block.chunks_exact(16).enumerate() {
            // SAFETY: SSE2 is in the x86_64 baseline; `loadu` reads 16 bytes from a 16-byte chunk.
            let (a, h) = unsafe { classify16(_mm_loadu_si128(chunk.as_ptr().cast())) };
            alnum |= u64::from(a) << (16 * i);
            high |= u64::from(h) << (16 * i);
        }
        (alnum, high)
    }

    /// `x - lo <= span` as unsigned bytes, i.e. `x` in `lo..=lo + span`: all ones where true.
    #[inline(always)]
    unsafe fn in_range(x: __m128i, lo: u8, span: u8) -> __m128i {
        let shifted = _mm_sub_epi8(x, _mm_set1_epi8(lo as i8));
        _mm_cmpeq_epi8(_mm_min_epu8(shifted, _mm_set1_epi8(span as i8)), shifted)
    }

    #[inline(always)]
    unsafe fn classify16(x: __m128i) -> (u16, u16) {
        let digit = in_range(x, b'0', 9);
        // OR-ing in 0x20 maps A-Z onto a-z and no other byte onto a-z.
        let letter = in_range(_mm_or_si128(x, _mm_set1_epi8(0x20)), b'a', 25);
        let alnum = _mm_movemask_epi8(_mm_or_si128(digit, letter)) as u16;
        (alnum, _mm_movemask_epi8(x) as u16)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference_run(bytes: &[u8]) -> (Vec<bool>, usize) {
        let len = bytes.iter().position(|&b| b >= 0x80).unwrap_or(bytes.len());
        (bytes[..len].iter().map(u8::is_ascii_alphanumeric).collect(), len)
    }

    fn bits_of(alnum: &[u64], len: usize) -> Vec<bool> {
        (0..len).map(|i| alnum[i / 64] >> (i % 64) & 1 == 1).collect()
    }

    #[test]
    fn every_byte_value_is_classified_like_the_standard_library() {
        let all: Vec<u8> = (0..=255u8).collect();
        for block in all.chunks_exact(BLOCK) {
            let block: &[u8; BLOCK] = block.try_into().unwrap();
            assert_eq!(classify_block(block), classify_block_scalar(block));
        }
    }

    #[test]
    fn runs_stop_at_the_first_non_ascii_byte_and_carry_no_bits_past_it() {
        // Lengths around the block size, with the non-ASCII byte at every position of interest.
        let mut state = 0x1234_5678u32;
        for len in [0usize, 1, 2, 15, 16, 17, 63, 64, 65, 127, 128, 129, 200] {
            for stop in [None, Some(0), Some(1), Some(len / 2), Some(len.saturating_sub(1))] {
                let mut bytes: Vec<u8> = (0..len)
                    .map(|_| {
                        state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                        (state >> 16) as u8 & 0x7F
                    })
                    .collect();
                if let Some(at) = stop.filter(|&at| at < len) {
                    bytes[at] = 0xC3;
                }
                let (expected, expected_len) = reference_run(&bytes);
                let mut alnum = Vec::new();
                let got_len = classify_run(&bytes, &mut alnum);
                assert_eq!(got_len, expected_len, "len {len} stop {stop:?}");
                assert_eq!(bits_of(&alnum, got_len), expected);
                let total: u32 = alnum.iter().map(|w| w.count_ones()).sum();
                assert_eq!(total as usize, expected.iter().filter(|&&b| b).count(), "bits past the end");
            }
        }
    }

    #[test]
    fn clear_from_keeps_only_the_first_bits() {
        let mut alnum = vec![u64::MAX, u64::MAX];
        clear_from(&mut alnum, 70);
        assert_eq!(alnum, [u64::MAX, 0b11_1111]);
        clear_from(&mut alnum, 64);
        assert_eq!(alnum, [u64::MAX]);
    }

    #[test]
    fn append_word_copies_and_lowercases_exactly_the_word() {
        let text = b"xx Hello0123456789WORLDz yy";
        for (from, to) in [(3, 24), (3, 8), (25, 27), (26, 27), (0, 2), (3, 3)] {
            for casefold in [false, true] {
                let mut buf = b"abc".to_vec();
                append_word(&mut buf, text, from, to, casefold);
                let word = &text[from..to];
                let expected = if casefold { word.to_ascii_lowercase() } else { word.to_vec() };
                assert_eq!(buf, [b"abc".as_slice(), &expected].concat(), "{from}..{to}");
            }
        }
    }
}
