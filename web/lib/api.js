// The JSON API as the dashboard uses it: cookie session, X-CSRF-Token on every unsafe method.

let csrfToken = null;
let onUnauthorized = () => {};

export function setCsrfToken(token) { csrfToken = token; }
export function whenUnauthorized(handler) { onUnauthorized = handler; }

/** An API error: `status`, and `code`, `field`, `message` from `{"error": {…}}`. */
export class APIError extends Error {
  constructor(status, body, retryAfter) {
    super(body?.error?.message ?? `The server answered HTTP ${status}.`);
    this.status = status;
    this.code = body?.error?.code ?? null;
    this.field = body?.error?.field ?? null;
    this.retryAfter = retryAfter;
  }

  /** The message with the field it is about, as in `config.account_sid is required`. */
  get described() { return this.field ? `${this.field} ${this.message}` : this.message; }
}

export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (csrfToken && !['GET', 'HEAD'].includes(method)) headers['X-CSRF-Token'] = csrfToken;
  let response;
  try {
    response = await fetch(path, {
      method, headers, credentials: 'same-origin', cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new APIError(0, { error: { code: 'network_error', message: 'Herald cannot be reached. Is the server running?' } });
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!response.ok) {
    const error = new APIError(response.status, data, response.headers.get('Retry-After'));
    if (response.status === 401 && path !== '/auth/login' && path !== '/auth/me') onUnauthorized(error);
    throw error;
  }
  return data;
}

/** A query string from the non-empty values of `params`. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}
