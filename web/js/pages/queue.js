// The secretary's work queue: most urgent first (the server's order), SLA state in colour and
// words, time left, filters and search.

import { api } from '../api.js';
import { h, fill, link, fmtTime, timeLeft, slaBadge, statusBadge, label, errorText, labelColumns,
  PRIORITY_LABELS, LETTER_TYPES } from '../ui.js';

const POLL_MS = 10000;

export default async function queue(main, { user }) {
  const search = h('input', { type: 'search', placeholder: 'Patient, NHS number, clinician…', 'aria-label': 'Search' });
  const priority = h('select', { 'aria-label': 'Priority' }, h('option', { value: '' }, 'Any priority'),
    Object.entries(PRIORITY_LABELS).map(([v, t]) => h('option', { value: v }, t)));
  const mineOnly = h('input', { type: 'checkbox', id: 'mine-only' });
  const body = h('tbody');
  const note = h('p.muted', { 'aria-live': 'polite' });
  main.append(
    h('h1', 'Work queue'),
    h('div.filters', search, priority, h('label', { for: 'mine-only' }, mineOnly, ' Only letters assigned to me')),
    h('table.list', { id: 'queue' },
      h('caption.visually-hidden', 'Work queue, most urgent first'),
      h('thead', h('tr', ['Turnaround', 'Time left', 'Priority', 'Patient', 'Letter', 'Clinician', 'Status', 'Assignee',
        'Due'].map((c) => h('th', { scope: 'col' }, c)))),
      body),
    note);
  let items = [];
  for (const el of [search, priority, mineOnly]) el.addEventListener('input', render);

  let timer = 0;
  let stopped = false;
  async function load() {
    clearTimeout(timer);
    try {
      items = (await api('queue')).items;
      render();
    } catch (e) {
      note.textContent = errorText(e);
    }
    if (!stopped) timer = setTimeout(load, POLL_MS);
  }

  function matches(d) {
    if (priority.value && d.priority !== priority.value) return false;
    if (mineOnly.checked && d.assignee !== user.username) return false;
    const q = search.value.trim().toLowerCase();
    if (!q) return true;
    const hay = [d.patient.name, d.patient.nhs_number, d.patient.hospital_number, d.clinician, d.specialty,
      d.letter_type, d.assignee].filter(Boolean).join(' ').toLowerCase().replace(/\s+/g, ' ');
    return hay.includes(q) || hay.replace(/ /g, '').includes(q.replace(/\s/g, ''));
  }

  function render() {
    const shown = items.filter(matches);
    fill(body, shown.map((d) => h('tr', { dataset: { id: d.id }, class: `sla-row-${(d.sla && d.sla.state) || 'none'}` },
      h('td', slaBadge(d)),
      h('td', timeLeft(d)),
      h('td', label(PRIORITY_LABELS, d.priority)),
      h('td', link(`/app/dictations/${d.id}`, d.patient.name || d.patient.nhs_number || 'Unnamed patient')),
      h('td', label(LETTER_TYPES, d.letter_type)),
      h('td', d.clinician || '—'),
      h('td', statusBadge(d), returnedNote(d)),
      h('td', d.assignee || h('span.muted', 'open')),
      h('td', fmtTime(d.due_at)))));
    labelColumns(body);
    note.textContent = items.length === 0 ? 'Nothing in your queue.'
      : `${shown.length} of ${items.length} letter${items.length === 1 ? '' : 's'} shown.`;
  }

  await load();
  return () => { stopped = true; clearTimeout(timer); };
}

/** A returned letter says so, with the clinician's reason, in the list itself. */
export function returnedNote(d) {
  if (!d.returned) return null;
  return h('p.returned-reason', { title: `Returned ${fmtTime(d.returned.at)}` },
    h('strong', `Returned by ${d.returned.by}`), d.returned.comment ? `: “${d.returned.comment}”` : '');
}
