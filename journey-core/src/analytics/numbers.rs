//! Exact arithmetic for published numbers.
//!
//! Every ratio, mean and standard deviation is computed from exact integer sums with one
//! correctly rounded division ([`ratio`], [`ratio_big`]), so the same data gives the same
//! bits whatever the order of summation or the number of threads, and the same bits as an
//! implementation that divides exact rationals (Python's `int / int`, `Fraction`).

/// `num / den`, correctly rounded to the nearest `f64` (ties to even); `None` when `den == 0`.
pub fn ratio(num: i128, den: i128) -> Option<f64> {
    if den == 0 {
        return None;
    }
    const EXACT: u128 = 1 << 53;
    if num.unsigned_abs() <= EXACT && den.unsigned_abs() <= EXACT {
        return Some(num as f64 / den as f64);
    }
    let neg = (num < 0) != (den < 0);
    let v = ratio_big(&Big::from_u128(num.unsigned_abs()), &Big::from_u128(den.unsigned_abs()));
    Some(if neg { -v } else { v })
}

/// A non-negative big integer (little-endian 32-bit limbs), just enough for exact sums of
/// fractions and one correctly rounded division.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Big(Vec<u32>);

impl Big {
    /// The number `v`.
    pub fn from_u128(mut v: u128) -> Self {
        let mut limbs = Vec::new();
        while v != 0 {
            limbs.push(v as u32);
            v >>= 32;
        }
        Big(limbs)
    }

    fn trim(&mut self) {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }

    /// Whether it is zero.
    pub fn is_zero(&self) -> bool {
        self.0.is_empty()
    }

    /// The number of significant bits.
    pub fn bits(&self) -> u64 {
        match self.0.last() {
            None => 0,
            Some(&top) => (self.0.len() as u64 - 1) * 32 + (32 - top.leading_zeros() as u64),
        }
    }

    /// `self * m`.
    pub fn mul_small(&self, m: u64) -> Big {
        let mut out = Vec::with_capacity(self.0.len() + 2);
        let mut carry: u128 = 0;
        for &l in &self.0 {
            let v = l as u128 * m as u128 + carry;
            out.push(v as u32);
            carry = v >> 32;
        }
        while carry != 0 {
            out.push(carry as u32);
            carry >>= 32;
        }
        let mut b = Big(out);
        b.trim();
        b
    }

    /// `self / d` (integer division) and the remainder.
    pub fn div_small(&self, d: u64) -> (Big, u64) {
        let mut out = vec![0u32; self.0.len()];
        let mut rem: u128 = 0;
        for i in (0..self.0.len()).rev() {
            let cur = (rem << 32) | self.0[i] as u128;
            out[i] = (cur / d as u128) as u32;
            rem = cur % d as u128;
        }
        let mut b = Big(out);
        b.trim();
        (b, rem as u64)
    }

    /// `self + other`.
    pub fn add(&self, other: &Big) -> Big {
        let n = self.0.len().max(other.0.len());
        let mut out = Vec::with_capacity(n + 1);
        let mut carry = 0u64;
        for i in 0..n {
            let v = *self.0.get(i).unwrap_or(&0) as u64 + *other.0.get(i).unwrap_or(&0) as u64 + carry;
            out.push(v as u32);
            carry = v >> 32;
        }
        if carry != 0 {
            out.push(carry as u32);
        }
        Big(out)
    }

    fn shl(&self, bits: u64) -> Big {
        if self.is_zero() {
            return Big::default();
        }
        let (limbs, b) = ((bits / 32) as usize, (bits % 32) as u32);
        let mut out = vec![0u32; limbs];
        let mut carry = 0u32;
        for &l in &self.0 {
            if b == 0 {
                out.push(l);
            } else {
                out.push((l << b) | carry);
                carry = l >> (32 - b);
            }
        }
        if carry != 0 {
            out.push(carry);
        }
        Big(out)
    }

    fn cmp_big(&self, other: &Big) -> std::cmp::Ordering {
        self.0.len().cmp(&other.0.len()).then_with(|| self.0.iter().rev().cmp(other.0.iter().rev()))
    }

    fn sub_assign(&mut self, other: &Big) {
        let mut borrow = 0i64;
        for i in 0..self.0.len() {
            let v = self.0[i] as i64 - *other.0.get(i).unwrap_or(&0) as i64 - borrow;
            if v < 0 {
                self.0[i] = (v + (1i64 << 32)) as u32;
                borrow = 1;
            } else {
                self.0[i] = v as u32;
                borrow = 0;
            }
        }
        self.trim();
    }
}

/// `num / den` for big integers, correctly rounded to the nearest `f64` (ties to even).
/// Panics if `den` is zero.
pub fn ratio_big(num: &Big, den: &Big) -> f64 {
    assert!(!den.is_zero(), "division by zero");
    if num.is_zero() {
        return 0.0;
    }
    // scale so that the quotient has 55 or 56 bits: q = floor(num * 2^s / den)
    let s: i64 = 55 - (num.bits() as i64 - den.bits() as i64);
    let (mut n, d) = if s >= 0 { (num.shl(s as u64), den.clone()) } else { (num.clone(), den.shl((-s) as u64)) };
    let mut q: u64 = 0;
    for bit in (0..=57u64).rev() {
        let ds = d.shl(bit);
        if n.cmp_big(&ds) != std::cmp::Ordering::Less {
            n.sub_assign(&ds);
            q |= 1 << bit;
        }
    }
    let sticky = !n.is_zero();
    // round q (55..57 bits) to 53 bits, half to even
    let extra = 64 - q.leading_zeros() as i64 - 53;
    let mut mant = q >> extra;
    let rest = q & ((1u64 << extra) - 1);
    let half = 1u64 << (extra - 1);
    if rest > half || (rest == half && (sticky || mant & 1 == 1)) {
        mant += 1;
    }
    // value = mant * 2^(extra - s); mant <= 2^53 is exact in f64, and scaling by a power of
    // two is exact outside the subnormal range
    let mut v = mant as f64;
    let mut e = extra - s;
    while e > 0 {
        let step = e.min(1000);
        v *= 2f64.powi(step as i32);
        e -= step;
    }
    while e < 0 {
        let step = (-e).min(1000);
        v /= 2f64.powi(step as i32);
        e += step;
    }
    v
}

/// Rounds to 9 decimals the way Python's `round(x, 9)` does (the exact binary value, ties
/// to even), maps `-0.0` to `0.0`. Non-finite values give `None`.
pub fn round9(x: f64) -> Option<f64> {
    if !x.is_finite() {
        return None;
    }
    let r: f64 = format!("{x:.9}").parse().expect("a formatted float parses");
    Some(if r == 0.0 { 0.0 } else { r })
}

/// A float written as Python's `repr` writes it: the shortest digits that read back to the
/// same value, in fixed notation for exponents -4..15 (`0.0001`, `369409350.0`) and
/// scientific otherwise (`1e-05`, `1.5e+16`).
pub fn py_repr(x: f64) -> String {
    if x == 0.0 {
        return if x.is_sign_negative() { "-0.0".into() } else { "0.0".into() };
    }
    let sci = format!("{x:e}"); // e.g. "-3.6940935e8", "1e-9"
    let (mant, exp) = sci.split_once('e').expect("scientific notation");
    let exp: i32 = exp.parse().expect("exponent");
    let (neg, mant) = mant.strip_prefix('-').map_or((false, mant), |m| (true, m));
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if (-4..16).contains(&exp) {
        if exp < 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-exp - 1) as usize));
            out.push_str(&digits);
        } else {
            let int_len = exp as usize + 1;
            if digits.len() <= int_len {
                out.push_str(&digits);
                out.extend(std::iter::repeat_n('0', int_len - digits.len()));
                out.push_str(".0");
            } else {
                out.push_str(&digits[..int_len]);
                out.push('.');
                out.push_str(&digits[int_len..]);
            }
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", exp.abs()));
    }
    out
}

/// The median of sorted-or-not integers as Python's `statistics.median` gives it (the mean
/// of the two middle values for an even count), computed with selection, not a full sort.
pub fn median_i64(values: &mut [i64]) -> Option<f64> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let hi_idx = n / 2;
    let (_, &mut hi, _) = values.select_nth_unstable(hi_idx);
    if n % 2 == 1 {
        return Some(hi as f64);
    }
    let lo = *values[..hi_idx].iter().max().expect("n >= 2");
    ratio(lo as i128 + hi as i128, 2)
}

/// The least common multiple of `1..=n`, as used to keep window means integral.
pub fn lcm_upto(n: u64) -> u64 {
    fn gcd(a: u64, b: u64) -> u64 {
        if b == 0 { a } else { gcd(b, a % b) }
    }
    (1..=n.max(1)).fold(1u64, |acc, k| acc / gcd(acc, k) * k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_are_correctly_rounded() {
        assert_eq!(ratio(1, 3), Some(1.0 / 3.0));
        assert_eq!(ratio(0, 5), Some(0.0));
        assert_eq!(ratio(5, 0), None);
        // big operands: same as the f64 division of the reduced fraction
        let k: i128 = 3 << 80;
        assert_eq!(ratio(k, 9 << 80), Some(1.0 / 3.0));
        assert_eq!(ratio(-k, 9 << 80), Some(-1.0 / 3.0));
        assert_eq!(ratio((7 << 90) + (1 << 20), 1 << 90), Some(7.0));
        assert_eq!(ratio(2 * 12345678901234567890123i128, 2 * 98765432109876543210987i128), Some(0.1249999988609375));
        assert_eq!(ratio(10i128.pow(30) + 7, 3 * 10i128.pow(29) + 1), Some(3.3333333333333335));
        for (a, b) in [(1u64, 7u64), (22, 7), (123456789, 1000), (5, 1 << 40), (1 << 50, 3)] {
            let big = ratio_big(&Big::from_u128((a as u128) << 70), &Big::from_u128((b as u128) << 70));
            assert_eq!(big, a as f64 / b as f64, "{a}/{b}");
        }
    }

    #[test]
    fn python_rounding_and_repr() {
        assert_eq!(round9(0.0009765625), Some(0.000976562));
        assert_eq!(round9(0.0029296875), Some(0.002929688));
        assert_eq!(round9(-1e-12), Some(0.0));
        assert_eq!(round9(f64::NAN), None);
        for (x, s) in [
            (369409350.0, "369409350.0"),
            (0.1, "0.1"),
            (1e-9, "1e-09"),
            (1.5e-7, "1.5e-07"),
            (0.0001, "0.0001"),
            (1e-5, "1e-05"),
            (1e16, "1e+16"),
            (1.2345678901234568e17, "1.2345678901234568e+17"),
            (-0.5, "-0.5"),
            (123.456, "123.456"),
            (1e15, "1000000000000000.0"),
        ] {
            assert_eq!(py_repr(x), s);
        }
    }

    #[test]
    fn medians() {
        assert_eq!(median_i64(&mut []), None);
        assert_eq!(median_i64(&mut [5, 1, 3]), Some(3.0));
        assert_eq!(median_i64(&mut [4, 1, 3, 2]), Some(2.5));
        assert_eq!(lcm_upto(3), 6);
    }
}
