// Sends a recording through the resumable upload API (/api/v1/uploads): chunks with
// Content-Range, each acknowledged once it is on the server's disk. A dropped network is
// waited out and the upload goes on from the server's offset; the same Idempotency-Key
// always ends in the same dictation.

import { ApiProblem, csrfToken } from './api.js';

const RETRY_MAX_MS = 10000;

async function call(path, { method = 'GET', json, body, headers = {} } = {}) {
  const h = Object.assign({}, headers);
  if (json !== undefined) {
    h['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  }
  if (method !== 'GET') {
    const token = csrfToken();
    if (token) h['X-CSRF-Token'] = token;
  }
  const resp = await fetch(`/api/v1/${path}`, { method, headers: h, body, credentials: 'same-origin', cache: 'no-store' });
  const data = await resp.json().catch(() => null);
  const offset = resp.headers.get('Upload-Offset');
  return { status: resp.status, ok: resp.ok, data, offset: offset === null ? null : Number(offset) };
}

function fail(r) {
  if (r.status === 401) window.dispatchEvent(new CustomEvent('dictaflow:unauthorized'));
  throw new ApiProblem(r.status, r.data);
}

/** Waits `ms`, or less when the browser reports the network back. */
function pause(ms) {
  return new Promise((resolve) => {
    const done = () => { clearTimeout(t); window.removeEventListener('online', done); resolve(); };
    const t = setTimeout(done, ms);
    window.addEventListener('online', done);
  });
}

/**
 * Uploads `blob` under `key`; `onProgress({ sent, total, offline })` reports along the way.
 * Resolves to the dictation; rejects with ApiProblem when the server refuses it for good.
 */
export async function sendResumable(blob, { key, filename, fields, onProgress = () => {} }) {
  const total = blob.size;
  let wait = 500;
  let session = null;
  for (;;) {
    try {
      if (!session) {
        const r = await call('uploads', { method: 'POST', json: { length: total, filename, fields },
          headers: { 'Idempotency-Key': key } });
        if (!r.ok) fail(r);
        session = r.data;
        if (session.dictation) return session.dictation;
      }
      const start = session.offset;
      if (start >= total) {
        // Everything is there; ask the server to finish (it answers with the dictation).
        const r = await call(`uploads/${session.id}`, { method: 'PATCH', headers: { 'Content-Range': `bytes */${total}` } });
        if (r.status === 201) return r.data;
        if (!r.ok && r.status < 500) fail(r);
        throw new TypeError(`the server answered ${r.status}`);
      }
      const end = Math.min(total, start + (session.chunk_bytes || 1048576));
      onProgress({ sent: start, total, offline: false });
      const r = await call(`uploads/${session.id}`, { method: 'PATCH', body: blob.slice(start, end),
        headers: { 'Content-Range': `bytes ${start}-${end - 1}/${total}` } });
      if (r.status === 201) {
        onProgress({ sent: total, total, offline: false });
        return r.data;
      }
      if (r.ok) {
        session = r.data;
        wait = 500;
        continue;
      }
      if (r.status === 409 && r.offset !== null && r.data && r.data.code === 'upload_offset_mismatch') {
        session.offset = r.offset;
        continue;
      }
      if (r.status === 404) {
        session = null; // expired meanwhile: start again under the same key
        continue;
      }
      if (r.status < 500 && r.status !== 409 && r.status !== 408 && r.status !== 429) fail(r);
      throw new TypeError(`the server answered ${r.status}`);
    } catch (e) {
      if (e instanceof ApiProblem) throw e;
      // The network (or the server) is away: wait, then ask the server where it got to.
      onProgress({ sent: session ? session.offset : 0, total, offline: true });
      await pause(wait);
      wait = Math.min(RETRY_MAX_MS, wait * 2);
      if (session) {
        const r = await call(`uploads/${session.id}`).catch(() => null);
        if (r && r.ok) session = r.data;
        if (r && r.ok && session.dictation) return session.dictation;
        if (r && r.status === 404) session = null;
      }
    }
  }
}
