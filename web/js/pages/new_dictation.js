// New dictation: upload a file or record in the browser (recorder.js: level meter,
// pause/resume, elapsed time, playback, kept in IndexedDB until sent), patient fields with the
// NHS number checked as it is typed. Everything is sent through the resumable upload API.

import { api } from '../api.js';
import { h, field, fill, toast, fmtTime, LETTER_TYPES, PRIORITY_LABELS } from '../ui.js';
import { checkNhs, nhsDigits } from '../nhs.js';
import { uploadFieldset } from './letter_details.js';
import { Recorder, clock, size, extensionFor } from '../recorder.js';
import { keptFor, blobOf } from '../kept_recordings.js';
import { sendResumable } from '../resumable.js';

export default async function newDictation(main, { user, navigate, guardLeaving }) {
  // A file sent twice (a retried Send) is still one dictation.
  const fileKey = crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random();
  const recorder = new Recorder(user, () => {});
  let sending = false;

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
  // Uploading for a clinician: chosen from those the server says this user may upload for.
  const clinician = user.role === 'clinician' ? null : h('select', { name: 'clinician', id: 'clinician', required: true },
    h('option', { value: '' }, 'Choose the clinician…'));
  if (clinician) {
    api('clinicians').then((r) => {
      clinician.append(...r.items.map((c) => h('option', { value: c.username },
        c.display_name ? `${c.display_name} (${c.username})` : c.username)));
      if (r.items.length === 1) clinician.value = r.items[0].username;
    }).catch((e) => { error.textContent = `The clinicians cannot be listed: ${e.message}`; });
  }
  const error = h('p.error', { role: 'alert' });
  const send = h('button', { type: 'submit' }, 'Send dictation');

  const progress = h('div.send-progress', { id: 'send-progress', hidden: true, 'aria-live': 'polite' },
    h('progress', { max: 1, value: 0 }), h('span'));
  const keptBox = h('div.kept', { id: 'kept', hidden: true, role: 'region', 'aria-label': 'Unsent recording' });
  const canRecord = !!(navigator.mediaDevices && window.MediaRecorder);

  const recipients = uploadFieldset();
  const form = h('form.card', { on: { submit } },
    h('h1', 'New dictation'),
    h('fieldset', h('legend', 'Recording'),
      field('Audio file', file, 'From a recorder or phone: DSS, M4A, WAV, MP3, Ogg/Opus, WebM, FLAC'),
      canRecord ? recorder.element() : h('p.muted', 'This browser cannot record; upload a file instead.')),
    h('fieldset', h('legend', 'Patient'),
      h('div.grid2',
        h('div.field', h('label', { for: 'nhs' }, 'NHS number'), Object.assign(nhs, { id: 'nhs' }), nhsHint),
        field('Name', name), field('Date of birth', dob), field('Hospital number', hospital))),
    h('fieldset', h('legend', 'Letter'),
      h('div.grid2',
        clinician ? field('Clinician', clinician) : null,
        field('Letter type', letterType), field('Priority', priority), field('Specialty', specialty)),
      field('Notes for the secretary', notes)),
    recipients.element,
    error,
    progress,
    h('div.row', send));
  main.append(keptBox, form);
  offerKept();

  // Leaving with a recording the server does not have asks first (in the app and the browser).
  const question = () => (recorder.unsent() || sending
    ? `The recording (${recorder.describe()}) has not been sent. Leave this page? It stays kept in this browser `
      + 'and is offered again on New dictation.'
    : null);
  guardLeaving(question);
  const beforeUnload = (ev) => { if (question()) { ev.preventDefault(); ev.returnValue = ''; } };
  window.addEventListener('beforeunload', beforeUnload);

  /** Recordings an earlier visit kept (a closed tab, a dropped network): send or discard them. */
  async function offerKept() {
    let kept = [];
    try {
      kept = await keptFor(user.username);
    } catch (e) {
      return; // no IndexedDB (private window): nothing was kept
    }
    const rec = kept.find((r) => r.chunks && r.chunks.length);
    if (!rec || recorder.unsent()) return;
    const blob = blobOf(rec);
    fill(keptBox,
      h('p', h('strong', 'An unsent recording is kept in this browser: '),
        `${clock(rec.durationMs || 0)}, ${size(blob.size)}, recorded ${fmtTime(new Date(rec.startedAt).toISOString())}.`),
      h('div.row',
        h('button', { type: 'button', id: 'kept-use', on: { click: () => use(rec) } },
          rec.fields ? 'Resume sending it' : 'Use this recording'),
        h('button.secondary', { type: 'button', id: 'kept-discard', on: { click: () => drop(rec) } }, 'Discard it')));
    keptBox.hidden = false;
  }

  function use(rec) {
    keptBox.hidden = true;
    recorder.adopt(rec);
    const f = rec.fields || {};
    for (const [k, v] of Object.entries(f)) {
      const input = form.querySelector(`[name="${CSS.escape(k)}"]`);
      if (input && k !== 'patient_nhs_number') input.value = v;
    }
    if (f.patient_nhs_number) {
      nhs.value = f.patient_nhs_number;
      nhs.dispatchEvent(new Event('input'));
    }
    if (rec.fields) form.requestSubmit();
  }

  async function drop(rec) {
    if (!window.confirm('Discard the kept recording? It has not been sent.')) return;
    recorder.adopt(rec);
    await recorder.discard(false);
    keptBox.hidden = true;
    offerKept();
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
    // Send while recording: stop, keep the last chunk, and send what was recorded.
    if (recorder.recording()) await recorder.stop();
    const recorded = recorder.blob();
    const audio = recorded || (file.files && file.files[0]);
    if (!audio) {
      error.textContent = 'Choose an audio file or record the dictation first.';
      file.focus();
      return;
    }
    const data = {};
    const put = (k, v) => { if (v !== undefined && v !== null && String(v).trim() !== '') data[k] = String(v).trim(); };
    put('patient_nhs_number', nhsDigits(nhs.value));
    put('patient_name', name.value);
    put('patient_dob', dob.value);
    put('hospital_number', hospital.value);
    put('specialty', specialty.value);
    put('letter_type', letterType.value);
    put('priority', priority.value);
    put('notes', notes.value);
    if (clinician) put('clinician', clinician.value);
    recipients.addTo(data);
    const filename = recorded ? `recording.${extensionFor(recorded.type)}` : audio.name;
    if (recorded) {
      recorder.rec.fields = data;
      await recorder.keepFields();
    }
    send.disabled = true;
    send.textContent = 'Sending…';
    sending = true;
    progress.hidden = false;
    const [bar, text] = progress.children;
    const onProgress = ({ sent, total, offline }) => {
      bar.value = total ? sent / total : 0;
      progress.classList.toggle('offline', offline);
      text.textContent = offline
        ? `Connection lost at ${Math.round((100 * sent) / total)}%. ${recorded ? 'The recording is kept in this browser; ' : ''}`
          + 'sending goes on when the network is back.'
        : `Sending ${size(sent)} of ${size(total)}…`;
    };
    try {
      const key = recorded ? recorder.rec.id : fileKey;
      const d = await sendResumable(audio, { key, filename, fields: data, onProgress });
      if (recorded) await recorder.sent();
      sending = false;
      toast('Dictation received; recognition has started.');
      navigate(user.role === 'clinician' ? '/app/dictations' : `/app/dictations/${d.id}`, { force: true });
    } catch (e) {
      error.textContent = e.field ? `${e.field}: ${e.message}` : e.message;
      const bad = e.field && form.querySelector(`[name="${CSS.escape(e.field)}"]`);
      if (bad) bad.focus();
    } finally {
      sending = false;
      send.disabled = false;
      send.textContent = 'Send dictation';
      progress.hidden = true;
    }
  }

  return () => {
    window.removeEventListener('beforeunload', beforeUnload);
    recorder.close();
  };
}
