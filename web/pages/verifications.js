// Verifications: try a code, the log with filters, conversion by country and channel, and — for
// admins — the fraud guard's blocked prefixes, test numbers and the texts with their overrides.
import { readParams, writeParams } from '../lib/address.js';
import { api, APIError, query } from '../lib/api.js';
import { barChart } from '../lib/chart.js';
import {
  busy, chip, clearErrors, confirmAction, emptyState, field, formError, h, loading, notice, poll, replace, showError, time,
} from '../lib/dom.js';

export const title = 'Verifications';

const PURPOSES = ['registration', 'login', 'account_change', 'password_reset', 'payment', 'abnormal_login'];
const STATUSES = ['pending', 'approved', 'canceled', 'expired', 'max_attempts_reached'];
const PAGE_SIZE = 50;
const REFRESH_MS = 3000;

const label = (value) => value.replaceAll('_', ' ');

export function mount(container, { session }) {
  const admin = session.user.role === 'admin';
  const view = { rows: [], nextCursor: null, signature: '', filters: { to: '', purpose: '', status: '', channel: '' }, tried: null };
  const stops = [];

  // MARK: Try it (admins: sending costs money)
  const tryNotice = notice();
  const tryForm = h('form', { id: 'verify-form', class: 'stack', novalidate: true },
    field({ label: 'To', name: 'to', type: 'tel', placeholder: '+14155550100', id: 'verify-to', hint: 'E.164, with the + and country code.' }),
    h('div', { class: 'grid-2 tight' },
      field({ label: 'Purpose', name: 'purpose', id: 'verify-purpose', options: PURPOSES.map((p) => [p, label(p)]), value: 'login' }),
      field({ label: 'Channel', name: 'channel', id: 'verify-channel', options: [['sms', 'SMS'], ['voice', 'Voice call']] })),
    field({ label: 'Locale', name: 'locale', id: 'verify-locale', placeholder: 'en', hint: 'Texts exist for en, es, fr, de, pt, zh, ar, hi, ru, ja.' }),
    h('fieldset', { class: 'config', id: 'verify-payment', hidden: true },
      h('legend', {}, 'Payment (the code is bound to it)'),
      h('div', { class: 'grid-2 tight' },
        field({ label: 'Amount', name: 'payment.amount', id: 'verify-amount', placeholder: '12.50' }),
        field({ label: 'Currency', name: 'payment.currency', id: 'verify-currency', placeholder: 'EUR' })),
      field({ label: 'Payee', name: 'payment.payee', id: 'verify-payee', placeholder: 'ACME Ltd' })),
    formError(),
    h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'verify-send' }, 'Send code')),
    tryNotice);
  const purposeSelect = tryForm.querySelector('#verify-purpose');
  purposeSelect.addEventListener('change', () => { tryForm.querySelector('#verify-payment').hidden = purposeSelect.value !== 'payment'; });
  tryForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(tryForm);
    tryNotice.clear();
    const value = (id) => tryForm.querySelector(id).value.trim();
    const body = { to: value('#verify-to'), purpose: purposeSelect.value, channel: value('#verify-channel') };
    if (value('#verify-locale')) body.locale = value('#verify-locale');
    if (body.purpose === 'payment') {
      body.payment = { amount: value('#verify-amount'), currency: value('#verify-currency'), payee: value('#verify-payee') };
    }
    await busy(tryForm.querySelector('#verify-send'), 'Sending…', async () => {
      try {
        const verification = await api('POST', '/v1/verifications', body);
        view.tried = verification;
        tryNotice.show(verification.send_count > 1
          ? `Code sent again (send ${verification.send_count} of ${verification.max_sends}).`
          : `Code sent to ${verification.to}${verification.test ? ' (a test number: nothing is sent)' : ''}.`, 'ok', { sticky: true });
        checkForm.hidden = false;
        checkForm.querySelector('#check-code').focus();
        await refresh();
      } catch (error) {
        if (!(error instanceof APIError)) throw error;
        if (error.retryAfter) error.message = `${error.message} (try again in ${error.retryAfter} s)`;
        showError(tryForm, error);
      }
    });
  });

  const checkNotice = notice();
  const checkForm = h('form', { id: 'check-form', class: 'inline-form', novalidate: true, hidden: true },
    field({ label: 'Code', name: 'code', id: 'check-code', inputmode: 'numeric', autocomplete: 'one-time-code', placeholder: '123456' }),
    h('button', { type: 'submit', id: 'check-button' }, 'Check'),
    formError(), checkNotice);
  checkForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(checkForm);
    const body = { id: view.tried?.id, code: checkForm.querySelector('#check-code').value.trim() };
    if (view.tried?.payment) body.payment = view.tried.payment;
    await busy(checkForm.querySelector('#check-button'), 'Checking…', async () => {
      try {
        const result = await api('POST', '/v1/verifications/check', body);
        checkNotice.show(result.valid ? 'Approved.' : `Not valid: ${label(result.status)}, ${result.attempts_left} attempts left.`,
          result.valid ? 'ok' : 'error', { sticky: true });
        await refresh();
      } catch (error) {
        if (!(error instanceof APIError)) throw error;
        showError(checkForm, error);
      }
    });
  });

  // MARK: Conversion
  const chartBox = h('div', { class: 'chart-box', id: 'conversion-chart' }, loading());

  // MARK: Log
  const filterForm = h('form', { class: 'filters', id: 'verification-filters', novalidate: true, role: 'search', 'aria-label': 'Filter verifications' },
    field({ label: 'Number', name: 'to', type: 'search', placeholder: '+14155550100', id: 'vfilter-to' }),
    field({ label: 'Purpose', name: 'purpose', id: 'vfilter-purpose', options: [['', 'All purposes'], ...PURPOSES.map((p) => [p, label(p)])] }),
    field({ label: 'Status', name: 'status', id: 'vfilter-status', options: [['', 'All statuses'], ...STATUSES.map((s) => [s, label(s)])] }),
    field({ label: 'Channel', name: 'channel', id: 'vfilter-channel', options: [['', 'All channels'], ['sms', 'SMS'], ['voice', 'Voice']] }),
    h('div', { class: 'filter-actions' },
      h('button', { type: 'submit', class: 'small' }, 'Filter'),
      h('button', { type: 'reset', class: 'secondary small' }, 'Clear')),
    formError());
  // Filters from the address: a reload or a shared link shows the same log.
  const linked = readParams();
  for (const key of ['to', 'purpose', 'status', 'channel']) filterForm.querySelector(`#vfilter-${key}`).value = linked.get(key) ?? '';
  view.filters = Object.fromEntries(['to', 'purpose', 'status', 'channel'].map((key) => [key, filterForm.querySelector(`#vfilter-${key}`).value.trim()]));
  for (const id of ['#vfilter-purpose', '#vfilter-status', '#vfilter-channel']) {
    filterForm.querySelector(id).addEventListener('change', () => filterForm.requestSubmit());
  }
  filterForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const value = (id) => filterForm.querySelector(id).value.trim();
    view.filters = { to: value('#vfilter-to'), purpose: value('#vfilter-purpose'), status: value('#vfilter-status'), channel: value('#vfilter-channel') };
    writeParams(view.filters);
    view.rows = [];
    view.signature = '';
    replace(tableBox, loading());
    await refresh();
  });
  filterForm.addEventListener('reset', () => setTimeout(() => filterForm.requestSubmit()));
  const listError = h('p', { class: 'error', role: 'alert', hidden: true });
  const tableBox = h('div', { class: 'table-wrap', id: 'verifications-table-box' }, loading());
  const moreButton = h('button', { type: 'button', class: 'secondary', id: 'verifications-more', hidden: true }, 'Load more');
  moreButton.addEventListener('click', () => busy(moreButton, 'Loading…', loadMore));
  const updated = h('span', { class: 'hint' });

  const sections = [
    h('div', { class: 'grid-2' },
      admin
        ? h('section', { class: 'card', 'aria-labelledby': 'verify-title' },
          h('h2', { id: 'verify-title' }, 'Send a code'),
          h('p', { class: 'hint' }, 'As an app would: the code goes out through your providers (or the outbox), and you check it here.'),
          tryForm, checkForm)
        : null,
      h('section', { class: 'card', 'aria-labelledby': 'conversion-title' },
        h('h2', { id: 'conversion-title' }, 'Conversion, last 24 hours'), chartBox)),
    h('section', { class: 'card', 'aria-labelledby': 'vlist-title' },
      h('div', { class: 'card-head' }, h('h2', { id: 'vlist-title' }, 'Verifications'), updated),
      filterForm, listError, tableBox, h('div', { class: 'actions center' }, moreButton)),
  ];
  if (admin) sections.push(blocksSection(stops), testNumbersSection(), textsSection());
  replace(container, ...sections);

  async function refresh() {
    const limit = Math.min(500, Math.max(PAGE_SIZE, view.rows.length));
    try {
      const page = await api('GET', `/v1/verifications${query({ limit, ...view.filters })}`);
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
    await refreshChart();
  }

  async function loadMore() {
    try {
      const page = await api('GET', `/v1/verifications${query({ limit: PAGE_SIZE, cursor: view.nextCursor, ...view.filters })}`);
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
    if (!view.rows.length) {
      const filtered = Object.values(view.filters).some(Boolean);
      replace(tableBox, filtered
        ? emptyState('No verifications match these filters.', 'Clear the filters to see them all.')
        : emptyState('No verifications yet.', 'Apps start them with POST /v1/verifications (or the Twilio Verify API).'));
      return;
    }
    replace(tableBox, h('table', { class: 'data', id: 'verifications-table' },
      h('caption', { class: 'visually-hidden' }, 'Verifications, newest first'),
      h('thead', {}, h('tr', {}, ['Created', 'To', 'Purpose', 'Channel', 'Status', 'Sends', 'Checks left', 'Delivery']
        .map((text) => h('th', { scope: 'col' }, text)))),
      h('tbody', {}, view.rows.map((v) => h('tr', { dataset: { id: v.id, status: v.status } },
        h('td', {}, time(v.created_at)),
        h('td', { class: 'mono' }, v.to, v.test ? h('span', { class: 'badge', title: 'A test number: fixed code, never sent' }, ' test') : ''),
        h('td', {}, label(v.purpose), v.payment ? h('span', { class: 'hint' }, ` · ${v.payment.amount} ${v.payment.currency} to ${v.payment.payee}`) : ''),
        h('td', {}, v.channel === 'voice' ? 'voice' : 'SMS'),
        h('td', {}, chip(v.status)),
        h('td', { class: 'num' }, `${v.send_count} / ${v.max_sends}`),
        h('td', { class: 'num' }, String(v.attempts_left)),
        h('td', {}, v.delivery_status ? chip(v.delivery_status) : h('span', { class: 'muted' }, '—')))))));
  }

  let chartSignature = '';
  async function refreshChart() {
    try {
      const figures = (await api('GET', '/v1/verification-stats?hours=24')).data;
      const signature = JSON.stringify(figures);
      if (signature === chartSignature) return;
      chartSignature = signature;
      if (!figures.length) {
        replace(chartBox, emptyState('Nothing to chart yet.', 'Approved ÷ started, per country and channel, appears here.'));
        return;
      }
      const bars = figures.slice(0, 12).map((f) => ({
        key: f.rate >= 0.5 ? 'delivered' : f.rate >= 0.2 ? 'undelivered' : 'failed',
        label: `${f.country ?? '??'} · ${f.channel === 'voice' ? 'voice' : 'SMS'}`,
        value: Math.round(f.rate * 100),
      }));
      replace(chartBox, barChart(bars, {
        unit: '%',
        label: `Conversion in percent: ${bars.map((b) => `${b.label} ${b.value}%`).join(', ')}`,
        caption: `Percent of verifications approved, of ${figures.reduce((n, f) => n + f.created, 0)} started (test numbers left out). A low rate with many sends is what SMS pumping looks like.`,
      }));
    } catch (error) {
      replace(chartBox, h('p', { class: 'error', role: 'alert' }, error.message));
    }
  }

  stops.push(poll(refresh, REFRESH_MS));
  refresh();
  return () => { for (const stop of stops) stop(); };
}

// MARK: Admin sections

function blocksSection(stops) {
  const box = h('div', { id: 'blocks-box' }, loading());
  const message = notice();
  async function load() {
    try {
      const blocks = (await api('GET', '/v1/verification-blocks')).data;
      if (!blocks.length) {
        replace(box, emptyState('No number range is blocked.',
          'The fraud guard blocks a prefix (a number without its last four digits) when it gets many codes that nobody enters.'));
        return;
      }
      replace(box, h('table', { class: 'data', id: 'blocks-table' },
        h('thead', {}, h('tr', {}, ['Prefix', 'Country', 'Why', 'Until', ''].map((text) => h('th', { scope: 'col' }, text)))),
        h('tbody', {}, blocks.map((block) => {
          const lift = h('button', { type: 'button', class: 'secondary small', dataset: { prefix: block.prefix } }, 'Lift block');
          lift.addEventListener('click', async () => {
            const ok = await confirmAction({ title: 'Lift this block?', text: `Codes to ${block.prefix}… will be sent again; the guard judges the range afresh from now.`, confirm: 'Lift block' });
            if (!ok) return;
            await busy(lift, 'Lifting…', async () => {
              try {
                await api('POST', '/v1/verification-blocks/lift', { prefix: block.prefix });
                message.show(`Lifted the block on ${block.prefix}….`, 'ok');
                await load();
              } catch (error) { message.show(error.message, 'error'); }
            });
          });
          return h('tr', { dataset: { prefix: block.prefix } },
            h('td', { class: 'mono' }, `${block.prefix}…`), h('td', {}, block.country ?? '—'), h('td', {}, block.reason),
            h('td', {}, time(block.blocked_until)), h('td', { class: 'row-actions' }, lift));
        }))));
    } catch (error) {
      replace(box, h('p', { class: 'error', role: 'alert' }, error.message));
    }
  }
  stops.push(poll(load, 10000));
  load();
  return h('section', { class: 'card', 'aria-labelledby': 'blocks-title' },
    h('h2', { id: 'blocks-title' }, 'Blocked number ranges'), message, box);
}

function testNumbersSection() {
  const box = h('div', { id: 'test-numbers-box' }, loading());
  const message = notice();
  const form = h('form', { class: 'inline-form', id: 'test-number-form', novalidate: true },
    field({ label: 'Number', name: 'number', id: 'test-number', type: 'tel', placeholder: '+15005550006' }),
    field({ label: 'Fixed code', name: 'code', id: 'test-code', inputmode: 'numeric', placeholder: '123456' }),
    h('button', { type: 'submit', id: 'test-number-add' }, 'Add test number'),
    formError());
  let numbers = {};
  async function save(next, done) {
    try {
      const settings = await api('PATCH', '/v1/settings', { verification: { test_numbers: next } });
      numbers = settings.verification.test_numbers;
      render();
      message.show(done, 'ok');
      return true;
    } catch (error) {
      if (error.field?.startsWith('verification.test_numbers')) error.field = error.field.endsWith('test_numbers') ? 'number' : 'code';
      showError(form, error);
      return false;
    }
  }
  function render() {
    const entries = Object.entries(numbers);
    replace(box, entries.length
      ? h('ul', { class: 'plain-list', id: 'test-numbers' }, entries.map(([number, code]) => {
        const remove = h('button', { type: 'button', class: 'secondary small' }, 'Remove');
        remove.addEventListener('click', () => {
          const next = { ...numbers };
          delete next[number];
          save(next, `${number} is a normal number again.`);
        });
        return h('li', { dataset: { number } }, h('span', { class: 'mono' }, number), ' → ', h('span', { class: 'mono' }, code), ' ', remove);
      }))
      : emptyState('No test numbers.', 'For app-store review: a number whose code is fixed and never sent.'));
  }
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    const number = form.querySelector('#test-number').value.trim();
    const code = form.querySelector('#test-code').value.trim();
    if (await save({ ...numbers, [number]: code }, `${number} now always gets ${code}; nothing is sent to it.`)) form.reset();
  });
  api('GET', '/v1/settings').then((settings) => { numbers = settings.verification.test_numbers ?? {}; render(); })
    .catch((error) => replace(box, h('p', { class: 'error', role: 'alert' }, error.message)));
  return h('section', { class: 'card', 'aria-labelledby': 'test-numbers-title' },
    h('h2', { id: 'test-numbers-title' }, 'Test numbers'),
    h('p', { class: 'hint' }, 'Verifications to these numbers get the fixed code, are never sent to a provider and are marked “test”.'),
    box, form, message);
}

function textsSection() {
  const localeSelect = field({ label: 'Locale', name: 'locale', id: 'texts-locale',
    options: ['en', 'es', 'fr', 'de', 'pt', 'zh', 'ar', 'hi', 'ru', 'ja'] });
  const box = h('div', { class: 'table-wrap', id: 'texts-box' }, loading());
  const message = notice();
  const editor = h('dialog', { id: 'text-dialog', class: 'drawer', 'aria-labelledby': 'text-dialog-title' });
  document.body.append(editor);
  let overrides = {};

  async function load() {
    const locale = localeSelect.querySelector('select').value;
    try {
      const [texts, settings] = await Promise.all([
        api('GET', `/v1/verification-texts${query({ locale })}`), api('GET', '/v1/settings')]);
      overrides = settings.verification.texts ?? {};
      replace(box, h('table', { class: 'data', id: 'texts-table' },
        h('thead', {}, h('tr', {}, ['Purpose', 'Channel', 'As sent (sample values)', 'Encoding', ''].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, texts.data.map((text) => {
          const edit = h('button', { type: 'button', class: 'secondary small' }, 'Edit');
          edit.addEventListener('click', () => open(text));
          return h('tr', { dataset: { key: `${text.channel}.${text.purpose}.${text.locale}` } },
            h('td', {}, label(text.purpose), text.overridden ? h('span', { class: 'badge' }, ' edited') : ''),
            h('td', {}, text.channel === 'voice' ? 'voice' : 'SMS'),
            h('td', {}, h('p', { class: 'message-body' }, text.preview)),
            h('td', { class: text.channel === 'sms' && text.segments > 1 ? 'warn' : '' }, text.channel === 'voice' ? `${text.characters} characters`
              : `${text.encoding} · ${text.segments} ${text.segments === 1 ? 'segment' : 'segments'}`),
            h('td', { class: 'row-actions' }, edit));
        }))));
    } catch (error) {
      replace(box, h('p', { class: 'error', role: 'alert' }, error.message));
    }
  }

  function open(text) {
    const key = `${text.channel}.${text.purpose}.${text.locale}`;
    const counter = h('p', { class: 'counter counter-below', id: 'text-count', 'aria-live': 'polite' });
    const preview = h('p', { class: 'message-body', id: 'text-preview' });
    const form = h('form', { class: 'stack', id: 'text-form', novalidate: true },
      field({ label: 'Text', name: 'text', type: 'textarea', rows: 5, id: 'text-input', value: text.text,
              hint: `Placeholders: ${text.channel === 'voice' ? '{code_spoken}' : '{code}'} (required), {brand}, {minutes}${text.purpose === 'payment' ? ', {amount}, {currency}, {payee} (required)' : ''}.` }),
      h('h3', {}, 'Preview'), preview, counter, formError(),
      h('div', { class: 'actions' },
        h('button', { type: 'submit', id: 'text-save' }, 'Save'),
        h('button', { type: 'button', class: 'secondary', id: 'text-reset', disabled: !text.overridden }, 'Back to the shipped text'),
        h('button', { type: 'button', class: 'secondary', id: 'text-close' }, 'Close')));
    const input = form.querySelector('#text-input');
    let timer = null;
    async function renderPreview() {
      clearErrors(form);
      try {
        const result = await api('POST', '/v1/verification-texts/preview', { text: input.value, channel: text.channel, purpose: text.purpose, locale: text.locale });
        if (input.value !== result.text && input.value.trim() !== result.text.trim()) return;
        preview.textContent = result.preview;
        counter.textContent = text.channel === 'voice' ? `${result.characters} characters, spoken`
          : `${result.characters} characters · ${result.encoding} · ${result.segments} ${result.segments === 1 ? 'segment' : 'segments'}`;
        counter.classList.toggle('multi', text.channel === 'sms' && result.segments > 1);
      } catch (error) {
        if (error instanceof APIError) showError(form, error);
      }
    }
    input.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(renderPreview, 250); });
    const saveTexts = async (next, done) => {
      try {
        await api('PATCH', '/v1/settings', { verification: { texts: next } });
        message.show(done, 'ok');
        editor.close();
        await load();
      } catch (error) {
        if (error.field?.startsWith('verification.texts')) error.field = 'text';
        showError(form, error);
      }
    };
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      busy(form.querySelector('#text-save'), 'Saving…', () => saveTexts({ ...overrides, [key]: input.value }, 'Text saved: new codes use it.'));
    });
    form.querySelector('#text-reset').addEventListener('click', () => {
      const next = { ...overrides };
      delete next[key];
      saveTexts(next, 'Back to the shipped text.');
    });
    form.querySelector('#text-close').addEventListener('click', () => editor.close());
    replace(editor, h('div', { class: 'dialog-head' }, h('h2', { id: 'text-dialog-title' }, `${label(text.purpose)} · ${text.channel === 'voice' ? 'voice' : 'SMS'} · ${text.locale}`)),
      h('div', { class: 'dialog-content' }, form));
    editor.showModal();
    input.focus();
    renderPreview();
  }

  localeSelect.querySelector('select').addEventListener('change', load);
  load();
  return h('section', { class: 'card', 'aria-labelledby': 'texts-title' },
    h('h2', { id: 'texts-title' }, 'Texts'),
    h('p', { class: 'hint' }, 'What each code message says, per purpose, channel and locale, shown with sample values. Edit one to override it.'),
    localeSelect, message, box);
}
