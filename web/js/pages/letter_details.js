// The letter's patient and recipient details: a fieldset for the upload form (sent as
// multipart fields) and a panel on the dictation page (GET/PUT letter-details).

import { api } from '../api.js';
import { h } from '../ui.js';
import { apiField, clearErrors, showError } from '../forms.js';

const TEXT = [
  ['patient_address', 'Patient address', 'textarea', 'One line each'],
  ['gp_practice_name', 'GP practice', 'input', ''],
  ['gp_ods_code', 'GP practice ODS code', 'input', 'e.g. A81001'],
  ['gp_address', 'GP practice address', 'textarea', 'One line each'],
  ['cc_others', 'Copies to (other clinicians)', 'textarea', 'One recipient a line'],
];

function inputs(prefix) {
  const f = {};
  for (const [name, , kind] of TEXT) {
    f[name] = h(kind, { id: `${prefix}-${name}`, name, autocomplete: 'off', rows: kind === 'textarea' ? 3 : undefined });
  }
  f.addressee = h('select', { id: `${prefix}-addressee`, name: 'addressee' },
    h('option', { value: 'gp' }, 'The GP practice'), h('option', { value: 'patient' }, 'The patient'));
  f.cc_patient = h('input', { id: `${prefix}-cc_patient`, name: 'cc_patient', type: 'checkbox' });
  return f;
}

function fields(f) {
  return [
    h('div.grid2', TEXT.map(([name, label, , hint]) => apiField(label, f[name], name, hint || undefined)),
      apiField('Addressed to', f.addressee, 'addressee')),
    h('div.field', h('label', { for: f.cc_patient.id }, f.cc_patient, ' Copy to the patient')),
  ];
}

/** The upload form's fieldset; `addTo(fields)` adds the filled-in fields to the upload's fields object. */
export function uploadFieldset() {
  const f = inputs('up');
  return {
    element: h('fieldset#letter-details', h('legend', 'Addressee and copies (optional)'), fields(f)),
    addTo(data) {
      for (const [name] of TEXT) if (f[name].value.trim()) data[name] = f[name].value;
      if (f.addressee.value !== 'gp') data.addressee = f.addressee.value;
      if (f.cc_patient.checked) data.cc_patient = 'true';
    },
  };
}

/** The dictation page's panel: shows and saves the letter's details. */
export function detailsPanel(id, locked) {
  const f = inputs('ld');
  const status = h('p', { role: 'status' });
  const save = h('button', { type: 'submit', disabled: locked }, 'Save details');
  const form = h('form#letter-details-form', { on: { submit: async (ev) => {
    ev.preventDefault();
    const json = Object.fromEntries(TEXT.map(([name]) => [name, f[name].value]));
    json.addressee = f.addressee.value;
    json.cc_patient = f.cc_patient.checked;
    try {
      await api(`dictations/${id}/letter-details`, { method: 'PUT', json });
      clearErrors(form);
      status.textContent = 'Details saved.';
    } catch (e) {
      showError(form, e, status);
    }
  } } }, fields(f), save, status);
  api(`dictations/${id}/letter-details`).then((d) => {
    for (const [name] of TEXT) f[name].value = d[name] || '';
    f.addressee.value = d.addressee || 'gp';
    f.cc_patient.checked = !!d.cc_patient;
  }).catch(() => {});
  return h('details.card#letter-details-panel', h('summary', 'Addressee, GP practice and copies'),
    locked ? h('p.hint', 'The letter is approved: its details no longer change.') : null, form);
}
