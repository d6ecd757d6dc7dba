//! Fixed-width unsigned integers packed into bytes, least significant bit first.
//!
//! An LSH segment stores, per band, one document number and part of a 32-bit key for every
//! document: as whole `u32`s that is 8 bytes per (document, band), 200 bytes per document at 25
//! bands, more than the whole budget of the index. Packed at the widths the segment needs (the
//! document numbers of a segment of `n` documents need `log2 n` bits, the key bits a directory
//! already implies need none), the same entry takes about 36 bits.
//!
//! A value is read with one unaligned 8-byte load and a shift, so every packed array is followed
//! by [`SLACK`] zero bytes and widths are at most [`MAX_WIDTH`] bits (a value then never spans more
//! than the 8 bytes loaded at its first byte).

use crate::error::{Error, Result};
use std::io::Write;

/// The widest value a packed array holds: a value starting at bit 7 of a byte must end inside the
/// 8 bytes loaded there.
pub const MAX_WIDTH: u32 = 56;
/// Zero bytes after every packed array, so that the 8-byte load of its last value stays inside it.
pub const SLACK: usize = 8;

/// Bits needed to hold every value in `0..=max` (at least 1).
pub fn width_for(max: u64) -> u32 {
    (64 - max.leading_zeros()).max(1)
}

/// Bytes of a packed array of `count` values of `width` bits, slack included, rounded up to a
/// multiple of 8 so that the next array starts aligned.
pub fn packed_len(count: usize, width: u32) -> usize {
    let bits = count as u128 * u128::from(width);
    let bytes = bits.div_ceil(8) as usize + SLACK;
    bytes.div_ceil(8) * 8
}

/// Value `i` of a packed array of `width`-bit values in `bytes` (which includes the slack). An
/// index past the array reads 0 rather than panicking: a damaged file must not crash a reader.
#[inline]
pub fn get(bytes: &[u8], width: u32, i: usize) -> u64 {
    // u64 arithmetic: a packed array of at most 2^32 values of at most 56 bits has fewer than 2^64 bits.
    let bit = (i as u64).wrapping_mul(u64::from(width));
    let at = (bit / 8) as usize;
    match bytes.get(at..at + 8) {
        Some(word) => {
            let mut b = [0u8; 8];
            b.copy_from_slice(word);
            let value = u64::from_le_bytes(b) >> (bit % 8) as u32;
            value & mask(width)
        }
        None => 0,
    }
}

#[inline]
fn mask(width: u32) -> u64 {
    if width >= 64 {
        u64::MAX
    } else {
        (1u64 << width) - 1
    }
}

/// Writes values of a fixed width to `out` as a packed array (slack and alignment padding
/// included once [`PackedWriter::finish`] is called).
pub struct PackedWriter {
    width: u32,
    buffer: u128,
    buffered: u32,
    written: usize,
    count: usize,
    chunk: Vec<u8>,
}

impl PackedWriter {
    pub fn new(width: u32) -> Result<Self> {
        if width == 0 || width > MAX_WIDTH {
            return Err(Error::InvalidArgument(format!("packed width {width} out of 1..={MAX_WIDTH}")));
        }
        Ok(PackedWriter {
            width,
            buffer: 0,
            buffered: 0,
            written: 0,
            count: 0,
            chunk: Vec::with_capacity(1 << 16),
        })
    }

    /// Appends `value`, which must fit the width.
    #[inline]
    pub fn push(&mut self, value: u64, out: &mut impl Write) -> Result<()> {
        if value & !mask(self.width) != 0 {
            return Err(Error::InvalidArgument(format!("{value} does not fit {} bits", self.width)));
        }
        self.buffer |= u128::from(value) << self.buffered;
        self.buffered += self.width;
        self.count += 1;
        while self.buffered >= 8 {
            self.chunk.push(self.buffer as u8);
            self.buffer >>= 8;
            self.buffered -= 8;
        }
        if self.chunk.len() >= 1 << 16 {
            self.flush(out)?;
        }
        Ok(())
    }

    fn flush(&mut self, out: &mut impl Write) -> Result<()> {
        out.write_all(&self.chunk).map_err(|e| Error::Io(format!("cannot write: {e}")))?;
        self.written += self.chunk.len();
        self.chunk.clear();
        Ok(())
    }

    /// Writes the last partial byte, the slack and the padding; returns the array's length in bytes
    /// (always [`packed_len`] of the values pushed).
    pub fn finish(mut self, out: &mut impl Write) -> Result<usize> {
        if self.buffered > 0 {
            self.chunk.push(self.buffer as u8);
        }
        let total = packed_len(self.count, self.width);
        let so_far = self.written + self.chunk.len();
        self.chunk.resize(self.chunk.len() + (total - so_far), 0);
        self.flush(out)?;
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_of_every_width_read_back() {
        for width in [1u32, 3, 7, 8, 13, 17, 31, 32, 33, 48, 56] {
            let values: Vec<u64> =
                (0..1000u64).map(|i| crate::hash::fmix64(i + u64::from(width)) & mask(width)).collect();
            let mut bytes = Vec::new();
            let mut writer = PackedWriter::new(width).unwrap();
            for &v in &values {
                writer.push(v, &mut bytes).unwrap();
            }
            let len = writer.finish(&mut bytes).unwrap();
            assert_eq!(
                (len, bytes.len()),
                (packed_len(values.len(), width), packed_len(values.len(), width))
            );
            assert_eq!(bytes.len() % 8, 0);
            for (i, &v) in values.iter().enumerate() {
                assert_eq!(get(&bytes, width, i), v, "width {width} value {i}");
            }
        }
    }

    #[test]
    fn widths_and_bounds() {
        assert_eq!(
            (width_for(0), width_for(1), width_for(2), width_for(255), width_for(256)),
            (1, 1, 2, 8, 9)
        );
        assert_eq!(width_for(u64::from(u32::MAX)), 32);
        assert!(PackedWriter::new(0).is_err() && PackedWriter::new(57).is_err());
        let mut sink = Vec::new();
        assert!(PackedWriter::new(4).unwrap().push(16, &mut sink).is_err(), "16 needs 5 bits");
        // Reads past the end give 0, never a panic.
        assert_eq!(get(&[0xFF; 16], 8, 100), 0);
        assert_eq!(packed_len(0, 32), 8);
    }
}
