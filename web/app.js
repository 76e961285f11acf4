// Herald dashboard: sign-in, session and hash routes. Pages live in pages/*.js; user data is
// rendered with text nodes and textContent only (CSP `default-src 'self'`, no inline code).
import { api, setCsrfToken, whenUnauthorized } from './lib/api.js';
import { replace } from './lib/dom.js';
import * as messages from './pages/messages.js';
import * as outbox from './pages/outbox.js';
import * as providers from './pages/providers.js';
import * as settings from './pages/settings.js';

const routes = { messages, outbox, providers, settings };
const state = { session: null, unmount: null, route: null };

function show(view) {
  for (const id of ['login-view', 'home-view']) document.getElementById(id).hidden = id !== view;
}

function leavePage() {
  if (state.unmount) state.unmount();
  state.unmount = null;
  state.route = null;
}

async function showHome(session) {
  state.session = session;
  setCsrfToken(session.csrf_token);
  document.getElementById('me-email').textContent = session.user.email;
  document.getElementById('me-role').textContent = session.user.role;
  show('home-view');
  if (!routeName()) location.replace(`#/${await firstPage()}`);
  else route();
}

function showLogin() {
  leavePage();
  state.session = null;
  setCsrfToken(null);
  replace(document.getElementById('page'));
  show('login-view');
  document.getElementById('email').focus();
}

/** With no real provider yet, messages land in the outbox: show a new user that first. */
async function firstPage() {
  try {
    const list = await api('GET', '/v1/providers');
    return list.data.some((p) => p.enabled && p.type !== 'outbox') ? 'messages' : 'outbox';
  } catch {
    return 'messages';
  }
}

function routeName() {
  const match = /^#\/([a-z-]+)/.exec(location.hash);
  return match && routes[match[1]] ? match[1] : null;
}

function route() {
  if (!state.session) return;
  const name = routeName() ?? 'messages';
  if (name === state.route) return;
  leavePage();
  const page = routes[name];
  state.route = name;
  for (const link of document.querySelectorAll('.nav a')) {
    if (link.dataset.route === name) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  document.getElementById('page-title').textContent = page.title;
  document.title = `${page.title} · Herald`;
  const container = replace(document.getElementById('page'));
  container.dataset.page = name;
  state.unmount = page.mount(container, { session: state.session }) ?? null;
}

async function start() {
  try {
    await showHome(await api('GET', '/auth/me'));
  } catch {
    showLogin();
  }
}

whenUnauthorized(() => { if (state.session) showLogin(); });
window.addEventListener('hashchange', route);

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
    await showHome(session);
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
  try { await api('POST', '/auth/logout'); } catch { /* signed out either way */ }
  showLogin();
});

start();
