//! Tensor data encoders for ggml: f32, f16 and q8_0 blocks.

use anyhow::{Result, ensure};
use half::f16;

use super::ggml::TensorType;

/// Values per q8_0 block.
pub const QK8_0: usize = 32;
/// Bytes per q8_0 block: f16 scale + 32 int8.
pub const Q8_0_BLOCK_BYTES: usize = 2 + QK8_0;

/// Encode `values` (row-major, rows of `row_len`) as `ttype` bytes, ready to be written.
pub fn encode(values: &[f32], row_len: usize, ttype: TensorType) -> Result<Vec<u8>> {
    Ok(match ttype {
        TensorType::F32 => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        TensorType::F16 => values.iter().flat_map(|&v| f16::from_f32(v).to_le_bytes()).collect(),
        TensorType::Q8_0 => {
            ensure!(
                row_len > 0 && row_len.is_multiple_of(QK8_0) && values.len().is_multiple_of(row_len),
                "q8_0 needs rows that are a multiple of {QK8_0} (row length {row_len})"
            );
            quantize_q8_0(values)
        }
    })
}

/// q8_0: per block of 32 consecutive values, `d = max|x| / 127` stored as f16, then
/// `round(x / d)` as int8. Rows must be a multiple of 32 long so blocks never straddle rows.
pub fn quantize_q8_0(values: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() / QK8_0 * Q8_0_BLOCK_BYTES);
    for block in values.chunks(QK8_0) {
        let amax = block.iter().fold(0f32, |m, v| m.max(v.abs()));
        let d = amax / 127.0;
        let inv = if d > 0.0 { 1.0 / d } else { 0.0 };
        out.extend_from_slice(&f16::from_f32(d).to_le_bytes());
        for i in 0..QK8_0 {
            let x = block.get(i).copied().unwrap_or(0.0);
            out.push((x * inv).round().clamp(-127.0, 127.0) as i8 as u8);
        }
    }
    out
}

/// Inverse of [`quantize_q8_0`] (used by tests and sanity checks).
pub fn dequantize_q8_0(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(Q8_0_BLOCK_BYTES)
        .flat_map(|b| {
            let d = f16::from_le_bytes([b[0], b[1]]).to_f32();
            b[2..].iter().map(move |&q| q as i8 as f32 * d)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic pseudo-random values in [-1, 1) (xorshift), scaled per block.
    fn sample(n: usize) -> Vec<f32> {
        let mut s = 0x9e37_79b9_u32;
        (0..n)
            .map(|i| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                let u = s as f32 / u32::MAX as f32 * 2.0 - 1.0;
                u * (1 + i / 64) as f32 * 0.05
            })
            .collect()
    }

    #[test]
    fn q8_0_round_trip_error_is_within_half_a_step() {
        let x = sample(32 * 48);
        let q = encode(&x, 384, TensorType::Q8_0).unwrap();
        assert_eq!(q.len(), 48 * Q8_0_BLOCK_BYTES);
        let y = dequantize_q8_0(&q);
        for (bx, by) in x.chunks(QK8_0).zip(y.chunks(QK8_0)) {
            let amax = bx.iter().fold(0f32, |m, v| m.max(v.abs()));
            // Rounding costs at most d/2; the f16 scale adds a relative 2^-11 per value.
            let bound = amax / 127.0 * 0.5 + amax * 1e-3 + 1e-7;
            for (a, b) in bx.iter().zip(by) {
                assert!((a - b).abs() <= bound, "{a} vs {b} (bound {bound})");
            }
        }
    }

    #[test]
    fn q8_0_zero_block_and_extremes() {
        let mut x = vec![0f32; 64];
        x[32] = -3.0;
        x[33] = 3.0;
        let q = quantize_q8_0(&x);
        assert!(dequantize_q8_0(&q)[..32].iter().all(|&v| v == 0.0));
        assert_eq!(q[Q8_0_BLOCK_BYTES + 2] as i8, -127);
        assert_eq!(q[Q8_0_BLOCK_BYTES + 3] as i8, 127);
    }

    #[test]
    fn f16_and_f32_encoding_and_row_check() {
        let b = encode(&[1.0, -0.5], 2, TensorType::F16).unwrap();
        assert_eq!(b, [0x00, 0x3c, 0x00, 0xb8]);
        assert_eq!(encode(&[1.0], 1, TensorType::F32).unwrap(), 1f32.to_le_bytes());
        assert!(encode(&[0.0; 40], 40, TensorType::Q8_0).is_err());
    }
}
