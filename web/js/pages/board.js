// The team board (team leads, managers, super-users): load per person for every member of the
// caller's teams (holding letters or not), the letters at risk or breached now (server views,
// exact at any size), and for team leads and super-users reassignment with the picker and
// absences with cover: recorded ahead, listed, edited, cancelled, and a day view of who covers whom.

import { api } from '../api.js';
import { h, fill, toast, errorText, labelColumns, fmtDate, fmtDateTime } from '../ui.js';
import { riskView } from './breaches.js';

const POLL_MS = 30000;
const DAY = 86400000;

const ROLE_NAMES = { clinician: 'Clinician', secretary: 'Secretary', team_lead: 'Team lead', superuser: 'Super-user' };

/** An absence in words: "Away until 9 Dec 2026 (cover: sec.b)". */
function absenceText(a) {
  const when = a.started ? `Away until ${fmtDateTime(a.to)}` : `Away ${fmtDateTime(a.from)} to ${fmtDateTime(a.to)}`;
  return `${when}${a.cover ? ` (cover: ${a.cover})` : ' (letters back to the pool)'}`;
}

/** `<input type=datetime-local>` value for an ISO time, in local time. */
function localInput(iso) {
  const d = new Date(iso);
  return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
}

export default async function board(main, { user: me }) {
  const manages = me.role === 'team_lead' || me.role === 'superuser';
  const loadBody = h('tbody');
  const people = h('datalist', { id: 'people' });
  const note = h('p.muted', { 'aria-live': 'polite' });
  const risk = riskView({ reassign: manages, teams: me.teams || [], onMoved: () => loadPeople(), show: 'open' });
  main.append(
    h('h1', 'Team board'),
    people,
    h('section', h('h2', 'Load per person'),
      h('p.muted', 'Everyone in your teams, including those holding nothing. Counts are open letters now.'),
      h('table.list', { id: 'load' }, h('thead', h('tr', ['Person', 'Role', 'Open letters', 'Breached', 'At risk',
        'Absence'].map((c) => h('th', { scope: 'col' }, c)))), loadBody)),
    h('section', h('h2', 'Open letters, most late first'), risk.el),
    note);
  const absences = manages ? absenceSection() : null;
  if (absences) main.append(absences.el);

  async function loadPeople() {
    try {
      const view = await api('oversight/load');
      fill(people, view.people.map((p) => h('option', { value: p.username })));
      fill(loadBody, view.people.map((p) => h('tr', { dataset: { user: p.username } },
        h('th', { scope: 'row' }, p.username), h('td', ROLE_NAMES[p.role] || p.role), h('td', p.open),
        h('td', p.breached), h('td', p.at_risk),
        h('td', p.absences.length ? p.absences.map(absenceText).join('; ') : h('span.muted', 'Present'))))
        .concat([h('tr', { dataset: { user: '' } }, h('th', { scope: 'row' }, 'Nobody (in a pool)'), h('td', '—'),
          h('td', view.unheld.open), h('td', view.unheld.breached), h('td', view.unheld.at_risk), h('td', '—'))]));
      labelColumns(loadBody);
      note.textContent = '';
    } catch (e) {
      note.textContent = errorText(e);
    }
  }

  let timer = 0;
  let stopped = false;
  async function refresh() {
    clearTimeout(timer);
    await Promise.all([loadPeople(), risk.load(), absences ? absences.load() : null]);
    if (!stopped) timer = setTimeout(refresh, POLL_MS);
  }

  function absenceSection() {
    const absUser = h('input', { id: 'abs-user', list: 'people', required: true, autocomplete: 'off' });
    const absFrom = h('input', { id: 'abs-from', type: 'datetime-local', required: true });
    const absTo = h('input', { id: 'abs-to', type: 'datetime-local', required: true });
    const absCover = h('input', { id: 'abs-cover', list: 'people', autocomplete: 'off' });
    const absResult = h('p', { role: 'status', id: 'abs-result' });
    const listBody = h('tbody');
    const day = h('input', { id: 'abs-day', type: 'date', value: new Date().toISOString().slice(0, 10) });
    const dayList = h('ul#abs-day-list');
    const el = h('section',
      h('form.card', { on: { submit: add } },
        h('h2', 'Absence and cover'),
        h('p.muted', 'Record leave today or ahead of time. When it starts, the person\'s open letters go to '
          + 'their cover, or back to the pool.'),
        h('div.grid4',
          h('div.field', h('label', { for: 'abs-user' }, 'Who is away'), absUser),
          h('div.field', h('label', { for: 'abs-from' }, 'From'), absFrom),
          h('div.field', h('label', { for: 'abs-to' }, 'To'), absTo),
          h('div.field', h('label', { for: 'abs-cover' }, 'Cover (optional: else back to the pool)'), absCover)),
        h('button', { type: 'submit' }, 'Record absence'),
        absResult),
      h('h2', 'Absences now and ahead'),
      h('table.list', { id: 'absences' }, h('thead', h('tr', ['Who', 'From', 'To', 'Cover', 'State', 'Change']
        .map((c) => h('th', { scope: 'col' }, c)))), listBody),
      h('h2', 'Who covers whom on a day'),
      h('div.filters', h('label', { for: 'abs-day' }, 'Day '), day),
      dayList);
    day.addEventListener('change', loadDay);

    async function add(ev) {
      ev.preventDefault();
      absResult.textContent = '';
      try {
        const body = { user: absUser.value.trim(), from: new Date(absFrom.value).toISOString(),
          to: new Date(absTo.value).toISOString() };
        if (absCover.value.trim()) body.cover = absCover.value.trim();
        const r = await api('absences', { json: body });
        absResult.textContent = new Date(absFrom.value) > new Date()
          ? `Absence recorded; their letters move when it starts on ${fmtDateTime(body.from)}.`
          : `Absence recorded; ${r.moved.length} letter${r.moved.length === 1 ? '' : 's'} moved, `
            + `${r.kept.length} kept with them.`;
        refresh();
      } catch (e) {
        absResult.textContent = e.field ? `${e.field}: ${errorText(e)}` : errorText(e);
      }
    }

    function editRow(a) {
      const from = h('input', { type: 'datetime-local', value: localInput(a.from), disabled: a.state !== 'ahead',
        'aria-label': `New start of ${a.user}'s absence` });
      const to = h('input', { type: 'datetime-local', value: localInput(a.to), 'aria-label': `New end of ${a.user}'s absence` });
      const cover = h('input', { list: 'people', value: a.cover || '', size: 10, autocomplete: 'off',
        'aria-label': `New cover for ${a.user}` });
      const save = h('button.small', { type: 'button' }, 'Save');
      save.addEventListener('click', async () => {
        const body = { to: new Date(to.value).toISOString(), cover: cover.value.trim() || null };
        if (a.state === 'ahead') body.from = new Date(from.value).toISOString();
        try {
          await api(`absences/${a.id}`, { method: 'PATCH', json: body });
          toast(`${a.user}'s absence changed.`);
          refresh();
        } catch (e) {
          toast(errorText(e), 'error');
        }
      });
      return h('tr', { dataset: { id: a.id } }, h('th', { scope: 'row' }, a.user), h('td', from), h('td', to),
        h('td', cover), h('td', a.state === 'ahead' ? 'Ahead' : 'Under way'), h('td.row', save,
          h('button.secondary.small', { type: 'button', on: { click: () => load() } }, 'Keep')));
    }

    function row(a) {
      const edit = h('button.secondary.small', { type: 'button' }, 'Edit');
      const cancel = h('button.secondary.small', { type: 'button' }, a.state === 'ahead' ? 'Cancel' : 'End now');
      const tr = h('tr', { dataset: { id: a.id } }, h('th', { scope: 'row' }, a.user), h('td', fmtDateTime(a.from)),
        h('td', fmtDateTime(a.to)), h('td', a.cover || h('span.muted', 'Back to the pool')),
        h('td', a.state === 'ahead' ? 'Ahead' : 'Under way'), h('td.row', edit, cancel));
      edit.addEventListener('click', () => { tr.replaceWith(editRow(a)); });
      cancel.addEventListener('click', async () => {
        const question = a.state === 'ahead' ? `Cancel ${a.user}'s absence from ${fmtDate(a.from)}?`
          : `End ${a.user}'s absence now? Letters already moved stay with their cover.`;
        if (!window.confirm(question)) return;
        try {
          const r = await api(`absences/${a.id}`, { method: 'DELETE' });
          toast(r.outcome === 'removed' ? `${a.user}'s absence cancelled.` : `${a.user}'s absence ended.`);
          refresh();
        } catch (e) {
          toast(errorText(e), 'error');
        }
      });
      return tr;
    }

    async function load() {
      try {
        const list = await api('absences');
        fill(listBody, list.items.length ? list.items.map(row)
          : h('tr', h('td', { colspan: 6 }, 'Nobody is away now or booked ahead.')));
        labelColumns(listBody);
      } catch (e) {
        fill(listBody, h('tr', h('td', { colspan: 6 }, errorText(e))));
      }
      await loadDay();
    }

    async function loadDay() {
      if (!day.value) return;
      const start = new Date(`${day.value}T00:00:00`);
      const q = new URLSearchParams({ from: start.toISOString(), to: new Date(start.getTime() + DAY).toISOString() });
      try {
        const list = await api(`absences?${q}`);
        fill(dayList, list.items.length ? list.items.map((a) => h('li', `${a.user} is away (${fmtDateTime(a.from)} to `
          + `${fmtDateTime(a.to)}): ${a.cover ? `${a.cover} covers` : 'letters go back to the pool'}.`))
          : h('li', `Nobody is away on ${fmtDate(start.toISOString())}.`));
      } catch (e) {
        fill(dayList, h('li', errorText(e)));
      }
    }
    return { el, load };
  }

  await refresh();
  return () => { stopped = true; clearTimeout(timer); };
}
