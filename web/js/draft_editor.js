// The letter being edited: autosave on `base_version`, and a conflict view that loses nothing
// when another tab or person saved meanwhile. Also inserts PRSB-style letter headings with the
// patient details filled in.

import { api } from './api.js';
import { h, fill, toast, fmtTime, errorText } from './ui.js';
import { formatNhs } from './nhs.js';
import { SpellCheck } from './spell.js';

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
    }
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
