// Turnaround dashboard: share within target per week, backlog per secretary, turnaround by
// priority (hand-drawn SVG bar charts), the breach list, the letters, and CSV export.

import { api } from '../api.js';
import { h, fill, link, fmtTime, slaBadge, statusBadge, label, errorText, labelColumns, PRIORITY_LABELS } from '../ui.js';

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
  const groupBy = h('select', { id: 'group-by' },
    ['priority', 'secretary', 'clinician', 'specialty'].map((g) => h('option', { value: g }, g)));
  const exportBtn = h('button', { type: 'button', id: 'export-csv' }, 'Export CSV');
  const exportStatus = h('span', { id: 'export-status', role: 'status' });
  const weekly = h('div.chart-box');
  const backlog = h('div.chart-box');
  const dist = h('div.chart-box');
  const summary = h('tbody');
  const breaches = h('tbody');
  const letters = h('tbody');
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
      h('figure', h('figcaption', 'Backlog per secretary'), backlog),
      h('figure', h('figcaption', 'Turnaround by priority (hours)'), dist)),
    h('section', h('h2', 'Summary'), h('table.list', { id: 'summary' }, h('thead', h('tr',
      ['Group', 'Received', 'Completed', 'Within target', '%', 'Median h', '90th pct h', 'Backlog', 'Breaches']
        .map((c) => h('th', { scope: 'col' }, c)))), summary)),
    h('section', h('h2', 'Breaches'), h('table.list', { id: 'breaches' }, h('thead', h('tr',
      ['Patient', 'Priority', 'Stage', 'Assignee', 'Due'].map((c) => h('th', { scope: 'col' }, c)))), breaches)),
    h('section', h('h2', 'Letters'), h('table.list', { id: 'letters' }, h('thead', h('tr',
      ['Patient', 'Clinician', 'Priority', 'Status', 'Turnaround', 'Received'].map((c) => h('th', { scope: 'col' }, c)))),
    letters)));

  const range = () => ({ from: from.value, to: to.value });
  async function report(group, r = range()) {
    const q = new URLSearchParams({ ...r, group_by: group });
    return (await api(`reports/turnaround?${q}`)).groups;
  }

  async function load() {
    note.textContent = '';
    try {
      const [main2, bySecretary, byPriority, list] = await Promise.all([
        report(groupBy.value), report('secretary'), report('priority'), api('dictations?limit=500')]);
      fill(summary, main2.map((g) => h('tr', h('th', { scope: 'row' }, g.group), h('td', g.received),
        h('td', g.completed), h('td', g.within_target), h('td', g.percent_within_target ?? '—'),
        h('td', g.median_hours ?? '—'), h('td', g.p90_hours ?? '—'), h('td', g.backlog), h('td', g.breaches))));
      labelColumns(summary);
      fill(backlog, barChart('Backlog per secretary', bySecretary.map((g) => ({ label: g.group, values: [g.backlog],
        texts: [String(g.backlog)] })), [{ name: 'backlog', cls: 's1' }]));
      fill(dist, barChart('Turnaround by priority, hours', byPriority.map((g) => ({
        label: label(PRIORITY_LABELS, g.group), values: [pct(g.median_hours), pct(g.p90_hours)],
        texts: [`${pct(g.median_hours)} h`, `${pct(g.p90_hours)} h`] })),
      [{ name: 'median', cls: 's1' }, { name: '90th percentile', cls: 's2' }]));
      await weeklyChart();
      const items = list.items;
      fill(breaches, items.filter((d) => d.sla && d.sla.state === 'breached').map((d) => h('tr',
        h('td', link(`/app/dictations/${d.id}`, d.patient.name || d.patient.nhs_number || 'Unnamed')),
        h('td', label(PRIORITY_LABELS, d.priority)), h('td', d.stage || '—'), h('td', d.assignee || '—'),
        h('td', fmtTime(d.due_at)))));
      if (!breaches.children.length) fill(breaches, h('tr', h('td', { colspan: 5 }, 'No breaches.')));
      fill(letters, items.map((d) => h('tr', { dataset: { id: d.id } },
        h('td', link(`/app/dictations/${d.id}`, d.patient.name || d.patient.nhs_number || 'Unnamed')),
        h('td', d.clinician || '—'), h('td', label(PRIORITY_LABELS, d.priority)), h('td', statusBadge(d)),
        h('td', slaBadge(d)), h('td', fmtTime(d.created_at)))));
      labelColumns(letters);
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
      return { label: `w/c ${new Date(a).toLocaleDateString('en-GB', { day: '2-digit', month: 'short' })}`,
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
