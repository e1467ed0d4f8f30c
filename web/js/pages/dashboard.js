// Turnaround dashboard: share within target per week, backlog per secretary, turnaround by
// priority in working days (hand-drawn SVG bar charts), the summary for letters received in the
// period, the letters breached now (the server's exact view, most late first), and CSV export.

import { api } from '../api.js';
import { h, fill, link, label, errorText, labelColumns, PRIORITY_LABELS, STATUS_LABELS, fmtDate, fmtDateTime, fmtLate,
  fmtPercent } from '../ui.js';

const NS = 'http://www.w3.org/2000/svg';
const DAY = 86400000;
const WEEKS = 8;

function svgEl(name, attrs = {}, text) {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/** A horizontal bar chart; `series` = [{name, cls}], rows = [{label, values: [n|null], texts: [s]}]. */
export function barChart(title, rows, series, max) {
  const rowH = 20 * series.length + 8;
  const height = 26 + rows.length * rowH + 6;
  const svg = svgEl('svg', { viewBox: `0 0 420 ${height}`, width: '100%', role: 'img', class: 'chart',
    'aria-label': title });
  svg.append(svgEl('title', {}, title));
  const top = max || Math.max(1, ...rows.flatMap((r) => r.values.filter((v) => v !== null)));
  rows.forEach((r, i) => {
    const y = 20 + i * rowH;
    svg.append(svgEl('text', { x: 110, y: y + rowH / 2 + 1, 'text-anchor': 'end', class: 'axis' }, r.label));
    r.values.forEach((v, j) => {
      const w = v === null ? 0 : Math.max(1, (v / top) * 200);
      const by = y + j * 20;
      svg.append(svgEl('rect', { x: 118, y: by, width: w, height: 16, class: `bar ${series[j].cls}` }));
      svg.append(svgEl('text', { x: 124 + w, y: by + 13, class: 'value' }, v === null ? 'no data' : r.texts[j]));
    });
  });
  if (series.length > 1) {
    series.forEach((s, j) => {
      svg.append(svgEl('rect', { x: 118 + j * 110, y: 2, width: 12, height: 12, class: `bar ${s.cls}` }));
      svg.append(svgEl('text', { x: 134 + j * 110, y: 13, class: 'axis' }, s.name));
    });
  }
  return svg;
}

const pct = (v) => (v === null || v === undefined ? null : Math.round(v * 10) / 10);

export default async function dashboard(main) {
  const today = new Date();
  const iso = (d) => d.toISOString().slice(0, 10);
  const from = h('input', { type: 'date', id: 'from', value: iso(new Date(today - 28 * DAY)) });
  const to = h('input', { type: 'date', id: 'to', value: iso(new Date(today.getTime() + DAY)) });
  const groupBy = h('select', { id: 'group-by' }, [['priority', 'Priority'], ['secretary', 'Secretary'],
    ['clinician', 'Clinician'], ['specialty', 'Specialty']].map(([g, t]) => h('option', { value: g }, t)));
  const exportBtn = h('button', { type: 'button', id: 'export-csv' }, 'Export CSV');
  const exportStatus = h('span', { id: 'export-status', role: 'status' });
  const weekly = h('div.chart-box');
  const backlog = h('div.chart-box');
  const dist = h('div.chart-box');
  const summary = h('tbody');
  const breaches = h('tbody');
  const breachNote = h('p.muted#breaches-note');
  const note = h('p.error', { role: 'alert' });
  main.append(
    h('h1', 'Turnaround'),
    h('form.filters', { on: { submit: (ev) => { ev.preventDefault(); load(); } } },
      h('label', { for: 'from' }, 'From '), from, h('label', { for: 'to' }, ' to '), to,
      h('label', { for: 'group-by' }, ' grouped by '), groupBy,
      h('button.secondary', { type: 'submit' }, 'Show'), exportBtn, exportStatus),
    note,
    h('div.charts',
      h('figure', h('figcaption', 'Share within target, per week'), weekly),
      h('figure', h('figcaption', 'Backlog per secretary (open letters now)'), backlog),
      h('figure', h('figcaption', 'Turnaround by priority (working days)'), dist)),
    h('section', h('h2', 'Summary'),
      h('p.muted', 'Received, completed and turnaround: letters received in the period. Open now: every open '
        + 'letter, whatever its received date.'),
      h('table.list', { id: 'summary' }, h('thead', h('tr',
        ['Group', 'Received', 'Completed', 'Within target', '% within target', 'Median (working days)',
          '90th percentile (working days)', 'Open now', 'Open past due', 'Missed target (period)']
          .map((c) => h('th', { scope: 'col' }, c)))), summary)),
    h('section', h('h2', 'Breached now'), breachNote, h('table.list', { id: 'breaches' }, h('thead', h('tr',
      ['How late', 'Patient', 'Priority', 'Status', 'Held by', 'Due'].map((c) => h('th', { scope: 'col' }, c)))),
    breaches), h('p', link('/app/breaches', 'All letters at risk or breached'))));

  const range = () => ({ from: from.value, to: to.value });
  async function report(group, r = range()) {
    const q = new URLSearchParams({ ...r, group_by: group });
    return (await api(`reports/turnaround?${q}`)).groups;
  }
  // Working days as the server counts them: each letter in its own calendar's working day.
  const days = (d) => (d === null || d === undefined ? null : Math.round(d * 10) / 10);
  const groupName = (by, g) => {
    if (g === '(none)') return by === 'secretary' ? 'No secretary yet' : 'Not given';
    return by === 'priority' ? label(PRIORITY_LABELS, g) : g;
  };

  async function load() {
    note.textContent = '';
    try {
      const by = groupBy.value;
      const [main2, bySecretary, byPriority, late] = await Promise.all([
        report(by), report('secretary'), report('priority'), api('oversight/at-risk?state=breached&limit=20')]);
      fill(summary, main2.map((g) => h('tr', h('th', { scope: 'row' }, groupName(by, g.group)), h('td', g.received),
        h('td', g.completed), h('td', g.within_target), h('td', fmtPercent(g.percent_within_target)),
        h('td', days(g.median_working_days) ?? '—'), h('td', days(g.p90_working_days) ?? '—'), h('td', g.backlog),
        h('td', g.backlog_breached), h('td', g.breaches))));
      labelColumns(summary);
      fill(backlog, barChart('Open letters per secretary now', bySecretary.filter((g) => g.backlog > 0)
        .map((g) => ({ label: groupName('secretary', g.group), values: [g.backlog], texts: [String(g.backlog)] })),
      [{ name: 'open letters', cls: 's1' }]));
      fill(dist, barChart('Turnaround by priority, working days', byPriority.map((g) => ({
        label: label(PRIORITY_LABELS, g.group), values: [days(g.median_working_days), days(g.p90_working_days)],
        texts: [`${days(g.median_working_days)} d`, `${days(g.p90_working_days)} d`] })),
      [{ name: 'median', cls: 's1' }, { name: '90th percentile', cls: 's2' }]));
      await weeklyChart();
      breachNote.textContent = late.breached
        ? `${late.breached.toLocaleString('en-GB')} open letter${late.breached === 1 ? ' is' : 's are'} past the due `
          + `time now, whatever the period; the ${Math.min(20, late.breached)} most late:`
        : 'No open letter is past its due time.';
      fill(breaches, late.items.map((d) => h('tr', { dataset: { id: d.id } },
        h('td', fmtLate(d.working_seconds_late, d.working_day_seconds)),
        h('td', link(`/app/dictations/${d.id}`, d.patient_name || d.patient_nhs_number || 'Unnamed patient')),
        h('td', label(PRIORITY_LABELS, d.priority)), h('td', label(STATUS_LABELS, d.status)),
        h('td', d.holder || 'Nobody (in the pool)'), h('td', fmtDateTime(d.due_at)))));
      labelColumns(breaches);
    } catch (e) {
      note.textContent = errorText(e);
    }
  }

  async function weeklyChart() {
    const end = new Date(to.value).getTime();
    const weeks = [];
    for (let i = WEEKS - 1; i >= 0; i--) weeks.push([end - (i + 1) * 7 * DAY, end - i * 7 * DAY]);
    const rows = await Promise.all(weeks.map(async ([a, b]) => {
      const groups = await report('priority', { from: new Date(a).toISOString(), to: new Date(b).toISOString() });
      const done = groups.reduce((s, g) => s + g.completed, 0);
      const within = groups.reduce((s, g) => s + g.within_target, 0);
      const share = done ? (100 * within) / done : null;
      return { label: `w/c ${fmtDate(new Date(a).toISOString())}`,
        values: [share === null ? null : pct(share)], texts: [share === null ? '' : `${pct(share)}% of ${done}`] };
    }));
    fill(weekly, barChart('Share of completed letters within target, per week', rows, [{ name: '%', cls: 's1' }], 100));
  }

  exportBtn.addEventListener('click', async () => {
    exportStatus.textContent = 'Exporting…';
    try {
      const q = new URLSearchParams({ ...range(), group_by: groupBy.value });
      const csv = await api(`reports/turnaround?${q}`, { accept: 'text/csv' });
      const blob = new Blob([csv], { type: 'text/csv' });
      const url = URL.createObjectURL(blob);
      const a = h('a', { href: url, download: `turnaround-${groupBy.value}-${from.value}-${to.value}.csv`, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      const rows = csv.trim().split('\n').length - 1;
      exportStatus.textContent = `Exported ${rows} row${rows === 1 ? '' : 's'}.`;
    } catch (e) {
      exportStatus.textContent = `Export failed: ${errorText(e)}`;
    }
  });

  await load();
  return null;
}
