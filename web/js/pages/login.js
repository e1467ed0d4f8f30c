// Sign-in.

import { api, rememberCsrf } from '../api.js';
import { h, field } from '../ui.js';
import { setUser, navigate, HOME } from '../main.js';

export default async function login(main) {
  const username = h('input', { name: 'username', autocomplete: 'username', required: true, autocapitalize: 'off' });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const error = h('p.error', { role: 'alert', id: 'login-error' });
  const button = h('button', { type: 'submit' }, 'Sign in');
  const form = h('form.card.narrow', { on: { submit } },
    h('h1', 'Sign in'),
    field('Username', username),
    field('Password', password),
    error,
    button);
  main.append(form);
  username.focus();

  async function submit(ev) {
    ev.preventDefault();
    error.textContent = '';
    button.disabled = true;
    try {
      const r = await api('auth/login', { json: { username: username.value, password: password.value }, allow401: true });
      rememberCsrf(r.csrf_token);
      const me = await api('auth/me');
      setUser(me);
      navigate(HOME[me.role] || '/app/dictations');
    } catch (e) {
      error.textContent = e.status === 401 ? 'Wrong username or password.' : e.message;
      password.select();
      password.focus();
    } finally {
      button.disabled = false;
    }
  }
}
