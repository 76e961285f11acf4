// Audit log: every change made through the API — who, when, what, and the object before and
// after (secrets never reach it). Filters live in the address; the list pages on the server.
import { api, query } from '../lib/api.js';
import { readParams, writeParams } from '../lib/address.js';
import { emptyState, field, h, loading, replace, time } from '../lib/dom.js';
import { pager } from '../lib/pager.js';

export const title = 'Audit log';

const FAMILIES = [
  ['', 'Any action'], ['campaign', 'Campaigns'], ['template', 'Templates'], ['segment', 'Segments'], ['contact', 'Contacts'],
  ['import', 'Imports'], ['provider', 'Providers'], ['settings', 'Settings'], ['user', 'Users'], ['api_key', 'API keys'],
  ['verification', 'Verifications'], ['verification_block', 'Blocked prefixes'],
];

/** A value as one line of text. */
function show(value) {
  if (value === undefined) return '—';
  if (value === null) return 'null';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The keys whose values differ (all of them for a creation or a deletion), except timestamps. */
function changedKeys(before, after) {
  const keys = new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})]);
  return [...keys].filter((key) => key !== 'updated_at' && show(before?.[key]) !== show(after?.[key])).sort();
}

export function mount(container) {
  const params = readParams();
  const filters = {
    actor: params.get('actor') ?? '', action: params.get('action') ?? '', target_type: params.get('target_type') ?? '',
    target_id: params.get('target_id') ?? '', after: params.get('after') ?? '',
  };

  const form = h('form', { class: 'filters', id: 'audit-filters', role: 'search', 'aria-label': 'Filter the audit log', novalidate: true },
    field({ label: 'Who', name: 'actor', id: 'audit-actor', value: filters.actor, placeholder: 'e-mail, key name or id' }),
    field({ label: 'What', name: 'action', id: 'audit-action', value: filters.action, options: FAMILIES.concat(
      filters.action && !FAMILIES.some(([value]) => value === filters.action) ? [[filters.action, filters.action]] : []) }),
    field({ label: 'Since', name: 'after', id: 'audit-after', type: 'datetime-local',
            value: filters.after ? toLocalInput(filters.after) : '' }),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', id: 'audit-apply' }, 'Filter'),
      h('button', { type: 'button', class: 'secondary', id: 'audit-clear' }, 'Clear')),
    h('p', { class: 'form-error error', role: 'alert', hidden: true }));
  const targetNote = h('p', { class: 'hint', id: 'audit-target-note', hidden: !filters.target_id });
  const dialog = h('dialog', { id: 'audit-detail', 'aria-labelledby': 'audit-detail-title' });

  const list = pager({
    id: 'audit-list',
    load: (cursor) => api('GET', `/v1/audit${query({ limit: 50, cursor, ...filters })}`),
    render: (entries) => (entries.length
      ? h('table', { class: 'data', id: 'audit-table' },
        h('caption', { class: 'visually-hidden' }, 'Changes, newest first'),
        h('thead', {}, h('tr', {}, ['When', 'Who', 'Action', 'What', 'Changed'].map((label) => h('th', { scope: 'col' }, label)))),
        h('tbody', {}, entries.map(row)))
      : emptyState('No changes match.', 'Every change made in the dashboard or through the API shows here.')),
  });

  replace(container,
    h('section', { class: 'card', 'aria-labelledby': 'audit-title' },
      h('h2', { id: 'audit-title' }, 'Who changed what'),
      h('p', { class: 'hint' }, 'Each entry keeps the object as it was before and after the change. Secrets (passwords, keys, provider credentials) are never recorded.'),
      form, targetNote, list.element),
    dialog);

  function toLocalInput(iso) {
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return '';
    const local = new Date(date.getTime() - date.getTimezoneOffset() * 60000);
    return local.toISOString().slice(0, 16);
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    filters.actor = form.querySelector('#audit-actor').value.trim();
    filters.action = form.querySelector('#audit-action').value;
    const after = form.querySelector('#audit-after').value;
    filters.after = after ? new Date(after).toISOString() : '';
    writeParams(filters);
    refresh();
  });
  form.querySelector('#audit-clear').addEventListener('click', () => {
    for (const key of Object.keys(filters)) filters[key] = '';
    form.reset();
    form.querySelector('#audit-actor').value = '';
    form.querySelector('#audit-action').value = '';
    form.querySelector('#audit-after').value = '';
    targetNote.hidden = true;
    writeParams(filters);
    refresh();
  });
  if (filters.target_id) {
    replace(targetNote, `Showing the history of one ${filters.target_type || 'object'}. `,
      h('a', { href: '#/audit', id: 'audit-all' }, 'Show every change'));
  }

  function row(entry) {
    const keys = changedKeys(entry.before, entry.after);
    const target = entry.target.label ?? entry.target.id ?? '';
    const tr = h('tr', { class: 'clickable', tabindex: '0', dataset: { id: entry.id, action: entry.action } },
      h('td', {}, time(entry.created_at)),
      h('td', {}, entry.actor.label, entry.actor.type === 'api_key' ? h('span', { class: 'muted' }, ' (API key)') : null),
      h('td', { class: 'mono' }, entry.action),
      h('td', {}, h('span', { class: 'muted' }, `${entry.target.type} `), target),
      h('td', { class: 'muted' }, keys.length ? keys.slice(0, 4).join(', ') + (keys.length > 4 ? ` +${keys.length - 4}` : '') : '—'));
    const open = () => detail(entry);
    tr.addEventListener('click', open);
    tr.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' || event.key === ' ') { event.preventDefault(); open(); }
    });
    return tr;
  }

  function detail(entry) {
    const keys = changedKeys(entry.before, entry.after);
    const close = h('button', { type: 'button', class: 'secondary small', id: 'audit-detail-close' }, 'Close');
    close.addEventListener('click', () => dialog.close());
    replace(dialog, h('div', { class: 'dialog-body' },
      h('div', { class: 'card-head' }, h('h2', { id: 'audit-detail-title' }, entry.action), close),
      h('dl', { class: 'details' },
        h('dt', {}, 'When'), h('dd', {}, time(entry.created_at, { long: true })),
        h('dt', {}, 'Who'), h('dd', {}, `${entry.actor.label} (${entry.actor.type === 'api_key' ? 'API key' : 'user'})`),
        h('dt', {}, 'From'), h('dd', { class: 'mono' }, entry.ip ?? '—'),
        h('dt', {}, 'What'), h('dd', {}, `${entry.target.type} `, entry.target.label ?? '', entry.target.id
          ? [' ', h('a', { href: `#/audit?target_type=${encodeURIComponent(entry.target.type)}&target_id=${encodeURIComponent(entry.target.id)}`,
            class: 'history-link' }, 'its history')]
          : null)),
      keys.length
        ? h('div', { class: 'diff', id: 'audit-diff' },
          h('span', { class: 'head' }, 'Field'), h('span', { class: 'head' }, 'Before'), h('span', { class: 'head' }, 'After'),
          keys.map((key) => [
            h('span', { class: 'mono' }, key),
            h('span', { class: entry.before ? 'was' : 'muted' }, entry.before ? show(entry.before[key]) : '—'),
            h('span', { class: entry.after ? 'now' : 'muted' }, entry.after ? show(entry.after[key]) : '—'),
          ]))
        : h('p', { class: 'muted' }, 'No recorded fields (the action itself is the change).')));
    dialog.querySelector('.history-link')?.addEventListener('click', () => dialog.close());
    dialog.showModal();
    close.focus();
  }

  function refresh() {
    replace(list.element.firstChild, loading());
    list.reload().catch((error) => replace(list.element.firstChild, h('p', { class: 'error', role: 'alert' }, error.message)));
  }

  refresh();
  return () => { if (dialog.open) dialog.close(); };
}
