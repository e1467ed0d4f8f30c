// Users and teams (super-users): accounts with their role, teams and state; new accounts,
// role/team changes, disabling, passwords; teams and their members.

import { api } from '../api.js';
import { h, fill, toast, errorText, labelColumns } from '../ui.js';
import { apiField, clearErrors, showError } from '../forms.js';

const ROLES = [['clinician', 'Clinician'], ['secretary', 'Secretary'], ['team_lead', 'Team lead'],
  ['manager', 'Manager (read-only)'], ['superuser', 'Super-user']];

function roleSelect(id, value) {
  return h('select', { id }, ROLES.map(([v, t]) => h('option', { value: v, selected: v === value }, t)));
}

/** The teams as a group of checkboxes (a keyboard-friendly multi-select): `el` is the
 * labelled fieldset (its errors shown under it), `value()` the checked team names,
 * `set(names)` checks them, `update(teams)` rebuilds the boxes keeping what is checked. */
function teamPicker(id, legend) {
  const el = h('fieldset.choices', { id, tabindex: -1, dataset: { field: 'teams' }, 'aria-describedby': `${id}-error` });
  const error = h('span.hint.error.field-error', { id: `${id}-error`, 'aria-live': 'polite' });
  let names = [];
  let dirty = false;
  const boxes = () => [...el.querySelectorAll('input[type=checkbox]')];
  const picker = {
    el: h('div.field', el, error),
    value: () => boxes().filter((b) => b.checked).map((b) => b.value),
    set(list) {
      for (const b of boxes()) b.checked = list.includes(b.value);
      dirty = false;
    },
    get edited() { return dirty; },
    update(teams) {
      const checked = picker.value();
      names = teams.map((t) => t.name);
      fill(el, h('legend', legend), names.length
        ? names.map((n) => {
          const boxId = `${id}-${n.replace(/[^\w-]/g, '_')}`;
          return h('div.choice', h('input', { type: 'checkbox', id: boxId, value: n, checked: checked.includes(n) }),
            h('label', { for: boxId }, n));
        })
        : h('p.muted', 'No teams yet: create one below.'));
    },
  };
  el.addEventListener('change', () => { dirty = true; });
  picker.update([]);
  return picker;
}

export default async function users(main) {
  let all = [];
  let teams = [];
  const tbody = h('tbody');
  const teamList = h('ul.team-list', { id: 'teams' });
  const usernames = h('datalist', { id: 'usernames' });

  // A new user.
  const nu = {
    username: h('input', { id: 'nu-username', autocomplete: 'off', required: true }),
    display_name: h('input', { id: 'nu-display-name', autocomplete: 'off' }),
    role: roleSelect('nu-role', 'clinician'),
    teams: teamPicker('nu-teams', 'Teams'),
    password: h('input', { id: 'nu-password', type: 'password', autocomplete: 'new-password' }),
  };
  const nuStatus = h('p', { id: 'nu-status', role: 'status' });
  const newForm = h('form.card#user-new', { on: { submit: createUser } },
    h('h2', 'New user'),
    apiField('Username', nu.username, 'username'),
    apiField('Display name', nu.display_name, 'display_name'),
    apiField('Role', nu.role, 'role'),
    nu.teams.el,
    apiField('Initial password', nu.password, 'password', 'Leave empty to set one later'),
    h('button', { type: 'submit' }, 'Create user'), nuStatus);

  // The selected user.
  const ed = {
    role: roleSelect('ed-role', 'clinician'),
    display_name: h('input', { id: 'ed-display-name', autocomplete: 'off' }),
    grade: h('input', { id: 'ed-grade', autocomplete: 'off' }),
    job_title: h('input', { id: 'ed-job-title', autocomplete: 'off' }),
    teams: teamPicker('ed-teams', 'Teams'),
    disabled: h('input', { id: 'ed-disabled', type: 'checkbox' }),
    password: h('input', { id: 'ed-password', type: 'password', autocomplete: 'new-password' }),
  };
  ed.disabled.dataset.field = 'disabled';
  const edHeading = h('h2', { id: 'ed-heading', tabindex: -1 }, 'Edit user');
  const edStatus = h('p', { id: 'ed-status', role: 'status' });
  const pwStatus = h('p', { id: 'pw-status', role: 'status' });
  const editForm = h('form#user-edit', { on: { submit: saveUser } },
    apiField('Role', ed.role, 'role'),
    apiField('Display name', ed.display_name, 'display_name', 'As letters are signed, e.g. Dr Ann Patel'),
    h('div.row', apiField('Grade', ed.grade, 'grade', 'e.g. Consultant'),
      apiField('Job title', ed.job_title, 'job_title', 'e.g. Consultant ENT Surgeon')),
    ed.teams.el,
    h('div.field.inline', ed.disabled, h('label', { for: 'ed-disabled' }, 'Disabled (cannot sign in; tokens revoked)')),
    h('button', { type: 'submit' }, 'Save changes'), edStatus);
  const pwForm = h('form#user-password', { on: { submit: setPassword } },
    apiField('New password', ed.password, 'password'),
    h('button', { type: 'submit' }, 'Set password'), pwStatus);
  const editCard = h('section.card#user-editor', { hidden: true, 'aria-labelledby': 'ed-heading' },
    edHeading, editForm, pwForm);
  let editing = null;

  // Teams.
  const teamName = h('input', { id: 'team-name', autocomplete: 'off' });
  const teamStatus = h('p', { id: 'team-status', role: 'status' });
  const teamForm = h('form.card#team-new', { on: { submit: createTeam } },
    h('h2', 'New team'), apiField('Team name', teamName, 'name'),
    h('button', { type: 'submit' }, 'Create team'), teamStatus);

  main.append(
    h('h1', 'Users and teams'),
    h('div.wf-layout',
      h('section',
        h('h2', 'Users'),
        h('table.list#users', h('thead', h('tr', ['Username', 'Name', 'Role', 'Teams', 'State', ''].map((t) => h('th', t)))),
          tbody),
        editCard),
      h('div', newForm, teamForm)),
    h('section', h('h2', 'Teams'), teamList), usernames);

  function edit(u) {
    editing = u;
    edHeading.textContent = `Edit ${u.username}`;
    ed.role.value = u.role;
    ed.display_name.value = u.display_name || '';
    ed.grade.value = u.grade || '';
    ed.job_title.value = u.job_title || '';
    ed.teams.set(u.teams || []);
    ed.disabled.checked = !!u.disabled;
    ed.password.value = '';
    edStatus.textContent = '';
    pwStatus.textContent = '';
    clearErrors(editForm);
    clearErrors(pwForm);
    editCard.hidden = false;
    edHeading.focus();
  }

  async function createUser(ev) {
    ev.preventDefault();
    const body = {
      username: nu.username.value.trim(), display_name: nu.display_name.value.trim(), role: nu.role.value,
      teams: nu.teams.value(),
    };
    if (nu.password.value) body.password = nu.password.value;
    try {
      const u = await api('users', { json: body });
      clearErrors(newForm);
      newForm.reset();
      nu.teams.set([]);
      nuStatus.textContent = `Created ${u.username}.`;
      toast(`User ${u.username} created.`);
      await refresh();
    } catch (e) {
      showError(newForm, e, nuStatus);
    }
  }

  async function saveUser(ev) {
    ev.preventDefault();
    if (!editing) return;
    const patch = {
      role: ed.role.value, display_name: ed.display_name.value.trim(), teams: ed.teams.value(),
      grade: ed.grade.value.trim(), job_title: ed.job_title.value.trim(),
      disabled: ed.disabled.checked,
    };
    try {
      const u = await api(`users/${encodeURIComponent(editing.id)}`, { method: 'PATCH', json: patch });
      clearErrors(editForm);
      editing = u;
      ed.teams.set(u.teams || []);
      edStatus.textContent = `Saved ${u.username}.`;
      await refresh();
    } catch (e) {
      showError(editForm, e, edStatus);
    }
  }

  async function setPassword(ev) {
    ev.preventDefault();
    if (!editing) return;
    try {
      await api(`users/${encodeURIComponent(editing.id)}/password`, { json: { password: ed.password.value } });
      clearErrors(pwForm);
      ed.password.value = '';
      pwStatus.textContent = `Password set for ${editing.username}.`;
    } catch (e) {
      showError(pwForm, e, pwStatus);
    }
  }

  async function createTeam(ev) {
    ev.preventDefault();
    try {
      const t = await api('teams', { json: { name: teamName.value.trim() } });
      clearErrors(teamForm);
      teamName.value = '';
      teamStatus.textContent = `Created team ${t.name}.`;
      await refresh();
    } catch (e) {
      showError(teamForm, e, teamStatus);
    }
  }

  function teamItem(t) {
    const who = h('input', { id: `member-${t.id}`, autocomplete: 'off', list: 'usernames' });
    const status = h('p', { role: 'status' });
    const form = h('form.row', { on: { submit: async (ev) => {
      ev.preventDefault();
      try {
        await api(`teams/${encodeURIComponent(t.name)}/members`, { json: { user: who.value.trim() } });
        await refresh();
      } catch (e) {
        showError(form, e, status);
      }
    } } }, apiField(`Add a member to ${t.name}`, who, 'user'), h('button', { type: 'submit' }, 'Add'));
    const members = (t.members || []).map((m) => h('li', m.username,
      h('button.link', { type: 'button', 'aria-label': `Remove ${m.username} from ${t.name}`, on: { click: async () => {
        try {
          await api(`teams/${encodeURIComponent(t.name)}/members/${encodeURIComponent(m.username)}`, { method: 'DELETE' });
          await refresh();
        } catch (e) {
          status.textContent = errorText(e);
        }
      } } }, ' remove')));
    return h('li.card', { dataset: { team: t.name } }, h('h3', t.name),
      h('ul', members.length ? members : h('li.muted', 'No members.')), form, status);
  }

  async function refresh() {
    try {
      [all, teams] = await Promise.all([api('users').then((r) => r.items), api('teams').then((r) => r.items)]);
    } catch (e) {
      fill(tbody, h('tr', h('td.error', { colspan: 6 }, errorText(e))));
      return;
    }
    fill(tbody, all.map((u) => h('tr', { dataset: { username: u.username } },
      h('td', u.username), h('td', u.display_name || ''), h('td', u.role.replace('_', ' ')),
      h('td', (u.teams || []).join(', ') || '—'), h('td', u.disabled ? 'Disabled' : 'Active'),
      h('td', h('button.secondary', { type: 'button', 'aria-label': `Edit ${u.username}`, on: { click: () => edit(u) } },
        'Edit')))));
    labelColumns(tbody);
    nu.teams.update(teams);
    ed.teams.update(teams);
    if (editing) {
      const fresh = all.find((u) => u.id === editing.id);
      // Membership changed in the team list shows in the editor, unless its teams were edited.
      if (fresh && !ed.teams.edited) ed.teams.set(fresh.teams || []);
      if (fresh) editing = fresh;
    }
    fill(teamList, teams.length ? teams.map(teamItem) : h('li.muted', 'No teams yet.'));
    fill(usernames, all.map((u) => h('option', { value: u.username })));
  }

  await refresh();
  return null;
}
