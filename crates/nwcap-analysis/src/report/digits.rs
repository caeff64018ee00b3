//! Decimal digits without division: the table of digit pairs, powers of ten, and eight digits
//! at once by SWAR arithmetic. Shared by the row writer (`chunk`) and the timestamps (`time`),
//! so that neither depends on the other for them. It owns only arithmetic on digits; it never
//! knows where they are written.

/// `00` to `99`: two digits per lookup instead of a division each.
pub(super) const DIGIT_PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// 10^i.
pub(super) const POW10: [u64; 20] = {
    let mut p = [1u64; 20];
    let mut i = 1;
    while i < 20 {
        p[i] = p[i - 1] * 10;
        i += 1;
    }
    p
};

/// The eight decimal digits of `x` (below 10^8), one per byte, the first in the lowest byte,
/// by SWAR arithmetic: the two halves of four digits, then four pairs, then eight digits,
/// each split by one multiplication for all lanes at once (a division per pair took twice as
/// many instructions). Each step's multiplier and shift divide exactly over its lanes' range
/// (below 10^4 by 100, below 100 by 10), and no lane's product reaches the next lane's bits
/// that are kept.
#[inline]
pub(super) fn eight_digits(x: u32) -> u64 {
    let x = u64::from(x);
    // Lanes of 32 bits: digits 1-4, 5-8.
    let halves = (x / 10_000) | ((x % 10_000) << 32);
    let hundreds = ((halves * 10_486) >> 20) & 0x0000_007F_0000_007F;
    // Lanes of 16 bits: digits 1-2, 3-4, 5-6, 7-8.
    let pairs = ((halves - hundreds * 100) << 16) | hundreds;
    let tens = ((pairs * 103) >> 10) & 0x000F_000F_000F_000F;
    // Lanes of 8 bits.
    ((pairs - tens * 10) << 8) | tens
}

/// Digits (as [`eight_digits`] gives them) as ASCII, in order.
#[inline]
pub(super) fn ascii(digits: u64) -> [u8; 8] {
    (digits | 0x3030_3030_3030_3030).to_le_bytes()
}

#[cfg(test)]
mod tests {
    /// Every value below 10^8 whose digits vary in each position, and the edges.
    #[test]
    fn eight_digits_are_the_formatters() {
        let mut x = 0x2545_F491u32;
        let mut values: Vec<u32> = (0..100_000).collect();
        values.extend((0..8).map(|p| 10u32.pow(p)).flat_map(|p| [p - 1, p, p + 1]));
        values.extend([99_999_999, 12_345_678, 87_654_321, 10_000_000, 9_999_999]);
        for _ in 0..1_000_000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            values.push(x % 100_000_000);
        }
        for v in values {
            assert_eq!(
                super::ascii(super::eight_digits(v)),
                format!("{v:08}").as_bytes(),
                "{v}"
            );
        }
    }
}
