// Herald dashboard shell: sign-in and session. User data is rendered with textContent only.

const state = { csrfToken: null };

async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (state.csrfToken && !['GET', 'HEAD'].includes(method)) headers['X-CSRF-Token'] = state.csrfToken;
  const response = await fetch(path, {
    method, headers, credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) {
    const error = new Error(data?.error?.message ?? `HTTP ${response.status}`);
    error.status = response.status;
    error.code = data?.error?.code;
    error.retryAfter = response.headers.get('Retry-After');
    throw error;
  }
  return data;
}

function show(view) {
  for (const id of ['login-view', 'home-view']) document.getElementById(id).hidden = id !== view;
}

function showHome(session) {
  state.csrfToken = session.csrf_token;
  document.getElementById('me-email').textContent = session.user.email;
  document.getElementById('me-role').textContent = session.user.role;
  show('home-view');
}

async function start() {
  try {
    showHome(await api('GET', '/auth/me'));
  } catch {
    show('login-view');
  }
}

document.getElementById('login-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const button = document.getElementById('login-button');
  const errorBox = document.getElementById('login-error');
  errorBox.hidden = true;
  button.disabled = true;
  try {
    const session = await api('POST', '/auth/login', {
      email: document.getElementById('email').value,
      password: document.getElementById('password').value,
    });
    document.getElementById('password').value = '';
    showHome(session);
  } catch (error) {
    errorBox.textContent = error.code === 'rate_limited'
      ? `Too many attempts. Try again in ${error.retryAfter ?? 'a few'} seconds.`
      : error.message;
    errorBox.hidden = false;
  } finally {
    button.disabled = false;
  }
});

document.getElementById('logout-button').addEventListener('click', async () => {
  try { await api('POST', '/auth/logout'); } finally {
    state.csrfToken = null;
    show('login-view');
  }
});

start();
