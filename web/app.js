// Herald dashboard: sign-in, session and hash routes. Pages live in pages/*.js; user data is
// rendered with text nodes and textContent only (CSP `default-src 'self'`, no inline code).
import { api, setCsrfToken, whenFailed, whenUnauthorized } from './lib/api.js';
import { replace } from './lib/dom.js';
import * as apiKeys from './pages/api-keys.js';
import * as audit from './pages/audit.js';
import * as campaigns from './pages/campaigns.js';
import * as contacts from './pages/contacts.js';
import * as messages from './pages/messages.js';
import * as outbox from './pages/outbox.js';
import * as overview from './pages/overview.js';
import * as providers from './pages/providers.js';
import * as segments from './pages/segments.js';
import * as settings from './pages/settings.js';
import * as templates from './pages/templates.js';
import * as users from './pages/users.js';
import * as verifications from './pages/verifications.js';

const routes = {
  overview, messages, verifications, contacts, segments, templates, campaigns, outbox, providers, settings, users,
  'api-keys': apiKeys, audit,
};
const state = { session: null, unmount: null, route: null };

// Pages that need the admin scope, and pages a role has no use for: absent, not refused.
const ADMIN_ONLY = new Set(['outbox', 'providers', 'settings', 'users', 'api-keys', 'audit']);
const NOT_FOR = { marketer: new Set(['verifications']) };

/** Whether the signed-in role may use page `name`. */
function allowed(name, session = state.session) {
  const role = session?.user.role;
  if (role !== 'admin' && ADMIN_ONLY.has(name)) return false;
  return !NOT_FOR[role]?.has(name);
}

function show(view) {
  for (const id of ['login-view', 'password-view', 'home-view']) document.getElementById(id).hidden = id !== view;
}

/** The signed-in shell, or the new-password form while the session must change its password. */
function enter(session, passwordJustTyped) {
  if (session.password_change_required) showPasswordChange(session, { required: true, current: passwordJustTyped });
  else showHome(session);
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
  for (const link of document.querySelectorAll('.nav a[data-route]')) link.closest('li').hidden = !allowed(link.dataset.route, session);
  show('home-view');
  if (!routeName()) location.replace(`#/${await firstPage()}`);
  else route();
}

/**
 * The new-password form: required after signing in with a generated or reset password (only
 * this, /auth/me and signing out work until it is done), or chosen from the top bar.
 */
function showPasswordChange(session, { required, current = null }) {
  leavePage();
  state.session = session;
  setCsrfToken(session.csrf_token);
  const form = document.getElementById('password-form');
  form.reset();
  document.getElementById('password-error').hidden = true;
  document.getElementById('password-title').textContent = required ? 'Choose a new password' : 'Change your password';
  document.getElementById('password-reason').hidden = !required;
  document.getElementById('password-cancel').hidden = required;
  const currentInput = document.getElementById('current-password');
  if (current) currentInput.value = current;
  show('password-view');
  (current ? document.getElementById('new-password') : currentInput).focus();
}

function showLogin() {
  leavePage();
  document.getElementById('login-reason').hidden = true;
  state.session = null;
  setCsrfToken(null);
  replace(document.getElementById('page'));
  show('login-view');
  document.getElementById('email').focus();
}

/**
 * The overview once something was sent; before that, an admin without a real provider sees the
 * outbox (where messages land meanwhile) and everyone else the messages page.
 */
async function firstPage() {
  try {
    const sent = await api('GET', '/v1/messages?limit=1');
    if (sent.data.length) return 'overview';
    if (!allowed('outbox')) return 'messages';
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

/** Shows the page the address names. `force`: the address changed (a link, back, forward), so
 * even the page already shown starts again (from a campaign's detail back to the list). */
function route({ force = false } = {}) {
  if (!state.session || state.session.password_change_required) return;
  const name = routeName() ?? 'overview';
  // A deep link to a page this role cannot use lands on one it can.
  if (!allowed(name)) { location.replace('#/messages'); return; }
  if (name === state.route && !force) return;
  leavePage();
  clearBanner();
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
  state.unmount = page.mount(container, { session: state.session, canUse: (other) => allowed(other) }) ?? null;
}

async function start() {
  let session;
  try {
    session = await api('GET', '/auth/me');
  } catch {
    showLogin();
    return;
  }
  enter(session, null);
}

// A session that ends (expired, signed out elsewhere, user disabled) returns to the login page,
// saying so; signing in again comes back to the same page (the hash is kept).
whenUnauthorized(() => {
  if (!state.session) return;
  const page = state.route ? routes[state.route].title : null;
  showLogin();
  const reason = document.getElementById('login-reason');
  reason.textContent = `Your session ended. Sign in again${page ? ` to go back to ${page}` : ''}.`;
  reason.hidden = false;
});
window.addEventListener('hashchange', () => route({ force: true }));

// Every failed call shows in one banner above the page, except a refused field, which the form
// shows next to that field, and an ended session, which goes back to the login page.
const banner = document.getElementById('error-banner');
function clearBanner() { banner.hidden = true; }
document.getElementById('error-banner-close').addEventListener('click', clearBanner);
whenFailed((error, method) => {
  if (!state.session || error.status === 401 || (error.status === 400 && error.field)) return;
  const what = method === 'GET' ? 'Could not load' : 'Could not complete the change';
  document.getElementById('error-banner-text').textContent =
    `${what}: ${error.described}${error.code ? ` (${error.code})` : ''}${error.retryAfter ? ` — try again in ${error.retryAfter} s` : ''}`;
  banner.hidden = false;
});

document.getElementById('login-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const button = document.getElementById('login-button');
  const errorBox = document.getElementById('login-error');
  errorBox.hidden = true;
  button.disabled = true;
  try {
    const typed = document.getElementById('password').value;
    const session = await api('POST', '/auth/login', {
      email: document.getElementById('email').value,
      password: typed,
    });
    document.getElementById('password').value = '';
    enter(session, typed);
  } catch (error) {
    errorBox.textContent = error.code === 'rate_limited'
      ? `Too many attempts. Try again in ${error.retryAfter ?? 'a few'} seconds.`
      : error.message;
    errorBox.hidden = false;
  } finally {
    button.disabled = false;
  }
});

async function signOut() {
  try { await api('POST', '/auth/logout'); } catch { /* signed out either way */ }
  showLogin();
}

document.getElementById('logout-button').addEventListener('click', signOut);
document.getElementById('password-logout').addEventListener('click', signOut);
document.getElementById('change-password-button').addEventListener('click', () => {
  showPasswordChange(state.session, { required: false });
});
document.getElementById('password-cancel').addEventListener('click', () => showHome(state.session));

document.getElementById('password-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const button = document.getElementById('password-button');
  const errorBox = document.getElementById('password-error');
  const current = document.getElementById('current-password');
  const next = document.getElementById('new-password');
  const again = document.getElementById('confirm-password');
  const fail = (text, focus) => {
    errorBox.textContent = text;
    errorBox.hidden = false;
    focus?.focus();
  };
  errorBox.hidden = true;
  if (!current.value) return fail('Enter your current password.', current);
  if (next.value.length < 12) return fail('The new password needs at least 12 characters.', next);
  if (next.value !== again.value) return fail('The two new passwords differ.', again);
  button.disabled = true;
  try {
    const session = await api('POST', '/auth/password', { current_password: current.value, new_password: next.value });
    document.getElementById('password-form').reset();
    await showHome(session);
  } catch (error) {
    const focus = { current_password: current, new_password: next }[error.field] ?? null;
    fail(error.code === 'rate_limited'
      ? `Too many attempts. Try again in ${error.retryAfter ?? 'a few'} seconds.`
      : error.described, focus);
  } finally {
    button.disabled = false;
  }
});

start();
