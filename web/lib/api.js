// The JSON API as the dashboard uses it: cookie session, X-CSRF-Token on every unsafe method.

let csrfToken = null;
let onUnauthorized = () => {};
let onFailed = () => {};

export function setCsrfToken(token) { csrfToken = token; }
export function whenUnauthorized(handler) { onUnauthorized = handler; }
/** `handler(error, method, path)` hears of every call that failed, for the shell's banner. */
export function whenFailed(handler) { onFailed = handler; }

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
    const error = new APIError(0, { error: { code: 'network_error', message: 'Herald cannot be reached. Is the server running?' } });
    onFailed(error, method, path);
    throw error;
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!response.ok) {
    const error = new APIError(response.status, data, response.headers.get('Retry-After'));
    if (response.status === 401 && path !== '/auth/login' && path !== '/auth/me') onUnauthorized(error);
    if (path !== '/auth/login' && path !== '/auth/me') onFailed(error, method, path);
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

/**
 * Sends a file as the request body (`POST path` with `contentType`), reporting upload progress
 * as a fraction through `onProgress`; resolves with the JSON answer like `api`.
 */
export function upload(path, file, contentType, onProgress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open('POST', path);
    request.setRequestHeader('Content-Type', contentType);
    request.setRequestHeader('Accept', 'application/json');
    if (csrfToken) request.setRequestHeader('X-CSRF-Token', csrfToken);
    request.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    request.addEventListener('load', () => {
      let data = null;
      try { data = request.responseText ? JSON.parse(request.responseText) : null; } catch { data = null; }
      if (request.status >= 200 && request.status < 300) { resolve(data); return; }
      const error = new APIError(request.status, data, request.getResponseHeader('Retry-After'));
      if (request.status === 401) onUnauthorized(error);
      onFailed(error, 'POST', path);
      reject(error);
    });
    request.addEventListener('error', () => {
      reject(new APIError(0, { error: { code: 'network_error', message: 'Herald cannot be reached. Is the server running?' } }));
    });
    request.send(file);
  });
}
