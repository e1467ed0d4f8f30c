//! CTranslate2 Whisper -> whisper.cpp ggml converter (`import`).
//!
//! Tensors are streamed one CTranslate2 variable at a time (fused q/k/v projections are
//! read once and split), written through a hashing writer into a temporary file next to
//! the target, then renamed into place, so a crash never leaves a half-written model.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};

use super::ct2::Ct2Model;
use super::ggml::{Header, Hparams, Quant, TensorType, write_tensor_header};
use super::{mel, quant, vocab};

/// What `import` produced.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ImportReport {
    pub out_path: PathBuf,
    pub quant: Quant,
    pub hparams: Hparams,
    pub n_tokens: usize,
    pub n_tensors: usize,
    pub bytes: u64,
    pub sha256: String,
}

/// Writer that hashes everything it writes and counts bytes.
struct HashingWriter<W: Write> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Hyper-parameters derived from the CTranslate2 variables.
pub fn derive_hparams(m: &mut Ct2Model, quant: Quant) -> Result<Hparams> {
    let rows = |m: &Ct2Model, n: &str| -> Result<i32> { Ok(m.require(n)?.shape[0] as i32) };
    let emb = m.require("decoder/embeddings/weight")?.shape.clone();
    let conv1 = m.require("encoder/conv1/weight")?.shape.clone();
    ensure!(emb.len() == 2 && conv1.len() == 3, "unexpected embedding/conv1 ranks");
    let hp = Hparams {
        n_vocab: emb[0] as i32,
        n_audio_ctx: rows(m, "encoder/position_encodings/encodings")?,
        n_audio_state: conv1[0] as i32,
        n_audio_head: m.scalar_i64("encoder/num_heads")? as i32,
        n_audio_layer: m.layer_count("encoder") as i32,
        n_text_ctx: rows(m, "decoder/position_encodings/encodings")?,
        n_text_state: emb[1] as i32,
        n_text_head: m.scalar_i64("decoder/num_heads")? as i32,
        n_text_layer: m.layer_count("decoder") as i32,
        n_mels: conv1[1] as i32,
        ftype: quant.ftype(),
    };
    ensure!(hp.n_audio_state == hp.n_text_state, "audio and text widths differ: {hp:?}");
    ensure!(hp.n_audio_layer > 0 && hp.n_text_layer > 0, "no layers found: {hp:?}");
    Ok(hp)
}

struct Emitter<'a, W: Write> {
    m: &'a mut Ct2Model,
    w: &'a mut W,
    quant: Quant,
    count: usize,
    bar: ProgressBar,
}

impl<W: Write> Emitter<'_, W> {
    fn put(&mut self, name: &str, shape: &[usize], data: &[f32], tt: TensorType) -> Result<()> {
        ensure!(shape.iter().product::<usize>() == data.len(), "{name}: shape/data mismatch");
        write_tensor_header(self.w, name, shape, tt)?;
        let bytes = quant::encode(data, *shape.last().unwrap_or(&1), tt).with_context(|| format!("encoding {name}"))?;
        self.w.write_all(&bytes)?;
        self.count += 1;
        self.bar.inc(1);
        Ok(())
    }

    /// f32 vector/table (biases, layer norms, positional embeddings).
    fn plain(&mut self, src: &str, dst: &str) -> Result<()> {
        let shape = self.m.require(src)?.shape.clone();
        let data = self.m.read_f32(src)?;
        self.put(dst, &shape, &data, TensorType::F32)
    }

    fn norm(&mut self, src: &str, dst: &str) -> Result<()> {
        self.plain(&format!("{src}/gamma"), &format!("{dst}.weight"))?;
        self.plain(&format!("{src}/beta"), &format!("{dst}.bias"))
    }

    /// A linear layer whose rows are `dsts.len()` fused projections; `None` skips a bias
    /// (whisper's key projections have none; CTranslate2 stores zeros there).
    fn linear(&mut self, src: &str, dsts: &[(&str, bool)]) -> Result<()> {
        let wname = format!("{src}/weight");
        let shape = self.m.require(&wname)?.shape.clone();
        ensure!(shape.len() == 2 && shape[0] % dsts.len() == 0, "{wname}: shape {shape:?}");
        let (rows, cols) = (shape[0] / dsts.len(), shape[1]);
        let w = self.m.read_f32(&wname)?;
        let b = self.m.read_f32(&format!("{src}/bias"))?;
        ensure!(b.len() == shape[0], "{src}/bias length {}", b.len());
        let mt = self.quant.matrix_type();
        for (i, (dst, has_bias)) in dsts.iter().enumerate() {
            let part = &w[i * rows * cols..(i + 1) * rows * cols];
            self.put(&format!("{dst}.weight"), &[rows, cols], part, mt)?;
            if *has_bias {
                self.put(&format!("{dst}.bias"), &[rows], &b[i * rows..(i + 1) * rows], TensorType::F32)?;
            }
        }
        Ok(())
    }

    fn conv(&mut self, n: usize) -> Result<()> {
        let src = format!("encoder/conv{n}");
        let shape = self.m.require(&format!("{src}/weight"))?.shape.clone();
        let w = self.m.read_f32(&format!("{src}/weight"))?;
        self.put(&format!("encoder.conv{n}.weight"), &shape, &w, self.quant.conv_type())?;
        let b = self.m.read_f32(&format!("{src}/bias"))?;
        self.put(&format!("encoder.conv{n}.bias"), &[b.len(), 1], &b, TensorType::F32)
    }

    fn block_common(&mut self, src: &str, dst: &str) -> Result<()> {
        self.norm(&format!("{src}/self_attention/layer_norm"), &format!("{dst}.attn_ln"))?;
        let (q, k, v) = (format!("{dst}.attn.query"), format!("{dst}.attn.key"), format!("{dst}.attn.value"));
        self.linear(&format!("{src}/self_attention/linear_0"), &[(&q, true), (&k, false), (&v, true)])?;
        self.linear(&format!("{src}/self_attention/linear_1"), &[(&format!("{dst}.attn.out"), true)])?;
        self.norm(&format!("{src}/ffn/layer_norm"), &format!("{dst}.mlp_ln"))?;
        self.linear(&format!("{src}/ffn/linear_0"), &[(&format!("{dst}.mlp.0"), true)])?;
        self.linear(&format!("{src}/ffn/linear_1"), &[(&format!("{dst}.mlp.2"), true)])
    }

    fn all(&mut self, hp: &Hparams) -> Result<()> {
        self.conv(1)?;
        self.conv(2)?;
        self.plain("encoder/position_encodings/encodings", "encoder.positional_embedding")?;
        for i in 0..hp.n_audio_layer {
            self.block_common(&format!("encoder/layer_{i}"), &format!("encoder.blocks.{i}"))?;
        }
        self.norm("encoder/layer_norm", "encoder.ln_post")?;

        let emb = self.m.read_f32("decoder/embeddings/weight")?;
        let shape = self.m.require("decoder/embeddings/weight")?.shape.clone();
        self.put("decoder.token_embedding.weight", &shape, &emb, self.quant.matrix_type())?;
        drop(emb);
        self.plain("decoder/position_encodings/encodings", "decoder.positional_embedding")?;
        for i in 0..hp.n_text_layer {
            let (src, dst) = (format!("decoder/layer_{i}"), format!("decoder.blocks.{i}"));
            self.block_common(&src, &dst)?;
            self.norm(&format!("{src}/attention/layer_norm"), &format!("{dst}.cross_attn_ln"))?;
            self.linear(&format!("{src}/attention/linear_0"), &[(&format!("{dst}.cross_attn.query"), true)])?;
            let (k, v) = (format!("{dst}.cross_attn.key"), format!("{dst}.cross_attn.value"));
            self.linear(&format!("{src}/attention/linear_1"), &[(&k, false), (&v, true)])?;
            self.linear(&format!("{src}/attention/linear_2"), &[(&format!("{dst}.cross_attn.out"), true)])?;
        }
        self.norm("decoder/layer_norm", "decoder.ln")
    }
}

/// Convert a CTranslate2 Whisper directory (`model.bin` + `vocabulary.txt` or
/// `tokenizer.json`) into a whisper.cpp ggml file at `out_path`.
pub fn import(ct2_dir: &Path, out_path: &Path, quant: Quant) -> Result<ImportReport> {
    let model_bin = ct2_dir.join("model.bin");
    if !model_bin.exists() && ct2_dir.join("model.bin.part1").exists() {
        bail!("{} holds split parts; concatenate model.bin.part* into model.bin first", ct2_dir.display());
    }
    let mut m = Ct2Model::open(&model_bin)?;
    ensure!(m.spec == "WhisperSpec", "{} is a {} model, not Whisper", model_bin.display(), m.spec);
    let hparams = derive_hparams(&mut m, quant)?;
    let tokens = vocab::load_tokens(ct2_dir)?;
    ensure!(
        tokens.len() < hparams.n_vocab as usize,
        "vocabulary has {} regular tokens but the model only {} ids",
        tokens.len(),
        hparams.n_vocab
    );
    let n_mels = hparams.n_mels as usize;
    let header = Header {
        hparams,
        n_fft_bins: (mel::N_FFT / 2 + 1) as i32,
        filters: mel::mel_filterbank(n_mels, mel::SAMPLE_RATE, mel::N_FFT),
        tokens,
    };

    let dir = out_path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let file_name = out_path.file_name().context("output path has no file name")?;
    let tmp = dir.join(format!(".{}.tmp-{}", file_name.to_string_lossy(), std::process::id()));
    let result = (|| -> Result<(usize, u64, String)> {
        let file = File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        let mut w = HashingWriter { inner: BufWriter::with_capacity(1 << 20, file), hasher: Sha256::new(), bytes: 0 };
        header.write(&mut w)?;
        let total = 10 + 15 * hparams.n_audio_layer as u64 + 24 * hparams.n_text_layer as u64 + 1;
        let bar = ProgressBar::new(total)
            .with_style(ProgressStyle::with_template("  converting {bar:30} {pos}/{len} tensors").expect("template"));
        let mut e = Emitter { m: &mut m, w: &mut w, quant, count: 0, bar };
        e.all(&hparams)?;
        let count = e.count;
        e.bar.finish_and_clear();
        w.flush()?;
        let bytes = w.bytes;
        let sha = format!("{:x}", w.hasher.finalize());
        w.inner.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        Ok((count, bytes, sha))
    })();
    let (n_tensors, bytes, sha256) = match result {
        Ok(v) => v,
        Err(e) => {
            std::fs::remove_file(&tmp).ok();
            return Err(e);
        }
    };
    std::fs::rename(&tmp, out_path).with_context(|| format!("renaming to {}", out_path.display()))?;
    Ok(ImportReport {
        out_path: out_path.to_path_buf(),
        quant,
        hparams,
        n_tokens: header.tokens.len(),
        n_tensors,
        bytes,
        sha256,
    })
}
