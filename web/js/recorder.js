// The in-browser recorder of New dictation: MediaRecorder with a level meter, pause/resume,
// an elapsed-time counter, playback before sending, and every chunk kept in IndexedDB as it
// arrives (kept_recordings.js) until the server has the dictation.

import { h } from './ui.js';
import { keep, forget, blobOf } from './kept_recordings.js';

// What MediaRecorder can produce, best first: Opus in WebM (Chromium, Firefox, Chromium on
// Android), AAC in MP4 (Safari on iOS and macOS). The server decodes both.
const FORMATS = ['audio/webm;codecs=opus', 'audio/webm', 'audio/mp4;codecs=mp4a.40.2', 'audio/mp4', 'audio/ogg;codecs=opus'];

export function pickFormat() {
  if (!window.MediaRecorder || !MediaRecorder.isTypeSupported) return '';
  return FORMATS.find((t) => MediaRecorder.isTypeSupported(t)) || '';
}

/** 75 s -> "1:15"; 3725 s -> "1:02:05". */
export function clock(ms) {
  const s = Math.floor(ms / 1000);
  const mm = String(Math.floor((s % 3600) / 60));
  const ss = String(s % 60).padStart(2, '0');
  return s >= 3600 ? `${Math.floor(s / 3600)}:${mm.padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

export function size(bytes) {
  if (bytes < 1024 * 1024) return `${Math.max(1, Math.round(bytes / 1024))} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export function extensionFor(mime) {
  const sub = ((mime || '').split('/')[1] || 'webm').split(';')[0];
  return sub === 'mp4' ? 'm4a' : sub;
}

export class Recorder {
  /** `user`: who records (the kept copy is theirs); `onChange()` after every state change. */
  constructor(user, onChange) {
    this.user = user;
    this.onChange = onChange || (() => {});
    this.rec = null; // the kept recording (see kept_recordings.js)
    this.media = null;
    this.stream = null;
    this.audioCtx = null;
    this.raf = 0;
    this.tick = 0;
    this.url = null;
    this.elapsedMs = 0;
    this.since = 0;
    this.stopped = null;
    this.saving = Promise.resolve();
    this.meter = h('meter', { id: 'level', min: 0, max: 1, value: 0, 'aria-label': 'Input level' });
    this.time = h('span.rec-time', { id: 'rec-time', role: 'timer', 'aria-label': 'Elapsed time' }, '0:00');
    this.status = h('span.rec-status', { id: 'rec-status', 'aria-live': 'polite' }, 'Not recording');
    this.recBtn = h('button.secondary', { type: 'button', id: 'rec-start', on: { click: () => this.start() } }, 'Record');
    this.pauseBtn = h('button.secondary', { type: 'button', id: 'rec-pause', disabled: true,
      on: { click: () => this.togglePause() } }, 'Pause');
    this.stopBtn = h('button.secondary', { type: 'button', id: 'rec-stop', disabled: true,
      on: { click: () => this.stop() } }, 'Stop');
    this.discardBtn = h('button.secondary', { type: 'button', id: 'rec-discard', disabled: true,
      on: { click: () => this.discard(true) } }, 'Discard recording');
    this.playback = h('audio', { id: 'rec-playback', controls: true, hidden: true, 'aria-label': 'Play back the recording' });
    this.error = h('p.error', { role: 'alert' });
  }

  element() {
    return h('div.recorder', h('p', 'Or record here:'),
      h('div.row', this.recBtn, this.pauseBtn, this.stopBtn, this.discardBtn),
      h('div.row', this.meter, this.time, this.status), this.playback, this.error);
  }

  recording() {
    return !!this.media && this.media.state !== 'inactive';
  }

  /** A recording exists that the server does not have yet (being made or made). */
  unsent() {
    return !!this.rec;
  }

  durationMs() {
    return this.elapsedMs + (this.media && this.media.state === 'recording' ? Date.now() - this.since : 0);
  }

  describe() {
    return `${clock(this.durationMs())}${this.rec ? `, ${size(blobOf(this.rec).size)}` : ''}`;
  }

  async start() {
    this.error.textContent = '';
    if (this.unsent() && !window.confirm(
      `The recording of ${clock(this.durationMs())} has not been sent. Discard it and record again?`)) return;
    try {
      this.stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (e) {
      this.error.textContent = `Cannot use the microphone: ${e.message}`;
      return;
    }
    await this.discard(false);
    const format = pickFormat();
    const media = format ? new MediaRecorder(this.stream, { mimeType: format }) : new MediaRecorder(this.stream);
    const id = crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(16).slice(2)}`;
    this.rec = { id, user: this.user.username, mime: media.mimeType || format || 'audio/webm', chunks: [],
      startedAt: Date.now(), durationMs: 0, complete: false, fields: null };
    this.saving = Promise.resolve();
    media.ondataavailable = (ev) => {
      if (!ev.data.size || !this.rec) return;
      this.rec.chunks.push(ev.data);
      this.rec.durationMs = this.durationMs();
      const copy = Object.assign({}, this.rec, { chunks: this.rec.chunks.slice() });
      this.saving = this.saving.then(() => keep(copy)).catch((e) => {
        this.error.textContent = `The recording cannot be kept in this browser: ${e.message}`;
      });
    };
    this.stopped = new Promise((resolve) => {
      media.onstop = async () => {
        if (this.rec) {
          this.rec.complete = true;
          this.rec.durationMs = this.elapsedMs;
          await this.saving;
          await keep(this.rec).catch(() => {});
          this.showPlayback();
        }
        resolve();
      };
    });
    media.start(1000);
    this.media = media;
    this.elapsedMs = 0;
    this.since = Date.now();
    this.startMeter(this.stream);
    this.tick = setInterval(() => { this.time.textContent = clock(this.durationMs()); }, 250);
    this.recBtn.disabled = true;
    this.pauseBtn.disabled = false;
    this.stopBtn.disabled = false;
    this.discardBtn.disabled = false;
    this.status.textContent = 'Recording…';
    this.onChange();
  }

  togglePause() {
    const m = this.media;
    if (!m) return;
    if (m.state === 'recording') {
      m.pause();
      this.elapsedMs += Date.now() - this.since;
      this.pauseBtn.textContent = 'Resume';
      this.status.textContent = 'Paused';
    } else if (m.state === 'paused') {
      m.resume();
      this.since = Date.now();
      this.pauseBtn.textContent = 'Pause';
      this.status.textContent = 'Recording…';
    }
  }

  /** Stops recording; resolves once the last chunk is kept. */
  async stop() {
    const m = this.media;
    if (m && m.state !== 'inactive') {
      if (m.state === 'recording') this.elapsedMs += Date.now() - this.since;
      m.stop();
    }
    this.media = null;
    clearInterval(this.tick);
    this.time.textContent = clock(this.elapsedMs);
    if (this.stream) this.stream.getTracks().forEach((t) => t.stop());
    this.stream = null;
    this.stopMeter();
    this.recBtn.disabled = false;
    this.pauseBtn.disabled = true;
    this.pauseBtn.textContent = 'Pause';
    this.stopBtn.disabled = true;
    if (this.stopped) await this.stopped;
    this.onChange();
  }

  showPlayback() {
    if (this.url) URL.revokeObjectURL(this.url);
    const blob = blobOf(this.rec);
    this.url = URL.createObjectURL(blob);
    this.playback.src = this.url;
    this.playback.hidden = false;
    this.discardBtn.disabled = false;
    this.time.textContent = clock(this.rec.durationMs);
    this.status.textContent = `Recorded ${clock(this.rec.durationMs)} (${size(blob.size)}): play it back before sending`;
  }

  /** Takes over a recording kept from an earlier visit. */
  adopt(rec) {
    this.rec = rec;
    this.elapsedMs = rec.durationMs || 0;
    this.showPlayback();
    this.onChange();
  }

  /** The recording as a file to send, or null. */
  blob() {
    return this.rec ? blobOf(this.rec) : null;
  }

  /** Removes the recording here and from the browser's storage (asks first if `ask`). */
  async discard(ask) {
    if (ask && this.unsent() && !window.confirm('Discard this recording? It has not been sent.')) return;
    if (this.recording()) {
      const rec = this.rec;
      this.rec = null;
      await this.stop();
      this.rec = rec;
    }
    await this.saving;
    if (this.rec) await forget(this.rec.id).catch(() => {});
    this.rec = null;
    if (this.url) URL.revokeObjectURL(this.url);
    this.url = null;
    this.elapsedMs = 0;
    this.time.textContent = '0:00';
    this.playback.removeAttribute('src');
    this.playback.hidden = true;
    this.discardBtn.disabled = true;
    this.status.textContent = 'Not recording';
    this.onChange();
  }

  /** Keeps the form's fields with the recording (Send was pressed), for a resumed send. */
  async keepFields() {
    await this.saving;
    if (this.rec) await keep(this.rec).catch(() => {});
  }

  /** The server has it: forget the kept copy. */
  async sent() {
    if (this.rec) await forget(this.rec.id).catch(() => {});
    this.rec = null;
    this.onChange();
  }

  startMeter(stream) {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return;
    this.audioCtx = new Ctx();
    const analyser = this.audioCtx.createAnalyser();
    analyser.fftSize = 1024;
    this.audioCtx.createMediaStreamSource(stream).connect(analyser);
    const data = new Float32Array(analyser.fftSize);
    const tick = () => {
      analyser.getFloatTimeDomainData(data);
      let sum = 0;
      for (const v of data) sum += v * v;
      this.meter.value = Math.min(1, Math.sqrt(sum / data.length) * 4);
      this.raf = requestAnimationFrame(tick);
    };
    tick();
  }

  stopMeter() {
    cancelAnimationFrame(this.raf);
    this.meter.value = 0;
    if (this.audioCtx) this.audioCtx.close();
    this.audioCtx = null;
  }

  /** The page is left: stop the microphone; the kept copy stays. */
  close() {
    if (this.media && this.media.state !== 'inactive') this.media.stop();
    clearInterval(this.tick);
    if (this.stream) this.stream.getTracks().forEach((t) => t.stop());
    this.stopMeter();
    if (this.url) URL.revokeObjectURL(this.url);
  }
}
