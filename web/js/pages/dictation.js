// One dictation: the letter beside its audio. The holder edits it (autosave with version
// conflict handling), the audio is synchronised with the recognised words, and the workflow's
// actions for the current stage are offered (claim, submit, approve, return, dispatch, ...).

import { api } from '../api.js';
import { h, fill, toast, fmtTime, timeLeft, slaBadge, statusBadge, recognition, label, errorText,
  PRIORITY_LABELS, LETTER_TYPES } from '../ui.js';
import { formatNhs } from '../nhs.js';
import { Transport } from '../transport.js';

const AUTOSAVE_MS = 1500;
const LOW_CONFIDENCE = 0.5;
const PRSB_HEADINGS = ['Diagnoses', 'Clinical summary', 'Plan', 'Actions for GP', 'Information given to the patient'];
const LEAVE_ACTIONS = new Set(['submit', 'approve', 'return', 'dispatch', 'cancel', 'release']);

export default async function dictation(main, { user, params, navigate }) {
  const id = params.id;
  let d = await api(`dictations/${id}`);
  const def = d.workflow ? await loadDefinition(d.workflow) : null;
  const page = { timers: [], transport: null, stopped: false, editor: null };

  const render = () => {
    if (page.transport) page.transport.detach();
    if (page.editor) page.editor.dispose();
    page.editor = null;
    fill(main);
    const recognising = d.transcription && ['queued', 'running'].includes(d.transcription.status);
    main.append(header(d), recognising ? waiting(d) : workspace());
  };

  function header(x) {
    const p = x.patient || {};
    return h('div.letter-head',
      h('h1', `Letter: ${p.name || (p.nhs_number ? formatNhs(p.nhs_number) : 'unnamed patient')}`),
      h('dl.meta',
        h('dt', 'Status'), h('dd', { id: 'status' }, statusBadge(x), ' ', x.stage || ''),
        h('dt', 'Priority'), h('dd', label(PRIORITY_LABELS, x.priority)),
        h('dt', 'Letter'), h('dd', label(LETTER_TYPES, x.letter_type), x.specialty ? ` · ${x.specialty}` : ''),
        h('dt', 'NHS number'), h('dd', p.nhs_number ? formatNhs(p.nhs_number) : '—'),
        h('dt', 'Date of birth'), h('dd', p.dob || '—'),
        h('dt', 'Clinician'), h('dd', x.clinician || '—'),
        h('dt', 'Assignee'), h('dd', { id: 'assignee' }, x.assignee || '—'),
        h('dt', 'Due'), h('dd', fmtTime(x.due_at), ' ', slaBadge(x), ' ', timeLeft(x))),
      x.notes ? h('p.notes', h('strong', 'Notes: '), x.notes) : null);
  }

  function waiting(x) {
    const t = setTimeout(async () => {
      try { d = await api(`dictations/${id}`); } catch (e) { /* keep polling */ }
      if (!page.stopped) render();
    }, 2000);
    page.timers.push(t);
    return h('section.card', h('h2', 'Recognising the dictation'), h('p', recognition(x)),
      h('p.muted', 'The draft appears here as soon as recognition finishes.'));
  }

  function workspace() {
    const audio = h('audio', { controls: true, preload: 'metadata', src: `/api/v1/dictations/${id}/audio`,
      id: 'player', 'aria-label': 'Dictation audio' });
    page.transport = new Transport(audio);
    const words = wordsPane(audio);
    const letter = letterPane(audio);
    return h('div.workspace',
      h('section.audio-side', { 'aria-label': 'Audio' }, audio, words, page.transport.panel()),
      letter);
  }

  function wordsPane(audio) {
    const all = (d.transcription && d.transcription.segments || []).flatMap((s) => s.words || []);
    const spans = all.map((w, i) => {
      const low = w.low_confidence || w.confidence < LOW_CONFIDENCE;
      const span = h(low ? 'span.w.low' : 'span.w', {
        dataset: { i, start: w.start, end: w.end },
        title: `${w.start.toFixed(1)} s · confidence ${Math.round(w.confidence * 100)}%`,
      }, w.text.trim());
      return span;
    });
    const pane = h('div.words', { id: 'words', tabindex: 0, role: 'group', 'aria-describedby': 'words-help',
      'aria-label': 'Recognised speech' }, spans.flatMap((s) => [s, ' ']));
    const playFrom = (s) => {
      audio.currentTime = Number(s.dataset.start);
      audio.play().catch(() => {});
    };
    pane.addEventListener('click', (ev) => {
      const s = ev.target.closest('.w');
      if (s) playFrom(s);
    });
    // Keyboard: arrows move a cursor over the words (low-confidence ones with Shift), Enter plays.
    let cursor = -1;
    const moveCursor = (i) => {
      if (cursor >= 0) spans[cursor].classList.remove('cursor');
      cursor = Math.max(0, Math.min(spans.length - 1, i));
      spans[cursor].classList.add('cursor');
      spans[cursor].scrollIntoView({ block: 'nearest' });
      pane.setAttribute('aria-label', `Recognised speech, at “${spans[cursor].textContent}”`);
    };
    const isLow = (i) => spans[i].classList.contains('low');
    pane.addEventListener('keydown', (ev) => {
      if (!spans.length) return;
      const step = ev.key === 'ArrowRight' ? 1 : ev.key === 'ArrowLeft' ? -1 : 0;
      if (step) {
        ev.preventDefault();
        let i = cursor < 0 ? (step > 0 ? -1 : spans.length) : cursor;
        do { i += step; } while (ev.shiftKey && i >= 0 && i < spans.length && !isLow(i));
        if (i >= 0 && i < spans.length) moveCursor(i);
      } else if (ev.key === 'Enter' && cursor >= 0) {
        ev.preventDefault();
        playFrom(spans[cursor]);
      }
    });
    let current = null;
    const sync = () => {
      const t = audio.currentTime;
      let lo = 0;
      let hi = all.length - 1;
      let found = -1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if (all[mid].start <= t) { found = mid; lo = mid + 1; } else hi = mid - 1;
      }
      const next = found >= 0 && t <= all[found].end + 0.3 ? spans[found] : null;
      if (next === current) return;
      if (current) current.classList.remove('current');
      current = next;
      if (current) {
        current.classList.add('current');
        current.scrollIntoView({ block: 'nearest' });
      }
    };
    let raf = 0;
    const loop = () => { sync(); if (!audio.paused) raf = requestAnimationFrame(loop); };
    audio.addEventListener('play', () => { cancelAnimationFrame(raf); loop(); });
    audio.addEventListener('seeked', sync);
    audio.addEventListener('timeupdate', sync);
    const lows = all.filter((w) => w.low_confidence || w.confidence < LOW_CONFIDENCE).length;
    return h('div.words-box',
      h('h2', 'Recognised speech'),
      all.length
        ? h('p.muted', { id: 'words-help' }, `${all.length} words; ${lows} marked `, h('span.w.low', 'low confidence'),
          '. Click a word to play from it, or focus the text and use ← → (with Shift: low-confidence words) and Enter.')
        : h('p.muted', { id: 'words-help' }, 'No words were recognised.'),
      pane);
  }

  function holder() {
    return d.assignee === user.username;
  }

  function stage() {
    return def && def.stages.find((s) => s.name === d.stage);
  }

  function letterPane(audio) {
    const st = stage();
    const editable = holder() && st && st.kind === 'human';
    const editor = new DraftEditor(d, editable);
    page.editor = editor;
    const comment = h('textarea', { id: 'comment', rows: 2 });
    const actions = availableActions(st);
    const buttons = actions.map((a) => h(a.name === 'cancel' || a.name === 'return' ? 'button.secondary' : 'button', {
      type: 'button', dataset: { action: a.name }, on: { click: () => act(a, comment) },
    }, a.label || a.name.replace(/_/g, ' ')));
    const exportLinks = h('p.exports', 'Export the saved letter: ',
      exportLink('docx', 'Word (DOCX)'), ' · ', exportLink('pdf', 'PDF'));
    return h('section.letter-side', { 'aria-label': 'Letter' },
      editor.element,
      actions.length ? h('div.actions',
        h('div.field', h('label', { for: 'comment' }, 'Comment (needed to return or cancel)'), comment),
        h('div.row', buttons)) : null,
      exportLinks,
      historyBox());

    function exportLink(ext, text) {
      const a = h('a', { href: `/api/v1/dictations/${id}/letter.${ext}`, download: '' }, text);
      a.addEventListener('click', async (ev) => {
        if (!editor.dirty) return;
        ev.preventDefault();
        if (await editor.flush()) location.href = a.href;
      });
      return a;
    }
  }

  function availableActions(st) {
    if (!st || st.kind === 'terminal' || !def) return [];
    const own = st.actions || [];
    const common = (def.common_actions || []).filter((c) => !own.some((a) => a.name === c.name));
    return own.concat(common).filter((a) => a.name !== 'reassign' && permits(a, st));
  }

  function permits(a, st) {
    return (a.by || []).some((p) => {
      if (p === 'assignee') return holder();
      if (p === 'dictating_clinician') return d.clinician === user.username;
      if (p === 'participants') {
        const who = st.who;
        if (who === 'clinician') return d.clinician === user.username;
        if (who && who.user) return who.user === user.username;
        if (who && who.pool) return !who.pool.role || who.pool.role === user.role;
        return false;
      }
      return p && p.role === user.role;
    });
  }

  async function act(a, comment) {
    if (page.editor && !(await page.editor.flush())) return;
    const body = {};
    if (comment.value.trim()) body.comment = comment.value.trim();
    try {
      d = await api(`dictations/${id}/actions/${a.name}`, { json: body });
      toast(`${a.label || a.name}: done.`);
      if (LEAVE_ACTIONS.has(a.name)) {
        navigate(user.role === 'clinician' ? '/app/dictations' : user.role === 'secretary' ? '/app/queue' : '/app/board');
        return;
      }
      d = await api(`dictations/${id}`);
      render();
    } catch (e) {
      toast(errorText(e), 'error');
      if (e.field === 'comment') comment.focus();
    }
  }

  function historyBox() {
    const list = h('ol.history');
    const box = h('details', h('summary', 'History'), list);
    box.addEventListener('toggle', async () => {
      if (!box.open) return;
      try {
        const items = await api(`dictations/${id}/history`);
        fill(list, items.map((e) => h('li', `${fmtTime(e.at)} · ${e.actor || 'system'} · ${e.action}`,
          e.from || e.to ? ` (${e.from || '—'} → ${e.to || '—'})` : '', e.comment ? ` — “${e.comment}”` : '')));
      } catch (e) {
        fill(list, h('li.error', errorText(e)));
      }
    });
    return box;
  }

  render();
  const beforeUnload = (ev) => { if (page.editor && page.editor.dirty) { ev.preventDefault(); ev.returnValue = ''; } };
  window.addEventListener('beforeunload', beforeUnload);
  return () => {
    page.stopped = true;
    page.timers.forEach(clearTimeout);
    window.removeEventListener('beforeunload', beforeUnload);
    if (page.transport) page.transport.detach();
    if (page.editor) { page.editor.flush(); page.editor.dispose(); }
  };
}

async function loadDefinition(wf) {
  try {
    const q = wf.version ? `?version=${encodeURIComponent(wf.version)}` : '';
    return (await api(`workflows/${encodeURIComponent(wf.name)}${q}`)).definition;
  } catch (e) {
    return null;
  }
}

/** The draft textarea with autosave on `base_version` and a conflict view that loses nothing. */
class DraftEditor {
  constructor(d, editable) {
    this.id = d.id;
    this.d = d;
    this.base = d.draft ? d.draft.version : 0;
    this.dirty = false;
    this.saving = null;
    this.conflict = false;
    this.timer = 0;
    const text = d.draft ? d.draft.text || '' : (d.transcription && d.transcription.text) || '';
    this.area = h('textarea.draft', { id: 'draft', rows: 18, spellcheck: 'true', readonly: !editable, value: text });
    this.status = h('p.save-status', { id: 'save-status', role: 'status' },
      editable ? this.savedText(d.draft) : 'Read only: you do not hold this letter.');
    this.conflictBox = h('div.conflict', { id: 'conflict', hidden: true, role: 'alert' });
    const template = editable ? h('button.secondary.small', { type: 'button', on: { click: () => this.template() } },
      'Insert letter headings') : null;
    this.element = h('div.draft-box',
      h('div.row.spread', h('label', { for: 'draft' }, h('h2', 'Letter')), template),
      this.area, this.status, this.conflictBox);
    this.onInput = () => this.changed();
    this.area.addEventListener('input', this.onInput);
  }

  savedText(draft) {
    if (!draft) return 'No draft saved yet.';
    return `Saved (version ${draft.version}${draft.updated_by ? ` by ${draft.updated_by}` : ''}, ${fmtTime(draft.updated_at)}).`;
  }

  dispose() {
    clearTimeout(this.timer);
    this.area.removeEventListener('input', this.onInput);
  }

  changed() {
    this.dirty = true;
    if (this.conflict) return;
    this.status.textContent = 'Unsaved changes…';
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.save(), AUTOSAVE_MS);
  }

  template() {
    const p = this.d.patient || {};
    const re = [p.name, p.dob && `born ${p.dob}`, p.nhs_number && `NHS number ${formatNhs(p.nhs_number)}`,
      p.hospital_number && `hospital number ${p.hospital_number}`].filter(Boolean).join(', ');
    const body = this.area.value.trim();
    const parts = [re ? `Re: ${re}` : null, ...PRSB_HEADINGS.flatMap((hd) =>
      [`${hd}:`, hd === 'Clinical summary' && body ? `${body}\n` : '']).map((x) => x)];
    this.area.value = parts.filter((x) => x !== null).join('\n').replace(/\n{3,}/g, '\n\n');
    this.changed();
  }

  /** Saves now if needed; resolves true when nothing unsaved is left. */
  async flush() {
    clearTimeout(this.timer);
    if (this.saving) await this.saving;
    if (!this.dirty) return true;
    if (this.conflict) {
      toast('Resolve the edit conflict first.', 'error');
      return false;
    }
    return this.save();
  }

  save() {
    if (this.saving) return this.saving.then(() => this.dirty ? this.save() : true);
    const text = this.area.value;
    this.status.textContent = 'Saving…';
    this.saving = (async () => {
      try {
        const draft = await api(`dictations/${this.id}/draft`, { method: 'PUT', json: { text, base_version: this.base } });
        this.base = draft.version;
        if (this.area.value === text) this.dirty = false;
        this.status.textContent = this.savedText(draft);
        return !this.dirty;
      } catch (e) {
        if (e.code === 'version_conflict') {
          await this.showConflict(text);
        } else {
          this.status.textContent = `Not saved: ${errorText(e)}`;
        }
        return false;
      } finally {
        this.saving = null;
      }
    })();
    return this.saving;
  }

  async showConflict() {
    let latest;
    try {
      latest = await api(`dictations/${this.id}`);
    } catch (e) {
      this.status.textContent = `Not saved, and the latest version cannot be read: ${errorText(e)}`;
      return;
    }
    const theirs = latest.draft || { version: 0, text: '' };
    this.conflict = true;
    this.status.textContent = 'Not saved: someone else saved this letter meanwhile.';
    const theirArea = h('textarea', { readonly: true, rows: 8, id: 'their-text', value: theirs.text || '',
      'aria-label': 'Their version' });
    fill(this.conflictBox,
      h('h3', 'Edit conflict'),
      h('p', `Version ${theirs.version} was saved by ${theirs.updated_by || 'someone'} at ${fmtTime(theirs.updated_at)}. `
        + 'Your text is still in the editor above; nothing has been lost. Choose which to keep:'),
      theirArea,
      h('div.row',
        h('button', { type: 'button', id: 'keep-mine', on: { click: () => this.keepMine(theirs) } },
          'Keep my text (save over theirs)'),
        h('button.secondary', { type: 'button', id: 'take-theirs', on: { click: () => this.takeTheirs(theirs) } },
          'Use their text (mine is kept below to copy from)')));
    this.conflictBox.hidden = false;
    this.conflictBox.scrollIntoView({ block: 'nearest' });
  }

  keepMine(theirs) {
    this.base = theirs.version;
    this.conflict = false;
    this.conflictBox.hidden = true;
    this.save();
  }

  takeTheirs(theirs) {
    const mine = this.area.value;
    this.area.value = theirs.text || '';
    this.base = theirs.version;
    this.dirty = false;
    this.conflict = false;
    this.status.textContent = this.savedText(theirs);
    fill(this.conflictBox,
      h('h3', 'Your previous text'),
      h('p', 'Kept here so you can copy from it; it is not saved.'),
      h('textarea', { readonly: true, rows: 8, value: mine, 'aria-label': 'Your previous text' }),
      h('button.secondary.small', { type: 'button', on: { click: () => { this.conflictBox.hidden = true; } } },
        'Dismiss'));
  }
}
