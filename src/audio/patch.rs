//! Repair of length fields in truncated AIFF and CAF headers. symphonia's AIFF and CAF readers
//! skip over the whole declared sound-data chunk while probing, so a file cut short (an
//! interrupted upload) fails before a single sample is read. This module owns detecting that
//! case from the first bytes and presenting the file through [`PatchedSource`], which
//! overlays corrected length fields (AIFF: the `FORM` and `SSND` sizes; CAF: the `data` size)
//! matching what is really there, without touching the file on disk.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};

use symphonia::core::io::MediaSource;

/// Byte ranges to overlay: `(file offset, replacement bytes)`.
pub(crate) type Patches = Vec<(u64, Vec<u8>)>;

/// Patches that make a truncated AIFF/CAF readable, or `None` if the sound data chunk fits in
/// the file (or cannot be located in `head`).
pub(crate) fn truncation_patches(kind: Option<&str>, head: &[u8], file_len: u64) -> Option<Patches> {
    match kind? {
        "aiff" => {
            let mut pos = 12u64;
            while pos + 8 <= head.len() as u64 {
                let p = pos as usize;
                let size = u64::from(u32::from_be_bytes(head[p + 4..p + 8].try_into().ok()?));
                if &head[p..p + 4] == b"SSND" {
                    if pos + 8 + size <= file_len {
                        return None;
                    }
                    let ssnd = u32::try_from(file_len.checked_sub(pos + 8)?).ok()?;
                    let form = u32::try_from(file_len.checked_sub(8)?).ok()?;
                    return Some(vec![(4, form.to_be_bytes().to_vec()), (pos + 4, ssnd.to_be_bytes().to_vec())]);
                }
                pos = pos.checked_add(8 + size + (size & 1))?;
            }
            None
        }
        "caf" => {
            let mut pos = 8u64;
            while pos + 12 <= head.len() as u64 {
                let p = pos as usize;
                let size = i64::from_be_bytes(head[p + 4..p + 12].try_into().ok()?);
                if &head[p..p + 4] == b"data" {
                    // -1 ("to the end of the file") is valid CAF, but symphonia then goes on
                    // parsing the audio as chunks, so an exact size is written instead.
                    let fits = size == -1 || (size >= 0 && pos.checked_add(12 + size as u64)? <= file_len);
                    let actual = i64::try_from(file_len.checked_sub(pos + 12)?).ok()?;
                    return (!fits).then(|| vec![(pos + 4, actual.to_be_bytes().to_vec())]);
                }
                pos = pos.checked_add(12u64.checked_add(u64::try_from(size).ok()?)?)?;
            }
            None
        }
        _ => None,
    }
}

/// A file seen through byte patches.
pub(crate) struct PatchedSource {
    file: File,
    len: u64,
    pos: u64,
    patches: Patches,
}

impl PatchedSource {
    pub fn new(file: File, len: u64, patches: Patches) -> Self {
        PatchedSource { file, len, pos: 0, patches }
    }
}

impl Read for PatchedSource {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read(buf)?;
        let (start, end) = (self.pos, self.pos + n as u64);
        for (off, bytes) in &self.patches {
            for (i, b) in bytes.iter().enumerate() {
                let at = off + i as u64;
                if at >= start && at < end {
                    buf[(at - start) as usize] = *b;
                }
            }
        }
        self.pos = end;
        Ok(n)
    }
}

impl Seek for PatchedSource {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        self.pos = self.file.seek(to)?;
        Ok(self.pos)
    }
}

impl MediaSource for PatchedSource {
    fn is_seekable(&self) -> bool {
        true
    }
    fn byte_len(&self) -> Option<u64> {
        Some(self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aiff(ssnd_len: u32) -> Vec<u8> {
        let mut v = b"FORM\x00\x00\x10\x00AIFFCOMM\x00\x00\x00\x12".to_vec();
        v.extend_from_slice(&[0u8; 18]);
        v.extend_from_slice(b"SSND");
        v.extend_from_slice(&ssnd_len.to_be_bytes());
        v.extend_from_slice(&[0u8; 100]);
        v
    }

    #[test]
    fn truncated_aiff_gets_form_and_ssnd_sizes_fixed() {
        let head = aiff(4000);
        let len = head.len() as u64;
        let patches = truncation_patches(Some("aiff"), &head, len).expect("patches");
        assert_eq!(patches[0], (4, ((len - 8) as u32).to_be_bytes().to_vec()));
        assert_eq!(patches[1], (42, 100u32.to_be_bytes().to_vec()));
        assert_eq!(truncation_patches(Some("aiff"), &aiff(100), len), None);
    }

    #[test]
    fn truncated_caf_data_becomes_open_ended() {
        let mut head = b"caff\x00\x01\x00\x00desc".to_vec();
        head.extend_from_slice(&32i64.to_be_bytes());
        head.extend_from_slice(&[0u8; 32]);
        head.extend_from_slice(b"data");
        head.extend_from_slice(&100_000i64.to_be_bytes());
        head.extend_from_slice(&[0u8; 64]);
        let len = head.len() as u64;
        let patches = truncation_patches(Some("caf"), &head, len).expect("patches");
        assert_eq!(patches, vec![(56, 64i64.to_be_bytes().to_vec())]);
        head[56..64].copy_from_slice(&(-1i64).to_be_bytes());
        assert_eq!(truncation_patches(Some("caf"), &head, len), None);
        assert_eq!(truncation_patches(Some("wav"), &head, len), None);
        assert_eq!(truncation_patches(Some("caf"), &head[..20], len), None);
    }

    #[test]
    fn patched_reads_overlay_only_the_patched_bytes() {
        let dir = std::env::temp_dir().join(format!("dictaflow-patch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f.bin");
        std::fs::write(&path, (0u8..100).collect::<Vec<_>>()).unwrap();
        let file = File::open(&path).unwrap();
        let mut src = PatchedSource::new(file, 100, vec![(10, vec![0xaa, 0xbb])]);
        let mut buf = [0u8; 11];
        src.read_exact(&mut buf).unwrap();
        assert_eq!(buf[9..], [9, 0xaa]);
        let mut b2 = [0u8; 2];
        src.read_exact(&mut b2).unwrap();
        assert_eq!(b2, [0xbb, 12]);
        src.seek(SeekFrom::Start(9)).unwrap();
        src.read_exact(&mut b2).unwrap();
        assert_eq!(b2, [9, 0xaa]);
        assert_eq!(src.byte_len(), Some(100));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
