// Messages: send one, watch the queue, read a message's detail.
import { readParams, writeParams } from '../lib/address.js';
import { api, APIError, query } from '../lib/api.js';
import { barChart } from '../lib/chart.js';
import {
  busy, chip, clearErrors, emptyState, field, formError, h, loading, notice, poll, replace, showError, time,
} from '../lib/dom.js';
import { countSegments } from '../lib/segments.js';

export const title = 'Messages';

export const STATUSES = ['queued', 'sending', 'sent', 'delivered', 'undelivered', 'failed', 'canceled'];
const PAGE_SIZE = 50;
const REFRESH_MS = 3000;

/** Whether the server has `POST /v1/templates/preview`; null until asked. */
let previewAvailable = null;

export function mount(container) {
  const view = {
    rows: [], nextCursor: null, signature: '', filters: { status: '', to: '' }, openID: null, freshID: null,
  };

  // MARK: Send form
  const sendNotice = notice();
  const counter = h('p', { class: 'counter', id: 'body-counter', 'aria-live': 'polite' });
  const sendForm = h('form', { id: 'send-form', class: 'stack', novalidate: true },
    field({ label: 'To', name: 'to', type: 'tel', placeholder: '+14155550100', autocomplete: 'tel',
            hint: 'E.164, with the + and country code.', id: 'send-to' }),
    field({ label: 'Kind', name: 'kind', options: [['transactional', 'Transactional'], ['marketing', 'Marketing (honours opt-outs and quiet hours)']], id: 'send-kind' }),
    field({ label: 'Message', name: 'body', type: 'textarea', rows: 4, id: 'send-body' }),
    counter,
    formError(),
    h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'send-button' }, 'Send message')),
    sendNotice,
  );
  const bodyInput = sendForm.querySelector('#send-body');
  bodyInput.setAttribute('aria-describedby', `${bodyInput.getAttribute('aria-describedby')} body-counter`);
  let counterTimer = null;
  bodyInput.addEventListener('input', () => {
    renderCount(counter, countSegments(bodyInput.value));
    clearTimeout(counterTimer);
    counterTimer = setTimeout(() => serverCount(counter, bodyInput.value), 250);
  });
  renderCount(counter, countSegments(''));

  sendForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(sendForm);
    sendNotice.clear();
    const button = sendForm.querySelector('#send-button');
    const body = {
      to: sendForm.querySelector('#send-to').value.trim(),
      body: bodyInput.value,
      kind: sendForm.querySelector('#send-kind').value,
    };
    await busy(button, 'Sending…', async () => {
      try {
        const message = await api('POST', '/v1/messages', body);
        const parts = `${message.segments} ${message.segments === 1 ? 'segment' : 'segments'}, ${message.encoding}`;
        sendNotice.show(`Queued for ${message.to} (${parts}).`, 'ok');
        bodyInput.value = '';
        renderCount(counter, countSegments(''));
        view.freshID = message.id;
        await refresh();
      } catch (error) {
        if (!(error instanceof APIError)) throw error;
        showError(sendForm, error);
      }
    });
  });

  // MARK: Chart
  const chartBox = h('div', { class: 'chart-box', id: 'status-chart' });

  // MARK: List
  const listError = h('p', { class: 'error', role: 'alert', hidden: true });
  const statusFilter = field({ label: 'Status', name: 'status', id: 'filter-status',
    options: [['', 'All statuses'], ...STATUSES.map((s) => [s, s])] });
  const toFilter = field({ label: 'To', name: 'to', type: 'search', placeholder: '+14155550100', id: 'filter-to' });
  const filterForm = h('form', { class: 'filters', id: 'message-filters', novalidate: true, role: 'search', 'aria-label': 'Filter messages' },
    statusFilter, toFilter,
    h('div', { class: 'filter-actions' },
      h('button', { type: 'submit', class: 'small' }, 'Filter'),
      h('button', { type: 'reset', class: 'secondary small' }, 'Clear')),
    formError());
  // Filters from the address: a reload or a shared link shows the same messages.
  const linked = readParams();
  filterForm.querySelector('#filter-status').value = linked.get('status') ?? '';
  filterForm.querySelector('#filter-to').value = linked.get('to') ?? '';
  view.filters = { status: filterForm.querySelector('#filter-status').value, to: filterForm.querySelector('#filter-to').value.trim() };
  filterForm.querySelector('#filter-status').addEventListener('change', () => filterForm.requestSubmit());
  filterForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    view.filters = { status: filterForm.querySelector('#filter-status').value, to: filterForm.querySelector('#filter-to').value.trim() };
    writeParams(view.filters);
    view.rows = [];
    view.signature = '';
    replace(tableBox, loading());
    await refresh();
  });
  filterForm.addEventListener('reset', () => setTimeout(() => filterForm.requestSubmit()));

  const tableBox = h('div', { class: 'table-wrap', id: 'messages-table-box' }, loading());
  const moreButton = h('button', { type: 'button', class: 'secondary', id: 'load-more', hidden: true }, 'Load more');
  moreButton.addEventListener('click', () => busy(moreButton, 'Loading…', loadMore));
  const updated = h('span', { class: 'hint', id: 'messages-updated' });

  // MARK: Detail
  const dialog = h('dialog', { id: 'message-dialog', class: 'drawer', 'aria-labelledby': 'message-dialog-title' });
  dialog.addEventListener('close', () => { view.openID = null; });
  document.body.append(dialog);

  replace(container,
    h('div', { class: 'grid-2' },
      h('section', { class: 'card', 'aria-labelledby': 'send-title' }, h('h2', { id: 'send-title' }, 'Send a message'), sendForm),
      h('section', { class: 'card', 'aria-labelledby': 'chart-title' },
        h('h2', { id: 'chart-title' }, 'By status'), chartBox)),
    h('section', { class: 'card', 'aria-labelledby': 'list-title' },
      h('div', { class: 'card-head' }, h('h2', { id: 'list-title' }, 'Recent messages'), updated),
      filterForm, listError, tableBox, h('div', { class: 'actions center' }, moreButton)),
  );

  async function refresh() {
    const limit = Math.min(500, Math.max(PAGE_SIZE, view.rows.length));
    try {
      const page = await api('GET', `/v1/messages${query({ limit, ...view.filters })}`);
      listError.hidden = true;
      clearErrors(filterForm);
      view.rows = page.data;
      view.nextCursor = page.next_cursor;
      render();
      updated.textContent = `Updated ${new Date().toLocaleTimeString()} · refreshes every ${REFRESH_MS / 1000} s`;
    } catch (error) {
      if (error.field) showError(filterForm, error);
      else { listError.textContent = error.message; listError.hidden = false; }
      if (!view.rows.length) replace(tableBox);
    }
    if (view.openID && dialog.open) await showDetail(view.openID, { quiet: true });
  }

  async function loadMore() {
    try {
      const page = await api('GET', `/v1/messages${query({ limit: PAGE_SIZE, cursor: view.nextCursor, ...view.filters })}`);
      view.rows = view.rows.concat(page.data);
      view.nextCursor = page.next_cursor;
      render();
    } catch (error) {
      listError.textContent = error.message;
      listError.hidden = false;
    }
  }

  function render() {
    moreButton.hidden = !view.nextCursor;
    const signature = JSON.stringify(view.rows);
    if (signature === view.signature) return;
    view.signature = signature;
    renderChart();
    if (!view.rows.length) {
      const filtered = view.filters.status || view.filters.to;
      replace(tableBox, filtered
        ? emptyState('No messages match these filters.', 'Clear the filters to see every message.')
        : emptyState('No messages yet.', 'Send one with the form above, or through the API with POST /v1/messages.'));
      return;
    }
    const focusedID = document.activeElement?.closest?.('tr[data-id]')?.dataset.id;
    const table = h('table', { class: 'data', id: 'messages-table' },
      h('caption', { class: 'visually-hidden' }, 'Messages, newest first. Select a row for details.'),
      h('thead', {}, h('tr', {}, ['Created', 'To', 'Status', 'Provider', 'Segments', 'Attempts', 'Error']
        .map((label) => h('th', { scope: 'col' }, label)))),
      h('tbody', {}, view.rows.map(row)));
    replace(tableBox, table);
    if (focusedID) tableBox.querySelector(`tr[data-id="${CSS.escape(focusedID)}"]`)?.focus();
  }

  function row(message) {
    const tr = h('tr', {
      tabindex: 0, class: `clickable${message.id === view.freshID ? ' fresh' : ''}`, dataset: { id: message.id, status: message.status },
      'aria-label': `Message to ${message.to}, ${message.status}. Open details.`,
    },
    h('td', {}, time(message.created_at)),
    h('td', { class: 'mono' }, message.to),
    h('td', {}, chip(message.status)),
    h('td', {}, message.provider ?? h('span', { class: 'muted' }, '—')),
    h('td', {}, `${message.segments} × ${message.encoding}`),
    h('td', { class: 'num' }, String(message.attempts ?? 0)),
    h('td', {}, message.error
      ? h('span', { class: 'error-code', title: message.error.message },
        message.error.code, message.error.provider_code ? ` (${message.error.provider_code})` : '')
      : ''));
    tr.addEventListener('click', () => showDetail(message.id));
    tr.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' || event.key === ' ') { event.preventDefault(); showDetail(message.id); }
    });
    return tr;
  }

  function renderChart() {
    const counts = Object.fromEntries(STATUSES.map((status) => [status, 0]));
    for (const message of view.rows) counts[message.status] = (counts[message.status] ?? 0) + 1;
    if (!view.rows.length) {
      replace(chartBox, emptyState('Nothing to chart yet.', 'Counts by status appear here as messages are sent.'));
      return;
    }
    const bars = STATUSES.map((status) => ({ key: status, label: status, value: counts[status] }));
    replace(chartBox, barChart(bars, {
      label: `Messages by status: ${bars.filter((b) => b.value).map((b) => `${b.value} ${b.label}`).join(', ')}`,
      caption: `The ${view.rows.length} loaded ${view.rows.length === 1 ? 'message' : 'messages'}${view.filters.status || view.filters.to ? ' (filtered)' : ''}.`,
    }));
  }

  async function showDetail(id, { quiet = false } = {}) {
    view.openID = id;
    if (!quiet) {
      replace(dialog, detailHeader('Message'), loading());
      if (!dialog.open) dialog.showModal();
    }
    try {
      const message = await api('GET', `/v1/messages/${encodeURIComponent(id)}`);
      if (view.openID !== id) return;
      const focused = dialog.contains(document.activeElement) ? document.activeElement.id : null;
      replace(dialog, detailHeader(`Message to ${message.to}`), detail(message));
      if (focused) document.getElementById(focused)?.focus();
    } catch (error) {
      if (!quiet) replace(dialog, detailHeader('Message'), h('p', { class: 'error', role: 'alert' }, error.message));
    }
  }

  function detailHeader(text) {
    const close = h('button', { type: 'button', class: 'secondary small', id: 'message-dialog-close' }, 'Close');
    close.addEventListener('click', () => dialog.close());
    return h('div', { class: 'dialog-head' }, h('h2', { id: 'message-dialog-title' }, text), close);
  }

  const refreshStop = poll(refresh, REFRESH_MS);
  refresh();
  return () => {
    refreshStop();
    clearTimeout(counterTimer);
    if (dialog.open) dialog.close();
    dialog.remove();
  };
}

function detail(message) {
  const rows = [
    ['Status', chip(message.status)],
    ['ID', h('span', { class: 'mono' }, message.id)],
    ['To', h('span', { class: 'mono' }, message.to)],
    ['From', message.from],
    ['Kind', message.kind],
    ['Channel', message.channel],
    ['Provider', message.provider],
    ['Provider message ID', message.provider_message_id ? h('span', { class: 'mono' }, message.provider_message_id) : null],
    ['Attempts', String(message.attempts ?? 0)],
    ['Encoding', `${message.encoding}, ${message.segments} ${message.segments === 1 ? 'segment' : 'segments'}${message.characters != null ? `, ${message.characters} characters` : ''}`],
    ['Campaign', message.campaign_id],
    ['Created', time(message.created_at, { long: true })],
    ['Scheduled', message.scheduled_at ? time(message.scheduled_at, { long: true }) : null],
    ['Sent', message.sent_at ? time(message.sent_at, { long: true }) : null],
    ['Delivered', message.delivered_at ? time(message.delivered_at, { long: true }) : null],
  ];
  const list = h('dl', { class: 'details', id: 'message-detail' });
  for (const [label, value] of rows) {
    list.append(h('dt', {}, label), h('dd', {}, value ?? h('span', { class: 'muted' }, '—')));
  }
  const parts = [list, h('h3', {}, 'Body'), h('p', { class: 'message-body', id: 'message-detail-body' }, message.body ?? '')];
  if (message.error) {
    parts.unshift(h('div', { class: 'error-panel', role: 'alert', id: 'message-detail-error' },
      h('p', { class: 'error-title' }, `Error ${message.error.code}`,
        message.error.provider_code ? ` · provider code ${message.error.provider_code}` : ''),
      h('p', {}, message.error.message)));
  }
  return h('div', { class: 'dialog-content' }, parts);
}

function renderCount(counter, count) {
  const segments = count.segments === 1 ? '1 segment' : `${count.segments} segments`;
  const perPart = count.encoding === 'GSM-7' ? (count.segments > 1 ? 153 : 160) : (count.segments > 1 ? 67 : 70);
  replace(counter,
    h('span', { class: 'count-main', id: 'body-count' }, `${count.characters} characters · ${count.encoding} · ${segments}`),
    h('span', { class: 'hint' }, ` (${perPart} per segment)`),
    count.nonGsm?.length
      ? h('span', { class: 'hint warn' }, ` · not in GSM-7: ${count.nonGsm.slice(0, 8).join(' ')}`)
      : null);
  counter.classList.toggle('multi', count.segments > 1);
}

async function serverCount(counter, text) {
  if (previewAvailable === false || !text) return;
  try {
    const preview = await api('POST', '/v1/templates/preview', { body: text });
    previewAvailable = true;
    const textarea = document.getElementById('send-body');
    if (!textarea || textarea.value !== text) return;
    renderCount(counter, {
      characters: preview.characters, encoding: preview.encoding, segments: preview.segments,
      nonGsm: preview.non_gsm_characters ?? [],
    });
  } catch (error) {
    if (error.status === 404 || error.status === 405) previewAvailable = false;
    // Otherwise the local count already shown stands.
  }
}
