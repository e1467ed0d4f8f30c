#!/usr/bin/env python3
"""Upload one file and wait for its draft, for bench/upload_to_draft.sh.

Usage: upload_wait.py BASE_URL TOKEN FILE OUT_TEXT. Prints one JSON object: wall seconds
from the start of the upload to the moment the server stamped the finished draft, the
engine time, the audio duration and the final status; writes the recogniser's text to
OUT_TEXT.

The end time is the draft's `updated_at` (stamped by the server, in ms, in the transaction
that makes the draft visible, just before its commit), not the moment a poll first saw it:
polling every 20 ms took 5-10 % of the engine's time on a 2-core machine (50 requests a
second from this Python client and the server answering them, beside whisper's two
threads), and polling less often would add up to one interval of delay. So this polls
every POLL seconds (0.25) and reads the server's stamp; client and server run on the same
machine, with one clock. `seen_s` is when the poll saw the draft.
"""
import datetime
import json
import os
import sys
import time
import urllib.request
import uuid

base, token, path, out = sys.argv[1:5]
with open(path, "rb") as f:
    audio = f.read()
boundary = uuid.uuid4().hex
body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"audio\"; filename=\"upload\"\r\n"
        f"Content-Type: application/octet-stream\r\n\r\n").encode() + audio + f"\r\n--{boundary}--\r\n".encode()
headers = {"Authorization": f"Bearer {token}"}
poll = float(os.environ.get("POLL", "0.25"))
t0 = time.time()
req = urllib.request.Request(f"{base}/api/v1/dictations", data=body, method="POST",
                             headers={**headers, "Content-Type": f"multipart/form-data; boundary={boundary}"})
with urllib.request.urlopen(req) as r:
    ident = json.load(r)["id"]
while True:
    with urllib.request.urlopen(urllib.request.Request(f"{base}/api/v1/dictations/{ident}", headers=headers)) as r:
        d = json.load(r)
    status = d["transcription"]["status"]
    if d.get("draft") or status == "failed":
        break
    time.sleep(poll)
seen = time.time() - t0
if d.get("draft"):
    stamped = datetime.datetime.fromisoformat(d["draft"]["updated_at"].replace("Z", "+00:00")).timestamp()
    wall = stamped - t0
else:
    wall = seen
with open(out, "w") as f:
    f.write(d["transcription"].get("raw_text") or d["transcription"].get("text") or "")
print(json.dumps({"wall_s": round(wall, 3), "seen_s": round(seen, 3), "engine_s": d["transcription"].get("processing_seconds"),
                  "audio_s": d["audio"]["duration_seconds"], "status": status}))
