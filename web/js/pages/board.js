// Team lead: the team board. Who has what, load per person, reassignment, absences with cover.

import { api } from '../api.js';
import { h, fill, link, toast, fmtTime, timeLeft, slaBadge, statusBadge, label, errorText, labelColumns,
  PRIORITY_LABELS } from '../ui.js';

const OPEN = new Set(['received', 'transcribing', 'drafted', 'in_correction', 'awaiting_review', 'approved', 'failed']);
const POLL_MS = 15000;

export default async function board(main) {
  const loadBody = h('tbody');
  const lettersBody = h('tbody');
  const people = h('datalist', { id: 'people' });
  const note = h('p.muted', { 'aria-live': 'polite' });
  const absUser = h('input', { id: 'abs-user', list: 'people', required: true, autocomplete: 'off' });
  const absFrom = h('input', { id: 'abs-from', type: 'datetime-local', required: true });
  const absTo = h('input', { id: 'abs-to', type: 'datetime-local', required: true });
  const absCover = h('input', { id: 'abs-cover', list: 'people', autocomplete: 'off' });
  const absResult = h('p', { role: 'status' });
  const absence = h('form.card', { on: { submit: addAbsence } },
    h('h2', 'Absence and cover'),
    h('div.grid4',
      h('div.field', h('label', { for: 'abs-user' }, 'Who is away'), absUser),
      h('div.field', h('label', { for: 'abs-from' }, 'From'), absFrom),
      h('div.field', h('label', { for: 'abs-to' }, 'To'), absTo),
      h('div.field', h('label', { for: 'abs-cover' }, 'Cover (optional: else back to the pool)'), absCover)),
    h('button', { type: 'submit' }, 'Record absence and move their letters'),
    absResult);
  main.append(
    h('h1', 'Team board'),
    people,
    h('section', h('h2', 'Load per person'),
      h('table.list', { id: 'load' }, h('thead', h('tr', ['Person', 'Letters held', 'At risk', 'Breached', 'Oldest due']
        .map((c) => h('th', { scope: 'col' }, c)))), loadBody)),
    h('section', h('h2', 'Open letters'),
      h('table.list', { id: 'board-letters' }, h('thead', h('tr', ['Turnaround', 'Patient', 'Priority', 'Clinician',
        'Status', 'Assignee', 'Due', 'Reassign'].map((c) => h('th', { scope: 'col' }, c)))), lettersBody)),
    note,
    absence);

  let timer = 0;
  let stopped = false;
  async function load() {
    clearTimeout(timer);
    try {
      const items = (await api('dictations?limit=500')).items.filter((d) => OPEN.has(d.status));
      render(items);
    } catch (e) {
      note.textContent = errorText(e);
    }
    if (!stopped) timer = setTimeout(load, POLL_MS);
  }

  function render(items) {
    const byPerson = new Map();
    const names = new Set();
    for (const d of items) {
      const key = d.assignee || '(unassigned pool)';
      if (!byPerson.has(key)) byPerson.set(key, []);
      byPerson.get(key).push(d);
      if (d.assignee) names.add(d.assignee);
    }
    fill(people, [...names].sort().map((n) => h('option', { value: n })));
    fill(loadBody, [...byPerson.entries()].sort((a, b) => b[1].length - a[1].length).map(([who, list]) => {
      const state = (s) => list.filter((d) => d.sla && d.sla.state === s).length;
      const due = list.map((d) => d.due_at).filter(Boolean).sort()[0];
      return h('tr', h('th', { scope: 'row' }, who), h('td', list.length), h('td', state('warning')),
        h('td', state('breached')), h('td', fmtTime(due)));
    }));
    labelColumns(loadBody);
    fill(lettersBody, items.map((d) => {
      const input = h('input', { list: 'people', 'aria-label': `New assignee for ${d.patient.name || d.id}`,
        autocomplete: 'off', size: 10 });
      const btn = h('button.secondary.small', { type: 'button' }, 'Reassign');
      btn.addEventListener('click', async () => {
        if (!input.value.trim()) { input.focus(); return; }
        try {
          await api(`dictations/${d.id}/actions/reassign`, { json: { assignee: input.value.trim() } });
          toast(`Reassigned to ${input.value.trim()}.`);
          load();
        } catch (e) {
          toast(errorText(e), 'error');
        }
      });
      return h('tr', { dataset: { id: d.id } },
        h('td', slaBadge(d), ' ', timeLeft(d)),
        h('td', link(`/app/dictations/${d.id}`, d.patient.name || d.patient.nhs_number || 'Unnamed patient')),
        h('td', label(PRIORITY_LABELS, d.priority)),
        h('td', d.clinician || '—'),
        h('td', statusBadge(d)),
        h('td', d.assignee || h('span.muted', 'pool')),
        h('td', fmtTime(d.due_at)),
        h('td.row', input, btn));
    }));
    labelColumns(lettersBody);
    note.textContent = items.length ? '' : 'No open letters in your teams.';
  }

  async function addAbsence(ev) {
    ev.preventDefault();
    absResult.textContent = '';
    try {
      const body = { user: absUser.value.trim(), from: new Date(absFrom.value).toISOString(),
        to: new Date(absTo.value).toISOString() };
      if (absCover.value.trim()) body.cover = absCover.value.trim();
      const r = await api('absences', { json: body });
      absResult.textContent = `Absence recorded; ${r.moved.length} letter(s) moved, ${r.kept ?? 0} kept.`;
      load();
    } catch (e) {
      absResult.textContent = e.field ? `${e.field}: ${errorText(e)}` : errorText(e);
    }
  }

  await load();
  return () => { stopped = true; clearTimeout(timer); };
}
