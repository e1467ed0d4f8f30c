"""Drives dictaflow's OpenAI-compatible endpoint with the official `openai` package.

Usage: client.py BASE_URL API_KEY AUDIO_FILE SHORT_AUDIO_FILE (the short one serves
the plain-text formats). Prints one JSON object with what the
SDK returned for each response format and for the error cases, for the Rust test
(tests/api/openai.rs) to check.
"""

import json
import sys

import openai

base, key, audio, short = sys.argv[1:5]
client = openai.OpenAI(base_url=base + "/v1", api_key=key, max_retries=0, timeout=600)
out = {"sdk_version": openai.__version__}


def create(path=audio, **kw):
    with open(path, "rb") as f:
        return client.audio.transcriptions.create(file=f, **kw)


def failure(call):
    try:
        call()
    except openai.APIStatusError as e:
        body = e.body if isinstance(e.body, dict) else {}
        return {"status": e.status_code, "class": type(e).__name__, "message": e.message,
                "code": e.code, "param": e.param, "body": body}
    return None


out["json"] = create(model="whisper-1").text
out["text"] = create(short, model="whisper-1", response_format="text")
out["short_json"] = create(short, model="whisper-1").text
out["srt"] = create(short, model="whisper-1", response_format="srt")
out["vtt"] = create(short, model="whisper-1", response_format="vtt")
verbose = create(model="whisper-1", response_format="verbose_json", language="en", temperature=0.0,
                 timestamp_granularities=["word", "segment"])
out["verbose"] = verbose.model_dump()
out["verbose_words_attr"] = len(verbose.words or [])

out["bad_audio"] = failure(lambda: client.audio.transcriptions.create(
    model="whisper-1", file=("notes.wav", b"this is not audio at all", "audio/wav")))
out["bad_model"] = failure(lambda: create(short, model="whisper-9"))
out["bad_format"] = failure(lambda: create(short, model="whisper-1", response_format="xml"))
out["bad_language"] = failure(lambda: create(short, model="whisper-1", language="fr"))
wrong = openai.OpenAI(base_url=base + "/v1", api_key="dfl_not_a_real_token", max_retries=0)
out["bad_key"] = failure(lambda: wrong.audio.transcriptions.create(model="whisper-1", file=open(short, "rb")))
print(json.dumps(out))
