// Users: list, add, change role, disable/enable, delete. Admins only (scope admin).
import { api, APIError } from '../lib/api.js';
import {
  busy, clearErrors, confirmAction, copyButton, emptyState, field, formError, h, loading, notice, relative, replace,
  showError, time,
} from '../lib/dom.js';

export const title = 'Users';

const ROLES = [
  ['admin', 'Admin — everything, including users, providers and API keys'],
  ['marketer', 'Marketer — messages, contacts and campaigns'],
  ['viewer', 'Viewer — looks, changes nothing'],
];

export function mount(container, { session }) {
  const view = { users: [] };
  const me = session.user.id;
  const pageNotice = notice();
  pageNotice.id = 'users-notice';
  const listError = h('p', { class: 'error', role: 'alert', hidden: true });
  const tableBox = h('div', { class: 'table-wrap', id: 'users-table-box' }, loading());
  const created = h('div', { id: 'user-created', 'aria-live': 'polite' });

  const form = h('form', { id: 'user-form', class: 'stack', novalidate: true },
    h('div', { class: 'grid-2 tight' },
      field({ label: 'E-mail', name: 'email', id: 'user-email', type: 'email', required: true, placeholder: 'mia@example.com' }),
      field({ label: 'Role', name: 'role', id: 'user-role', value: 'marketer', options: ROLES.map(([value]) => [value, value]) }),
      field({ label: 'Password', name: 'password', id: 'user-password', type: 'password', autocomplete: 'new-password',
              hint: 'At least 12 characters. Leave empty to generate one: it is shown once, and the user must replace it at the first login.' })),
    formError(),
    h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'user-create' }, 'Add user')),
    created);

  replace(container,
    h('section', { class: 'card', 'aria-labelledby': 'users-title' },
      h('div', { class: 'card-head' }, h('h2', { id: 'users-title' }, 'Users')),
      h('p', { class: 'hint' }, 'Disabling a user signs them out at once and revokes the API keys they created; enabling them again does not bring those keys back. Herald always keeps at least one enabled admin.'),
      pageNotice, listError, tableBox),
    h('section', { class: 'card', 'aria-labelledby': 'user-form-title' },
      h('h2', { id: 'user-form-title' }, 'Add a user'),
      h('ul', { class: 'hint role-list' }, ROLES.map(([role, text]) => h('li', {}, text))),
      form));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    replace(created);
    const value = (name) => form.querySelector(`[data-field="${name}"]`).value;
    const body = { email: value('email').trim(), role: value('role') };
    if (!body.email) {
      showError(form, new APIError(400, { error: { code: 'validation_failed', message: 'is required', field: 'email' } }));
      return;
    }
    if (value('password') !== '') body.password = value('password');
    await busy(form.querySelector('#user-create'), 'Adding…', async () => {
      try {
        const user = await api('POST', '/v1/users', body);
        view.users = [user, ...view.users];
        render();
        form.reset();
        form.querySelector('#user-role').value = 'marketer';
        pageNotice.show(`Added ${user.email}.`);
        if (user.password) {
          replace(created, h('div', { class: 'notice notice-ok', role: 'status' },
            h('p', {}, `Generated password for ${user.email} — shown only now; they must change it when they sign in:`),
            h('p', {}, h('code', { id: 'user-generated-password' }, user.password), ' ',
              copyButton(user.password, 'Copy', 'Copy the generated password'))));
        }
      } catch (error) {
        if (!(error instanceof APIError)) throw error;
        showError(form, error);
      }
    });
  });

  async function load() {
    try {
      const users = [];
      let cursor = null;
      do {
        const page = await api('GET', `/v1/users?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        users.push(...page.data);
        cursor = page.next_cursor;
      } while (cursor);
      view.users = users;
      listError.hidden = true;
      render();
    } catch (error) {
      listError.textContent = error.message;
      listError.hidden = false;
      replace(tableBox);
    }
  }

  function render() {
    if (!view.users.length) {
      replace(tableBox, emptyState('No users.'));
      return;
    }
    replace(tableBox, h('table', { class: 'data', id: 'users-table' },
      h('caption', { class: 'visually-hidden' }, 'Dashboard users'),
      h('thead', {}, h('tr', {}, ['E-mail', 'Role', 'Status', 'Last sign-in', 'Added', 'Actions']
        .map((label) => h('th', { scope: 'col' }, label)))),
      h('tbody', {}, view.users.map(row))));
  }

  function replaceUser(updated) {
    view.users = view.users.map((u) => (u.id === updated.id ? updated : u));
    render();
  }

  /** PATCHes the user; `control` (the switch or the role menu) is disabled meanwhile. */
  async function change(user, patch, control) {
    control.disabled = true;
    try {
      const updated = await api('PATCH', `/v1/users/${user.id}`, patch);
      // Your own role changed: what the dashboard may show changed with it.
      if (updated.id === me && updated.role !== user.role) { location.reload(); return; }
      replaceUser(updated);
      const what = 'disabled' in patch
        ? (updated.disabled ? 'disabled: signed out, API keys revoked' : 'enabled')
        : `now ${updated.role}`;
      pageNotice.show(`${updated.email} is ${what}.`);
    } catch (error) {
      pageNotice.show(error.message, 'error', { sticky: true });
      render();
    } finally {
      control.disabled = false;
    }
  }

  function row(user) {
    const self = user.id === me;
    const roleSelect = h('select', { 'aria-label': `Role of ${user.email}`, dataset: { action: 'role' } },
      ROLES.map(([value]) => h('option', { value }, value)));
    roleSelect.value = user.role;
    roleSelect.addEventListener('change', () => change(user, { role: roleSelect.value }, roleSelect));

    const toggle = h('button', {
      type: 'button', role: 'switch', 'aria-checked': String(!user.disabled), class: `switch${user.disabled ? '' : ' on'}`,
      'aria-label': `${user.email} enabled`, dataset: { action: 'toggle' },
    }, h('span', { class: 'switch-knob', 'aria-hidden': 'true' }), h('span', { class: 'switch-text' }, user.disabled ? 'Disabled' : 'Enabled'));
    toggle.addEventListener('click', async () => {
      if (!user.disabled) {
        const ok = await confirmAction({
          title: `Disable ${user.email}?`,
          text: 'They are signed out at once and every API key they created is revoked (enabling them later does not restore the keys).',
          confirm: 'Disable user',
        });
        if (!ok) return;
      }
      await change(user, { disabled: !user.disabled }, toggle);
    });

    const remove = h('button', { type: 'button', class: 'danger small', dataset: { action: 'delete' } }, 'Delete');
    remove.addEventListener('click', async () => {
      const ok = await confirmAction({
        title: `Delete ${user.email}?`,
        text: 'The user is removed, signed out, and every API key they created is revoked. This cannot be undone.',
        confirm: 'Delete user',
      });
      if (!ok) return;
      try {
        await api('DELETE', `/v1/users/${user.id}`);
        view.users = view.users.filter((u) => u.id !== user.id);
        render();
        pageNotice.show(`Deleted ${user.email}.`);
      } catch (error) { pageNotice.show(error.message, 'error', { sticky: true }); }
    });

    return h('tr', { dataset: { id: user.id, email: user.email }, class: user.disabled ? 'disabled' : '' },
      h('th', { scope: 'row', class: 'name' }, user.email, self ? h('span', { class: 'muted' }, ' (you)') : null,
        user.password_change_required
          ? [' ', h('span', { class: 'badge', title: 'Must choose a new password at the next sign-in' }, 'new password due')]
          : null),
      h('td', {}, roleSelect),
      h('td', {}, toggle),
      h('td', {}, user.last_login_at ? h('span', { title: user.last_login_at }, relative(user.last_login_at)) : h('span', { class: 'muted' }, 'never')),
      h('td', {}, time(user.created_at)),
      h('td', { class: 'row-actions' }, h('div', { class: 'row-actions-inner' }, remove)));
  }

  load();
  return () => {};
}
