// New dictation: upload a file or record in the browser (level meter, pause/resume, playback
// before sending), patient fields with the NHS number checked as it is typed.

import { api } from '../api.js';
import { h, field, toast, LETTER_TYPES, PRIORITY_LABELS } from '../ui.js';
import { checkNhs, nhsDigits } from '../nhs.js';
import { uploadFieldset } from './letter_details.js';

export default async function newDictation(main, { user, navigate }) {
  const state = { recording: null, blob: null, stream: null, audioCtx: null, raf: 0, url: null };
  const idempotencyKey = crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random();

  const file = h('input', { type: 'file', name: 'audio', accept: 'audio/*,.dss,.ds2,.m4a,.wav,.mp3,.ogg,.opus,.webm,.flac' });
  const nhs = h('input', { name: 'patient_nhs_number', inputmode: 'numeric', autocomplete: 'off', maxlength: 12 });
  const nhsHint = h('span.hint', { id: 'nhs-hint', 'aria-live': 'polite' });
  nhs.setAttribute('aria-describedby', 'nhs-hint');
  nhs.addEventListener('input', () => {
    const r = checkNhs(nhs.value);
    nhsHint.textContent = r.message;
    nhsHint.className = r.ok ? 'hint ok' : 'hint error';
    nhs.setAttribute('aria-invalid', r.ok ? 'false' : 'true');
  });
  const name = h('input', { name: 'patient_name', autocomplete: 'off' });
  const dob = h('input', { name: 'patient_dob', type: 'date' });
  const hospital = h('input', { name: 'hospital_number', autocomplete: 'off' });
  const specialty = h('input', { name: 'specialty', autocomplete: 'off' });
  const letterType = h('select', { name: 'letter_type' },
    Object.entries(LETTER_TYPES).map(([v, t]) => h('option', { value: v }, t)));
  const priority = h('select', { name: 'priority' },
    ['routine', 'urgent', 'two_week_wait'].map((v) => h('option', { value: v }, PRIORITY_LABELS[v])));
  const notes = h('textarea', { name: 'notes', rows: 2 });
  const clinician = user.role === 'clinician' ? null : h('input', { name: 'clinician', required: true, autocomplete: 'off' });
  const error = h('p.error', { role: 'alert' });
  const send = h('button', { type: 'submit' }, 'Send dictation');

  // Recording controls.
  const meter = h('meter', { id: 'level', min: 0, max: 1, value: 0, 'aria-label': 'Input level' });
  const recStatus = h('span.rec-status', { id: 'rec-status', 'aria-live': 'polite' }, 'Not recording');
  const recBtn = h('button.secondary', { type: 'button', id: 'rec-start', on: { click: startRecording } }, 'Record');
  const pauseBtn = h('button.secondary', { type: 'button', id: 'rec-pause', disabled: true, on: { click: togglePause } }, 'Pause');
  const stopBtn = h('button.secondary', { type: 'button', id: 'rec-stop', disabled: true, on: { click: stopRecording } }, 'Stop');
  const discardBtn = h('button.secondary', { type: 'button', id: 'rec-discard', disabled: true, on: { click: discard } },
    'Discard recording');
  const playback = h('audio', { id: 'rec-playback', controls: true, hidden: true, 'aria-label': 'Play back the recording' });
  const canRecord = !!(navigator.mediaDevices && window.MediaRecorder);

  const recipients = uploadFieldset();
  const form = h('form.card', { on: { submit } },
    h('h1', 'New dictation'),
    h('fieldset', h('legend', 'Recording'),
      field('Audio file', file, 'From a recorder or phone: DSS, M4A, WAV, MP3, Ogg/Opus, WebM, FLAC'),
      canRecord ? h('div.recorder', h('p', 'Or record here:'),
        h('div.row', recBtn, pauseBtn, stopBtn, discardBtn), h('div.row', meter, recStatus), playback)
        : h('p.muted', 'This browser cannot record; upload a file instead.')),
    h('fieldset', h('legend', 'Patient'),
      h('div.grid2',
        h('div.field', h('label', { for: 'nhs' }, 'NHS number'), Object.assign(nhs, { id: 'nhs' }), nhsHint),
        field('Name', name), field('Date of birth', dob), field('Hospital number', hospital))),
    h('fieldset', h('legend', 'Letter'),
      h('div.grid2',
        clinician ? field('Clinician (username)', clinician) : null,
        field('Letter type', letterType), field('Priority', priority), field('Specialty', specialty)),
      field('Notes for the secretary', notes)),
    recipients.element,
    error,
    h('div.row', send));
  main.append(form);

  async function startRecording() {
    error.textContent = '';
    try {
      state.stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (e) {
      error.textContent = `Cannot use the microphone: ${e.message}`;
      return;
    }
    discard();
    const chunks = [];
    const rec = new MediaRecorder(state.stream);
    rec.ondataavailable = (ev) => { if (ev.data.size) chunks.push(ev.data); };
    rec.onstop = () => {
      state.blob = new Blob(chunks, { type: rec.mimeType || 'audio/webm' });
      state.url = URL.createObjectURL(state.blob);
      playback.src = state.url;
      playback.hidden = false;
      discardBtn.disabled = false;
      recStatus.textContent = `Recorded ${(state.blob.size / 1024).toFixed(0)} KB — play it back before sending`;
      stopMeter();
    };
    rec.start(1000);
    state.recording = rec;
    startMeter(state.stream);
    recBtn.disabled = true;
    pauseBtn.disabled = false;
    stopBtn.disabled = false;
    recStatus.textContent = 'Recording…';
  }

  function togglePause() {
    const rec = state.recording;
    if (!rec) return;
    if (rec.state === 'recording') {
      rec.pause();
      pauseBtn.textContent = 'Resume';
      recStatus.textContent = 'Paused';
    } else if (rec.state === 'paused') {
      rec.resume();
      pauseBtn.textContent = 'Pause';
      recStatus.textContent = 'Recording…';
    }
  }

  function stopRecording() {
    if (state.recording && state.recording.state !== 'inactive') state.recording.stop();
    if (state.stream) state.stream.getTracks().forEach((t) => t.stop());
    state.recording = null;
    recBtn.disabled = false;
    pauseBtn.disabled = true;
    pauseBtn.textContent = 'Pause';
    stopBtn.disabled = true;
  }

  function discard() {
    if (state.url) URL.revokeObjectURL(state.url);
    state.blob = null;
    state.url = null;
    playback.removeAttribute('src');
    playback.hidden = true;
    discardBtn.disabled = true;
  }

  function startMeter(stream) {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return;
    state.audioCtx = new Ctx();
    const analyser = state.audioCtx.createAnalyser();
    analyser.fftSize = 1024;
    state.audioCtx.createMediaStreamSource(stream).connect(analyser);
    const data = new Float32Array(analyser.fftSize);
    const tick = () => {
      analyser.getFloatTimeDomainData(data);
      let sum = 0;
      for (const v of data) sum += v * v;
      const rms = Math.sqrt(sum / data.length);
      meter.value = Math.min(1, rms * 4);
      state.raf = requestAnimationFrame(tick);
    };
    tick();
  }

  function stopMeter() {
    cancelAnimationFrame(state.raf);
    meter.value = 0;
    if (state.audioCtx) state.audioCtx.close();
    state.audioCtx = null;
  }

  async function submit(ev) {
    ev.preventDefault();
    error.textContent = '';
    const nhsCheck = checkNhs(nhs.value);
    if (!nhsCheck.ok) {
      error.textContent = `NHS number: ${nhsCheck.message}`;
      nhs.focus();
      return;
    }
    const audio = state.blob || (file.files && file.files[0]);
    if (!audio) {
      error.textContent = 'Choose an audio file or record the dictation first.';
      file.focus();
      return;
    }
    const data = new FormData();
    const put = (k, v) => { if (v !== undefined && v !== null && String(v).trim() !== '') data.append(k, v); };
    put('patient_nhs_number', nhsDigits(nhs.value));
    put('patient_name', name.value);
    put('patient_dob', dob.value);
    put('hospital_number', hospital.value);
    put('specialty', specialty.value);
    put('letter_type', letterType.value);
    put('priority', priority.value);
    put('notes', notes.value);
    if (clinician) put('clinician', clinician.value);
    recipients.appendTo(data);
    const filename = state.blob ? `recording.${(state.blob.type.split('/')[1] || 'webm').split(';')[0]}` : audio.name;
    data.append('audio', audio, filename);
    send.disabled = true;
    send.textContent = 'Sending…';
    try {
      const d = await api('dictations', { body: data, headers: { 'Idempotency-Key': idempotencyKey } });
      toast('Dictation received; recognition has started.');
      navigate(user.role === 'clinician' ? '/app/dictations' : `/app/dictations/${d.id}`);
    } catch (e) {
      error.textContent = e.field ? `${e.field}: ${e.message}` : e.message;
      const bad = e.field && form.querySelector(`[name="${CSS.escape(e.field)}"]`);
      if (bad) bad.focus();
    } finally {
      send.disabled = false;
      send.textContent = 'Send dictation';
    }
  }

  return () => {
    stopRecording();
    stopMeter();
    discard();
  };
}
