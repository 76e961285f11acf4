// API keys: what apps authenticate with. Create (the key is shown once, with a copy button),
// see scopes and when each was last used, revoke. Admins only.
import { api, APIError } from '../lib/api.js';
import {
  busy, chip, clearErrors, confirmAction, copyButton, emptyState, field, formError, h, loading, notice, relative, replace,
  showError, time,
} from '../lib/dom.js';
import { pager } from '../lib/pager.js';

export const title = 'API keys';

const SCOPES = [
  ['verifications', 'send and check verification codes'],
  ['messages', 'send messages and read their status'],
  ['contacts', 'keep contacts and their consent'],
  ['campaigns', 'templates, segments and campaigns'],
  ['admin', 'everything, including providers, users and settings'],
];

export function mount(container) {
  const pageNotice = notice();
  const created = h('div', { id: 'api-key-created', 'aria-live': 'polite' });
  const list = pager({
    id: 'api-keys-list',
    load: (cursor) => api('GET', `/v1/api-keys?limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`),
    render: (keys) => (keys.length
      ? h('table', { class: 'data', id: 'api-keys-table' },
        h('caption', { class: 'visually-hidden' }, 'API keys'),
        h('thead', {}, h('tr', {}, ['Name', 'Key', 'Scopes', 'Last used', 'Created', 'Actions'].map((label) => h('th', { scope: 'col' }, label)))),
        h('tbody', {}, keys.map(row)))
      : emptyState('No API keys yet.', 'Create one below for each app that sends through Herald.')),
  });

  const form = h('form', { id: 'api-key-form', novalidate: true },
    field({ label: 'Name', name: 'name', id: 'api-key-name', required: true, placeholder: 'Checkout app',
            hint: 'Say which app uses it, so you know what breaks if you revoke it.' }),
    h('fieldset', { dataset: { field: 'scopes' }, id: 'api-key-scopes', tabindex: '-1' },
      h('legend', {}, 'Scopes'),
      SCOPES.map(([scope, text]) => h('div', { class: 'field field-check' },
        h('input', { type: 'checkbox', id: `scope-${scope}`, value: scope, checked: scope === 'messages' }),
        h('label', { for: `scope-${scope}` }, scope, h('span', { class: 'muted' }, ` — ${text}`)))),
      h('p', { class: 'field-error', id: 'api-key-scopes-error', hidden: true })),
    formError(),
    h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'api-key-create' }, 'Create key')),
    created);

  replace(container,
    h('section', { class: 'card', 'aria-labelledby': 'keys-title' },
      h('h2', { id: 'keys-title' }, 'API keys'),
      h('p', { class: 'hint' }, 'Apps send ', h('code', {}, 'Authorization: Bearer <key>'), '. A revoked key stops working at once; the keys a user created are revoked when that user is disabled.'),
      pageNotice, list.element),
    h('section', { class: 'card', 'aria-labelledby': 'key-form-title' }, h('h2', { id: 'key-form-title' }, 'Create a key'), form));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    replace(created);
    const name = form.querySelector('#api-key-name').value.trim();
    const scopes = [...form.querySelectorAll('#api-key-scopes input:checked')].map((input) => input.value);
    if (!name) {
      showError(form, new APIError(400, { error: { code: 'validation_failed', message: 'is required', field: 'name' } }));
      return;
    }
    if (!scopes.length) {
      showError(form, new APIError(400, { error: { code: 'validation_failed', message: 'needs at least one scope', field: 'scopes' } }));
      return;
    }
    await busy(form.querySelector('#api-key-create'), 'Creating…', async () => {
      try {
        const key = await api('POST', '/v1/api-keys', { name, scopes });
        replace(created, h('div', { class: 'notice notice-ok', role: 'status' },
          h('p', {}, h('strong', {}, `Key “${key.name}” created.`), ' Copy it now: it is shown only this once and Herald keeps no way to show it again.'),
          h('p', {}, h('code', { id: 'api-key-secret' }, key.key), ' ', copyButton(key.key, 'Copy', 'Copy the new API key'))));
        form.querySelector('#api-key-name').value = '';
        const { key: _secret, ...shown } = key;
        list.set([shown, ...list.items()]);
      } catch (error) {
        if (!(error instanceof APIError)) throw error;
        showError(form, error);
      }
    });
  });

  function row(key) {
    const revoke = h('button', { type: 'button', class: 'danger small', dataset: { action: 'revoke' } }, 'Revoke');
    revoke.addEventListener('click', async () => {
      const ok = await confirmAction({
        title: `Revoke “${key.name}”?`,
        text: 'Apps using this key are refused from now on. This cannot be undone: create a new key instead.',
        confirm: 'Revoke key',
      });
      if (!ok) return;
      try {
        await api('DELETE', `/v1/api-keys/${encodeURIComponent(key.id)}`);
        list.set(list.items().filter((other) => other.id !== key.id));
        pageNotice.show(`Revoked “${key.name}”.`);
      } catch (error) { pageNotice.show(error.message, 'error', { sticky: true }); }
    });
    return h('tr', { dataset: { id: key.id, name: key.name } },
      h('th', { scope: 'row', class: 'name' }, key.name),
      h('td', { class: 'mono' }, `${key.prefix}…`),
      h('td', {}, key.scopes.map((scope) => chip(scope, 'chip-scope'))),
      h('td', {}, key.last_used_at ? h('span', { title: key.last_used_at }, relative(key.last_used_at)) : h('span', { class: 'muted' }, 'never')),
      h('td', {}, time(key.created_at)),
      h('td', { class: 'row-actions' }, revoke));
  }

  replace(list.element.firstChild, loading());
  list.reload().catch((error) => replace(list.element.firstChild, h('p', { class: 'error', role: 'alert' }, error.message)));
  return () => {};
}
