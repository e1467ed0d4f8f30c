#!/usr/bin/env python3
"""Upload one file and wait for its draft, for bench/upload_to_draft.sh.

Usage: upload_wait.py BASE_URL TOKEN FILE OUT_TEXT. One process for the whole upload and
poll (every 20 ms), so the client itself costs little CPU beside the server. Prints one
JSON object: wall seconds from the start of the upload to the finished draft, the engine
time, the audio duration and the final status; writes the recogniser's text to OUT_TEXT.
"""
import json
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
t0 = time.perf_counter()
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
    time.sleep(0.02)
wall = time.perf_counter() - t0
with open(out, "w") as f:
    f.write(d["transcription"].get("raw_text") or d["transcription"].get("text") or "")
print(json.dumps({"wall_s": round(wall, 3), "engine_s": d["transcription"].get("processing_seconds"),
                  "audio_s": d["audio"]["duration_seconds"], "status": status}))
