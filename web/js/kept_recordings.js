// Recordings kept in this browser (IndexedDB) until the server has answered 201: the chunks
// are saved as MediaRecorder delivers them, so a closed tab, a crash or a dropped network
// loses nothing. Each belongs to the user who recorded it; the page offers only theirs.

const DB_NAME = 'dictaflow';
const STORE = 'recordings';

function open() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: 'id' });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function run(mode, fn) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const out = fn(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(out && 'result' in out ? out.result : undefined);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

/**
 * A recording: { id (also its Idempotency-Key), user, mime, chunks: [Blob], startedAt,
 * durationMs, complete (the recorder stopped), fields (the form, once Send was pressed) }.
 */
export function keep(rec) {
  return run('readwrite', (s) => s.put(rec));
}

export function forget(id) {
  return run('readwrite', (s) => s.delete(id));
}

/** The kept recordings of `username`, oldest first. */
export async function keptFor(username) {
  const all = (await run('readonly', (s) => s.getAll())) || [];
  return all.filter((r) => r.user === username).sort((a, b) => a.startedAt - b.startedAt);
}

export function blobOf(rec) {
  return new Blob(rec.chunks, { type: rec.mime || 'audio/webm' });
}
