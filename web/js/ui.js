// Small DOM helpers and shared formatting. No innerHTML with data: every text goes through
// text nodes, so patient details can never become markup.

/** h('tag.class#id', {attrs, on: {event: fn}}, ...children) */
export function h(spec, attrs, ...children) {
  const [, tag, rest] = spec.match(/^([a-z0-9]+)(.*)$/i);
  const el = document.createElement(tag);
  for (const part of rest.match(/[.#][^.#]+/g) || []) {
    if (part[0] === '.') el.classList.add(part.slice(1));
    else el.id = part.slice(1);
  }
  if (attrs !== undefined && attrs !== null && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces the children of `el`. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let toastTimer;
export function toast(message, kind = 'info') {
  const t = document.getElementById('toast');
  t.textContent = message;
  t.dataset.kind = kind;
  t.classList.add('show');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => t.classList.remove('show'), 5000);
}

export function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return d.toLocaleString('en-GB', { day: '2-digit', month: 'short', hour: '2-digit', minute: '2-digit' });
}

export function fmtDuration(ms) {
  const neg = ms < 0;
  let s = Math.abs(ms) / 1000;
  const d = Math.floor(s / 86400); s -= d * 86400;
  const hr = Math.floor(s / 3600); s -= hr * 3600;
  const m = Math.floor(s / 60);
  const text = d > 0 ? `${d}d ${hr}h` : hr > 0 ? `${hr}h ${m}m` : `${m}m`;
  return neg ? `${text} overdue` : text;
}

/** Working time as text: whole working days of the calendar's day length, then hours. */
export function fmtWorking(seconds, daySeconds) {
  const neg = seconds < 0;
  let s = Math.abs(seconds);
  const d = Math.floor(s / daySeconds); s -= d * daySeconds;
  const hr = Math.floor(s / 3600); s -= hr * 3600;
  const m = Math.floor(s / 60);
  const text = d > 0 ? `${d} working day${d === 1 ? '' : 's'} ${hr}h` : hr > 0 ? `${hr}h ${m}m` : `${m}m`;
  return neg ? `${text} overdue` : `${text} left`;
}

/** Time left to the due time, as text: working time when the server gives it (weekends,
 * bank holidays and closures do not count), else wall-clock time. */
export function timeLeft(d, now = Date.now()) {
  const sla = d.sla || {};
  if (typeof sla.working_seconds_left === 'number' && sla.working_day_seconds > 0) {
    // The server computed it at load time; live pages re-poll.
    return fmtWorking(sla.working_seconds_left, sla.working_day_seconds);
  }
  const due = d.due_at || sla.breach_at;
  if (!due) return '—';
  return fmtDuration(new Date(due).getTime() - now);
}

export const STATUS_LABELS = {
  received: 'Received', transcribing: 'Recognising', drafted: 'Draft ready', in_correction: 'In correction',
  awaiting_review: 'Awaiting review', approved: 'Approved', dispatched: 'Dispatched', cancelled: 'Cancelled',
  failed: 'Failed',
};
export const PRIORITY_LABELS = { two_week_wait: 'Two-week wait', urgent: 'Urgent', routine: 'Routine' };
export const LETTER_TYPES = {
  clinic_letter: 'Clinic letter', discharge_summary: 'Discharge summary', operation_note: 'Operation note',
  mdt_outcome: 'MDT outcome', referral: 'Referral', other: 'Other',
};

export function label(map, key) {
  return map[key] || (key ? String(key).replace(/_/g, ' ') : '—');
}

/** SLA state as a coloured badge that also says it in words. */
export function slaBadge(d) {
  const state = (d.sla && d.sla.state) || 'none';
  const text = { on_track: 'On track', warning: 'At risk', breached: 'Breached', met: 'Met', none: 'No target' }[state]
    || state.replace(/_/g, ' ');
  return h('span.badge.sla-' + state.replace(/[^a-z_]/g, ''), text);
}

export function statusBadge(d) {
  return h('span.badge.status', label(STATUS_LABELS, d.status));
}

/** Recognition progress: a labelled <progress> while queued or running. */
export function recognition(d) {
  const t = d.transcription;
  if (!t) return h('span.muted', 'No recognition');
  if (t.status === 'done') return h('span', 'Recognised');
  if (t.status === 'failed') return h('span.error', 'Recognition failed');
  const pct = Math.round((t.progress || 0) * 100);
  return h('span.progress-cell',
    h('progress', { max: 100, value: pct, 'aria-label': `Recognition ${pct}%` }),
    h('span', t.status === 'queued' ? ' queued' : ` ${pct}%`));
}

export function field(labelText, input, hint) {
  const id = input.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  input.id = id;
  const hintEl = hint ? h('span.hint', { id: `${id}-hint` }, hint) : null;
  if (hintEl) input.setAttribute('aria-describedby', hintEl.id);
  return h('div.field', h('label', { for: id }, labelText), input, hintEl);
}

export function errorText(e) {
  return e && e.message ? e.message : String(e);
}

/** A link handled by the client-side router. */
export function link(href, ...children) {
  return h('a', { href, dataset: { link: '' } }, ...children);
}

/** Copies each column heading onto its cells (`data-label`), for the stacked phone layout. */
export function labelColumns(tbody) {
  const table = tbody.closest('table');
  const heads = table ? [...table.querySelectorAll('thead th')].map((th) => th.textContent) : [];
  for (const row of tbody.rows) {
    [...row.cells].forEach((cell, i) => { if (heads[i]) cell.dataset.label = heads[i]; });
  }
}

/** A date as managers read it: "7 Dec 2026". */
export function fmtDate(iso) {
  if (!iso) return '—';
  return new Date(iso).toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric' });
}

/** A date and time: "7 Dec 2026, 14:05". */
export function fmtDateTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return `${fmtDate(iso)}, ${d.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit' })}`;
}

/** Working time past a due time, in working days of the calendar ("3.5 working days late"),
 * or left before it ("2 working hours left"). */
export function fmtLate(seconds, daySeconds) {
  const day = daySeconds > 0 ? daySeconds : 8 * 3600;
  const abs = Math.abs(seconds);
  const plural = (n, unit) => `${n} working ${unit}${n === 1 ? '' : 's'}`;
  const text = abs >= day ? plural(Math.round((abs / day) * 10) / 10, 'day')
    : plural(Math.max(1, Math.round(abs / 3600)), 'hour');
  return seconds >= 0 ? `${text} late` : `${text} left`;
}

/** A share as "87.5%", or "—" when there is none. */
export function fmtPercent(v) {
  return v === null || v === undefined ? '—' : `${Math.round(v * 10) / 10}%`;
}
