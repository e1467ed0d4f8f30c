//! Streaming reader for CTranslate2 `model.bin` files (binary version 6, Whisper spec).
//!
//! Only the variable index is kept in memory; tensor data is read on demand by seeking,
//! so converting a model never holds the whole source in RAM.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail, ensure};
use half::{bf16, f16};

/// Element type of a stored variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    F32,
    I8,
    I16,
    I32,
    F16,
    BF16,
}

impl DType {
    fn from_id(id: u8) -> Result<Self> {
        Ok(match id {
            0 => DType::F32,
            1 => DType::I8,
            2 => DType::I16,
            3 => DType::I32,
            4 => DType::F16,
            5 => DType::BF16,
            _ => bail!("unknown CTranslate2 dtype id {id}"),
        })
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            DType::I8 => 1,
            DType::I16 | DType::F16 | DType::BF16 => 2,
            DType::F32 | DType::I32 => 4,
        }
    }
}

/// One variable of the index: where its bytes live in the file.
#[derive(Debug, Clone)]
pub struct Var {
    pub name: String,
    pub shape: Vec<usize>,
    pub dtype: DType,
    pub offset: u64,
    pub nbytes: usize,
}

impl Var {
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
}

/// An opened CTranslate2 model: variable index plus the file to read data from.
pub struct Ct2Model {
    file: BufReader<File>,
    pub spec: String,
    pub version: u32,
    pub revision: u32,
    vars: Vec<Var>,
    by_name: HashMap<String, usize>,
    aliases: HashMap<String, String>,
}

fn read_u8(r: &mut impl Read) -> Result<u8> {
    let mut b = [0u8; 1];
    r.read_exact(&mut b)?;
    Ok(b[0])
}
fn read_u16(r: &mut impl Read) -> Result<u16> {
    let mut b = [0u8; 2];
    r.read_exact(&mut b)?;
    Ok(u16::from_le_bytes(b))
}
fn read_u32(r: &mut impl Read) -> Result<u32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    Ok(u32::from_le_bytes(b))
}
/// `u16 length (incl. trailing NUL)`, bytes, NUL.
fn read_str(r: &mut impl Read) -> Result<String> {
    let len = read_u16(r)? as usize;
    ensure!(len >= 1, "zero-length string in model.bin");
    let mut buf = vec![0u8; len];
    r.read_exact(&mut buf)?;
    ensure!(buf.pop() == Some(0), "string in model.bin is not NUL-terminated");
    String::from_utf8(buf).context("non-UTF-8 name in model.bin")
}

impl Ct2Model {
    /// Parse the header and variable index of `path`.
    pub fn open(path: &Path) -> Result<Self> {
        let f = File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let file_len = f.metadata()?.len();
        let mut r = BufReader::with_capacity(1 << 20, f);
        let version = read_u32(&mut r)?;
        ensure!((5..=6).contains(&version), "unsupported CTranslate2 binary version {version} (expected 6)");
        let spec = read_str(&mut r)?;
        let revision = read_u32(&mut r)?;
        let n_vars = read_u32(&mut r)? as usize;
        ensure!(n_vars < 100_000, "implausible variable count {n_vars}");
        let mut vars = Vec::with_capacity(n_vars);
        for _ in 0..n_vars {
            let name = read_str(&mut r)?;
            let rank = read_u8(&mut r)? as usize;
            ensure!(rank <= 8, "{name}: implausible rank {rank}");
            let shape = (0..rank).map(|_| read_u32(&mut r).map(|d| d as usize)).collect::<Result<Vec<_>>>()?;
            let dtype = DType::from_id(read_u8(&mut r)?)?;
            let nbytes = read_u32(&mut r)? as usize;
            let offset = r.stream_position()?;
            let numel: usize = shape.iter().product();
            ensure!(numel * dtype.size() == nbytes, "{name}: {nbytes} bytes do not match shape {shape:?} of {dtype:?}");
            ensure!(offset + nbytes as u64 <= file_len, "{name}: data runs past end of file");
            r.seek_relative(nbytes as i64)?;
            vars.push(Var { name, shape, dtype, offset, nbytes });
        }
        let mut aliases = HashMap::new();
        if version >= 3 && r.stream_position()? < file_len {
            let n_aliases = read_u32(&mut r)?;
            for _ in 0..n_aliases {
                let alias = read_str(&mut r)?;
                let target = read_str(&mut r)?;
                aliases.insert(alias, target);
            }
        }
        let by_name = vars.iter().enumerate().map(|(i, v)| (v.name.clone(), i)).collect();
        Ok(Self { file: r, spec, version, revision, vars, by_name, aliases })
    }

    /// All variables in file order.
    pub fn vars(&self) -> &[Var] {
        &self.vars
    }

    /// Look a variable up by name, following aliases.
    pub fn var(&self, name: &str) -> Option<&Var> {
        let name = self.aliases.get(name).map(String::as_str).unwrap_or(name);
        self.by_name.get(name).map(|&i| &self.vars[i])
    }

    /// Like [`Self::var`] but an error when missing.
    pub fn require(&self, name: &str) -> Result<&Var> {
        self.var(name).ok_or_else(|| anyhow!("variable {name} missing from model.bin"))
    }

    fn read_bytes(&mut self, var: &Var) -> Result<Vec<u8>> {
        let mut buf = vec![0u8; var.nbytes];
        self.file.seek(SeekFrom::Start(var.offset))?;
        self.file.read_exact(&mut buf)?;
        Ok(buf)
    }

    /// Read a variable as f32 values, dequantizing int8/int16 with their `_scale` variable
    /// (value = q / scale, one scale per row or one for the whole tensor).
    pub fn read_f32(&mut self, name: &str) -> Result<Vec<f32>> {
        let var = self.require(name)?.clone();
        let bytes = self.read_bytes(&var)?;
        let out: Vec<f32> = match var.dtype {
            DType::F32 => bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
            DType::F16 => bytes.chunks_exact(2).map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
            DType::BF16 => bytes.chunks_exact(2).map(|c| bf16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
            DType::I32 => bytes.chunks_exact(4).map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f32).collect(),
            DType::I8 | DType::I16 => {
                let q: Vec<f32> = if var.dtype == DType::I8 {
                    bytes.iter().map(|&b| b as i8 as f32).collect()
                } else {
                    bytes.chunks_exact(2).map(|c| i16::from_le_bytes([c[0], c[1]]) as f32).collect()
                };
                let scale_name = format!("{}_scale", var.name);
                if self.var(&scale_name).is_none() {
                    // Genuine integer scalars (e.g. num_heads) have no scale.
                    return Ok(q);
                }
                let scale = self.read_f32(&scale_name)?;
                dequantize_rows(&q, &scale, &var)?
            }
        };
        Ok(out)
    }

    /// Read an integer scalar such as `encoder/num_heads`.
    pub fn scalar_i64(&mut self, name: &str) -> Result<i64> {
        let var = self.require(name)?.clone();
        ensure!(var.numel() == 1, "{name} is not a scalar: {:?}", var.shape);
        let b = self.read_bytes(&var)?;
        Ok(match var.dtype {
            DType::I8 => b[0] as i8 as i64,
            DType::I16 => i16::from_le_bytes([b[0], b[1]]) as i64,
            DType::I32 => i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as i64,
            DType::F32 => f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as i64,
            DType::F16 | DType::BF16 => bail!("{name}: float16 scalar not expected"),
        })
    }

    /// Number of distinct `prefix/layer_N/` blocks.
    pub fn layer_count(&self, prefix: &str) -> usize {
        let head = format!("{prefix}/layer_");
        let mut ids: Vec<usize> = self
            .vars
            .iter()
            .filter_map(|v| v.name.strip_prefix(&head))
            .filter_map(|rest| rest.split('/').next()?.parse().ok())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    }
}

fn dequantize_rows(q: &[f32], scale: &[f32], var: &Var) -> Result<Vec<f32>> {
    ensure!(!scale.is_empty(), "{}: empty scale", var.name);
    let rows = if scale.len() == 1 { 1 } else { var.shape.first().copied().unwrap_or(1) };
    ensure!(
        scale.len() == rows && q.len().is_multiple_of(rows),
        "{}: {} scales for shape {:?}",
        var.name,
        scale.len(),
        var.shape
    );
    let cols = q.len() / rows;
    Ok(q.iter().enumerate().map(|(i, &v)| v / scale[i / cols]).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn put_str(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&((s.len() + 1) as u16).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
        out.push(0);
    }
    fn put_var(out: &mut Vec<u8>, name: &str, shape: &[u32], dtype: u8, data: &[u8]) {
        put_str(out, name);
        out.push(shape.len() as u8);
        for d in shape {
            out.extend_from_slice(&d.to_le_bytes());
        }
        out.push(dtype);
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(data);
    }

    #[test]
    fn reads_index_aliases_scalars_and_int8_scales() {
        let mut b = Vec::new();
        b.extend_from_slice(&6u32.to_le_bytes());
        put_str(&mut b, "WhisperSpec");
        b.extend_from_slice(&3u32.to_le_bytes());
        b.extend_from_slice(&4u32.to_le_bytes());
        put_var(&mut b, "encoder/num_heads", &[], 2, &6i16.to_le_bytes());
        let h: Vec<u8> = [1.5f32, -2.0].iter().flat_map(|x| f16::from_f32(*x).to_le_bytes()).collect();
        put_var(&mut b, "decoder/layer_0/w", &[2], 4, &h);
        put_var(&mut b, "decoder/layer_1/q", &[2, 2], 1, &[10u8, 246, 4, 8]);
        let s: Vec<u8> = [10f32, 4.0].iter().flat_map(|x| x.to_le_bytes()).collect();
        put_var(&mut b, "decoder/layer_1/q_scale", &[2], 0, &s);
        b.extend_from_slice(&1u32.to_le_bytes());
        put_str(&mut b, "decoder/alias");
        put_str(&mut b, "decoder/layer_0/w");
        let path = std::env::temp_dir().join(format!("ct2_test_{}.bin", std::process::id()));
        File::create(&path).unwrap().write_all(&b).unwrap();

        let mut m = Ct2Model::open(&path).unwrap();
        assert_eq!(m.spec, "WhisperSpec");
        assert_eq!(m.vars().len(), 4);
        assert_eq!(m.scalar_i64("encoder/num_heads").unwrap(), 6);
        assert_eq!(m.read_f32("decoder/alias").unwrap(), vec![1.5, -2.0]);
        assert_eq!(m.read_f32("decoder/layer_1/q").unwrap(), vec![1.0, -1.0, 1.0, 2.0]);
        assert_eq!(m.layer_count("decoder"), 2);
        assert!(m.read_f32("nope").is_err());
        std::fs::remove_file(&path).ok();
    }
}
