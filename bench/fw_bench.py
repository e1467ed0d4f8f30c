#!/usr/bin/env python3
"""faster-whisper reference run for bench/stt.sh: one JSON line per (audio, config).

Usage: fw_bench.py CT2_DIR OUT_DIR COMPUTE_TYPE BEAM THREADS LABEL WAV [WAV...]
(env FW_VAD=1 enables faster-whisper's Silero vad_filter; FW_TIME_DECODE=1 includes decoding
the audio file in the timed span, for file-in-to-text-out comparisons such as upload_to_draft.sh)
Writes OUT_DIR/<label>__<wav-stem>.txt (hypothesis) and prints timing JSON lines.
The model is loaded once; load and audio decoding are not timed (same as the Rust engine).
"""
import json
import os
import sys
import time

from faster_whisper import WhisperModel, decode_audio


def main():
    ct2, out, compute, beam, threads, label = sys.argv[1:7]
    wavs = sys.argv[7:]
    model = WhisperModel(ct2, device="cpu", compute_type=compute, cpu_threads=int(threads))
    for wav in wavs:
        t_decode = time.perf_counter()
        audio = decode_audio(wav, sampling_rate=16000)  # not timed unless FW_TIME_DECODE=1
        audio_s = len(audio) / 16000
        t0 = t_decode if os.environ.get("FW_TIME_DECODE") == "1" else time.perf_counter()
        segments, _info = model.transcribe(
            audio, language="en", beam_size=int(beam), vad_filter=os.environ.get("FW_VAD") == "1"
        )
        text = " ".join(s.text.strip() for s in segments)  # generator: decoding happens here
        took = time.perf_counter() - t0
        stem = os.path.splitext(os.path.basename(wav))[0]
        with open(os.path.join(out, f"{label}__{stem}.txt"), "w") as f:
            f.write(text)
        print(json.dumps({"label": label, "audio": os.path.basename(wav), "audio_s": round(audio_s, 2),
                          "processing_s": round(took, 3), "rtf": round(took / audio_s, 4)}), flush=True)


if __name__ == "__main__":
    main()
