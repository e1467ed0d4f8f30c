// Recognition vocabularies: terms fed to Whisper as a prompt (global, per specialty, per
// clinician). Super-users edit every list; a clinician edits their own.

import { api } from '../api.js';
import { h, fill, toast, fmtTime, errorText } from '../ui.js';

export default async function vocabularies(main, { user }) {
  const own = `clinician:${user.username}`;
  const lists = h('ul.vocab-lists');
  const scope = h('input', { id: 'vocab-scope', value: user.role === 'superuser' ? 'global' : own,
    readonly: user.role !== 'superuser', autocomplete: 'off', 'aria-describedby': 'vocab-scope-hint' });
  const terms = h('textarea', { id: 'vocab-terms', rows: 14, spellcheck: 'false' });
  const status = h('p', { id: 'vocab-status', role: 'status' });
  const save = h('button', { type: 'submit' }, 'Save list');
  const remove = h('button.secondary', { type: 'button' }, 'Delete list');
  main.append(
    h('h1', user.role === 'superuser' ? 'Vocabularies' : 'My vocabulary'),
    h('p.muted', 'Names, drugs and anatomy that recognition should expect; one term per line.'),
    h('div.wf-layout',
      h('form.card', { on: { submit: store } },
        h('div.field', h('label', { for: 'vocab-scope' }, 'List'), scope,
          h('span.hint', { id: 'vocab-scope-hint' }, 'global, specialty:NAME or clinician:USERNAME')),
        h('div.field', h('label', { for: 'vocab-terms' }, 'Terms'), terms),
        h('div.row', save, remove), status),
      h('section', h('h2', 'Lists'), lists)));
  scope.addEventListener('change', () => open(scope.value.trim()));
  remove.addEventListener('click', async () => {
    try {
      await api(`vocabularies/${encodeURIComponent(scope.value.trim())}`, { method: 'DELETE' });
      terms.value = '';
      status.textContent = 'List deleted.';
      refresh();
    } catch (e) {
      status.textContent = errorText(e);
    }
  });

  // Terms typed by the user are never overwritten by a list loaded afterwards.
  let edited = false;
  terms.addEventListener('input', () => { edited = true; });

  async function open(key, replace = false) {
    scope.value = key;
    status.textContent = '';
    if (replace) edited = false;
    try {
      const v = await api(`vocabularies/${encodeURIComponent(key)}`);
      if (edited) {
        status.textContent = `This list exists with ${v.terms.length} terms; saving replaces them with yours.`;
      } else {
        terms.value = v.terms.join('\n');
        status.textContent = `Last changed ${fmtTime(v.updated_at)}.`;
      }
    } catch (e) {
      if (!edited) terms.value = '';
      status.textContent = e.status === 404 ? 'A new list.' : errorText(e);
    }
  }

  async function store(ev) {
    ev.preventDefault();
    const list = terms.value.split('\n').map((t) => t.trim()).filter(Boolean);
    try {
      const v = await api(`vocabularies/${encodeURIComponent(scope.value.trim())}`, { method: 'PUT', json: { terms: list } });
      terms.value = v.terms.join('\n');
      edited = false;
      status.textContent = `Saved ${v.terms.length} term${v.terms.length === 1 ? '' : 's'}.`;
      toast('Vocabulary saved.');
      refresh();
    } catch (e) {
      status.textContent = e.field ? `${e.field}: ${errorText(e)}` : errorText(e);
    }
  }

  async function refresh() {
    try {
      const items = (await api('vocabularies')).items
        .filter((v) => user.role === 'superuser' || v.scope === own);
      fill(lists, items.length ? items.map((v) => h('li', h('button.link', { type: 'button', on: { click: () => open(v.scope, true) } },
        v.scope), ` — ${v.terms.length} terms, ${fmtTime(v.updated_at)}`)) : h('li.muted', 'No lists yet.'));
    } catch (e) {
      fill(lists, h('li.error', errorText(e)));
    }
  }

  await refresh();
  await open(scope.value);
  return null;
}
