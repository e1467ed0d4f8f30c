// Recognition (super-users): which speech model new dictations use (installed ones can be
// chosen; the others show the command that installs them), the decoding settings, British
// spelling of drafts, and the state of the model in this server.

import { api } from '../api.js';
import { h, fill, toast, errorText, labelColumns } from '../ui.js';
import { apiField, clearErrors, showError } from '../forms.js';

function megabytes(bytes) {
  return typeof bytes === 'number' ? `${Math.round(bytes / 1e6)} MB` : 'size unknown';
}

export default async function recognition(main) {
  const modelGroup = h('fieldset#rec-model', { tabindex: -1, dataset: { field: 'model' },
    'aria-describedby': 'rec-model-hint rec-model-error' },
  h('legend', 'Model for new dictations'));
  const modelHint = h('span.hint', { id: 'rec-model-hint' },
    'Letters already being recognised finish on the model they started with.');
  const modelError = h('span.hint.error.field-error', { id: 'rec-model-error', 'aria-live': 'polite' });
  const beam = h('select', { id: 'rec-beam' });
  const language = h('input', { id: 'rec-language', autocomplete: 'off', maxlength: 8, size: 8 });
  const vad = h('input', { id: 'rec-vad', type: 'checkbox' });
  vad.dataset.field = 'vad';
  vad.setAttribute('aria-describedby', 'rec-vad-error');
  const british = h('input', { id: 'rec-british', type: 'checkbox' });
  british.dataset.field = 'british_spelling';
  british.setAttribute('aria-describedby', 'rec-british-error');
  const threshold = h('input', { id: 'rec-threshold', type: 'number', min: 0, max: 1, step: 0.05, inputmode: 'decimal' });
  const status = h('p', { id: 'rec-status', role: 'status' });
  const defaultsButton = h('button.secondary', { type: 'button', id: 'rec-defaults' }, 'Fill in the configured defaults');
  const form = h('form.card#rec-settings', { on: { submit: save } },
    h('h2', 'Settings'),
    modelGroup, modelHint, modelError,
    apiField('Decoding', beam, 'beam_size', 'Beam search can be a little more accurate; it takes longer.'),
    apiField('Language', language, 'language',
      'A code such as en or fr; empty for the model’s default. English-only models take only en.'),
    h('div.field',
      h('div.choice', vad, h('label', { for: 'rec-vad' }, 'Skip long silences before recognition (voice activity detection)')),
      h('span.hint.error.field-error', { id: 'rec-vad-error', 'aria-live': 'polite' })),
    apiField('Low-confidence threshold', threshold, 'low_confidence_threshold',
      'Words recognised with less confidence than this (0 to 1) are underlined for the secretary.'),
    h('div.field',
      h('div.choice', british, h('label', { for: 'rec-british' },
        'British spelling in drafts (tumor becomes tumour, hemoglobin haemoglobin)')),
      h('span.hint.error.field-error', { id: 'rec-british-error', 'aria-live': 'polite' })),
    h('div.row', h('button', { type: 'submit' }, 'Save settings'), defaultsButton), status);
  const state = h('dl#rec-state-list.facts');
  const modelsBody = h('tbody');
  main.append(
    h('h1', 'Recognition'),
    h('div.wf-layout',
      form,
      h('div',
        h('section.card', { 'aria-labelledby': 'rec-now' }, h('h2#rec-now', 'In this server'), state),
        h('section', { 'aria-labelledby': 'rec-models-heading' }, h('h2#rec-models-heading', 'Models'),
          h('div.table-scroll', h('table.list#models',
            h('thead', h('tr', ['Model', 'Size', 'Languages', 'Installed', 'Use'].map((t) => h('th', t)))),
            modelsBody))))));

  let current = null;
  let models = [];

  function setForm(s) {
    fill(beam, [1, 2, 3, 4, 5, 6, 7, 8].slice(0, s.max_beam_size || 8).map((n) => h('option', { value: n },
      n === 1 ? 'Greedy (fastest)' : `Beam search, width ${n}`)));
    beam.value = String(s.beam_size);
    language.value = s.language || '';
    vad.checked = !!s.vad;
    threshold.value = String(s.low_confidence_threshold);
    british.checked = s.british_spelling !== false;
    for (const r of modelGroup.querySelectorAll('input[type=radio]')) r.checked = r.value === s.model;
  }

  function modelChoices() {
    const chosen = current && current.model;
    const options = models.map((m) => {
      const id = `rec-model-${m.name.replace(/[^\w-]/g, '_')}`;
      const radio = h('input', { type: 'radio', name: 'model', id, value: m.name, disabled: !m.installed,
        checked: m.name === chosen });
      const notes = [megabytes(m.size), m.multilingual ? 'many languages' : 'English only'];
      if (m.loaded) notes.push('loaded');
      const hint = m.installed ? null
        : h('span.hint', { id: `${id}-hint` }, 'Not installed: run ', h('code', m.fetch_command), ' on the server');
      if (hint) radio.setAttribute('aria-describedby', hint.id);
      return h('div.choice', radio, h('label', { for: id }, h('strong', m.name), ` (${notes.join(', ')})`), hint);
    });
    fill(modelGroup, h('legend', 'Model for new dictations'), options);
  }

  async function loadState() {
    let r;
    try {
      r = await api('/readyz');
    } catch (e) {
      r = e.body; // 503 while loading or failed: the body says why
    }
    const m = (r && r.model) || {};
    const word = { ready: 'Ready', loading: 'Loading', disabled: 'Disabled', failed: 'Failed' }[m.state] || 'Unknown';
    const s = current || {};
    fill(state,
      h('dt', 'Loaded model'), h('dd#rec-loaded', m.name || '—'),
      h('dt', 'State'), h('dd#rec-ready', word + (m.reason ? ` (${m.reason})` : '')),
      h('dt', 'Settings'), h('dd#rec-source', s.source === 'database'
        ? `version ${s.version}, saved by ${s.updated_by || 'unknown'} ${s.updated_at ? new Date(s.updated_at).toLocaleString('en-GB') : ''}`
        : 'the configuration file’s defaults'));
  }

  async function load() {
    [current, models] = await Promise.all([api('settings/recognition'), api('models').then((r) => r.items)]);
    modelChoices();
    setForm(current);
    fill(modelsBody, models.map((m) => h('tr', { dataset: { model: m.name } },
      h('td', m.name), h('td.nowrap', megabytes(m.size)), h('td', m.multilingual ? 'Many' : 'English'),
      h('td', m.installed ? 'Yes' : h('span', 'No: ', h('code', m.fetch_command))),
      h('td', [m.active ? 'New dictations' : null, m.loaded ? 'Loaded' : null].filter(Boolean).join(', ') || '—'))));
    labelColumns(modelsBody);
    await loadState();
  }

  defaultsButton.addEventListener('click', () => {
    if (!current) return;
    setForm(Object.assign({}, current, current.defaults));
    status.textContent = 'The configured defaults are in the form; save to use them.';
  });

  async function save(ev) {
    ev.preventDefault();
    const picked = modelGroup.querySelector('input[type=radio]:checked');
    const body = {
      beam_size: Number(beam.value),
      language: language.value.trim(),
      vad: vad.checked,
      low_confidence_threshold: threshold.value === '' ? null : Number(threshold.value),
      british_spelling: british.checked,
    };
    if (picked) body.model = picked.value;
    status.textContent = 'Saving…';
    try {
      const s = await api('settings/recognition', { method: 'PUT', json: body });
      clearErrors(form);
      status.textContent = `Saved (version ${s.version}): new dictations use ${s.model}.`;
      toast('Recognition settings saved.');
      await load();
    } catch (e) {
      showError(form, e, status);
      if (e.field) status.textContent = `Not saved: ${errorText(e)}`;
    }
  }

  await load();
  return null;
}
