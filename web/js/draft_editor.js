// The letter being edited: autosave on `base_version`, and a conflict view that loses nothing
// when another tab or person saved meanwhile. Also inserts PRSB-style letter headings with the
// patient details filled in. The recognised words the letter still contains carry their timing
// and confidence (word_marks.js): low-confidence words are underlined in the letter itself, the
// word being played is highlighted, and Ctrl+click or Ctrl+Enter plays from the word at the cursor.

import { api } from './api.js';
import { h, fill, toast, fmtTime, errorText } from './ui.js';
import { formatNhs } from './nhs.js';
import { SpellCheck } from './spell.js';
import { alignWords, followEdit, markAt, markAtTime, placed } from './word_marks.js';

const AUTOSAVE_MS = 1500;
const PRSB_HEADINGS = ['Diagnoses', 'Clinical summary', 'Plan', 'Actions for GP', 'Information given to the patient'];

/** The draft textarea with autosave on `base_version` and a conflict view that loses nothing. */
export class DraftEditor {
  constructor(d, editable) {
    this.id = d.id;
    this.d = d;
    this.base = d.draft ? d.draft.version : 0;
    this.dirty = false;
    this.saving = null;
    this.conflict = false;
    this.timer = 0;
    const text = d.draft ? d.draft.text || '' : (d.transcription && d.transcription.text) || '';
    this.area = h('textarea.draft', { id: 'draft', rows: 18, spellcheck: editable ? 'false' : 'true', readonly: !editable, value: text });
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
    if (editable) {
      this.spell = new SpellCheck(this.area, d.id, () => this.changed());
      this.spell.mount();
    } else {
      const wrap = h('div.spell-wrap');
      this.area.replaceWith(wrap);
      wrap.append(this.area);
    }
    const t = d.transcription || {};
    this.threshold = typeof t.low_confidence_threshold === 'number' ? t.low_confidence_threshold : 0.5;
    const words = (t.segments || []).flatMap((seg) => seg.words || []);
    this.marks = alignWords(text, words);
    this.lastText = text;
    this.marksLayer = h('div.marks-layer', { id: 'draft-marks', 'aria-hidden': 'true' });
    this.area.parentNode.prepend(this.marksLayer);
    this.area.addEventListener('scroll', () => { this.marksLayer.scrollTop = this.area.scrollTop; });
    this.current = -1;
    this.renderMarks();
    const lows = this.shown.filter((m) => this.isLow(m)).length;
    this.help = h('p.muted.marks-help', { id: 'marks-help' }, words.length
      ? [`${this.shown.length} words of the letter are timed to the recording; ${lows} marked `,
        h('span.w.low', 'low confidence'), ' (below ', `${Math.round(this.threshold * 100)}%). `,
        'Ctrl+click a word, or put the cursor in it and press Ctrl+Enter, to play from it.']
      : 'No recognised words to time the letter against.');
    this.area.setAttribute('aria-describedby', 'marks-help');
    this.element.insertBefore(this.help, this.status);
  }

  isLow(m) {
    return m.confidence < this.threshold;
  }

  /** Draws the marks on the layer behind the text (same wrapping as the textarea). */
  renderMarks() {
    const text = this.area.value;
    const parts = [];
    let at = 0;
    this.shown = placed(this.marks);
    this.spans = this.shown.map((m, i) => {
      const cls = `span.w${this.isLow(m) ? '.low' : ''}${m.heard ? '.heard' : ''}${i === this.current ? '.current' : ''}`;
      const span = h(cls, { dataset: { i, start: m.start } }, text.slice(m.from, m.to));
      parts.push(text.slice(at, m.from), span);
      at = m.to;
      return span;
    });
    parts.push(text.slice(at), '\n');
    fill(this.marksLayer, parts);
    this.marksLayer.scrollTop = this.area.scrollTop;
  }

  /** Moves the marks along with an edit of the text (an edited word loses its mark). */
  syncMarks() {
    const now = this.area.value;
    if (now === this.lastText) return;
    this.marks = followEdit(this.marks, this.lastText, now);
    this.lastText = now;
    this.current = -1;
    this.renderMarks();
  }

  /** Highlights the word being played and lets Ctrl+click / Ctrl+Enter play from a word. */
  attachAudio(audio) {
    this.audio = audio;
    const playFrom = () => {
      const m = markAt(this.shown, this.area.selectionStart);
      if (!m) return false;
      audio.currentTime = m.start;
      audio.play().catch(() => {});
      return true;
    };
    this.area.addEventListener('click', (ev) => { if (ev.ctrlKey || ev.metaKey) playFrom(); });
    this.area.addEventListener('keydown', (ev) => {
      if ((ev.ctrlKey || ev.metaKey) && ev.key === 'Enter' && playFrom()) ev.preventDefault();
    });
    const sync = () => this.highlight(markAtTime(this.shown, audio.currentTime));
    let raf = 0;
    const loop = () => { sync(); if (!audio.paused) raf = requestAnimationFrame(loop); };
    audio.addEventListener('play', () => { cancelAnimationFrame(raf); loop(); });
    audio.addEventListener('seeked', sync);
    audio.addEventListener('timeupdate', sync);
  }

  highlight(i) {
    if (i === this.current) return;
    if (this.spans[this.current]) this.spans[this.current].classList.remove('current');
    this.current = i;
    if (this.spans[i]) this.spans[i].classList.add('current');
  }

  savedText(draft) {
    if (!draft) return 'No draft saved yet.';
    return `Saved (version ${draft.version}${draft.updated_by ? ` by ${draft.updated_by}` : ''}, ${fmtTime(draft.updated_at)}).`;
  }

  dispose() {
    clearTimeout(this.timer);
    this.area.removeEventListener('input', this.onInput);
    if (this.spell) this.spell.dispose();
  }

  changed() {
    this.syncMarks();
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
    this.syncMarks();
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
