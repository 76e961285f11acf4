// Segments: a rule builder with a live count and sample, and the saved segments with their counts.
import { api } from '../lib/api.js';
import { busy, clearErrors, confirmAction, field, formError, h, notice, replace, showError, time } from '../lib/dom.js';

export const title = 'Segments';

const FIELDS = [
  ['country', 'Country'], ['tags', 'Tags'], ['first_name', 'First name'], ['last_name', 'Last name'], ['phone', 'Phone'],
  ['locale', 'Locale'], ['timezone', 'Time zone'], ['created_at', 'Added'], ['attribute', 'Attribute…'],
];
const TEXT_OPS = [['eq', 'is'], ['ne', 'is not'], ['in', 'is one of'], ['not_in', 'is none of'], ['contains', 'contains'],
  ['starts_with', 'starts with'], ['exists', 'is set'], ['not_exists', 'is not set']];
const OPS = {
  text: TEXT_OPS,
  created_at: [['within_days', 'within the last … days'], ['before', 'before'], ['after', 'after']],
  tags: [['has', 'has'], ['in', 'has any of'], ['not_in', 'has none of'], ['exists', 'has any tag'], ['not_exists', 'has no tag']],
  attribute: [...TEXT_OPS, ['gte', '≥'], ['gt', '>'], ['lte', '≤'], ['lt', '<']],
};

function opsFor(fieldName) {
  if (fieldName === 'created_at') return OPS.created_at;
  if (fieldName === 'tags') return OPS.tags;
  if (fieldName === 'attribute') return OPS.attribute;
  return OPS.text;
}

export function mount(container, { session }) {
  const canWrite = session.user.role !== 'viewer';
  let previewTimer = null;
  let previewSerial = 0;

  const conditions = h('ol', { class: 'conditions', id: 'segment-conditions' });
  const combine = field({ label: 'Contacts who match', name: 'combine', id: 'segment-combine', options: [['all', 'all of these'], ['any', 'any of these']] });
  const addButton = h('button', { type: 'button', class: 'secondary small', id: 'segment-add-condition' }, 'Add a condition');
  addButton.addEventListener('click', () => { addCondition(); schedulePreview(); });
  const count = h('p', { class: 'big-number', id: 'segment-count', role: 'status', 'aria-live': 'polite' }, '—');
  const sample = h('div', { id: 'segment-sample' });
  const ruleText = h('pre', { class: 'mono small', id: 'segment-rule-json' });
  const saveNotice = notice();
  const form = h('form', { id: 'segment-form', novalidate: true, 'aria-label': 'Build a segment' },
    combine, conditions, h('div', { class: 'actions' }, addButton),
    h('div', { class: 'row' },
      field({ label: 'Name', name: 'name', id: 'segment-name', placeholder: 'DACH VIPs', required: true }),
      h('div', { class: 'actions' }, canWrite ? h('button', { type: 'submit', id: 'segment-save' }, 'Save segment') : null)),
    formError(), saveNotice);
  form.querySelector('#segment-combine').addEventListener('change', schedulePreview);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    await busy(form.querySelector('#segment-save'), 'Saving…', async () => {
      try {
        const saved = await api('POST', '/v1/segments', { name: form.querySelector('#segment-name').value.trim(), rule: rule() });
        saveNotice.show(`Saved “${saved.name}”: ${saved.count.toLocaleString()} contact${saved.count === 1 ? '' : 's'}.`);
        await loadSaved();
      } catch (error) { showRuleError(error); }
    });
  });

  const saved = h('div', { id: 'segments-list' });
  replace(container,
    h('section', { class: 'card', 'aria-labelledby': 'builder-title' },
      h('h2', { id: 'builder-title' }, 'Build a segment'), form),
    h('section', { class: 'card', 'aria-labelledby': 'preview-title' },
      h('div', { class: 'card-head' }, h('h2', { id: 'preview-title' }, 'Matching contacts')),
      count, sample, h('details', {}, h('summary', {}, 'The rule as the API takes it'), ruleText)),
    h('section', { class: 'card', 'aria-labelledby': 'saved-title' }, h('h2', { id: 'saved-title' }, 'Saved segments'), saved));

  function addCondition(initial = { field: 'country', op: 'in', value: '' }) {
    const index = conditions.children.length;
    const fieldSelect = h('select', { 'aria-label': `Condition ${index + 1}: field`, class: 'condition-field' },
      FIELDS.map(([value, label]) => h('option', { value }, label)));
    const key = h('input', { type: 'text', 'aria-label': `Condition ${index + 1}: attribute name`, class: 'condition-key', placeholder: 'plan', hidden: true });
    const opSelect = h('select', { 'aria-label': `Condition ${index + 1}: operator`, class: 'condition-op' });
    const value = h('input', { type: 'text', 'aria-label': `Condition ${index + 1}: value`, class: 'condition-value', placeholder: 'DE, AT' });
    const remove = h('button', { type: 'button', class: 'secondary small', 'aria-label': `Remove condition ${index + 1}` }, 'Remove');
    const row = h('li', { class: 'condition' }, fieldSelect, key, opSelect, value, remove);
    const fillOps = () => {
      const chosen = opSelect.value;
      replace(opSelect, opsFor(fieldSelect.value).map(([op, label]) => h('option', { value: op }, label)));
      if ([...opSelect.options].some((o) => o.value === chosen)) opSelect.value = chosen;
      key.hidden = fieldSelect.value !== 'attribute';
      value.hidden = ['exists', 'not_exists'].includes(opSelect.value);
    };
    fieldSelect.value = initial.field;
    fillOps();
    opSelect.value = initial.op;
    value.value = initial.value;
    fieldSelect.addEventListener('change', () => { fillOps(); schedulePreview(); });
    opSelect.addEventListener('change', () => { value.hidden = ['exists', 'not_exists'].includes(opSelect.value); schedulePreview(); });
    for (const input of [key, value]) input.addEventListener('input', schedulePreview);
    remove.addEventListener('click', () => { row.remove(); schedulePreview(); });
    conditions.append(row);
  }

  /** One condition's JSON; values typed as lists, numbers or days where the operator wants them. */
  function condition(row) {
    const fieldName = row.querySelector('.condition-field').value;
    const op = row.querySelector('.condition-op').value;
    const raw = row.querySelector('.condition-value').value.trim();
    const name = fieldName === 'attribute' ? `attributes.${row.querySelector('.condition-key').value.trim()}` : fieldName;
    const result = { field: name, op };
    if (['exists', 'not_exists'].includes(op)) return result;
    if (['in', 'not_in'].includes(op)) result.value = raw.split(',').map((v) => v.trim()).filter(Boolean);
    else if (op === 'within_days' || (fieldName === 'attribute' && ['gt', 'gte', 'lt', 'lte'].includes(op))) result.value = Number(raw);
    else if (['before', 'after'].includes(op)) result.value = raw && !Number.isNaN(Date.parse(raw)) ? new Date(raw).toISOString() : raw;
    else result.value = raw;
    return result;
  }

  function rule() {
    const rows = [...conditions.children].map(condition);
    return { [form.querySelector('#segment-combine').value]: rows };
  }

  function schedulePreview() {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(preview, 250);
  }

  function showRuleError(error) {
    const match = /^rule\.(?:all|any)\[(\d+)\]/.exec(error.field ?? '');
    const box = form.querySelector('.form-error');
    box.textContent = match ? `Condition ${Number(match[1]) + 1}: ${error.message}` : error.described ?? error.message;
    box.hidden = false;
    if (match) conditions.children[Number(match[1])]?.querySelector('select, input')?.focus();
  }

  async function preview() {
    const serial = ++previewSerial;
    const current = rule();
    ruleText.textContent = JSON.stringify(current, null, 2);
    clearErrors(form);
    if (!conditions.children.length) { count.textContent = '—'; replace(sample); return; }
    try {
      const result = await api('POST', '/v1/segments/preview', { rule: current });
      if (serial !== previewSerial) return;
      count.textContent = `${result.count.toLocaleString()} contact${result.count === 1 ? '' : 's'} · ${result.subscribed.toLocaleString()} subscribed`;
      replace(sample, result.sample.length
        ? h('ul', { class: 'sample', id: 'segment-sample-list' }, result.sample.map((c) =>
          h('li', {}, [c.first_name, c.last_name].filter(Boolean).join(' ') || '—', ' ', h('span', { class: 'mono muted' }, c.phone))))
        : h('p', { class: 'muted' }, 'Nobody matches yet.'));
    } catch (error) {
      if (serial !== previewSerial) return;
      count.textContent = '—';
      replace(sample);
      showRuleError(error);
    }
  }

  async function loadSaved() {
    try {
      const segments = (await api('GET', '/v1/segments?limit=100')).data;
      if (!segments.length) { replace(saved, h('p', { class: 'muted' }, 'No segments saved yet.')); return; }
      replace(saved, h('table', { class: 'data', id: 'segments-table' },
        h('thead', {}, h('tr', {}, ['Name', 'Contacts', 'Subscribed', 'Updated', ''].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, segments.map((segment) => {
          const members = h('a', { href: '#/contacts' }, segment.name);
          const remove = canWrite ? h('button', { type: 'button', class: 'secondary small' }, 'Delete') : null;
          remove?.addEventListener('click', async () => {
            if (!await confirmAction({ title: `Delete “${segment.name}”?`, text: 'Its contacts stay; only the saved rule goes.' })) return;
            try { await api('DELETE', `/v1/segments/${segment.id}`); await loadSaved(); } catch (error) { saveNotice.show(error.message, 'error'); }
          });
          return h('tr', { dataset: { id: segment.id } }, h('td', {}, members),
            h('td', { class: 'num' }, segment.count.toLocaleString()), h('td', { class: 'num' }, segment.subscribed.toLocaleString()),
            h('td', {}, time(segment.updated_at)), h('td', {}, remove));
        }))));
    } catch (error) {
      replace(saved, h('p', { class: 'error', role: 'alert' }, error.message));
    }
  }

  addCondition();
  schedulePreview();
  loadSaved();
  return () => clearTimeout(previewTimer);
}
