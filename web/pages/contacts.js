// Contacts: search and browse, one contact's details (attributes, tags, consent ledger,
// messages), subscribe / unsubscribe / delete, add one, and import a CSV with a live progress bar.
import { readParams, writeParams } from '../lib/address.js';
import { api, query, upload } from '../lib/api.js';
import { busy, chip, clearErrors, confirmAction, field, formError, h, loading, notice, replace, showError, time } from '../lib/dom.js';

export const title = 'Contacts';
const PAGE_SIZE = 50;

export function mount(container, { session }) {
  const canWrite = session.user.role !== 'viewer';
  const view = { rows: [], nextCursor: null, search: '', tag: '', segment: '', selected: null };

  // MARK: Import

  const importNotice = notice();
  const progress = h('progress', { id: 'import-progress', max: 100, value: 0, hidden: true, 'aria-label': 'Import progress' });
  const progressText = h('span', { class: 'hint', id: 'import-progress-text', role: 'status' });
  const importResult = h('div', { id: 'import-result' });
  const importForm = h('form', { id: 'import-form', novalidate: true, 'aria-label': 'Import contacts from a CSV file' },
    field({ label: 'CSV file', name: 'file', type: 'file', id: 'import-file', required: true,
            hint: 'A header row with a phone column; first_name, last_name, locale, timezone, country and tags (;-separated) are known, every other column becomes an attribute.' }),
    h('div', { class: 'row' },
      field({ label: 'Country for national numbers', name: 'country', id: 'import-country', placeholder: 'US' }),
      field({ label: 'Tags for every contact', name: 'tags', id: 'import-tags', placeholder: 'fair-2026, newsletter' })),
    h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'import-button' }, 'Import'), progress, progressText),
    formError(), importNotice);
  importForm.querySelector('#import-file').setAttribute('accept', '.csv,text/csv');
  importForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(importForm);
    const file = importForm.querySelector('#import-file').files[0];
    if (!file) { showError(importForm, { field: 'file', message: 'Choose a CSV file.' }); return; }
    const button = importForm.querySelector('#import-button');
    await busy(button, 'Importing…', async () => {
      progress.hidden = false;
      progress.value = 0;
      progressText.textContent = 'Uploading 0 %';
      replace(importResult);
      try {
        const path = `/v1/imports${query({
          country: importForm.querySelector('#import-country').value.trim(),
          tags: importForm.querySelector('#import-tags').value.split(',').map((t) => t.trim()).filter(Boolean).join(','),
        })}`;
        const result = await upload(path, file, 'text/csv', (fraction) => {
          progress.value = Math.round(fraction * 100);
          progressText.textContent = fraction < 1 ? `Uploading ${Math.round(fraction * 100)} %` : 'Checking and merging rows…';
        });
        progress.value = 100;
        progressText.textContent = 'Done';
        showImport(result);
        await refresh();
      } catch (error) {
        progress.hidden = true;
        progressText.textContent = '';
        showError(importForm, error.field === 'header' ? { field: 'file', described: error.message } : error);
      }
    });
  });

  function showImport(result) {
    importNotice.show(`${result.total_rows.toLocaleString()} rows: ${result.imported.toLocaleString()} new, `
      + `${result.updated.toLocaleString()} updated, ${result.unchanged.toLocaleString()} unchanged, `
      + `${result.rejected.toLocaleString()} rejected.`, result.rejected ? 'warn' : 'ok', { sticky: true });
    if (!result.errors.length) { replace(importResult); return; }
    replace(importResult,
      h('h3', {}, `Rejected rows${result.rejected > result.errors.length ? ` (the first ${result.errors.length} of ${result.rejected})` : ''}`),
      h('table', { id: 'import-errors', class: 'data' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Line'), h('th', { scope: 'col' }, 'Column'), h('th', { scope: 'col' }, 'Why'))),
        h('tbody', {}, result.errors.map((e) => h('tr', { dataset: { line: e.line } },
          h('td', { class: 'mono' }, String(e.line)), h('td', {}, e.field ?? '—'), h('td', {}, e.message))))));
  }

  // MARK: Add one

  const addNotice = notice();
  const addForm = h('form', { id: 'contact-form', novalidate: true, 'aria-label': 'Add a contact' },
    h('div', { class: 'row' },
      field({ label: 'Phone', name: 'phone', id: 'contact-phone', required: true, placeholder: '+4915112345678', inputmode: 'tel' }),
      field({ label: 'First name', name: 'first_name', id: 'contact-first' }),
      field({ label: 'Last name', name: 'last_name', id: 'contact-last' })),
    h('div', { class: 'row' },
      field({ label: 'Tags', name: 'tags', id: 'contact-tags', placeholder: 'vip, newsletter' }),
      field({ label: 'Time zone', name: 'timezone', id: 'contact-timezone', placeholder: 'Europe/Berlin' })),
    h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'contact-add' }, 'Save contact')),
    formError(), addNotice);
  addForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(addForm);
    const value = (id) => addForm.querySelector(id).value.trim();
    const body = { phone: value('#contact-phone') };
    if (value('#contact-first')) body.first_name = value('#contact-first');
    if (value('#contact-last')) body.last_name = value('#contact-last');
    if (value('#contact-timezone')) body.timezone = value('#contact-timezone');
    const tags = value('#contact-tags').split(',').map((t) => t.trim()).filter(Boolean);
    if (tags.length) body.tags = tags;
    await busy(addForm.querySelector('#contact-add'), 'Saving…', async () => {
      try {
        const contact = await api('POST', '/v1/contacts', body);
        addForm.reset();
        addNotice.show(`Saved ${contact.phone}.`);
        await refresh();
        select(contact.id);
      } catch (error) {
        showError(addForm, error);
      }
    });
  });

  // MARK: List

  const filterForm = h('form', { class: 'filters', id: 'contacts-filters', role: 'search', 'aria-label': 'Search contacts', novalidate: true },
    field({ label: 'Search', name: 'search', type: 'search', id: 'contacts-search', placeholder: 'Name or part of the number' }),
    field({ label: 'Tag', name: 'tag', id: 'contacts-tag' }),
    field({ label: 'Segment', name: 'segment_id', id: 'contacts-segment', options: [['', 'Any']] }),
    h('div', { class: 'filter-actions' },
      h('button', { type: 'submit', class: 'small' }, 'Search'),
      h('button', { type: 'reset', class: 'secondary small' }, 'Clear')),
    formError());
  // Filters from the address: a reload or a shared link shows the same contacts.
  const linked = readParams();
  view.search = linked.get('search') ?? '';
  view.tag = linked.get('tag') ?? '';
  view.segment = linked.get('segment_id') ?? '';
  filterForm.querySelector('#contacts-search').value = view.search;
  filterForm.querySelector('#contacts-tag').value = view.tag;
  filterForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(filterForm);
    view.search = filterForm.querySelector('#contacts-search').value.trim();
    view.tag = filterForm.querySelector('#contacts-tag').value.trim();
    view.segment = filterForm.querySelector('#contacts-segment').value;
    writeParams({ search: view.search, tag: view.tag, segment_id: view.segment });
    await refresh();
  });
  filterForm.addEventListener('reset', () => setTimeout(() => filterForm.requestSubmit()));

  const listError = h('p', { class: 'error', role: 'alert', hidden: true });
  const list = h('div', { id: 'contacts-list' }, loading());
  const moreButton = h('button', { type: 'button', class: 'secondary', id: 'contacts-more', hidden: true }, 'Load more');
  moreButton.addEventListener('click', () => busy(moreButton, 'Loading…', () => load(true)));
  const detail = h('section', { class: 'card', id: 'contact-detail', hidden: true, 'aria-labelledby': 'contact-detail-title' });

  replace(container,
    h('section', { class: 'card', 'aria-labelledby': 'contacts-title' },
      h('div', { class: 'card-head' }, h('h2', { id: 'contacts-title' }, 'Contacts')),
      filterForm, listError, list, h('div', { class: 'actions center' }, moreButton)),
    detail,
    canWrite ? h('section', { class: 'card', 'aria-labelledby': 'add-title' }, h('h2', { id: 'add-title' }, 'Add a contact'), addForm) : null,
    canWrite ? h('section', { class: 'card', 'aria-labelledby': 'import-title' },
      h('h2', { id: 'import-title' }, 'Import a CSV file'), importForm, importResult) : null);

  async function loadSegments() {
    try {
      const segments = (await api('GET', '/v1/segments?limit=500')).data;
      const select = filterForm.querySelector('#contacts-segment');
      replace(select, h('option', { value: '' }, 'Any'), segments.map((s) => h('option', { value: s.id }, `${s.name} (${s.count.toLocaleString()})`)));
      select.value = view.segment;
    } catch { /* a viewer without campaigns scope: no segment filter */ }
  }

  async function load(more) {
    try {
      const page = await api('GET', `/v1/contacts${query({
        limit: PAGE_SIZE, cursor: more ? view.nextCursor : null, search: view.search, tag: view.tag, segment_id: view.segment,
      })}`);
      listError.hidden = true;
      view.rows = more ? view.rows.concat(page.data) : page.data;
      view.nextCursor = page.next_cursor ?? null;
      render();
    } catch (error) {
      if (error.field) showError(filterForm, error);
      else { listError.textContent = error.message; listError.hidden = false; }
      if (!view.rows.length) replace(list);
    }
  }

  async function refresh() { await load(false); }

  function name(contact) {
    return [contact.first_name, contact.last_name].filter(Boolean).join(' ') || '—';
  }

  function render() {
    moreButton.hidden = !view.nextCursor;
    if (!view.rows.length) {
      replace(list, view.search || view.tag || view.segment
        ? h('div', { class: 'empty' }, h('p', { class: 'empty-title' }, 'No contact matches.'))
        : h('div', { class: 'empty' }, h('p', { class: 'empty-title' }, 'No contacts yet.'),
          h('p', {}, 'Add one below, import a CSV file, or create them through the API.')));
      return;
    }
    replace(list, h('table', { class: 'data', id: 'contacts-table' },
      h('thead', {}, h('tr', {},
        ['Name', 'Phone', 'Country', 'Tags', 'Subscribed', 'Added'].map((label) => h('th', { scope: 'col' }, label)))),
      h('tbody', {}, view.rows.map((contact) => {
        const open = h('button', { type: 'button', class: 'link', dataset: { open: contact.id } }, name(contact));
        open.addEventListener('click', () => select(contact.id));
        return h('tr', { dataset: { id: contact.id, subscribed: String(contact.subscribed) } },
          h('td', {}, open), h('td', { class: 'mono' }, contact.phone), h('td', {}, contact.country ?? '—'),
          h('td', {}, contact.tags.map((tag) => h('span', { class: 'tag' }, tag))),
          h('td', {}, chip(contact.subscribed ? 'subscribed' : 'unsubscribed')), h('td', {}, time(contact.created_at)));
      }))));
  }

  // MARK: Detail

  async function select(id) {
    view.selected = id;
    detail.hidden = false;
    replace(detail, loading());
    try {
      const [contact, ledger, messages] = await Promise.all([
        api('GET', `/v1/contacts/${id}`),
        api('GET', `/v1/contacts/${id}/consent`),
        api('GET', `/v1/contacts/${id}/messages?limit=20`).catch(() => ({ data: [] })),
      ]);
      showDetail(contact, ledger.data, messages.data);
    } catch (error) {
      replace(detail, h('p', { class: 'error', role: 'alert' }, error.message));
    }
  }

  function showDetail(contact, ledger, messages) {
    const actions = h('div', { class: 'actions' });
    const detailNotice = notice();
    if (canWrite) {
      const toggle = h('button', { type: 'button', class: 'secondary', id: 'contact-toggle' },
        contact.subscribed ? 'Unsubscribe' : 'Subscribe again');
      toggle.addEventListener('click', () => busy(toggle, 'Saving…', async () => {
        try {
          await api('POST', `/v1/contacts/${contact.id}/${contact.subscribed ? 'unsubscribe' : 'subscribe'}`, {});
          await refresh();
          await select(contact.id);
        } catch (error) { detailNotice.show(error.message, 'error'); }
      }));
      const remove = h('button', { type: 'button', class: 'danger', id: 'contact-delete' }, 'Delete');
      remove.addEventListener('click', async () => {
        const ok = await confirmAction({ title: 'Delete this contact?',
          text: contact.subscribed ? 'Their personal data is removed.' : 'Their personal data is removed; their opt-out is kept so they are never messaged again.' });
        if (!ok) return;
        try {
          await api('DELETE', `/v1/contacts/${contact.id}`);
          detail.hidden = true;
          await refresh();
        } catch (error) { detailNotice.show(error.message, 'error'); }
      });
      actions.append(toggle, remove);
    }
    const attributes = Object.entries(contact.attributes);
    replace(detail,
      h('div', { class: 'card-head' }, h('h2', { id: 'contact-detail-title' }, name(contact)), chip(contact.subscribed ? 'subscribed' : 'unsubscribed')),
      h('dl', { class: 'facts' },
        h('dt', {}, 'Phone'), h('dd', { class: 'mono' }, contact.phone),
        h('dt', {}, 'Country'), h('dd', {}, contact.country ?? '—'),
        h('dt', {}, 'Locale'), h('dd', {}, contact.locale ?? '—'),
        h('dt', {}, 'Time zone'), h('dd', {}, contact.timezone ?? '—'),
        h('dt', {}, 'Tags'), h('dd', {}, contact.tags.length ? contact.tags.map((tag) => h('span', { class: 'tag' }, tag)) : '—'),
        h('dt', {}, 'Added'), h('dd', {}, time(contact.created_at, { long: true }))),
      h('h3', {}, 'Attributes'),
      attributes.length
        ? h('dl', { class: 'facts', id: 'contact-attributes' }, attributes.flatMap(([key, value]) => [
          h('dt', { class: 'mono' }, key), h('dd', {}, typeof value === 'string' ? value : JSON.stringify(value))]))
        : h('p', { class: 'muted' }, 'None.'),
      h('h3', {}, 'Consent ledger'),
      h('ol', { class: 'ledger', id: 'contact-ledger' }, ledger.map((entry) => h('li', { dataset: { action: entry.action } },
        chip(entry.action), ' ', h('strong', {}, entry.source), ' · ', time(entry.occurred_at, { long: true }),
        entry.text ? h('p', { class: 'quote' }, entry.text) : null,
        h('p', { class: 'hint' }, [entry.actor ? `by ${entry.actor}` : null, entry.ip ? `from ${entry.ip}` : null,
          entry.consented_at ? `agreed ${new Date(entry.consented_at).toLocaleString()}` : null].filter(Boolean).join(' · '))))),
      h('h3', {}, 'Messages'),
      messages.length
        ? h('ol', { class: 'outbox', id: 'contact-messages' }, messages.map((m) => h('li', {},
          h('p', { class: 'message-body' }, m.body), h('p', { class: 'meta' }, chip(m.status), ' · ', time(m.created_at)))))
        : h('p', { class: 'muted', id: 'contact-messages' }, 'No messages yet.'),
      actions, detailNotice);
    detail.scrollIntoView({ block: 'nearest' });
  }

  loadSegments();
  refresh();
  return () => {};
}
