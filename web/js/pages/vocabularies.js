// Recognition vocabularies: terms fed to Whisper as a prompt (global, per specialty, per
// clinician). Super-users edit every list, choosing the list from menus (the kind, then a
// specialty already in use or a new one, or a clinician); a clinician edits their own.

import { api } from '../api.js';
import { h, fill, toast, fmtTime, errorText } from '../ui.js';

export default async function vocabularies(main, { user }) {
  const own = `clinician:${user.username}`;
  const lists = h('ul.vocab-lists');
  const admin = user.role === 'superuser';
  // The list's key (`global`, `specialty:NAME`, `clinician:USERNAME`), made from the menus.
  const scope = h('input', { id: 'vocab-scope', type: 'hidden', value: admin ? 'global' : own });
  const kind = h('select', { id: 'vocab-kind' }, h('option', { value: 'global' }, 'Everyone (global)'),
    h('option', { value: 'specialty' }, 'A specialty'), h('option', { value: 'clinician' }, 'A clinician'));
  const specialties = h('datalist', { id: 'vocab-specialties' });
  const specialty = h('input', { id: 'vocab-specialty', list: 'vocab-specialties', autocomplete: 'off',
    placeholder: 'e.g. Oncology', 'aria-label': 'Specialty' });
  const clinician = h('select', { id: 'vocab-clinician', 'aria-label': 'Clinician' });
  const specialtyField = h('div.field', { hidden: true }, h('label', { for: 'vocab-specialty' }, 'Specialty'), specialty,
    specialties, h('span.hint', 'One already in use, or type a new one.'));
  const clinicianField = h('div.field', { hidden: true }, h('label', { for: 'vocab-clinician' }, 'Clinician'), clinician);
  const chooser = admin
    ? [h('div.field', h('label', { for: 'vocab-kind' }, 'List for'), kind), specialtyField, clinicianField, scope]
    : [h('p', h('strong', 'List: '), 'your own (used for your dictations)'), scope];
  const pick = () => {
    specialtyField.hidden = kind.value !== 'specialty';
    clinicianField.hidden = kind.value !== 'clinician';
    const name = kind.value === 'specialty' ? specialty.value.trim() : clinician.value;
    const key = kind.value === 'global' ? 'global' : name ? `${kind.value}:${name}` : '';
    if (key && key !== scope.value) open(key);
  };
  for (const el of [kind, clinician]) el.addEventListener('change', pick);
  specialty.addEventListener('change', pick);
  if (admin) {
    api('clinicians').then((r) => fill(clinician, h('option', { value: '' }, 'Choose…'),
      r.items.map((c) => h('option', { value: c.username }, c.display_name ? `${c.display_name} (${c.username})` : c.username))))
      .catch(() => {});
  }
  const terms = h('textarea', { id: 'vocab-terms', rows: 14, spellcheck: 'false' });
  const status = h('p', { id: 'vocab-status', role: 'status' });
  const save = h('button', { type: 'submit' }, 'Save list');
  const remove = h('button.secondary', { type: 'button' }, 'Delete list');
  main.append(
    h('h1', user.role === 'superuser' ? 'Vocabularies' : 'My vocabulary'),
    h('p.muted', 'Names, drugs and anatomy that recognition should expect; one term per line.'),
    h('div.wf-layout',
      h('form.card', { on: { submit: store } },
        chooser,
        h('div.field', h('label', { for: 'vocab-terms' }, 'Terms'), terms),
        h('div.row', save, remove), status),
      h('section', h('h2', 'Lists'), lists)));
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
    const [k, ...rest] = key.split(':');
    kind.value = k;
    if (k === 'specialty') specialty.value = rest.join(':');
    if (k === 'clinician') clinician.value = rest.join(':');
    specialtyField.hidden = k !== 'specialty';
    clinicianField.hidden = k !== 'clinician';
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
    if (admin && kind.value !== 'global' && scope.value.split(':')[0] !== kind.value) {
      status.textContent = kind.value === 'specialty' ? 'Name the specialty first.' : 'Choose the clinician first.';
      return;
    }
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
      const all = (await api('vocabularies')).items;
      const items = all.filter((v) => admin || v.scope === own);
      fill(specialties, all.filter((v) => v.scope.startsWith('specialty:'))
        .map((v) => h('option', { value: v.scope.slice('specialty:'.length) })));
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
