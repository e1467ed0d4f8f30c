// The application shell: who is signed in, role-aware navigation, and a small client-side router.

import { api } from './api.js';
import { h, fill, link, toast, errorText } from './ui.js';
import login from './pages/login.js';
import newDictation from './pages/new_dictation.js';
import myDictations from './pages/my_dictations.js';
import dictation from './pages/dictation.js';
import queue from './pages/queue.js';
import board from './pages/board.js';
import breaches from './pages/breaches.js';
import dashboard from './pages/dashboard.js';
import workflows from './pages/workflows.js';
import vocabularies from './pages/vocabularies.js';
import users from './pages/users.js';
import lexicon from './pages/lexicon.js';
import audit from './pages/audit.js';
import calendar from './pages/calendar.js';
import recognition from './pages/recognition.js';
import letters from './pages/letters.js';
import notifications from './pages/notifications.js';

const ALL = ['clinician', 'secretary', 'team_lead', 'superuser'];
const ROUTES = [
  { path: /^\/app\/login$/, page: login, roles: null },
  { path: /^\/app\/dictations\/new$/, page: newDictation, roles: ALL },
  { path: /^\/app\/dictations$/, page: myDictations, roles: ALL },
  { path: /^\/app\/dictations\/([\w-]+)$/, page: dictation, roles: ALL, params: ['id'] },
  { path: /^\/app\/queue$/, page: queue, roles: ['secretary', 'team_lead', 'superuser'] },
  { path: /^\/app\/board$/, page: board, roles: ['team_lead', 'manager', 'superuser'] },
  { path: /^\/app\/breaches$/, page: breaches, roles: ['team_lead', 'manager', 'superuser'] },
  { path: /^\/app\/dashboard$/, page: dashboard, roles: ['team_lead', 'manager', 'superuser'] },
  { path: /^\/app\/workflows(?:\/([\w.-]+))?$/, page: workflows, roles: ['superuser'], params: ['name'] },
  { path: /^\/app\/vocabularies$/, page: vocabularies, roles: ['clinician', 'superuser'] },
  { path: /^\/app\/users$/, page: users, roles: ['superuser'] },
  { path: /^\/app\/lexicon$/, page: lexicon, roles: ['superuser'] },
  { path: /^\/app\/audit$/, page: audit, roles: ['superuser'] },
  { path: /^\/app\/calendar$/, page: calendar, roles: ['superuser'] },
  { path: /^\/app\/recognition$/, page: recognition, roles: ['superuser'] },
  { path: /^\/app\/letters$/, page: letters, roles: ['superuser'] },
  { path: /^\/app\/notifications$/, page: notifications, roles: ALL },
];

const NAV = {
  clinician: [['/app/dictations/new', 'New dictation'], ['/app/dictations', 'My dictations'],
    ['/app/vocabularies', 'My vocabulary']],
  secretary: [['/app/queue', 'Work queue'], ['/app/dictations', 'Letters'], ['/app/dictations/new', 'Upload']],
  team_lead: [['/app/board', 'Team board'], ['/app/breaches', 'At risk'], ['/app/dashboard', 'Turnaround'],
    ['/app/queue', 'Work queue'], ['/app/dictations', 'Letters']],
  manager: [['/app/board', 'Team board'], ['/app/breaches', 'At risk'], ['/app/dashboard', 'Turnaround'],
    ['/app/dictations', 'Letters']],
  superuser: [['/app/workflows', 'Workflows'], ['/app/vocabularies', 'Vocabularies'], ['/app/dashboard', 'Turnaround'],
    ['/app/breaches', 'At risk'], ['/app/dictations', 'Letters'], ['/app/users', 'Users & teams'], ['/app/audit', 'Audit'], ['/app/calendar', 'Calendar'],
    ['/app/recognition', 'Recognition'], ['/app/lexicon', 'Lexicon'], ['/app/letters', 'Letter templates']],
};
export const HOME = {
  clinician: '/app/dictations', secretary: '/app/queue', team_lead: '/app/board', manager: '/app/board',
  superuser: '/app/workflows',
};

let user = null;
let cleanup = null;
// A page's check before it is left: returns a question when leaving would lose something.
let leaveGuard = null;
let shownPath = location.pathname + location.search;

/** Sets (or clears, with null) the current page's check before it is left. */
export function guardLeaving(fn) {
  leaveGuard = fn;
}

function mayLeave() {
  const question = leaveGuard && leaveGuard();
  return !question || window.confirm(question);
}

async function currentUser() {
  if (user) return user;
  try {
    user = await api('auth/me', { allow401: true });
  } catch (e) {
    user = null;
  }
  return user;
}

function renderChrome() {
  const nav = document.getElementById('nav');
  const who = document.getElementById('who');
  if (!user) {
    fill(nav);
    fill(who);
    return;
  }
  const here = location.pathname;
  const badge = h('span.badge.unread-count#unread-badge', { hidden: true });
  const items = [...(NAV[user.role] || []), ['/app/notifications', 'Notifications']];
  fill(nav, h('ul', items.map(([href, text]) => {
    const a = link(href, text, href === '/app/notifications' ? [' ', badge] : null);
    if (here === href) a.setAttribute('aria-current', 'page');
    return h('li', a);
  })));
  refreshUnread();
  fill(who,
    h('span', { title: `role: ${user.role}` }, `${user.display_name || user.username} (${user.role.replace('_', ' ')})`),
    h('button.secondary', { type: 'button', on: { click: signOut } }, 'Sign out'));
}

/** Shows the unread count beside "Notifications" (read from the server unless given). */
export async function refreshUnread(known) {
  const badge = document.getElementById('unread-badge');
  if (!badge) return;
  let n = known;
  if (n === undefined) {
    try {
      n = (await api('notifications/unread-count')).unread;
    } catch (e) {
      return; // the badge is a hint; the page itself shows errors
    }
  }
  badge.textContent = String(n);
  badge.setAttribute('aria-label', `${n} unread`);
  badge.hidden = !n;
}

async function signOut() {
  if (!mayLeave()) return;
  try {
    await api('auth/logout', { method: 'POST' });
  } catch (e) {
    // The session may already be gone; signing out locally is what matters.
  }
  user = null;
  navigate('/app/login', { force: true });
}

export function setUser(u) {
  user = u;
}

export async function navigate(path, { replace = false, force = false } = {}) {
  if (!force && !mayLeave()) return false;
  if (replace) history.replaceState(null, '', path);
  else if (path !== location.pathname + location.search) history.pushState(null, '', path);
  await route();
}

async function route() {
  leaveGuard = null;
  shownPath = location.pathname + location.search;
  if (cleanup) {
    try { cleanup(); } catch (e) { /* a page's cleanup must not stop navigation */ }
    cleanup = null;
  }
  const path = location.pathname.replace(/\/$/, '') || '/';
  const main = document.getElementById('main');
  const found = ROUTES.map((r) => ({ r, m: path.match(r.path) })).find((x) => x.m);
  const me = await currentUser();
  if (!found) {
    if (me) return navigate(HOME[me.role] || '/app/dictations', { replace: true });
    return navigate('/app/login', { replace: true });
  }
  if (found.r.roles && !me) return navigate('/app/login', { replace: true });
  if (found.r.page === login && me) return navigate(HOME[me.role], { replace: true });
  renderChrome();
  if (found.r.roles && !found.r.roles.includes(me.role)) {
    fill(main, h('h1', { tabindex: -1 }, 'Not available'), h('p', 'Your role cannot use this page.'));
    main.querySelector('h1').focus();
    return;
  }
  const params = {};
  (found.r.params || []).forEach((name, i) => { params[name] = found.m[i + 1]; });
  fill(main);
  try {
    cleanup = (await found.r.page(main, { user: me, params, navigate, guardLeaving })) || null;
  } catch (e) {
    fill(main, h('h1', { tabindex: -1 }, 'Something went wrong'), h('p.error', errorText(e)));
  }
  const heading = main.querySelector('h1');
  if (heading) {
    heading.setAttribute('tabindex', '-1');
    if (!main.contains(document.activeElement) || document.activeElement === main) heading.focus();
  }
  // Titles end up in the browser's history: a page naming a patient sets a neutral `data-title`.
  const title = heading ? heading.dataset.title || heading.textContent : '';
  document.title = `${title ? `${title} – ` : ''}dictaflow`;
}

document.addEventListener('click', (ev) => {
  const a = ev.target.closest && ev.target.closest('a[data-link]');
  if (!a || ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin) return;
  ev.preventDefault();
  if (url.pathname === '/') {
    navigate(user ? HOME[user.role] : '/app/login');
  } else {
    navigate(url.pathname + url.search);
  }
});
window.addEventListener('popstate', () => {
  // Back/forward has already changed the address: put it back when the user stays.
  if (!mayLeave()) {
    history.pushState(null, '', shownPath);
    return;
  }
  route();
});
window.addEventListener('dictaflow:unauthorized', () => {
  if (location.pathname === '/app/login') return;
  user = null;
  toast('Your session has ended; please sign in again.', 'error');
  navigate('/app/login', { force: true });
});

route();
