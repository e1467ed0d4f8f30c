// Working calendars (super-users): working days and hours, bank holidays (with a warning when
// they run out within a year) and closures, which due times skip; add a closure for a day or a
// range, remove one. Also the state of speech recognition (changed on
// the recognition page).

import { api } from '../api.js';
import { h, fill, toast, errorText, link } from '../ui.js';
import { apiField, clearErrors, showError } from '../forms.js';

export default async function calendar(main) {
  const names = (await api('calendars')).items.map((c) => c.name);
  const pick = h('select', { id: 'cal-name' }, names.map((n) => h('option', { value: n }, n)));
  const info = h('p.muted', { id: 'cal-info' });
  const warning = h('div.warning-box#cal-warning', { role: 'alert', hidden: true });
  const holidays = h('ul', { id: 'cal-holidays' });
  const closures = h('tbody');
  const status = h('p', { id: 'closure-status', role: 'status' });
  const c = {
    date: h('input', { id: 'closure-date', type: 'date' }),
    to: h('input', { id: 'closure-to', type: 'date' }),
    reason: h('input', { id: 'closure-reason', autocomplete: 'off' }),
  };
  const form = h('form.card#closure-new', { on: { submit: add } },
    h('h2', 'Add a closure'),
    apiField('Date (or first day)', c.date, 'date'),
    apiField('Last day', c.to, 'to', 'Only for a range of days'),
    apiField('Reason', c.reason, 'reason'),
    h('button', { type: 'submit' }, 'Add closure'), status);
  const model = h('dl#recognition');
  main.append(
    h('h1', 'Calendar'),
    h('div.field', h('label', { for: 'cal-name' }, 'Calendar'), pick), info, warning,
    h('div.wf-layout',
      h('section',
        h('h2', 'Closures'),
        h('table.list#closures', h('thead', h('tr', ['Date', 'Reason', 'Added by', ''].map((t) => h('th', t)))), closures),
        h('h2', 'Bank holidays'), holidays),
      h('div', form, h('section.card', { 'aria-labelledby': 'rec-heading' }, h('h2#rec-heading', 'Recognition'), model,
        link('/app/recognition', 'Choose the model and settings')))));
  pick.addEventListener('change', () => load());

  async function load() {
    let cal;
    try {
      cal = await api(`calendars/${encodeURIComponent(pick.value)}`);
    } catch (e) {
      info.textContent = errorText(e);
      return;
    }
    const days = cal.working_days.map((d) => d[0].toUpperCase() + d.slice(1)).join(', ');
    info.textContent = `${cal.timezone}; open ${cal.working_hours.opens}–${cal.working_hours.closes} on ${days}.`;
    warning.textContent = cal.warning || '';
    warning.hidden = !cal.warning;
    fill(holidays, cal.bank_holidays.map((d) => h('li', h('time', { datetime: d.date }, d.date), ` ${d.name}`)));
    fill(closures, cal.closures.length ? cal.closures.map((d) => h('tr', { dataset: { date: d.date } },
      h('td', h('time', { datetime: d.date }, d.date)), h('td', d.reason || ''), h('td', d.created_by || ''),
      h('td', h('button.secondary', { type: 'button', 'aria-label': `Remove the closure on ${d.date}`,
        on: { click: () => remove(d.date) } }, 'Remove'))))
      : h('tr', h('td.muted', { colspan: 4 }, 'No closures.')));
  }

  async function add(ev) {
    ev.preventDefault();
    const body = { reason: c.reason.value.trim() };
    if (c.to.value) {
      body.from = c.date.value;
      body.to = c.to.value;
    } else {
      body.date = c.date.value;
    }
    try {
      const r = await api(`calendars/${encodeURIComponent(pick.value)}/closures`, { json: body });
      clearErrors(form);
      form.reset();
      const n = r.closures.length;
      status.textContent = `Added ${n} closed day${n === 1 ? '' : 's'}.`;
      await load();
    } catch (e) {
      // A range reports errors on `from`; that is the first-day input here.
      showError(form, e.field === 'from' ? Object.assign(e, { field: 'date' }) : e, status);
    }
  }

  async function remove(date) {
    try {
      await api(`calendars/${encodeURIComponent(pick.value)}/closures/${encodeURIComponent(date)}`, { method: 'DELETE' });
      toast(`Closure on ${date} removed.`);
      await load();
      pick.focus();
    } catch (e) {
      status.textContent = errorText(e);
    }
  }

  async function recognition() {
    let r;
    try {
      r = await api('/readyz');
    } catch (e) {
      // 503 while the model loads or failed: the body still says why.
      r = e.body;
    }
    const m = (r && r.model) || {};
    const state = { ready: 'Ready', loading: 'Loading', disabled: 'Disabled', failed: 'Failed' }[m.state] || 'Unknown';
    fill(model,
      h('dt', 'Model'), h('dd', { id: 'rec-model' }, m.name || '—'),
      h('dt', 'State'), h('dd', { id: 'rec-state' }, state + (m.reason ? ` (${m.reason})` : '')),
      h('dt', 'Database'), h('dd', (r && r.database) || '—'));
  }

  await Promise.all([load(), recognition()]);
  return null;
}
