//! whisper.cpp's legacy ggml model file format: header (hparams, mel filters, vocab) and
//! tensor records, with a writer for the converter and a reader for checks and listings.

use std::io::{Read, Write};

use anyhow::{Result, bail, ensure};

/// `"ggml"` as a little-endian u32.
pub const GGML_MAGIC: u32 = 0x6767_6d6c;
/// ggml's quantization version; quantized files store `ftype + 1000 * QNT_VERSION`.
pub const QNT_VERSION: i32 = 2;
const QNT_VERSION_FACTOR: i32 = 1000;

/// Weight storage chosen for the big 2-D matrices of a converted model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quant {
    F32,
    F16,
    Q8_0,
}

impl Quant {
    /// The `ftype` value written into the hparams.
    pub fn ftype(self) -> i32 {
        match self {
            Quant::F32 => 0,
            Quant::F16 => 1,
            Quant::Q8_0 => 7 + QNT_VERSION * QNT_VERSION_FACTOR,
        }
    }

    /// Inverse of [`Quant::ftype`]; `None` for ftypes we do not produce (q4/q5...).
    pub fn from_ftype(ftype: i32) -> Option<Self> {
        match ftype % QNT_VERSION_FACTOR {
            0 => Some(Quant::F32),
            1 => Some(Quant::F16),
            7 => Some(Quant::Q8_0),
            _ => None,
        }
    }

    /// Tensor type used for 2-D weight matrices.
    pub fn matrix_type(self) -> TensorType {
        match self {
            Quant::F32 => TensorType::F32,
            Quant::F16 => TensorType::F16,
            Quant::Q8_0 => TensorType::Q8_0,
        }
    }

    /// Tensor type for conv kernels: whisper.cpp keeps them f16 unless the model is f32.
    pub fn conv_type(self) -> TensorType {
        if self == Quant::F32 { TensorType::F32 } else { TensorType::F16 }
    }
}

impl std::str::FromStr for Quant {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "f32" => Quant::F32,
            "f16" => Quant::F16,
            "q8_0" | "q8" => Quant::Q8_0,
            _ => bail!("unknown quantization {s:?} (expected f32, f16 or q8_0)"),
        })
    }
}

impl std::fmt::Display for Quant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Quant::F32 => "f32",
            Quant::F16 => "f16",
            Quant::Q8_0 => "q8_0",
        })
    }
}

/// ggml tensor type ids used in tensor records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TensorType {
    F32 = 0,
    F16 = 1,
    Q8_0 = 8,
}

impl TensorType {
    pub fn from_id(id: i32) -> Option<Self> {
        match id {
            0 => Some(Self::F32),
            1 => Some(Self::F16),
            8 => Some(Self::Q8_0),
            _ => None,
        }
    }
}

/// The eleven i32 hyper-parameters, in file order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Hparams {
    pub n_vocab: i32,
    pub n_audio_ctx: i32,
    pub n_audio_state: i32,
    pub n_audio_head: i32,
    pub n_audio_layer: i32,
    pub n_text_ctx: i32,
    pub n_text_state: i32,
    pub n_text_head: i32,
    pub n_text_layer: i32,
    pub n_mels: i32,
    pub ftype: i32,
}

impl Hparams {
    fn to_array(self) -> [i32; 11] {
        [
            self.n_vocab,
            self.n_audio_ctx,
            self.n_audio_state,
            self.n_audio_head,
            self.n_audio_layer,
            self.n_text_ctx,
            self.n_text_state,
            self.n_text_head,
            self.n_text_layer,
            self.n_mels,
            self.ftype,
        ]
    }
    fn from_array(a: [i32; 11]) -> Self {
        Self {
            n_vocab: a[0],
            n_audio_ctx: a[1],
            n_audio_state: a[2],
            n_audio_head: a[3],
            n_audio_layer: a[4],
            n_text_ctx: a[5],
            n_text_state: a[6],
            n_text_head: a[7],
            n_text_layer: a[8],
            n_mels: a[9],
            ftype: a[10],
        }
    }
}

/// Everything before the tensor records.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    pub hparams: Hparams,
    pub n_fft_bins: i32,
    /// Row-major `n_mels x n_fft_bins`.
    pub filters: Vec<f32>,
    /// Raw bytes of each regular token.
    pub tokens: Vec<Vec<u8>>,
}

fn put_i32(w: &mut impl Write, v: i32) -> Result<()> {
    w.write_all(&v.to_le_bytes())?;
    Ok(())
}
fn get_i32(r: &mut impl Read) -> Result<i32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    Ok(i32::from_le_bytes(b))
}

impl Header {
    pub fn write(&self, w: &mut impl Write) -> Result<()> {
        let n_mels = self.hparams.n_mels;
        ensure!(
            self.filters.len() == (n_mels * self.n_fft_bins) as usize,
            "filterbank size does not match n_mels x bins"
        );
        w.write_all(&GGML_MAGIC.to_le_bytes())?;
        for v in self.hparams.to_array() {
            put_i32(w, v)?;
        }
        put_i32(w, n_mels)?;
        put_i32(w, self.n_fft_bins)?;
        for f in &self.filters {
            w.write_all(&f.to_le_bytes())?;
        }
        put_i32(w, self.tokens.len() as i32)?;
        for t in &self.tokens {
            put_i32(w, t.len() as i32)?;
            w.write_all(t)?;
        }
        Ok(())
    }

    /// Read only the hparams (cheap; used by listings).
    pub fn read_hparams(r: &mut impl Read) -> Result<Hparams> {
        let mut b = [0u8; 4];
        r.read_exact(&mut b)?;
        ensure!(u32::from_le_bytes(b) == GGML_MAGIC, "not a ggml model (bad magic)");
        let mut a = [0i32; 11];
        for v in a.iter_mut() {
            *v = get_i32(r)?;
        }
        Ok(Hparams::from_array(a))
    }

    pub fn read(r: &mut impl Read) -> Result<Self> {
        let hparams = Self::read_hparams(r)?;
        let (n_mel, bins) = (get_i32(r)?, get_i32(r)?);
        ensure!((1..=512).contains(&n_mel) && (1..=4096).contains(&bins), "bad filterbank dims");
        let mut filters = vec![0f32; (n_mel * bins) as usize];
        for f in filters.iter_mut() {
            let mut b = [0u8; 4];
            r.read_exact(&mut b)?;
            *f = f32::from_le_bytes(b);
        }
        let n_tokens = get_i32(r)?;
        ensure!((0..1_000_000).contains(&n_tokens), "bad token count {n_tokens}");
        let mut tokens = Vec::with_capacity(n_tokens as usize);
        for _ in 0..n_tokens {
            let len = get_i32(r)?;
            ensure!((0..4096).contains(&len), "bad token length {len}");
            let mut t = vec![0u8; len as usize];
            r.read_exact(&mut t)?;
            tokens.push(t);
        }
        let mut hp = hparams;
        hp.n_mels = n_mel;
        ensure!(hp == hparams, "filterbank rows differ from n_mels");
        Ok(Self { hparams, n_fft_bins: bins, filters, tokens })
    }
}

/// Write a tensor record header. `shape` is row-major (outermost first); ggml stores the
/// dims innermost first, so they are written reversed.
pub fn write_tensor_header(w: &mut impl Write, name: &str, shape: &[usize], ttype: TensorType) -> Result<()> {
    ensure!(!shape.is_empty() && shape.len() <= 4, "{name}: rank {} unsupported", shape.len());
    put_i32(w, shape.len() as i32)?;
    put_i32(w, name.len() as i32)?;
    put_i32(w, ttype as i32)?;
    for &d in shape.iter().rev() {
        put_i32(w, i32::try_from(d)?)?;
    }
    w.write_all(name.as_bytes())?;
    Ok(())
}

/// A tensor record header as read back: `(name, row-major shape, type)`.
pub fn read_tensor_header(r: &mut impl Read) -> Result<Option<(String, Vec<usize>, TensorType)>> {
    let mut b = [0u8; 4];
    match r.read_exact(&mut b) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let n_dims = i32::from_le_bytes(b);
    let (name_len, tt) = (get_i32(r)?, get_i32(r)?);
    ensure!((1..=4).contains(&n_dims) && (1..1024).contains(&name_len), "corrupt tensor record");
    let mut dims = (0..n_dims).map(|_| get_i32(r).map(|d| d as usize)).collect::<Result<Vec<_>>>()?;
    dims.reverse();
    let mut name = vec![0u8; name_len as usize];
    r.read_exact(&mut name)?;
    let ttype = TensorType::from_id(tt).ok_or_else(|| anyhow::anyhow!("tensor type {tt} unsupported"))?;
    Ok(Some((String::from_utf8(name)?, dims, ttype)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_tensor_record_round_trip() {
        let hparams = Hparams {
            n_vocab: 51864,
            n_audio_ctx: 1500,
            n_audio_state: 384,
            n_audio_head: 6,
            n_audio_layer: 4,
            n_text_ctx: 448,
            n_text_state: 384,
            n_text_head: 6,
            n_text_layer: 4,
            n_mels: 2,
            ftype: Quant::Q8_0.ftype(),
        };
        let h = Header {
            hparams,
            n_fft_bins: 3,
            filters: vec![0.0, 0.5, 1.0, -1.0, 2.5, 3.25],
            tokens: vec![b"!".to_vec(), b" the".to_vec(), vec![0xc3], vec![]],
        };
        let mut buf = Vec::new();
        h.write(&mut buf).unwrap();
        write_tensor_header(&mut buf, "encoder.conv1.bias", &[384, 1], TensorType::F32).unwrap();
        assert_eq!(&buf[..4], b"lmgg", "magic is 'ggml' little-endian");
        let mut r = &buf[..];
        assert_eq!(Header::read(&mut r).unwrap(), h);
        let (name, shape, tt) = read_tensor_header(&mut r).unwrap().unwrap();
        assert_eq!((name.as_str(), shape, tt), ("encoder.conv1.bias", vec![384, 1], TensorType::F32));
        assert!(read_tensor_header(&mut r).unwrap().is_none());
        assert_eq!(Quant::from_ftype(hparams.ftype), Some(Quant::Q8_0));
        assert_eq!(Quant::Q8_0.ftype(), 2007);
    }

    #[test]
    fn quant_names_parse() {
        assert_eq!("Q8_0".parse::<Quant>().unwrap(), Quant::Q8_0);
        assert_eq!("f16".parse::<Quant>().unwrap().to_string(), "f16");
        assert!("q4_k".parse::<Quant>().is_err());
    }
}
