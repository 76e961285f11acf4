// Providers: list, add, edit, enable/disable, delete, send a test.
import { api, APIError } from '../lib/api.js';
import {
  busy, clearErrors, confirmAction, copyButton, emptyState, field, formError, h, loading, notice, replace, showError,
} from '../lib/dom.js';

export const title = 'Providers';

export const REDACTED = '********';

/**
 * Config keys by type (API.md). `secret`: write-only, read back as ********. `required`: checked
 * here before sending, so the person sees it at once (the server checks again).
 */
export const TYPES = {
  twilio: {
    label: 'Twilio',
    short: 'Twilio',
    fields: [
      { key: 'account_sid', label: 'Account SID', required: true, placeholder: 'AC…' },
      { key: 'auth_token', label: 'Auth token', secret: true, required: true },
      { key: 'from', label: 'From', hint: 'Default sender: a number in E.164 or an alphanumeric sender ID. Or give a messaging service SID.' },
      { key: 'messaging_service_sid', label: 'Messaging service SID', placeholder: 'MG…' },
      { key: 'base_url', label: 'Base URL', placeholder: 'https://api.twilio.com', type: 'url' },
    ],
  },
  vonage: {
    label: 'Vonage',
    short: 'Vonage',
    fields: [
      { key: 'api_key', label: 'API key', required: true },
      { key: 'api_secret', label: 'API secret', secret: true, required: true },
      { key: 'signature_secret', label: 'Signature secret', secret: true, hint: 'For signed webhooks.' },
      { key: 'signature_method', label: 'Signature method', placeholder: 'md5hash' },
      { key: 'application_id', label: 'Application ID', hint: 'Voice calls only.' },
      { key: 'private_key', label: 'Private key', secret: true, multiline: true, hint: 'Voice calls only (PEM).' },
      { key: 'from', label: 'From' },
      { key: 'base_url', label: 'Base URL', placeholder: 'https://rest.nexmo.com', type: 'url' },
      { key: 'voice_base_url', label: 'Voice base URL', placeholder: 'https://api.nexmo.com', type: 'url' },
    ],
  },
  plivo: {
    label: 'Plivo',
    short: 'Plivo',
    fields: [
      { key: 'auth_id', label: 'Auth ID', required: true },
      { key: 'auth_token', label: 'Auth token', secret: true, required: true },
      { key: 'from', label: 'From' },
      { key: 'base_url', label: 'Base URL', placeholder: 'https://api.plivo.com', type: 'url' },
    ],
  },
  sinch: {
    label: 'Sinch',
    short: 'Sinch',
    fields: [
      { key: 'service_plan_id', label: 'Service plan ID', required: true },
      { key: 'api_token', label: 'API token', secret: true, required: true },
      { key: 'webhook_secret', label: 'Webhook secret', secret: true },
      { key: 'from', label: 'From' },
      { key: 'base_url', label: 'Base URL', hint: 'Your region, e.g. https://us.sms.api.sinch.com', type: 'url' },
    ],
  },
  infobip: {
    label: 'Infobip',
    short: 'Infobip',
    fields: [
      { key: 'api_key', label: 'API key', secret: true, required: true },
      { key: 'base_url', label: 'Base URL', required: true, hint: 'Your account-specific URL, e.g. https://xxxxx.api.infobip.com', type: 'url' },
      { key: 'from', label: 'From' },
    ],
  },
  telnyx: {
    label: 'Telnyx',
    short: 'Telnyx',
    fields: [
      { key: 'api_key', label: 'API key', secret: true, required: true },
      { key: 'public_key', label: 'Public key', hint: 'Ed25519 key for webhook signatures.' },
      { key: 'messaging_profile_id', label: 'Messaging profile ID' },
      { key: 'connection_id', label: 'Connection ID', hint: 'Voice calls only.' },
      { key: 'from', label: 'From' },
      { key: 'base_url', label: 'Base URL', placeholder: 'https://api.telnyx.com', type: 'url' },
    ],
  },
  http: {
    label: 'Generic HTTP API',
    short: 'HTTP',
    fields: [
      { key: 'url', label: 'URL', required: true, type: 'url', placeholder: 'https://sms.example.com/send' },
      { key: 'method', label: 'Method', options: [['', 'Default (POST)'], 'POST', 'PUT', 'PATCH', 'GET'] },
      { key: 'headers', label: 'Headers', secret: true, multiline: true, json: true, placeholder: '{"Authorization": "Bearer …"}',
        hint: 'A JSON object of header names and values. Stored encrypted.' },
      { key: 'content_type', label: 'Content type', options: [['', 'Default'], ['form', 'form'], ['json', 'json']] },
      { key: 'body', label: 'Body template', multiline: true, placeholder: '{"to": "{{to}}", "text": "{{text}}"}',
        hint: 'Mustache over to, from, text, message_id, callback_url.' },
      { key: 'id_path', label: 'ID path', placeholder: 'data.id', hint: "Where the provider's message id is in its JSON reply." },
      { key: 'from', label: 'From' },
    ],
  },
  outbox: {
    label: 'Outbox (keep messages here, send nothing)',
    short: 'Outbox',
    fields: [],
    about: 'Keeps messages in Herald’s outbox instead of sending them — for development and trying things out.',
  },
};

export function mount(container) {
  const view = { providers: [], testOpen: null };
  const pageNotice = notice();
  const listError = h('p', { class: 'error', role: 'alert', hidden: true });
  const tableBox = h('div', { class: 'table-wrap', id: 'providers-table-box' }, loading());
  const formBox = h('div', { id: 'provider-form-box' });
  const addButton = h('button', { type: 'button', id: 'add-provider' }, 'Add provider');
  addButton.addEventListener('click', () => openForm(null));

  replace(container,
    h('section', { class: 'card', 'aria-labelledby': 'providers-title' },
      h('div', { class: 'card-head' }, h('h2', { id: 'providers-title' }, 'Providers'), addButton),
      h('p', { class: 'hint' }, 'Messages go to the enabled providers that serve the destination country, lowest priority number first; a failed or throttled submission fails over to the next.'),
      pageNotice, listError, tableBox),
    formBox);

  async function load() {
    try {
      view.providers = (await api('GET', '/v1/providers')).data;
      listError.hidden = true;
      render();
    } catch (error) {
      listError.textContent = error.message;
      listError.hidden = false;
      replace(tableBox);
    }
  }

  function render() {
    if (!view.providers.length) {
      replace(tableBox, emptyState('No providers yet.',
        'Until you add one, Herald keeps every message in its built-in outbox so nothing leaves this server.',
        'Add Twilio, Vonage, Plivo, Sinch, Infobip, Telnyx or any HTTP API to send real SMS.'));
      return;
    }
    const sorted = [...view.providers].sort((a, b) => a.priority - b.priority || a.name.localeCompare(b.name));
    replace(tableBox, h('table', { class: 'data', id: 'providers-table' },
      h('caption', { class: 'visually-hidden' }, 'Providers by priority'),
      h('thead', {}, h('tr', {}, ['Name', 'Type', 'Priority', 'Countries', 'Rate/s', 'Status', 'Webhook URLs', 'Actions']
        .map((label) => h('th', { scope: 'col' }, label)))),
      h('tbody', {}, sorted.flatMap(rows))));
  }

  function rows(provider) {
    const toggle = h('button', {
      type: 'button', role: 'switch', 'aria-checked': String(provider.enabled), class: `switch${provider.enabled ? ' on' : ''}`,
      'aria-label': `${provider.name} enabled`, dataset: { action: 'toggle' },
    }, h('span', { class: 'switch-knob', 'aria-hidden': 'true' }), h('span', { class: 'switch-text' }, provider.enabled ? 'Enabled' : 'Disabled'));
    toggle.addEventListener('click', () => busy(toggle, provider.enabled ? 'Disabling…' : 'Enabling…', async () => {
      try {
        const updated = await api('PATCH', `/v1/providers/${provider.id}`, { enabled: !provider.enabled });
        replaceProvider(updated);
        pageNotice.show(`${updated.name} is ${updated.enabled ? 'enabled' : 'disabled'}.`);
      } catch (error) { pageNotice.show(error.message, 'error'); }
    }));

    const edit = h('button', { type: 'button', class: 'secondary small', dataset: { action: 'edit' } }, 'Edit');
    edit.addEventListener('click', () => openForm(provider));
    const test = h('button', { type: 'button', class: 'secondary small', dataset: { action: 'test' }, 'aria-expanded': String(view.testOpen === provider.id) }, 'Send test');
    test.addEventListener('click', () => {
      view.testOpen = view.testOpen === provider.id ? null : provider.id;
      render();
      tableBox.querySelector(`tr.test-row[data-id="${provider.id}"] input`)?.focus();
    });
    const remove = h('button', { type: 'button', class: 'danger small', dataset: { action: 'delete' } }, 'Delete');
    remove.addEventListener('click', async () => {
      const ok = await confirmAction({
        title: `Delete ${provider.name}?`,
        text: 'Herald stops routing messages to this provider at once. Its webhook URLs stop working. This cannot be undone.',
        confirm: 'Delete provider',
      });
      if (!ok) return;
      try {
        await api('DELETE', `/v1/providers/${provider.id}`);
        view.providers = view.providers.filter((p) => p.id !== provider.id);
        render();
        pageNotice.show(`Deleted ${provider.name}.`);
      } catch (error) { pageNotice.show(error.message, 'error'); }
    });

    const broken = provider.status === 'broken';
    const classes = [provider.enabled ? '' : 'disabled', broken ? 'broken' : ''].filter(Boolean).join(' ');
    const main = h('tr', { dataset: { id: provider.id, name: provider.name, type: provider.type, status: provider.status ?? 'ok' }, class: classes },
      h('th', { scope: 'row', class: 'name' }, provider.name),
      h('td', {}, h('span', { class: 'badge' }, TYPES[provider.type]?.short ?? provider.type)),
      h('td', { class: 'num' }, String(provider.priority)),
      h('td', {}, provider.countries?.length ? provider.countries.join(', ') : h('span', { class: 'muted' }, 'All')),
      h('td', { class: 'num' }, provider.rate_per_second == null ? h('span', { class: 'muted' }, '—') : String(provider.rate_per_second)),
      h('td', {}, broken ? brokenStatus(provider, toggle) : toggle),
      h('td', { class: 'webhooks' }, webhooks(provider)),
      h('td', { class: 'row-actions' }, h('div', { class: 'row-actions-inner' }, edit, test, remove)));
    const result = [main];
    if (view.testOpen === provider.id) result.push(testRow(provider));
    return result;
  }

  /** A broken provider sends nothing: say why and how to repair it, beside its switch. */
  function brokenStatus(provider, toggle) {
    const repair = h('button', { type: 'button', class: 'secondary small', dataset: { action: 'repair' } }, 'Re-enter secrets');
    repair.addEventListener('click', () => openForm(provider));
    return h('div', { class: 'provider-broken' },
      h('span', { class: 'chip chip-failed', title: provider.error?.code ?? '' }, 'Broken'),
      h('p', { class: 'error provider-broken-reason', role: 'note' }, provider.error?.message ?? 'This provider cannot be used.'),
      repair, toggle);
  }

  function webhooks(provider) {
    if (provider.status_webhook_url) {
      return [webhook('Status', provider.status_webhook_url), webhook('Inbound', provider.inbound_webhook_url)];
    }
    if (provider.status === 'broken') return h('span', { class: 'muted' }, 'Refused until repaired');
    return h('span', { class: 'muted' }, 'None needed');
  }

  function webhook(label, url) {
    return h('div', { class: 'webhook' },
      h('span', { class: 'webhook-label' }, label),
      h('code', { class: 'url', title: url }, url),
      copyButton(url, 'Copy', `Copy the ${label.toLowerCase()} webhook URL`));
  }

  function testRow(provider) {
    const result = h('div', { class: 'test-result', 'aria-live': 'polite' });
    const form = h('form', { class: 'inline-form', novalidate: true, 'aria-label': `Send a test through ${provider.name}` },
      field({ label: 'Send a test SMS to', name: 'to', type: 'tel', placeholder: '+14155550100', id: `test-to-${provider.id}` }),
      h('button', { type: 'submit', class: 'small' }, 'Send test'),
      formError(),
      result);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      clearErrors(form);
      replace(result);
      const button = form.querySelector('button[type=submit]');
      await busy(button, 'Sending…', async () => {
        try {
          const answer = await api('POST', `/v1/providers/${provider.id}/test`, { to: form.querySelector('input').value.trim() });
          replace(result, h('p', { class: 'notice notice-ok' }, 'Accepted. Provider message ID ',
            h('code', { class: 'provider-message-id' }, answer.provider_message_id),
            answer.http_status ? ` (HTTP ${answer.http_status}, ${answer.latency_ms} ms)` : ` (${answer.latency_ms} ms)`));
        } catch (error) {
          if (error.field) showError(form, error);
          else replace(result, h('p', { class: 'notice notice-error', role: 'alert' }, error.message));
        }
      });
    });
    return h('tr', { class: 'test-row', dataset: { id: provider.id } }, h('td', { colspan: 8 }, form));
  }

  function replaceProvider(updated) {
    view.providers = view.providers.map((p) => (p.id === updated.id ? updated : p));
    render();
  }

  function openForm(provider) {
    const editing = Boolean(provider);
    const formNotice = notice();
    const typeField = field({
      label: 'Type', name: 'type', id: 'provider-type', value: provider?.type ?? 'twilio',
      options: Object.entries(TYPES).map(([key, spec]) => [key, spec.label]),
      hint: editing ? 'The type cannot be changed; add a new provider instead.' : null,
    });
    const typeSelect = typeField.querySelector('select');
    typeSelect.disabled = editing;
    const configBox = h('fieldset', { class: 'config' });
    const form = h('form', { id: 'provider-form', class: 'stack', novalidate: true, dataset: { mode: editing ? 'edit' : 'add' } },
      h('div', { class: 'grid-2 tight' },
        field({ label: 'Name', name: 'name', id: 'provider-name', value: provider?.name ?? '', required: true, placeholder: 'Twilio US' }),
        typeField,
        field({ label: 'Priority', name: 'priority', id: 'provider-priority', type: 'number', value: String(provider?.priority ?? 10),
                hint: 'Lower goes first.', inputmode: 'numeric' }),
        field({ label: 'Countries', name: 'countries', id: 'provider-countries', value: (provider?.countries ?? []).join(', '),
                placeholder: 'US, CA', hint: 'ISO codes, comma-separated. Empty: every country.' }),
        field({ label: 'Rate per second', name: 'rate_per_second', id: 'provider-rate', type: 'number', inputmode: 'numeric',
                value: provider?.rate_per_second == null ? '' : String(provider.rate_per_second), hint: 'Empty: no limit.' }),
        field({ label: 'Enabled', name: 'enabled', id: 'provider-enabled', type: 'checkbox', value: provider?.enabled ?? true })),
      configBox,
      formError(),
      h('div', { class: 'actions' },
        h('button', { type: 'submit', id: 'provider-save' }, editing ? 'Save changes' : 'Add provider'),
        h('button', { type: 'button', class: 'secondary', id: 'provider-cancel' }, 'Cancel')),
      formNotice);

    const renderConfig = () => {
      const type = typeSelect.value;
      const spec = TYPES[type];
      replace(configBox, h('legend', {}, `${spec.label} settings`));
      if (spec.about) configBox.append(h('p', { class: 'hint' }, spec.about));
      const grid = h('div', { class: 'grid-2 tight' });
      for (const item of spec.fields) {
        const stored = provider?.config?.[item.key];
        let value = stored === undefined || stored === null ? '' : stored;
        if (typeof value === 'object') value = JSON.stringify(value, null, 2);
        let hint = item.secret && editing && stored === REDACTED
          ? 'Stored and hidden. Leave as is to keep it, or type a new value.'
          : item.hint;
        if (editing && isDestination(item.key) && spec.fields.some((f) => f.secret)) {
          hint = `${item.hint ? `${item.hint} ` : ''}Changing it needs the secrets typed again.`;
        }
        grid.append(field({
          label: item.label, name: `config.${item.key}`, id: `provider-config-${item.key}`, value: String(value),
          type: item.multiline ? 'textarea' : item.secret ? 'password' : (item.type ?? 'text'),
          autocomplete: item.secret ? 'new-password' : 'off', options: item.options, required: item.required,
          placeholder: item.placeholder, hint, rows: item.multiline ? 3 : undefined, spellcheck: item.multiline ? 'false' : undefined,
        }));
      }
      configBox.append(grid);
      configBox.hidden = false;
    };
    typeSelect.addEventListener('change', renderConfig);
    renderConfig();

    form.querySelector('#provider-cancel').addEventListener('click', () => { replace(formBox); addButton.focus(); });
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      clearErrors(form);
      const built = buildRequest(form, provider);
      if (built.errors.length) {
        for (const error of [...built.errors].reverse()) showError(form, error);
        return;
      }
      await busy(form.querySelector('#provider-save'), 'Saving…', async () => {
        try {
          const saved = editing
            ? await api('PATCH', `/v1/providers/${provider.id}`, built.body)
            : await api('POST', '/v1/providers', built.body);
          view.providers = editing ? view.providers.map((p) => (p.id === saved.id ? saved : p)) : [...view.providers, saved];
          render();
          // Stay on the saved provider so its stored (redacted) config is visible.
          openForm(saved).show(editing ? `Saved ${saved.name}.` : `Added ${saved.name}.`);
          pageNotice.show(editing ? `Saved ${saved.name}.` : `Added ${saved.name}.`);
        } catch (error) {
          if (!(error instanceof APIError)) throw error;
          showError(form, error);
        }
      });
    });

    const brokenNote = provider?.status === 'broken'
      ? h('p', { class: 'notice notice-error', id: 'provider-broken-note', role: 'alert' },
        `${provider.error?.message ?? 'This provider cannot be used.'} Its secret fields are empty: type them again and save.`)
      : null;
    replace(formBox, h('section', { class: 'card', 'aria-labelledby': 'provider-form-title', id: 'provider-form-card' },
      h('h2', { id: 'provider-form-title' }, editing ? `Edit ${provider.name}` : 'Add a provider'), brokenNote, form));
    formNotice.id = 'provider-form-notice';
    form.querySelector('#provider-name').focus();
    formBox.scrollIntoView({ block: 'nearest' });
    return formNotice;
  }

  load();
  return () => {};
}

/** Keys that decide where requests go: the server wants the secrets again when one changes. */
function isDestination(key) {
  return key === 'url' || key.endsWith('_url');
}

/**
 * The POST (new) or PATCH (edit) body from the form, or field errors found before sending.
 * Create: empty optional fields are left out. Edit: a field emptied that was set becomes null
 * (removes it); a secret left at ******** is sent back as is, which keeps it.
 */
function buildRequest(form, provider) {
  const errors = [];
  const value = (name) => form.querySelector(`[data-field="${name}"]`);
  const type = provider?.type ?? value('type').value;
  const body = {};

  const name = value('name').value.trim();
  if (!name) errors.push(new APIError(400, { error: { code: 'validation_failed', message: 'is required', field: 'name' } }));
  body.name = name;
  if (!provider) body.type = type;

  const priority = value('priority').value.trim();
  if (priority !== '') body.priority = Number(priority);
  else if (!provider) body.priority = 10;
  body.countries = value('countries').value.split(/[\s,;]+/).filter(Boolean).map((c) => c.toUpperCase());
  const rate = value('rate_per_second').value.trim();
  if (rate !== '') body.rate_per_second = Number(rate);
  else if (provider && provider.rate_per_second != null) body.rate_per_second = null;
  body.enabled = value('enabled').checked;

  const config = {};
  for (const item of TYPES[type].fields) {
    const control = value(`config.${item.key}`);
    const raw = item.multiline ? control.value : control.value.trim();
    const had = provider?.config?.[item.key] !== undefined;
    if (raw.trim() === '') {
      if (item.required) {
        errors.push(new APIError(400, { error: { code: 'validation_failed', message: 'is required', field: `config.${item.key}` } }));
      } else if (had) config[item.key] = null;
      continue;
    }
    if (item.json && raw.trim() !== REDACTED) {
      try {
        const parsed = JSON.parse(raw);
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
        config[item.key] = parsed;
      } catch {
        errors.push(new APIError(400, { error: { code: 'validation_failed', message: 'must be a JSON object like {"X-Api-Key": "…"}', field: `config.${item.key}` } }));
      }
      continue;
    }
    config[item.key] = item.json ? REDACTED : raw;
  }
  if (!provider || Object.keys(config).length) body.config = config;
  return { body, errors };
}
