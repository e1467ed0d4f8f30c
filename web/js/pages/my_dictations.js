// "My dictations" (clinicians) / "Letters" (everyone else): live status, polled, with a
// search (patient name, NHS or hospital number, clinician, specialty, letter type) on the server.

import { api } from '../api.js';
import { h, fill, link, fmtTime, timeLeft, slaBadge, statusBadge, recognition, label, errorText, labelColumns,
  PRIORITY_LABELS, LETTER_TYPES } from '../ui.js';

const POLL_MS = 2000;

export default async function myDictations(main, { user }) {
  const mine = user.role === 'clinician';
  const statusFilter = h('select', { 'aria-label': 'Status' },
    h('option', { value: '' }, 'Any status'),
    ['transcribing', 'drafted', 'in_correction', 'awaiting_review', 'approved', 'dispatched', 'failed', 'cancelled']
      .map((s) => h('option', { value: s }, s.replace(/_/g, ' '))));
  const search = h('input', { type: 'search', id: 'letters-search', 'aria-label': 'Search letters',
    placeholder: 'Patient, NHS number, clinician…' });
  const body = h('tbody');
  const note = h('p.muted', { 'aria-live': 'polite' });
  main.append(
    h('div.page-head', h('h1', mine ? 'My dictations' : 'Letters'),
      mine ? link('/app/dictations/new', 'New dictation') : null),
    h('div.filters', search, h('label', 'Show ', statusFilter)),
    h('table.list', { id: 'dictations' },
      h('caption.visually-hidden', 'Dictations, newest first'),
      h('thead', h('tr', ['Received', 'Patient', 'Letter', 'Priority', 'Status', 'Stage', 'Recognition', 'Assignee',
        'Due', 'Time left'].map((c) => h('th', { scope: 'col' }, c)))),
      body),
    note);
  statusFilter.addEventListener('change', load);
  let typing = 0;
  search.addEventListener('input', () => { clearTimeout(typing); typing = setTimeout(load, 300); });

  let timer = 0;
  let stopped = false;
  async function load() {
    clearTimeout(timer);
    try {
      const q = new URLSearchParams({ limit: '100' });
      if (statusFilter.value) q.set('status', statusFilter.value);
      const words = search.value.trim();
      if (words) q.set('q', words);
      const r = await api(`dictations?${q}`);
      if (words !== search.value.trim()) return; // typed on meanwhile: the next load shows it
      render(r.items);
      note.textContent = r.items.length ? '' : words ? 'No letters match the search.' : 'No dictations yet.';
    } catch (e) {
      note.textContent = errorText(e);
    }
    if (!stopped) timer = setTimeout(load, POLL_MS);
  }

  function render(items) {
    fill(body, items.map((d) => h('tr', { dataset: { id: d.id, status: d.status } },
      h('td', link(`/app/dictations/${d.id}`, fmtTime(d.created_at))),
      h('td', d.patient.name || d.patient.nhs_number || '—'),
      h('td', label(LETTER_TYPES, d.letter_type)),
      h('td', label(PRIORITY_LABELS, d.priority)),
      h('td', statusBadge(d)),
      h('td', d.stage || '—'),
      h('td.recognition', recognition(d)),
      h('td', d.assignee || '—'),
      h('td', fmtTime(d.due_at)),
      h('td', slaBadge(d), ' ', timeLeft(d)))));
    labelColumns(body);
  }

  await load();
  return () => { stopped = true; clearTimeout(timer); };
}
