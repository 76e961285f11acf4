// Outbox: what the built-in `outbox` provider "sent" — where a new installation's messages go.
import { readParams, writeParams } from '../lib/address.js';
import { api, query } from '../lib/api.js';
import { busy, clearErrors, field, formError, h, loading, relative, replace, showError, time, poll } from '../lib/dom.js';

export const title = 'Outbox';
const PAGE_SIZE = 50;
const REFRESH_MS = 3000;

export function mount(container) {
  const view = { rows: [], nextCursor: null, signature: '', to: '' };

  const banner = h('div', { id: 'outbox-banner' });
  const filterForm = h('form', { class: 'filters', id: 'outbox-filters', novalidate: true, role: 'search', 'aria-label': 'Filter the outbox' },
    field({ label: 'To', name: 'to', type: 'search', placeholder: '+14155550100', id: 'outbox-to' }),
    h('div', { class: 'filter-actions' },
      h('button', { type: 'submit', class: 'small' }, 'Filter'),
      h('button', { type: 'reset', class: 'secondary small' }, 'Clear')),
    formError());
  // The filter from the address: a reload or a shared link shows the same entries.
  view.to = readParams().get('to') ?? '';
  filterForm.querySelector('#outbox-to').value = view.to;
  filterForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    view.to = filterForm.querySelector('#outbox-to').value.trim();
    writeParams({ to: view.to });
    view.rows = [];
    view.signature = '';
    replace(list, loading());
    await refresh();
  });
  filterForm.addEventListener('reset', () => setTimeout(() => filterForm.requestSubmit()));

  const listError = h('p', { class: 'error', role: 'alert', hidden: true });
  const list = h('div', { id: 'outbox-list' }, loading());
  const moreButton = h('button', { type: 'button', class: 'secondary', id: 'outbox-more', hidden: true }, 'Load more');
  moreButton.addEventListener('click', () => busy(moreButton, 'Loading…', loadMore));
  const updated = h('span', { class: 'hint' });

  replace(container,
    banner,
    h('section', { class: 'card', 'aria-labelledby': 'outbox-title' },
      h('div', { class: 'card-head' }, h('h2', { id: 'outbox-title' }, 'Delivered to the outbox'), updated),
      filterForm, listError, list, h('div', { class: 'actions center' }, moreButton)));

  async function explainRouting() {
    try {
      const providers = (await api('GET', '/v1/providers')).data;
      const real = providers.filter((p) => p.enabled && p.type !== 'outbox');
      replace(banner, real.length
        ? h('div', { class: 'callout' },
          h('p', {}, `Messages are routed to ${real.length === 1 ? 'your provider' : `your ${real.length} providers`} (${real.map((p) => p.name).join(', ')}). `,
            'Only messages routed to an outbox provider appear here.'),
          h('p', { class: 'hint' }, 'Verification codes are shown here in clear: the outbox is a development sink. Everywhere else — message details, the API, events — they are masked.'))
        : h('div', { class: 'callout callout-info' },
          h('p', { class: 'callout-title' }, 'No SMS provider is set up yet, so nothing leaves this server.'),
          h('p', {}, 'Every message Herald sends — verification codes, API sends, campaigns — lands in this outbox instead, so you can see exactly what your recipients would get. ',
            'When you are ready, ', h('a', { href: '#/providers' }, 'add a provider'), ' such as Twilio or Vonage.'),
          h('p', { class: 'hint', id: 'outbox-codes-note' }, 'Verification codes are shown here in clear: the outbox is a development sink. Everywhere else — message details, the API, events — they are masked.')));
    } catch {
      replace(banner);
    }
  }

  async function refresh() {
    const limit = Math.min(500, Math.max(PAGE_SIZE, view.rows.length));
    try {
      const page = await api('GET', `/v1/outbox${query({ limit, to: view.to })}`);
      listError.hidden = true;
      clearErrors(filterForm);
      view.rows = page.data;
      view.nextCursor = page.next_cursor ?? null;
      render();
      updated.textContent = `Updated ${new Date().toLocaleTimeString()} · refreshes every ${REFRESH_MS / 1000} s`;
    } catch (error) {
      if (error.field) showError(filterForm, error);
      else { listError.textContent = error.message; listError.hidden = false; }
      if (!view.rows.length) replace(list);
    }
  }

  async function loadMore() {
    try {
      const page = await api('GET', `/v1/outbox${query({ limit: PAGE_SIZE, cursor: view.nextCursor, to: view.to })}`);
      view.rows = view.rows.concat(page.data);
      view.nextCursor = page.next_cursor ?? null;
      render();
    } catch (error) {
      listError.textContent = error.message;
      listError.hidden = false;
    }
  }

  function render() {
    moreButton.hidden = !view.nextCursor;
    const signature = JSON.stringify(view.rows);
    if (signature === view.signature) {
      for (const el of list.querySelectorAll('[data-relative]')) el.textContent = relative(el.dataset.relative);
      return;
    }
    view.signature = signature;
    if (!view.rows.length) {
      replace(list, view.to
        ? h('div', { class: 'empty' }, h('p', { class: 'empty-title' }, `Nothing was sent to ${view.to}.`))
        : h('div', { class: 'empty' },
          h('p', { class: 'empty-title' }, 'The outbox is empty.'),
          h('p', {}, 'Send a message from the ', h('a', { href: '#/messages' }, 'Messages'), ' page or through the API; ',
            'with no provider configured it appears here within a second or two.')));
      return;
    }
    replace(list, h('ol', { class: 'outbox', id: 'outbox-items', 'aria-label': 'Outbox, newest first' }, view.rows.map(item)));
  }

  function item(entry) {
    // The outbox is a development sink: the one place a verification code is shown in clear.
    return h('li', { class: 'outbox-item', dataset: { id: entry.id, messageId: entry.message_id } },
      h('div', { class: 'bubble' }, h('p', { class: 'message-body' }, entry.body)),
      h('p', { class: 'meta' },
        h('span', { class: 'mono' }, entry.to),
        ' · ', entry.channel === 'voice' ? 'voice call' : 'SMS',
        ' · ', h('span', { dataset: { relative: entry.created_at } }, relative(entry.created_at)),
        ' · ', time(entry.created_at)));
  }

  const stop = poll(refresh, REFRESH_MS);
  explainRouting();
  refresh();
  return stop;
}
