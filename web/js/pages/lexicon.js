// The clinical lexicon (super-users): the terms recognition and spell-check know. Search and
// filter, add, remove and restore (release entries are marked), import a word list, counts,
// and the substitutions learned from corrected letters to approve or reject.

import { api } from '../api.js';
import { h, fill, toast, errorText, link, labelColumns } from '../ui.js';

const CATEGORIES = ['medicine', 'condition', 'procedure', 'investigation', 'anatomy', 'abbreviation', 'other'];
const SOURCES = [['release', 'Came with the release'], ['added', 'Added'], ['imported', 'Imported'], ['learned', 'Learned']];

const options = (list, any) => [h('option', { value: '' }, any),
  ...list.map((o) => (Array.isArray(o) ? h('option', { value: o[0] }, o[1]) : h('option', { value: o }, o)))];

export default async function lexicon(main) {
  const q = h('input', { id: 'lex-q', type: 'search', autocomplete: 'off' });
  const category = h('select', { id: 'lex-category' }, options(CATEGORIES, 'Any category'));
  const source = h('select', { id: 'lex-source' }, options(SOURCES, 'Any source'));
  const tbody = h('tbody', { id: 'lex-rows' });
  const more = h('button.secondary', { type: 'button', id: 'lex-more', hidden: true }, 'Show more');
  const summary = h('p.muted', { id: 'lex-total', role: 'status' });
  const counts = h('div', { id: 'lex-stats' });
  const subs = h('tbody', { id: 'lex-subs' });
  const term = h('input', { id: 'lex-term', autocomplete: 'off', required: true, maxlength: 80 });
  const newCategory = h('select', { id: 'lex-new-category' }, CATEGORIES.map((c) => h('option', { value: c, selected: c === 'other' }, c)));
  const scope = h('input', { id: 'lex-scope', value: 'global', autocomplete: 'off' });
  const file = h('input', { id: 'lex-file', type: 'file', accept: '.txt,text/plain' });
  const importStatus = h('div', { id: 'lex-import-status', role: 'status' });
  const addStatus = h('p', { id: 'lex-add-status', role: 'status' });

  main.append(
    h('h1', 'Clinical lexicon'),
    h('p.muted', 'Medicines, conditions, procedures, investigations, anatomy and abbreviations that recognition '
      + 'and the spell-check know. Entries that came with the release can be removed and restored.'),
    counts,
    h('form.row', { role: 'search', on: { submit: (e) => { e.preventDefault(); load(); } } },
      h('label', { for: 'lex-q' }, 'Search'), q, category, source, h('button', { type: 'submit' }, 'Search')),
    summary,
    h('table.table', h('thead', h('tr', h('th', 'Term'), h('th', 'Category'), h('th', 'Scope'), h('th', 'Source'), h('th', ''))), tbody),
    more,
    h('div.wf-layout',
      h('form.card', { on: { submit: add } }, h('h2', 'Add a term'),
        h('div.field', h('label', { for: 'lex-term' }, 'Term'), term),
        h('div.field', h('label', { for: 'lex-new-category' }, 'Category'), newCategory),
        h('div.field', h('label', { for: 'lex-scope' }, 'Scope'), scope, h('span.hint', 'global, specialty:NAME or clinician:USERNAME')),
        h('button', { type: 'submit' }, 'Add'), addStatus),
      h('form.card', { on: { submit: importFile } }, h('h2', 'Import a word list'),
        h('p.muted', 'A text file, one term per line (at most 1 MB); it is added to the scope above with the category above.'),
        h('div.field', h('label', { for: 'lex-file' }, 'File'), file),
        h('button', { type: 'submit' }, 'Import'), importStatus)),
    h('h2', 'Learned substitutions'),
    h('p.muted', 'What recognition heard where secretaries typed a term. Approved ones are applied to new drafts '
      + 'of that scope; the secretary sees what Whisper heard.'),
    h('table.table', h('thead', h('tr', h('th', 'Heard'), h('th', 'Corrected'), h('th', 'Count'), h('th', 'Scope'),
      h('th', 'Letters'), h('th', ''))), subs));
  [category, source].forEach((s) => s.addEventListener('change', () => load()));

  let cursor = null;
  async function load(append = false) {
    const params = new URLSearchParams({ limit: '100' });
    if (q.value.trim()) params.set('q', q.value.trim());
    if (category.value) params.set('category', category.value);
    if (source.value) params.set('source', source.value);
    if (append && cursor) params.set('cursor', cursor);
    try {
      const r = await api(`lexicon?${params}`);
      const rows = r.items.map(row);
      if (append) tbody.append(...rows); else fill(tbody, rows.length ? rows : h('tr', h('td.muted', { colspan: 5 }, 'No entries.')));
      labelColumns(tbody);
      cursor = r.next_cursor;
      more.hidden = !cursor;
      summary.textContent = `${r.total} entr${r.total === 1 ? 'y' : 'ies'}`;
    } catch (e) {
      fill(tbody, h('tr', h('td.error', { colspan: 5 }, errorText(e))));
    }
  }
  more.addEventListener('click', () => load(true));

  function row(e) {
    const release = e.source === 'release';
    const act = e.removed
      ? h('button.secondary.small', { type: 'button', on: { click: () => change(`lexicon/${e.id}/restore`, 'POST', 'Restored.') } }, 'Restore')
      : h('button.secondary.small', { type: 'button', on: { click: () => change(`lexicon/${e.id}`, 'DELETE', 'Removed.') } }, 'Remove');
    return h('tr', { dataset: { id: e.id } },
      h(e.removed ? 'td.lex-removed' : 'td', e.term, e.expansion ? ` (${e.expansion})` : ''),
      h('td', e.category), h('td', e.scope),
      h('td', release ? h('span.lex-release', e.removed ? 'came with the release (removed)' : 'came with the release') : e.source),
      h('td', act));
  }

  async function change(path, method, done) {
    try {
      await api(path, { method });
      toast(done);
      await Promise.all([load(), stats()]);
    } catch (e) {
      toast(errorText(e), 'error');
    }
  }

  async function add(ev) {
    ev.preventDefault();
    try {
      const e = await api('lexicon', { method: 'POST', json: { term: term.value, category: newCategory.value, scope: scope.value } });
      addStatus.textContent = `Added “${e.term}” to ${e.scope}.`;
      term.value = '';
      await Promise.all([load(), stats()]);
    } catch (e) {
      addStatus.textContent = e.field ? `${e.field}: ${errorText(e)}` : errorText(e);
    }
  }

  async function importFile(ev) {
    ev.preventDefault();
    if (!file.files.length) { importStatus.textContent = 'Choose a file first.'; return; }
    const form = new FormData();
    form.append('file', file.files[0]);
    form.append('category', newCategory.value);
    form.append('scope', scope.value);
    try {
      const r = await api('lexicon/import', { method: 'POST', body: form });
      fill(importStatus, h('p', `${r.added} added, ${r.already_present} already present, ${r.invalid_count} invalid.`),
        r.invalid.length ? h('ul', r.invalid.map((i) => h('li', `line ${i.line}: ${i.text} (${i.reason})`))) : null);
      await Promise.all([load(), stats()]);
    } catch (e) {
      importStatus.textContent = errorText(e);
    }
  }

  async function stats() {
    try {
      const s = await api('lexicon/stats');
      const list = (m) => Object.entries(m).filter(([, n]) => n).map(([k, n]) => `${k} ${n}`).join(', ');
      fill(counts, h('p', `${s.total} terms: ${list(s.by_category)}.`), h('p.muted', `By source: ${list(s.by_source)}; `
        + `${s.removed} release entr${s.removed === 1 ? 'y' : 'ies'} removed; ${s.substitutions_proposed} substitutions proposed.`));
    } catch (e) {
      fill(counts, h('p.error', errorText(e)));
    }
  }

  async function proposals() {
    try {
      const r = await api('lexicon/substitutions?status=proposed');
      fill(subs, r.items.length ? r.items.map((s) => h('tr',
        h('td', s.heard), h('td', s.corrected), h('td', String(s.count)), h('td', s.scope),
        h('td', s.examples.map((id, n) => [n ? ', ' : '', link(`/app/dictations/${id}`, `letter ${n + 1}`)]).flat()),
        h('td', h('button.small', { type: 'button', on: { click: () => decide(s.id, 'approve') } }, 'Approve'), ' ',
          h('button.secondary.small', { type: 'button', on: { click: () => decide(s.id, 'reject') } }, 'Reject'))))
        : h('tr', h('td.muted', { colspan: 6 }, 'Nothing proposed.')));
      labelColumns(subs);
    } catch (e) {
      fill(subs, h('tr', h('td.error', { colspan: 6 }, errorText(e))));
    }
  }

  async function decide(id, what) {
    try {
      await api(`lexicon/substitutions/${id}/${what}`, { method: 'POST' });
      toast(what === 'approve' ? 'Approved: applied to new drafts.' : 'Rejected.');
      await Promise.all([proposals(), stats()]);
    } catch (e) {
      toast(errorText(e), 'error');
    }
  }

  await Promise.all([load(), stats(), proposals()]);
  return null;
}
