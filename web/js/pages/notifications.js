// The signed-in user's notifications (warnings, breaches, letters returned or reassigned to
// them) with unread counts; their email settings (each notification, a daily digest, the
// weekly report); and the weekly turnaround reports kept for download.

import { api } from '../api.js';
import { h, fill, toast, errorText, link, labelColumns } from '../ui.js';
import { apiField, clearErrors, showError } from '../forms.js';
import { refreshUnread } from '../main.js';

const KINDS = {
  warning: 'Turnaround warning', breach: 'Turnaround breach', returned: 'Returned to you', reassigned: 'Assigned to you',
};

/** "7 Dec 2026, 10:05" in the browser's time zone. */
function when(iso) {
  const d = new Date(iso);
  return `${d.toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric' })}, `
    + d.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit' });
}

/** "7 Dec 2026" for a YYYY-MM-DD date. */
function day(ymd) {
  return new Date(`${ymd}T12:00:00Z`).toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric' });
}

export default async function notifications(main) {
  const count = h('p#unread-count', { role: 'status' });
  const onlyUnread = h('input', { id: 'only-unread', type: 'checkbox' });
  const readAll = h('button.secondary#read-all', { type: 'button', on: { click: markAll } }, 'Mark all as read');
  const list = h('tbody');
  main.append(
    h('h1', 'Notifications'), count,
    h('div.toolbar', h('label', { for: 'only-unread' }, onlyUnread, ' Unread only'), ' ', readAll),
    h('table.list#notifications',
      h('thead', h('tr', ['What', 'Message', 'When', ''].map((t) => h('th', t)))), list),
    settingsForm(), h('section#weekly-reports'));
  onlyUnread.addEventListener('change', () => load());

  async function load() {
    let r;
    try {
      r = await api(`notifications?limit=200${onlyUnread.checked ? '&unread=true' : ''}`);
    } catch (e) {
      count.textContent = errorText(e);
      return;
    }
    count.textContent = r.unread === 0 ? 'No unread notifications.'
      : `${r.unread} unread notification${r.unread === 1 ? '' : 's'}.`;
    readAll.disabled = r.unread === 0;
    fill(list, r.items.length ? r.items.map(row)
      : h('tr', h('td.muted', { colspan: 4 }, onlyUnread.checked ? 'Nothing unread.' : 'No notifications yet.')));
    labelColumns(list);
    refreshUnread(r.unread);
  }

  function row(n) {
    const unread = !n.read_at;
    return h(`tr${unread ? '.unread' : ''}`, { dataset: { id: n.id } },
      h('td', h('strong', KINDS[n.kind] || n.kind), unread ? h('span.badge.unread-mark', ' Unread') : null),
      h('td', n.message, n.dictation_id ? [' ', link(`/app/dictations/${n.dictation_id}`, 'Open the letter')] : null),
      h('td', h('time', { datetime: n.created_at }, when(n.created_at))),
      h('td', unread ? h('button.secondary', { type: 'button', 'aria-label': `Mark “${KINDS[n.kind] || n.kind}” as read`,
        on: { click: () => markOne(n.id) } }, 'Mark as read') : null));
  }

  async function markOne(id) {
    try {
      await api(`notifications/${encodeURIComponent(id)}/read`, { method: 'POST' });
      await load();
      readAll.focus();
    } catch (e) {
      toast(errorText(e), 'error');
    }
  }

  async function markAll() {
    try {
      const r = await api('notifications/read', { method: 'POST' });
      toast(`Marked ${r.marked} as read.`);
      await load();
    } catch (e) {
      toast(errorText(e), 'error');
    }
  }

  await Promise.all([load(), loadSettings(main), loadReports(main)]);
  return null;
}

function settingsForm() {
  const f = {
    email: h('input', { id: 'notify-email', type: 'email', autocomplete: 'email' }),
    each: h('input', { id: 'notify-each', type: 'checkbox' }),
    digest: h('input', { id: 'notify-digest', type: 'checkbox' }),
    weekly: h('select', { id: 'notify-weekly' }),
  };
  const status = h('p#notify-status', { role: 'status' });
  const form = h('form.card#notify-settings', { novalidate: true },
    h('h2', 'Email'), h('p.muted#notify-email-state'),
    apiField('Email address', f.email, 'email'),
    h('div.field', h('label', f.each, ' Email me each notification')),
    h('div.field', h('label', f.digest, ' Email me a daily digest of unread notifications')),
    h('div.field#notify-weekly-field', apiField('Weekly turnaround report', f.weekly, 'weekly_report')),
    h('button', { type: 'submit' }, 'Save'), status);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const weekly = { default: null, yes: true, no: false }[f.weekly.value];
    const body = { email: f.email.value.trim(), email_each: f.each.checked, daily_digest: f.digest.checked,
      weekly_report: weekly === undefined ? null : weekly };
    try {
      const s = await api('me/notification-settings', { method: 'PUT', json: body });
      clearErrors(form);
      show(s);
      status.textContent = 'Saved.';
    } catch (e) {
      showError(form, e, status);
    }
  });
  form.fields = f;
  return form;
}

async function loadSettings(main) {
  const s = await api('me/notification-settings');
  show(s, main);
}

function show(s, root = document) {
  const form = root.querySelector('#notify-settings');
  const f = form.fields;
  f.email.value = s.email;
  f.each.checked = s.email_each;
  f.digest.checked = s.daily_digest;
  const byDefault = s.weekly_report_default ? 'Default: send it' : 'Default: do not send it';
  fill(f.weekly, [['default', byDefault], ['yes', 'Send it'], ['no', 'Do not send it']]
    .map(([v, t]) => h('option', { value: v }, t)));
  f.weekly.value = s.weekly_report === null ? 'default' : (s.weekly_report ? 'yes' : 'no');
  form.querySelector('#notify-weekly-field').hidden = !s.weekly_report_allowed;
  form.querySelector('#notify-email-state').textContent = s.email_enabled
    ? 'Emails name letters by number with a link; they never carry patient details.'
    : 'Email is not set up on this server yet; your settings are kept for when it is.';
}

async function loadReports(main) {
  const section = main.querySelector('#weekly-reports');
  let r;
  try {
    r = await api('reports/weekly');
  } catch (e) {
    if (e.status === 403) return; // roles without reports see no reports section
    fill(section, h('p.error', errorText(e)));
    return;
  }
  const rows = r.items.map((w) => h('tr',
    h('td', `Week of ${day(w.week_start)}`),
    h('td', h('a', { href: `/api/v1/reports/weekly/${w.id}?format=html`, download: '' }, 'HTML'), ' ',
      h('a', { href: `/api/v1/reports/weekly/${w.id}?format=csv`, download: '' }, 'CSV'))));
  fill(section, h('h2', 'Weekly turnaround reports'),
    rows.length ? h('table.list#weekly-list', h('thead', h('tr', h('th', 'Week'), h('th', 'Download'))), h('tbody', rows))
      : h('p.muted', 'No weekly report has been made yet; the first comes after the next report day.'));
}
