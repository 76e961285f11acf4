// Templates: the saved templates, and an editor with a live preview for a sample contact —
// encoding and SMS parts as you type, the characters that force UCS-2 highlighted with the
// smart-character fix offered, translations by locale, and the opt-out footer of marketing texts.
import { api, query } from '../lib/api.js';
import { busy, clearErrors, confirmAction, field, formError, h, notice, replace, showError, time } from '../lib/dom.js';

export const title = 'Templates';

export function mount(container, { session }) {
  const canWrite = session.user.role !== 'viewer';
  let editing = null;  // the saved template being edited, or null for a new one
  let previewTimer = null;
  let serial = 0;
  let lastPreview = null;

  const translations = h('div', { id: 'template-translations' });
  const addTranslation = h('button', { type: 'button', class: 'secondary small', id: 'template-add-translation' }, 'Add a translation');
  addTranslation.addEventListener('click', () => { addTranslationRow(); schedulePreview(); });
  const saveNotice = notice();
  const form = h('form', { id: 'template-form', novalidate: true, 'aria-label': 'Template editor' },
    h('div', { class: 'row' },
      field({ label: 'Name', name: 'name', id: 'template-name', required: true, placeholder: 'winter_sale', hint: 'Lower-case letters, digits, _ . -' }),
      field({ label: 'Kind', name: 'kind', id: 'template-kind', options: [['marketing', 'Marketing (opt-out footer, quiet hours)'], ['transactional', 'Transactional']] }),
      field({ label: 'Channel', name: 'channel', id: 'template-channel', options: [['sms', 'SMS'], ['voice', 'Voice call']] })),
    field({ label: 'Text', name: 'body', id: 'template-body', type: 'textarea', rows: 4, required: true,
      hint: 'Mustache: {{first_name}}, {{attributes.plan}} or {{plan}}, {{#vip}}…{{/vip}}.' }),
    translations, h('div', { class: 'actions' }, addTranslation),
    formError(),
    h('div', { class: 'actions' },
      canWrite ? h('button', { type: 'submit', id: 'template-save' }, 'Save template') : null,
      h('button', { type: 'button', class: 'secondary', id: 'template-new' }, 'New template')),
    saveNotice);

  const sampleSearch = h('input', { type: 'search', id: 'template-sample-search', placeholder: 'Search contacts', 'aria-label': 'Search a sample contact' });
  const sampleSelect = h('select', { id: 'template-sample', 'aria-label': 'Sample contact' }, h('option', { value: '' }, 'No contact (variables blank)'));
  const localeSelect = h('select', { id: 'template-preview-locale', 'aria-label': 'Preview language' });
  const previewText = h('p', { class: 'preview-text', id: 'template-preview-text', 'aria-live': 'polite' });
  const meter = h('p', { id: 'template-meter', role: 'status' });
  const fix = h('div', { id: 'template-fix', hidden: true });
  const previewError = h('p', { class: 'error', id: 'template-preview-error', role: 'alert', hidden: true });
  const list = h('div', { id: 'templates-list' });

  replace(container,
    h('section', { class: 'card', 'aria-labelledby': 'editor-title' }, h('h2', { id: 'editor-title' }, 'New template'), form),
    h('section', { class: 'card', 'aria-labelledby': 'preview-title' },
      h('h2', { id: 'preview-title' }, 'Preview'),
      h('div', { class: 'row' }, sampleSearch, sampleSelect, localeSelect),
      previewText, meter, fix, previewError),
    h('section', { class: 'card', 'aria-labelledby': 'templates-title' }, h('h2', { id: 'templates-title' }, 'Templates'), list));

  const $ = (id) => container.querySelector(`#${id}`);
  for (const id of ['template-body', 'template-kind']) $(id).addEventListener('input', schedulePreview);
  $('template-kind').addEventListener('change', schedulePreview);
  sampleSelect.addEventListener('change', schedulePreview);
  localeSelect.addEventListener('change', schedulePreview);
  let searchTimer = null;
  sampleSearch.addEventListener('input', () => { clearTimeout(searchTimer); searchTimer = setTimeout(loadSamples, 250); });
  $('template-new').addEventListener('click', () => edit(null));

  function addTranslationRow(locale = '', text = '') {
    const index = translations.children.length;
    const localeInput = h('input', { type: 'text', class: 'translation-locale', value: locale, placeholder: 'de', 'aria-label': `Translation ${index + 1}: language` });
    const textInput = h('textarea', { class: 'translation-text', rows: 2, value: text, 'aria-label': `Translation ${index + 1}: text` });
    const remove = h('button', { type: 'button', class: 'secondary small', 'aria-label': `Remove translation ${index + 1}` }, 'Remove');
    const row = h('div', { class: 'translation row' }, localeInput, textInput, remove);
    remove.addEventListener('click', () => { row.remove(); schedulePreview(); });
    for (const input of [localeInput, textInput]) input.addEventListener('input', schedulePreview);
    translations.append(row);
  }

  function currentTranslations() {
    const result = {};
    for (const row of translations.children) {
      const locale = row.querySelector('.translation-locale').value.trim();
      if (locale) result[locale] = row.querySelector('.translation-text').value;
    }
    return result;
  }

  function syncLocales() {
    const chosen = localeSelect.value;
    replace(localeSelect, h('option', { value: '' }, 'Contact’s language'), h('option', { value: 'default' }, 'Default text'),
      Object.keys(currentTranslations()).map((locale) => h('option', { value: locale }, locale)));
    if ([...localeSelect.options].some((o) => o.value === chosen)) localeSelect.value = chosen;
  }

  function schedulePreview() {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(preview, 200);
  }

  /** The text with each character that forces UCS-2 marked. */
  function highlighted(text, nonGSM) {
    const marked = new Set(nonGSM);
    const nodes = [];
    let run = '';
    for (const character of Array.from(text)) {
      if (marked.has(character)) {
        if (run) nodes.push(run);
        run = '';
        nodes.push(h('mark', { class: 'non-gsm', title: 'Not in GSM-7: the whole message is sent as UCS-2' }, character));
      } else run += character;
    }
    if (run) nodes.push(run);
    return nodes;
  }

  async function preview() {
    const mine = ++serial;
    syncLocales();
    const body = $('template-body').value;
    previewError.hidden = true;
    if (!body.trim()) { replace(previewText); meter.textContent = ''; fix.hidden = true; return; }
    const request = { body, translations: currentTranslations(), kind: $('template-kind').value };
    if (sampleSelect.value) request.contact_id = sampleSelect.value;
    if (localeSelect.value && localeSelect.value !== 'default') request.locale = localeSelect.value;
    if (localeSelect.value === 'default') request.locale = 'zz';
    try {
      const result = await previewFilling(request);
      if (mine !== serial) return;
      lastPreview = result;
      replace(previewText, ...highlighted(result.text, result.non_gsm_characters));
      meter.textContent = `${result.encoding} · ${result.characters} character${result.characters === 1 ? '' : 's'} · ` +
        `${result.segments} SMS part${result.segments === 1 ? '' : 's'}${result.footer_added ? ' (with the opt-out footer)' : ''}`;
      if (result.non_gsm_characters.length && result.smart_encoding === 'GSM-7') {
        const apply = h('button', { type: 'button', class: 'secondary small', id: 'template-apply-smart' }, 'Use plain characters');
        apply.addEventListener('click', () => applySmart());
        replace(fix, h('p', {}, `${result.non_gsm_characters.join(' ')} force UCS-2 (70 characters a part). With plain characters it is GSM-7: `,
          `${result.smart_segments} part${result.smart_segments === 1 ? '' : 's'}.`), apply);
        fix.hidden = false;
      } else if (result.non_gsm_characters.length) {
        replace(fix, h('p', {}, `${result.non_gsm_characters.join(' ')} force UCS-2 (70 characters a part).`));
        fix.hidden = false;
      } else fix.hidden = true;
    } catch (error) {
      if (mine !== serial) return;
      previewError.textContent = error.field ? `${error.field}: ${error.message}` : error.message;
      previewError.hidden = false;
    }
  }

  /**
   * The preview; without a sample contact each variable the text needs is shown as `[name]`
   * (with one, a value it lacks is an error: a campaign would skip that contact).
   */
  async function previewFilling(request) {
    const variables = {};
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await api('POST', '/v1/templates/preview', { ...request, variables });
      } catch (error) {
        const name = error.code === 'missing_variable' && !request.contact_id && attempt < 30 ? /^variables\.(.+)$/.exec(error.field ?? '')?.[1] : null;
        if (!name) {
          if (error.code === 'missing_variable' && request.contact_id) error.message = `${error.message} — a campaign would skip this contact.`;
          throw error;
        }
        const path = name.split('.');
        let node = variables;
        for (const part of path.slice(0, -1)) node = (node[part] = typeof node[part] === 'object' ? node[part] : {});
        node[path[path.length - 1]] = `[${name}]`;
      }
    }
  }

  /** Replaces the smart characters (curly quotes, dashes…) in the text being edited. */
  function applySmart() {
    if (!lastPreview) return;
    const input = $('template-body');
    let text = input.value;
    for (const { from, to } of lastPreview.replacements) text = text.split(from).join(to);
    input.value = text;
    schedulePreview();
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    const body = {
      name: $('template-name').value.trim(), kind: $('template-kind').value, channel: $('template-channel').value,
      body: $('template-body').value, translations: currentTranslations(),
    };
    await busy($('template-save'), 'Saving…', async () => {
      try {
        const saved = editing ? await api('PATCH', `/v1/templates/${editing.id}`, body) : await api('POST', '/v1/templates', body);
        saveNotice.show(`Saved “${saved.name}”: ${saved.encoding}, ${saved.segments} part${saved.segments === 1 ? '' : 's'}.`);
        edit(saved);
        await loadList();
      } catch (error) { showError(form, error); }
    });
  });

  function edit(template) {
    editing = template;
    clearErrors(form);
    $('editor-title').textContent = template ? `Edit “${template.name}”` : 'New template';
    $('template-name').value = template?.name ?? '';
    $('template-kind').value = template?.kind ?? 'marketing';
    $('template-channel').value = template?.channel ?? 'sms';
    $('template-body').value = template?.body ?? '';
    replace(translations);
    for (const [locale, text] of Object.entries(template?.translations ?? {})) addTranslationRow(locale, text);
    schedulePreview();
  }

  async function loadSamples() {
    try {
      const contacts = (await api('GET', `/v1/contacts${query({ search: sampleSearch.value.trim(), limit: 20 })}`)).data;
      const chosen = sampleSelect.value;
      replace(sampleSelect, h('option', { value: '' }, 'No contact (variables blank)'),
        contacts.map((c) => h('option', { value: c.id }, `${[c.first_name, c.last_name].filter(Boolean).join(' ') || c.phone} · ${c.phone}`)));
      if ([...sampleSelect.options].some((o) => o.value === chosen)) sampleSelect.value = chosen;
    } catch { /* the sample list is optional */ }
  }

  async function loadList() {
    try {
      const templates = (await api('GET', '/v1/templates?limit=200')).data;
      if (!templates.length) { replace(list, h('p', { class: 'muted' }, 'No templates yet.')); return; }
      replace(list, h('table', { class: 'data', id: 'templates-table' },
        h('thead', {}, h('tr', {}, ['Name', 'Kind', 'Channel', 'Parts', 'Languages', 'Updated', ''].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, templates.map((template) => {
          const open = h('a', { href: '#/templates' }, template.name);
          open.addEventListener('click', (event) => { event.preventDefault(); edit(template); $('template-body').focus(); });
          const remove = canWrite ? h('button', { type: 'button', class: 'secondary small' }, 'Delete') : null;
          remove?.addEventListener('click', async () => {
            if (!await confirmAction({ title: `Delete “${template.name}”?`, text: 'Messages already sent keep their text.' })) return;
            try {
              await api('DELETE', `/v1/templates/${template.id}`);
              if (editing?.id === template.id) edit(null);
              await loadList();
            } catch (error) { saveNotice.show(error.message, 'error', { sticky: true }); }
          });
          return h('tr', { dataset: { id: template.id, name: template.name } },
            h('td', {}, open), h('td', {}, template.kind), h('td', {}, template.channel),
            h('td', { class: 'num' }, `${template.segments} (${template.encoding})`),
            h('td', {}, ['default', ...Object.keys(template.translations)].join(', ')),
            h('td', {}, time(template.updated_at)), h('td', {}, remove));
        }))));
    } catch (error) {
      replace(list, h('p', { class: 'error', role: 'alert' }, error.message));
    }
  }

  edit(null);
  loadSamples();
  loadList();
  return () => { clearTimeout(previewTimer); clearTimeout(searchTimer); };
}
