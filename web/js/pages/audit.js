// The audit trail (super-users): search by actor, action, target and time; page on with "More".

import { api } from '../api.js';
import { h, fill, fmtTime, labelColumns } from '../ui.js';
import { apiField, clearErrors, showError } from '../forms.js';

/** A `datetime-local` value (local time) as RFC 3339, or '' when empty. */
function rfc3339(local) {
  if (!local) return '';
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? local : d.toISOString();
}

function details(v) {
  if (v === null || v === undefined) return '';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

export default async function audit(main) {
  const q = {
    actor: h('input', { id: 'audit-actor', autocomplete: 'off' }),
    action: h('input', { id: 'audit-action', autocomplete: 'off' }),
    target: h('input', { id: 'audit-target', autocomplete: 'off' }),
    from: h('input', { id: 'audit-from', type: 'datetime-local' }),
    to: h('input', { id: 'audit-to', type: 'datetime-local' }),
  };
  const limit = h('select', { id: 'audit-limit' },
    ['10', '50', '200'].map((n) => h('option', { value: n, selected: n === '50' }, n)));
  const status = h('p', { id: 'audit-status', role: 'status', tabindex: -1 });
  const tbody = h('tbody');
  const more = h('button.secondary#audit-more', { type: 'button', hidden: true, on: { click: () => load(true) } }, 'More');
  const form = h('form.card#audit-search', { on: { submit: (ev) => { ev.preventDefault(); load(false); } } },
    h('div.row',
      apiField('Actor', q.actor, 'actor', 'Username'),
      apiField('Action', q.action, 'action', 'e.g. admin.user_create'),
      apiField('Target', q.target, 'target', 'Id of the thing acted on'),
      apiField('From', q.from, 'from'),
      apiField('To', q.to, 'to'),
      apiField('Per page', limit, 'limit')),
    h('button', { type: 'submit' }, 'Search'), status);
  main.append(
    h('h1', 'Audit trail'),
    form,
    h('table.list#audit', h('thead', h('tr', ['Time', 'Actor', 'Action', 'Target', 'Details'].map((t) => h('th', t)))),
      tbody),
    h('div.row', more));

  let cursor = null;
  let shown = 0;

  async function load(append) {
    const params = new URLSearchParams();
    for (const k of ['actor', 'action', 'target']) if (q[k].value.trim()) params.set(k, q[k].value.trim());
    for (const k of ['from', 'to']) if (q[k].value) params.set(k, rfc3339(q[k].value));
    params.set('limit', limit.value);
    if (append && cursor) params.set('cursor', cursor);
    let page;
    try {
      page = await api(`audit?${params}`);
    } catch (e) {
      showError(form, e, status);
      return;
    }
    clearErrors(form);
    if (!append) {
      fill(tbody);
      shown = 0;
    }
    for (const r of page.items) {
      tbody.append(h('tr', { dataset: { seq: r.seq, action: r.action } },
        h('td', h('time', { datetime: r.at }, fmtTime(r.at))), h('td', r.actor || '—'), h('td', r.action),
        h('td', r.target_type ? `${r.target_type} ${r.target_id || ''}` : '—'),
        h('td.details', details(r.details))));
    }
    shown += page.items.length;
    labelColumns(tbody);
    cursor = page.next_cursor || null;
    // The last page hides "More": keep keyboard focus on the page, not lost to the body.
    if (!cursor && document.activeElement === more) status.focus();
    more.hidden = !cursor;
    status.textContent = shown ? `${shown} entr${shown === 1 ? 'y' : 'ies'}${cursor ? ', more available' : ''}.`
      : 'Nothing matches.';
  }

  await load(false);
  return null;
}
