// The JSON API from the browser: the session cookie authenticates; every unsafe request carries
// X-CSRF-Token with the value of the readable `dictaflow_csrf` (`__Host-dictaflow_csrf` over HTTPS) cookie.

export class ApiProblem extends Error {
  constructor(status, body) {
    super((body && (body.detail || body.title)) || `HTTP ${status}`);
    this.status = status;
    this.code = (body && body.code) || 'http_error';
    this.field = body && body.field;
    this.body = body || {};
  }
}

let csrfFromLogin = '';

export function rememberCsrf(token) {
  csrfFromLogin = token || '';
}

export function csrfToken() {
  // Over HTTPS the server names its cookies with the `__Host-` prefix.
  const names = ['__Host-dictaflow_csrf=', 'dictaflow_csrf='];
  const cookies = document.cookie.split(';').map((c) => c.trim());
  for (const name of names) {
    const m = cookies.find((c) => c.startsWith(name));
    if (m) return decodeURIComponent(m.slice(name.length));
  }
  return csrfFromLogin;
}

/**
 * fetch() for the API. `opts.json` is sent as JSON; `opts.body` as is; `opts.accept` sets Accept.
 * Resolves to parsed JSON (or text for non-JSON answers, null for 204); rejects with ApiProblem.
 */
export async function api(path, opts = {}) {
  const method = opts.method || (opts.json !== undefined || opts.body !== undefined ? 'POST' : 'GET');
  const headers = Object.assign({}, opts.headers || {});
  let body = opts.body;
  if (opts.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.json);
  }
  if (opts.accept) headers.Accept = opts.accept;
  if (method !== 'GET' && method !== 'HEAD') {
    const token = csrfToken();
    if (token) headers['X-CSRF-Token'] = token;
  }
  const resp = await fetch(path.startsWith('/') ? path : `/api/v1/${path}`, {
    method, headers, body, credentials: 'same-origin', cache: 'no-store',
  });
  const type = resp.headers.get('Content-Type') || '';
  let data = null;
  if (resp.status !== 204) {
    data = type.includes('json') ? await resp.json().catch(() => null) : await resp.text();
  }
  if (!resp.ok) {
    if (resp.status === 401 && !opts.allow401) {
      window.dispatchEvent(new CustomEvent('dictaflow:unauthorized'));
    }
    throw new ApiProblem(resp.status, typeof data === 'object' ? data : { detail: data });
  }
  return data;
}
