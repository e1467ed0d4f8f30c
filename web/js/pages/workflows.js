// Super-user: the workflow editor. YAML validated as you type (errors at their line and
// column), saved as a new version; a diagram of the stages; the version history with a diff
// that opens at its first change. Leaving with unsaved YAML asks first.

import { api } from '../api.js';
import { h, fill, link, toast, fmtTime, errorText } from '../ui.js';
import { diagram } from './diagram.js';
import { diffLines } from '../diff.js';

const VALIDATE_MS = 400;

export default async function workflows(main, { params, navigate, guardLeaving }) {
  const list = (await api('workflows')).items;
  if (!params.name) {
    main.append(h('h1', 'Workflows'),
      h('ul.cards', list.map((w) => h('li.card', h('h2', link(`/app/workflows/${w.name}`, w.name)),
        h('p', w.description || ''), h('p.muted', `Version ${w.version}, ${fmtTime(w.created_at)}`)))));
    return null;
  }
  const name = params.name;
  let current;
  try {
    current = await api(`workflows/${encodeURIComponent(name)}`);
  } catch (e) {
    if (e.status === 404) { navigate('/app/workflows', { replace: true }); return null; }
    throw e;
  }

  const area = h('textarea.code', { id: 'yaml', wrap: 'off', spellcheck: 'false', value: current.yaml,
    'aria-describedby': 'validity', autocapitalize: 'off' });
  const gutter = h('div.gutter', { 'aria-hidden': 'true' });
  const validity = h('p.validity', { id: 'validity', role: 'status' });
  const errorList = h('ol.errors', { id: 'errors' });
  const save = h('button', { type: 'button', id: 'save' }, 'Save new version');
  const picture = h('div.diagram-box');
  const versions = h('ol.versions');
  const diffBox = h('div.diff-box');
  const switcher = h('select', { 'aria-label': 'Workflow' }, list.map((w) => h('option', { value: w.name,
    selected: w.name === name }, w.name)));
  switcher.addEventListener('change', async () => {
    if ((await navigate(`/app/workflows/${switcher.value}`)) === false) switcher.value = name;
  });
  const unsaved = () => (area.value !== current.yaml
    ? `The workflow ${name} has unsaved changes. Leave and lose them?` : null);
  guardLeaving(unsaved);
  const beforeUnload = (ev) => { if (unsaved()) { ev.preventDefault(); ev.returnValue = ''; } };
  window.addEventListener('beforeunload', beforeUnload);

  main.append(
    h('div.page-head', h('h1', `Workflow ${name}`), switcher),
    h('div.wf-layout',
      h('section', { 'aria-label': 'Editor' },
        h('label', { for: 'yaml' }, h('h2', 'Definition (YAML)')),
        h('div.editor', gutter, area),
        validity, errorList, h('div.row', save)),
      h('section', { 'aria-label': 'Diagram and versions' },
        h('h2', 'Stages and transitions'), picture,
        h('h2', 'Versions'), versions, diffBox)));

  let errors = [];
  let timer = 0;
  let seq = 0;
  const renderGutter = () => {
    const n = area.value.split('\n').length;
    const bad = new Map();
    for (const e of errors) if (!bad.has(e.line)) bad.set(e.line, e.message);
    const rows = [];
    for (let i = 1; i <= n; i++) {
      rows.push(h(bad.has(i) ? 'div.ln.err' : 'div.ln', { title: bad.get(i) || '' }, String(i)));
    }
    // Room below the last number: the textarea scrolls further than its lines (its padding
    // and horizontal scrollbar); without it the numbers drift off their lines near the end.
    rows.push(h('div.ln-end'));
    fill(gutter, rows);
    gutter.scrollTop = area.scrollTop;
  };
  area.addEventListener('scroll', () => { gutter.scrollTop = area.scrollTop; });
  const showErrors = (list2) => {
    errors = list2 || [];
    fill(errorList, errors.map((e) => h('li', h('button.link', { type: 'button', on: { click: () => goTo(e) } },
      `Line ${e.line}, column ${e.column}: ${e.message}`, e.path ? ` (${e.path})` : ''))));
    renderGutter();
  };
  const goTo = (e) => {
    const lines = area.value.split('\n');
    let pos = 0;
    for (let i = 0; i < e.line - 1 && i < lines.length; i++) pos += lines[i].length + 1;
    pos += Math.max(0, (e.column || 1) - 1);
    area.focus();
    area.setSelectionRange(pos, pos);
    const lineHeight = parseFloat(getComputedStyle(area).lineHeight) || 18;
    area.scrollTop = Math.max(0, (e.line - 3) * lineHeight);
  };

  async function validate() {
    const mine = ++seq;
    validity.textContent = 'Checking…';
    try {
      await api(`workflows/${encodeURIComponent(name)}/validate`, { body: area.value,
        headers: { 'Content-Type': 'application/yaml' } });
      if (mine !== seq) return;
      validity.textContent = 'Valid.';
      validity.className = 'validity ok';
      showErrors([]);
    } catch (e) {
      if (mine !== seq) return;
      validity.className = 'validity error';
      if (e.code === 'validation_failed' && e.body.errors) {
        validity.textContent = `${e.body.errors.length} problem${e.body.errors.length === 1 ? '' : 's'}.`;
        showErrors(e.body.errors);
      } else {
        validity.textContent = errorText(e);
      }
    }
  }
  area.addEventListener('input', () => {
    renderGutter();
    clearTimeout(timer);
    timer = setTimeout(validate, VALIDATE_MS);
  });

  save.addEventListener('click', async () => {
    clearTimeout(timer);
    save.disabled = true;
    try {
      const v = await api(`workflows/${encodeURIComponent(name)}`, { method: 'PUT', body: area.value,
        headers: { 'Content-Type': 'application/yaml' } });
      seq++;
      validity.textContent = `Saved as version ${v.version}.`;
      validity.className = 'validity ok';
      showErrors([]);
      toast(`Workflow ${name} saved as version ${v.version}.`);
      current = await api(`workflows/${encodeURIComponent(name)}`);
      await refresh();
    } catch (e) {
      validity.className = 'validity error';
      if (e.code === 'validation_failed' && e.body.errors) {
        validity.textContent = `Not saved: ${e.body.errors.length} problem${e.body.errors.length === 1 ? '' : 's'}.`;
        showErrors(e.body.errors);
        goTo(e.body.errors[0]);
      } else {
        validity.textContent = `Not saved: ${errorText(e)}`;
      }
    } finally {
      save.disabled = false;
    }
  });

  async function refresh() {
    fill(picture, current.definition ? diagram(current.definition) : h('p.muted', 'No diagram.'));
    const all = (await api(`workflows/${encodeURIComponent(name)}/versions`)).items;
    fill(versions, all.slice().sort((a, b) => b.version - a.version).map((v) => h('li',
      `Version ${v.version} · ${fmtTime(v.created_at)}${v.created_by ? ` · ${v.created_by}` : ''} `,
      h('button.secondary.small', { type: 'button', on: { click: () => compare(v.version) } },
        `Compare with the editor`))));
  }

  async function compare(version) {
    try {
      const v = await api(`workflows/${encodeURIComponent(name)}?version=${version}`);
      const lines = diffLines(v.yaml, area.value);
      const changed = lines.filter((l) => l.op !== ' ').length;
      const pre = h('pre.diff', { id: 'diff' },
        lines.map((l) => h(l.op === '+' ? 'ins' : l.op === '-' ? 'del' : 'span', `${l.op} ${l.line}\n`)));
      fill(diffBox, h('h3', `Version ${version} → editor (${changed} changed line${changed === 1 ? '' : 's'})`), pre);
      // Open at the first change, with two lines of context above it.
      const first = pre.querySelector('ins, del');
      if (first) pre.scrollTop = Math.max(0, first.offsetTop - 2 * first.offsetHeight);
      diffBox.scrollIntoView({ block: 'nearest' });
    } catch (e) {
      fill(diffBox, h('p.error', errorText(e)));
    }
  }

  renderGutter();
  await refresh();
  validate();
  return () => {
    clearTimeout(timer);
    window.removeEventListener('beforeunload', beforeUnload);
  };
}
