// Letters at risk or breached now: every open letter past or near its due time that the
// caller may see, most late first, read page by page from the server's exact view
// (oversight/at-risk: filters, totals, paging). Team leads and super-users reassign from it
// with the picker (one letter, or a selection at once).

import { api } from '../api.js';
import { h, fill, link, toast, errorText, labelColumns, label, PRIORITY_LABELS, STATUS_LABELS, fmtDate, fmtDateTime,
  fmtLate } from '../ui.js';

const PAGE = 50;
const BADGE = { breached: ['breached', 'Breached'], at_risk: ['warning', 'At risk'], on_track: ['on_track', 'On track'] };

/** The letter's patient as a link to the letter. */
function patientLink(d) {
  return link(`/app/dictations/${d.id}`, d.patient_name || d.patient_nhs_number || 'Unnamed patient');
}

/** One person in the picker: name, load and absence in words. */
function describe(c) {
  const load = `${c.open} open, ${c.breached} breached, ${c.at_risk} at risk`;
  const away = c.absences.map((a) => `${a.started ? 'away until' : 'away from'} ${a.started ? fmtDate(a.to)
    : `${fmtDate(a.from)} to ${fmtDate(a.to)}`}${a.cover ? ` (cover: ${a.cover})` : ''}`);
  return [c.display_name && c.display_name !== c.username ? `${c.username} (${c.display_name})` : c.username,
    ` — ${load}`, away.length ? `; ${away.join('; ')}` : '', c.holder ? '; holds it now' : ''].join('');
}

/**
 * The picker for `ids` (candidates of the first letter): a dialog listing who may take the
 * letters, least loaded first; resolves once the letters moved (or the dialog closed).
 */
export async function pickAndReassign(ids, done) {
  const dialog = h('dialog#picker', { 'aria-labelledby': 'picker-title' });
  document.body.append(dialog);
  const close = () => { dialog.close(); dialog.remove(); };
  let people;
  try {
    people = (await api(`dictations/${ids[0]}/candidates`)).candidates;
  } catch (e) {
    toast(errorText(e), 'error');
    dialog.remove();
    return;
  }
  const comment = h('input#picker-comment', { maxlength: 4000, autocomplete: 'off' });
  const status = h('p', { role: 'status' });
  const choices = people.map((c, i) => {
    const radio = h('input', { type: 'radio', name: 'picker-person', id: `pick-${i}`, value: c.username,
      disabled: c.absent_now || c.holder });
    return h('li', radio, ' ', h('label', { for: `pick-${i}` }, describe(c)));
  });
  const go = h('button#picker-go', { type: 'submit' }, ids.length > 1 ? `Reassign ${ids.length} letters` : 'Reassign');
  fill(dialog, h('form', { method: 'dialog', on: { submit: submit } },
    h('h2#picker-title', ids.length > 1 ? `Reassign ${ids.length} letters` : 'Reassign the letter'),
    people.length ? h('ul.plain#picker-people', choices)
      : h('p', 'Nobody else may take this letter at its current step.'),
    h('div.field', h('label', { for: 'picker-comment' }, 'Comment (optional)'), comment),
    status,
    h('div.row', go, h('button.secondary', { type: 'button', on: { click: close } }, 'Cancel'))));
  dialog.showModal();

  async function submit(ev) {
    ev.preventDefault();
    const chosen = dialog.querySelector('input[name=picker-person]:checked');
    if (!chosen) { status.textContent = 'Choose who takes the letters.'; return; }
    const body = { dictations: ids, assignee: chosen.value };
    if (comment.value.trim()) body.comment = comment.value.trim();
    try {
      const r = await api('reassign', { json: body });
      const failed = r.results.filter((x) => !x.ok);
      toast(failed.length ? `Moved ${r.moved} of ${ids.length}; not moved: ${failed.map((x) => x.detail).join('; ')}`
        : `Moved ${r.moved} letter${r.moved === 1 ? '' : 's'} to ${chosen.value}.`, failed.length ? 'error' : 'info');
      close();
      if (done) done();
    } catch (e) {
      status.textContent = errorText(e);
    }
  }
}

/**
 * The at-risk table with its filters and pages. `reassign`: rows get a checkbox and a
 * Reassign button. Returns { el, load }.
 */
export function riskView({ reassign = false, teams = [], onMoved, show = '' } = {}) {
  const team = h('select#risk-team', h('option', { value: '' }, 'All my teams'),
    teams.map((t) => h('option', { value: t }, t)));
  const state = h('select#risk-state', [['', 'Breached or at risk'], ['breached', 'Breached'],
    ['at_risk', 'At risk'], ['open', 'All open letters']].map(([v, t]) => h('option', { value: v, selected: v === show }, t)));
  const clinician = h('input#risk-clinician', { size: 12, autocomplete: 'off' });
  const holder = h('input#risk-holder', { size: 12, autocomplete: 'off' });
  const specialty = h('input#risk-specialty', { size: 12, autocomplete: 'off' });
  const summary = h('p#risk-summary', { role: 'status' });
  const body = h('tbody');
  const prev = h('button.secondary.small#risk-prev', { type: 'button' }, 'Previous');
  const next = h('button.secondary.small#risk-next', { type: 'button' }, 'Next');
  const bulk = h('button.small#risk-bulk', { type: 'button', hidden: !reassign }, 'Reassign selected');
  let offset = 0;
  let total = 0;
  const heads = [reassign ? 'Select' : null, 'How late', 'Patient', 'Priority', 'Status', 'Clinician', 'Held by',
    'Specialty', 'Due', reassign ? 'Reassign' : null].filter(Boolean);
  const el = h('section#risk',
    h('form.filters', { on: { submit: (ev) => { ev.preventDefault(); offset = 0; load(); } } },
      h('label', { for: 'risk-team' }, 'Team '), team, h('label', { for: 'risk-state' }, ' Show '), state,
      h('label', { for: 'risk-clinician' }, ' Clinician '), clinician, h('label', { for: 'risk-holder' }, ' Held by '),
      holder, h('label', { for: 'risk-specialty' }, ' Specialty '), specialty,
      h('button.secondary', { type: 'submit' }, 'Filter')),
    summary,
    h('table.list#risk-letters', h('thead', h('tr', heads.map((c) => h('th', { scope: 'col' }, c)))), body),
    h('div.row', prev, next, bulk));
  prev.addEventListener('click', () => { offset = Math.max(0, offset - PAGE); load(); });
  next.addEventListener('click', () => { if (offset + PAGE < total) { offset += PAGE; load(); } });
  bulk.addEventListener('click', () => {
    const ids = [...body.querySelectorAll('input[type=checkbox]:checked')].map((c) => c.value);
    if (!ids.length) { toast('Select letters first.', 'error'); return; }
    pickAndReassign(ids, moved);
  });
  function moved() { load(); if (onMoved) onMoved(); }

  async function load() {
    const q = new URLSearchParams({ limit: PAGE, offset });
    for (const [k, input] of [['team', team], ['state', state], ['clinician', clinician], ['holder', holder],
      ['specialty', specialty]]) {
      if (input.value.trim()) q.set(k, input.value.trim());
    }
    try {
      const page = await api(`oversight/at-risk?${q}`);
      total = page.total;
      const last = Math.min(offset + page.items.length, total);
      const n = (x) => x.toLocaleString('en-GB');
      const what = state.value === 'open' ? '' : ' past or near the due time';
      summary.textContent = total
        ? `${n(total)} open letter${total === 1 ? '' : 's'}${what}: ${n(page.breached)} breached, `
          + `${n(page.at_risk)} at risk. Showing ${offset + 1}–${last}, most late first.`
        : (what ? 'No open letter is past or near its due time.' : 'No open letters.');
      prev.disabled = offset === 0;
      next.disabled = offset + PAGE >= total;
      fill(body, page.items.map((d) => h('tr', { dataset: { id: d.id, state: d.state } },
        reassign ? h('td', h('input', { type: 'checkbox', value: d.id,
          'aria-label': `Select ${d.patient_name || d.id}` })) : null,
        h('td', h(`span.badge.sla-${BADGE[d.state][0]}`, BADGE[d.state][1]), ' ',
          fmtLate(d.working_seconds_late, d.working_day_seconds)),
        h('td', patientLink(d)),
        h('td', label(PRIORITY_LABELS, d.priority)),
        h('td', label(STATUS_LABELS, d.status)),
        h('td', d.clinician),
        h('td', d.holder || h('span.muted', 'Nobody (in the pool)')),
        h('td', d.specialty || '—'),
        h('td', fmtDateTime(d.due_at)),
        reassign ? h('td', h('button.secondary.small', { type: 'button',
          on: { click: () => pickAndReassign([d.id], moved) } }, 'Reassign…')) : null)));
      labelColumns(body);
    } catch (e) {
      summary.textContent = errorText(e);
    }
  }
  return { el, load };
}

export default async function breaches(main, { user: me }) {
  const teams = (me && me.teams) || [];
  const view = riskView({ reassign: me && (me.role === 'team_lead' || me.role === 'superuser'), teams });
  main.append(h('h1', 'At risk and breached'),
    h('p.muted', 'Every open letter past its due time or its warning time, most late first. Lateness counts '
      + 'working time only (weekends, bank holidays and closures do not count).'),
    view.el);
  await view.load();
  return null;
}
