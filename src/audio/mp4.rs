//! A minimal, bounds-checked ISO-BMFF (MP4/M4A) edit-list reader. symphonia 0.6's MP4 demuxer
//! ignores `elst`, so AAC encoder priming (typically 1024 frames) would otherwise be decoded
//! as audio and the end padding kept. This module owns finding `moov/trak/edts/elst` for one
//! track and turning it into a frame-accurate [`EditTrim`], and naming the sample entry of
//! sound tracks symphonia cannot parse (AMR in 3GP from phone recorders, for example).

use std::io::{Read, Seek, SeekFrom};

/// The first non-empty edit of a track: where presentation starts in the media and how long
/// it lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EditTrim {
    /// Media time (in `media_timescale` units) where presentation starts: the priming to skip.
    pub media_time: u64,
    /// `mdhd` timescale of the track.
    pub media_timescale: u32,
    /// Presented duration in `movie_timescale` units (0 = unknown).
    pub segment_duration: u64,
    /// `mvhd` timescale of the movie.
    pub movie_timescale: u32,
}

impl EditTrim {
    /// Frames to drop at the start and, when known, the number of frames to keep, at
    /// `sample_rate`. `media_frames` is the track's total media length in frames if the
    /// demuxer knows it (it does when the media timescale equals the sample rate).
    pub fn frames(&self, sample_rate: u32, media_frames: Option<u64>) -> (u64, Option<u64>) {
        let scale = |v: u64, from: u32| -> u64 {
            if from == 0 {
                return 0;
            }
            (u128::from(v) * u128::from(sample_rate) / u128::from(from)).min(u128::from(u64::MAX)) as u64
        };
        let skip = scale(self.media_time, self.media_timescale);
        let keep = match media_frames {
            Some(total) if self.media_timescale == sample_rate => Some(total.saturating_sub(skip)),
            _ if self.segment_duration > 0 && self.movie_timescale > 0 => {
                Some(scale(self.segment_duration, self.movie_timescale))
            }
            _ => None,
        };
        (skip, keep)
    }
}

const MAX_MOOV_BYTES: u64 = 64 << 20;
const MAX_BOXES: usize = 4096;

/// Reads the edit list of `track_id` from an MP4 file. Returns `None` when there is no usable
/// edit list (or the file is too odd to trust); never panics on malformed input.
pub(crate) fn read_edit_trim<R: Read + Seek>(src: &mut R, track_id: u32) -> Option<EditTrim> {
    parse_moov(&read_moov(src)?, track_id)
}

/// Sample-entry codes (`samr`, `mp4a`, ...) of the sound tracks (`hdlr` = `soun`), for naming a
/// codec symphonia does not even parse (it then reports no audio track at all).
pub(crate) fn sound_sample_entries<R: Read + Seek>(src: &mut R) -> Vec<String> {
    let Some(moov) = read_moov(src) else { return Vec::new() };
    let mut codes = Vec::new();
    for (_, trak) in boxes(&moov).filter(|(t, _)| *t == b"trak") {
        let Some((_, mdia)) = boxes(trak).find(|(t, _)| *t == b"mdia") else { continue };
        let is_sound = boxes(mdia).any(|(t, b)| t == b"hdlr" && b.get(8..12) == Some(b"soun"));
        let stsd = boxes(mdia)
            .find(|(t, _)| *t == b"minf")
            .and_then(|(_, minf)| boxes(minf).find(|(t, _)| *t == b"stbl"))
            .and_then(|(_, stbl)| boxes(stbl).find(|(t, _)| *t == b"stsd"));
        // stsd: version/flags (4), entry count (4), then the first entry's size (4) and code (4).
        if let (true, Some((_, stsd))) = (is_sound, stsd)
            && let Some(code) = stsd.get(12..16)
        {
            codes.push(String::from_utf8_lossy(code).into_owned());
        }
    }
    codes
}

/// A human name for an MP4 audio sample-entry code.
pub(crate) fn describe_sample_entry(code: &str) -> String {
    let name = match code {
        "samr" => "AMR narrow-band speech",
        "sawb" => "AMR wide-band speech",
        "sqcp" => "QCELP speech",
        "sevc" => "EVRC speech",
        "ac-4" => "Dolby AC-4",
        "mha1" | "mhm1" => "MPEG-H 3D audio",
        _ => "an unidentified codec",
    };
    format!("{name} ('{}')", code.escape_default())
}

/// Reads the whole `moov` box body (bounded in size).
fn read_moov<R: Read + Seek>(src: &mut R) -> Option<Vec<u8>> {
    let end = src.seek(SeekFrom::End(0)).ok()?;
    let mut pos = 0u64;
    for _ in 0..MAX_BOXES {
        if pos + 8 > end {
            return None;
        }
        src.seek(SeekFrom::Start(pos)).ok()?;
        let mut hdr = [0u8; 16];
        src.read_exact(&mut hdr[..8]).ok()?;
        let mut size = u64::from(u32::from_be_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]));
        let mut header_len = 8u64;
        if size == 1 {
            src.read_exact(&mut hdr[8..16]).ok()?;
            size = u64::from_be_bytes(hdr[8..16].try_into().ok()?);
            header_len = 16;
        } else if size == 0 {
            size = end - pos;
        }
        if size < header_len {
            return None;
        }
        if &hdr[4..8] == b"moov" {
            let body_len = (size - header_len).min(end - pos - header_len);
            if body_len > MAX_MOOV_BYTES {
                return None;
            }
            let mut body = vec![0u8; body_len as usize];
            src.read_exact(&mut body).ok()?;
            return Some(body);
        }
        pos = pos.checked_add(size)?;
    }
    None
}

/// Iterates over the child boxes of `buf` as `(type, body)`.
fn boxes(buf: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    let mut pos = 0usize;
    std::iter::from_fn(move || {
        let hdr = buf.get(pos..pos + 8)?;
        let mut size = u32::from_be_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]) as u64;
        let mut header_len = 8usize;
        if size == 1 {
            size = u64::from_be_bytes(buf.get(pos + 8..pos + 16)?.try_into().ok()?);
            header_len = 16;
        } else if size == 0 {
            size = (buf.len() - pos) as u64;
        }
        let size = usize::try_from(size).ok()?;
        if size < header_len || pos.checked_add(size)? > buf.len() {
            return None;
        }
        let item = (&hdr[4..8], &buf[pos + header_len..pos + size]);
        pos += size;
        Some(item)
    })
    .take(MAX_BOXES)
}

fn be_u32(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(off..off + 4)?.try_into().ok()?))
}

fn be_u64(b: &[u8], off: usize) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(off..off + 8)?.try_into().ok()?))
}

/// Timescale of an `mvhd`/`mdhd` full box (version 0: offset 12, version 1: offset 20).
fn timescale(body: &[u8]) -> Option<u32> {
    be_u32(body, if *body.first()? == 1 { 20 } else { 12 })
}

fn parse_moov(moov: &[u8], track_id: u32) -> Option<EditTrim> {
    let movie_timescale = boxes(moov).find(|(t, _)| *t == b"mvhd").and_then(|(_, b)| timescale(b))?;
    for (_, trak) in boxes(moov).filter(|(t, _)| *t == b"trak") {
        let id = boxes(trak)
            .find(|(t, _)| *t == b"tkhd")
            .and_then(|(_, b)| be_u32(b, if *b.first()? == 1 { 20 } else { 12 }));
        if id != Some(track_id) {
            continue;
        }
        let media_timescale = boxes(trak)
            .find(|(t, _)| *t == b"mdia")
            .and_then(|(_, mdia)| boxes(mdia).find(|(t, _)| *t == b"mdhd"))
            .and_then(|(_, b)| timescale(b))?;
        let elst =
            boxes(trak).find(|(t, _)| *t == b"edts").and_then(|(_, edts)| boxes(edts).find(|(t, _)| *t == b"elst"))?.1;
        let version = *elst.first()?;
        let count = be_u32(elst, 4)? as usize;
        let entry_len = if version == 1 { 20 } else { 12 };
        for i in 0..count.min(64) {
            let off = 8 + i * entry_len;
            let (segment_duration, media_time) = if version == 1 {
                (be_u64(elst, off)?, be_u64(elst, off + 8)? as i64)
            } else {
                (u64::from(be_u32(elst, off)?), i64::from(be_u32(elst, off + 4)? as i32))
            };
            if media_time < 0 {
                continue; // an empty edit (leading silence): nothing to trim
            }
            return Some(EditTrim {
                media_time: media_time as u64,
                media_timescale,
                segment_duration,
                movie_timescale,
            });
        }
        return None;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn bx(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut v = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        v.extend_from_slice(kind);
        v.extend_from_slice(body);
        v
    }

    fn full_v0(fields: &[u32]) -> Vec<u8> {
        let mut v = vec![0u8; 4];
        for f in fields {
            v.extend_from_slice(&f.to_be_bytes());
        }
        v
    }

    fn movie(track_id: u32, media_time: i32) -> Vec<u8> {
        movie_with(track_id, media_time, b"mp4a")
    }

    fn movie_with(track_id: u32, media_time: i32, entry: &[u8; 4]) -> Vec<u8> {
        let mvhd = bx(b"mvhd", &full_v0(&[0, 0, 1000, 39550]));
        let tkhd = bx(b"tkhd", &full_v0(&[0, 0, track_id, 0, 39550]));
        let mut elst_body = full_v0(&[1, 39549]);
        elst_body.extend_from_slice(&media_time.to_be_bytes());
        elst_body.extend_from_slice(&0x0001_0000u32.to_be_bytes());
        let edts = bx(b"edts", &bx(b"elst", &elst_body));
        let hdlr = bx(b"hdlr", &[&[0u8; 8][..], b"soun", &[0u8; 12]].concat());
        let stsd_body = [&full_v0(&[1, 36])[..], entry, &[0u8; 28]].concat();
        let stbl = bx(b"stbl", &bx(b"stsd", &stsd_body));
        let minf = bx(b"minf", &stbl);
        let mdhd = bx(b"mdhd", &full_v0(&[0, 0, 44100, 1_745_164]));
        let mdia = bx(b"mdia", &[mdhd, hdlr, minf].concat());
        let trak = bx(b"trak", &[tkhd, edts, mdia].concat());
        let moov = bx(b"moov", &[mvhd, trak].concat());
        [bx(b"ftyp", b"M4A \0\0\0\0"), moov, bx(b"mdat", &[0u8; 32])].concat()
    }

    #[test]
    fn reads_priming_and_exact_length() {
        let file = movie(1, 1024);
        let trim = read_edit_trim(&mut Cursor::new(file), 1).expect("edit list");
        assert_eq!(trim.media_time, 1024);
        assert_eq!(trim.media_timescale, 44100);
        assert_eq!(trim.movie_timescale, 1000);
        assert_eq!(trim.frames(44100, Some(1_745_164)), (1024, Some(1_744_140)));
        // Without the demuxer's frame count the segment duration (ms) is used.
        assert_eq!(trim.frames(44100, None), (1024, Some(1_744_110)));
    }

    #[test]
    fn names_the_sample_entry_of_sound_tracks() {
        let file = movie_with(1, 0, b"samr");
        assert_eq!(sound_sample_entries(&mut Cursor::new(file)), vec!["samr".to_string()]);
        assert_eq!(describe_sample_entry("samr"), "AMR narrow-band speech ('samr')");
        assert!(describe_sample_entry("x\u{1}yz").contains("unidentified"));
        assert!(sound_sample_entries(&mut Cursor::new(vec![0u8; 16])).is_empty());
    }

    #[test]
    fn other_tracks_empty_edits_and_garbage_give_none() {
        assert_eq!(read_edit_trim(&mut Cursor::new(movie(1, 1024)), 2), None);
        assert_eq!(read_edit_trim(&mut Cursor::new(movie(1, -1)), 1), None);
        assert_eq!(read_edit_trim(&mut Cursor::new(vec![0xffu8; 64]), 1), None);
        assert_eq!(read_edit_trim(&mut Cursor::new(Vec::new()), 1), None);
        let mut cut = movie(1, 1024);
        cut.truncate(60);
        assert_eq!(read_edit_trim(&mut Cursor::new(cut), 1), None);
    }
}
