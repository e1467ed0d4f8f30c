// Letter templates and the letterhead (super-users): edit a template per letter type and
// department with a live preview of a real letter, and the letterhead's text and logo.

import { api } from '../api.js';
import { h, fill, toast, errorText } from '../ui.js';
import { apiField, clearErrors, showError } from '../forms.js';

/** The laid-out letter (JSON from the preview endpoint) as page elements. */
function renderLetter(letter) {
  const head = letter.letterhead || {};
  const top = h('header.letterhead',
    head.logo ? h('img.letter-logo', { src: head.logo, alt: 'Letterhead logo' }) : null,
    head.organisation ? h('strong.letter-org', head.organisation) : null,
    letter.department ? h('div.letter-dept', letter.department) : null,
    (head.address || []).map((l) => h('div.letter-address', l)),
    [head.phone && `Tel: ${head.phone}`, head.email && `Email: ${head.email}`].filter(Boolean).join('   '));
  const blocks = letter.blocks.map((b) => {
    if (b.kind === 'heading') return h('h3', b.text);
    if (b.kind === 'paragraph') return h('p', b.text);
    if (b.kind === 'lines') return h('p', b.lines.map((l, i) => [i ? h('br') : null, l]));
    return h('table.letter-table', h('tbody', b.rows.map(([k, v]) => h('tr', h('th', k), h('td', v)))));
  });
  return [top, h('hr'), blocks];
}

export default async function letters(main) {
  const list = await api('letter-templates');
  const types = [...new Set(list.items.map((t) => t.letter_type))];
  const type = h('select#tpl-type', types.map((t) => h('option', { value: t }, t)));
  const department = h('input#tpl-department', { autocomplete: 'off', placeholder: 'every department' });
  const body = h('textarea#tpl-body', { rows: 22, cols: 70, spellcheck: 'false' });
  const source = h('span#tpl-source.hint');
  const dictations = await api('dictations?limit=50').catch(() => ({ items: [] }));
  const sample = h('select#tpl-dictation', (dictations.items || []).map((d) => h('option', { value: d.id },
    `${d.patient && d.patient.name ? d.patient.name : 'No patient'} · ${d.letter_type || 'letter'} · ${d.status}`)));
  const status = h('p#tpl-status', { role: 'status' });
  const errors = h('ul#tpl-errors.error');
  const preview = h('article#letter-preview.card.letter', { 'aria-live': 'polite' });
  const missing = h('p#tpl-missing.hint');

  const form = h('form.card#tpl-form', { on: { submit: (ev) => { ev.preventDefault(); save(); } } },
    h('div.row', apiField('Letter type', type, 'letter_type'),
      apiField('Department', department, 'department', 'Empty: the template for every department')),
    apiField('Template', body, 'body',
      `Fields: ${list.fields.map((f) => `{{${f}}}`).join(' ')}. Blocks (alone on a line): `
      + `${list.blocks.map((b) => `{{${b}}}`).join(' ')}. Directives: @title, @require, @headings; "## " starts a heading.`),
    source, errors,
    h('div.row', apiField('Preview with', sample, 'dictation_id', 'A real letter you may see')),
    h('button', { type: 'submit' }, 'Save template'), status);

  async function load() {
    const q = new URLSearchParams({ department: department.value.trim() });
    const t = await api(`letter-templates/${encodeURIComponent(type.value)}?${q}`);
    body.value = t.body;
    source.textContent = t.source === 'custom' ? `Custom template (${t.department || 'every department'})` : 'Shipped template';
    await showPreview();
  }

  let timer = null;
  let seq = 0;
  async function showPreview() {
    if (!sample.value) {
      fill(preview, h('p.hint', 'Upload a dictation to preview templates with a real letter.'));
      return;
    }
    const mine = ++seq;
    try {
      const letter = await api('letter-templates/preview', { json: { body: body.value, dictation_id: sample.value } });
      if (mine !== seq) return;
      fill(errors);
      fill(preview, renderLetter(letter));
      missing.textContent = letter.missing.length ? `Missing before approval: ${letter.missing.join(', ')}` : '';
    } catch (e) {
      if (mine !== seq) return;
      fill(errors, (e.body.errors || [{ line: null, message: errorText(e) }])
        .map((x) => h('li', x.line ? `Line ${x.line}: ${x.message}` : x.message)));
    }
  }

  async function save() {
    clearErrors(form);
    const q = new URLSearchParams({ department: department.value.trim() });
    try {
      await api(`letter-templates/${encodeURIComponent(type.value)}?${q}`, { method: 'PUT', json: { body: body.value } });
      fill(errors);
      status.textContent = 'Template saved.';
      toast('Template saved');
      source.textContent = `Custom template (${department.value.trim() || 'every department'})`;
    } catch (e) {
      if (e.body && e.body.errors) {
        fill(errors, e.body.errors.map((x) => h('li', `Line ${x.line}: ${x.message}`)));
        status.textContent = errorText(e);
      } else {
        showError(form, e, status);
      }
    }
  }

  body.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(showPreview, 300); });
  type.addEventListener('change', load);
  department.addEventListener('change', load);
  sample.addEventListener('change', showPreview);

  main.append(h('h1', 'Letter templates'), form, h('h2', 'Preview'), missing, preview, await letterheadForm(showPreview));
  await load();
  return () => clearTimeout(timer);
}

async function letterheadForm(refresh) {
  const head = await api('letterhead');
  const f = {
    organisation: h('input#lh-organisation', { value: head.organisation || '' }),
    address: h('textarea#lh-address', { rows: 4 }, head.address || ''),
    phone: h('input#lh-phone', { value: head.phone || '' }),
    email: h('input#lh-email', { value: head.email || '' }),
  };
  const logo = h('input#lh-logo', { type: 'file', accept: 'image/png' });
  const status = h('p#lh-status', { role: 'status' });
  const form = h('form.card#lh-form', { on: { submit: async (ev) => {
    ev.preventDefault();
    try {
      const json = Object.fromEntries(Object.entries(f).map(([k, el]) => [k, el.value]));
      await api('letterhead', { method: 'PUT', json });
      if (logo.files[0]) {
        await api('letterhead/logo', { method: 'PUT', body: logo.files[0], headers: { 'Content-Type': 'image/png' } });
      }
      clearErrors(form);
      status.textContent = 'Letterhead saved.';
      await refresh();
    } catch (e) {
      showError(form, e, status);
    }
  } } },
  h('h2', 'Letterhead (every department)'),
  apiField('Organisation', f.organisation, 'organisation'), apiField('Address', f.address, 'address', 'One line each'),
  h('div.row', apiField('Telephone', f.phone, 'phone'), apiField('Email', f.email, 'email')),
  apiField('Logo (PNG)', logo, 'logo', head.logo ? `Current logo ${head.logo_width}×${head.logo_height} px` : 'No logo yet'),
  h('button', { type: 'submit' }, 'Save letterhead'), status);
  return form;
}
