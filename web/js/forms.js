// Form fields that show an API error next to the field it names (problem+json `field`).

import { h, errorText } from './ui.js';

/** A labelled input for `name`, with a live error line tied to the input by aria-describedby. */
export function apiField(labelText, input, name, hint) {
  input.id = input.id || `f-${name}-${Math.random().toString(36).slice(2, 7)}`;
  input.dataset.field = name;
  const ids = [];
  const hintEl = hint ? h('span.hint', { id: `${input.id}-hint` }, hint) : null;
  if (hintEl) ids.push(hintEl.id);
  const err = h('span.hint.error.field-error', { id: `${input.id}-error`, 'aria-live': 'polite' });
  ids.push(err.id);
  input.setAttribute('aria-describedby', ids.join(' '));
  return h('div.field', h('label', { for: input.id }, labelText), input, hintEl, err);
}

/** Clears the errors shown in `form`. */
export function clearErrors(form) {
  for (const el of form.querySelectorAll('.field-error')) el.textContent = '';
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
}

/** Shows `e` next to the field it names, focusing that field; otherwise in `status`. */
export function showError(form, e, status) {
  clearErrors(form);
  const input = e && e.field ? form.querySelector(`[data-field="${e.field}"]`) : null;
  if (input) {
    input.setAttribute('aria-invalid', 'true');
    document.getElementById(`${input.id}-error`).textContent = errorText(e);
    input.focus();
    if (status) status.textContent = '';
  } else if (status) {
    status.textContent = errorText(e);
  }
}
