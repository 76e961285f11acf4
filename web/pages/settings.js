// Settings, grouped: general (brand, countries), marketing (quiet hours, frequency cap, footer),
// keywords and replies, verification defaults, events. PATCH sends only what changed.
import { api, APIError } from '../lib/api.js';
import { busy, clearErrors, copyButton, field, formError, h, loading, notice, replace, showError } from '../lib/dom.js';

export const title = 'Settings';

const VERIFICATION_NUMBERS = [
  ['code_length', 'Code length', 'Digits, 4–10.'],
  ['ttl_seconds', 'Code lifetime (seconds)', '1–3600.'],
  ['payment_ttl_seconds', 'Payment code lifetime (seconds)', 'Payment confirmations expire sooner.'],
  ['max_checks', 'Checks per code', 'Wrong guesses allowed before the code is dead.'],
  ['max_sends', 'Sends per verification', 'The first send and the resends.'],
  ['resend_cooldown_seconds', 'Seconds between resends', ''],
  ['per_number_per_hour', 'Per number per hour', 'New verifications to one number.'],
  ['per_ip_per_hour', 'Per client IP per hour', ''],
  ['per_prefix_per_hour', 'Per number prefix per hour', 'Stops SMS pumping through a range of numbers.'],
  ['per_country_per_hour', 'Per country per hour', ''],
];

const GROUPS = [
  ['settings-general', 'General'], ['settings-marketing', 'Marketing'], ['settings-keywords', 'Keywords and replies'],
  ['settings-verification', 'Verification'], ['settings-events', 'Events'],
];

const KEYWORD_GROUPS = [
  ['opt_out', 'Opt-out', 'Unsubscribe the sender (whole message, any case).'],
  ['opt_in', 'Opt-in', 'Subscribe the sender again.'],
  ['help', 'Help', 'Answer with the help reply.'],
];

export function mount(container) {
  let loaded = null;
  replace(container, loading('Loading settings…'));

  async function load() {
    try {
      loaded = await api('GET', '/v1/settings');
      render();
    } catch (error) {
      replace(container, h('p', { class: 'error', role: 'alert' }, error.message));
    }
  }

  function render() {
    const saved = notice();
    saved.id = 'settings-notice';
    const quiet = loaded.quiet_hours;
    const quietToggle = field({ label: 'Hold marketing messages during quiet hours', name: 'quiet_hours', id: 'settings-quiet-enabled',
                                type: 'checkbox', value: Boolean(quiet) });
    const quietStart = field({ label: 'From', name: 'quiet_hours.start', id: 'settings-quiet-start', type: 'time', value: quiet?.start ?? '21:00' });
    const quietEnd = field({ label: 'Until', name: 'quiet_hours.end', id: 'settings-quiet-end', type: 'time', value: quiet?.end ?? '08:00' });
    const quietTimes = h('div', { class: 'grid-2 tight' }, quietStart, quietEnd);
    const syncQuiet = () => {
      const on = quietToggle.querySelector('input').checked;
      for (const input of quietTimes.querySelectorAll('input')) input.disabled = !on;
    };
    quietToggle.querySelector('input').addEventListener('change', syncQuiet);
    syncQuiet();

    const cap = loaded.frequency_cap;
    const capToggle = field({ label: 'Limit marketing messages per recipient', name: 'frequency_cap', id: 'settings-cap-enabled',
                              type: 'checkbox', value: Boolean(cap) });
    const capFields = h('div', { class: 'grid-2 tight' },
      field({ label: 'At most', name: 'frequency_cap.max', id: 'settings-cap-max', type: 'number', value: cap?.max ?? 3, inputmode: 'numeric' }),
      field({ label: 'Within hours', name: 'frequency_cap.window_hours', id: 'settings-cap-window', type: 'number',
              value: cap?.window_hours ?? 168, inputmode: 'numeric' }));
    const syncCap = () => {
      const on = capToggle.querySelector('input').checked;
      for (const input of capFields.querySelectorAll('input')) input.disabled = !on;
    };
    capToggle.querySelector('input').addEventListener('change', syncCap);
    syncCap();
    const verification = loaded.verification ?? {};
    const testNumbers = Object.keys(verification.test_numbers ?? {});

    const jump = h('nav', { class: 'jump', 'aria-label': 'Settings groups' }, GROUPS.map(([id, label]) => {
      const button = h('button', { type: 'button', class: 'secondary small', dataset: { target: id } }, label);
      button.addEventListener('click', () => {
        const heading = document.getElementById(id);
        heading.scrollIntoView({ block: 'start' });
        heading.closest('section').querySelector('input, select, textarea')?.focus({ preventScroll: true });
      });
      return button;
    }));

    const secret = h('input', { id: 'settings-signing-secret', class: 'mono', type: 'text', readOnly: true, value: loaded.events_signing_secret ?? '',
                                'aria-describedby': 'settings-signing-secret-hint' });
    const form = h('form', { id: 'settings-form', class: 'stack', novalidate: true },
      h('section', { class: 'card', 'aria-labelledby': 'settings-general' },
        h('h2', { id: 'settings-general' }, 'General'),
        h('div', { class: 'grid-2 tight' },
          field({ label: 'Brand', name: 'brand', id: 'settings-brand', value: loaded.brand, required: true,
                  hint: 'Your name as recipients see it in message texts.' }),
          field({ label: 'Allowed countries', name: 'allowed_countries', id: 'settings-countries',
                  value: (loaded.allowed_countries ?? []).join(', '), placeholder: 'US, DE, FR',
                  hint: 'ISO codes, comma-separated. Empty: every country.' })),
        field({ label: 'Marketing footer', name: 'marketing_footer', id: 'settings-footer', value: loaded.marketing_footer ?? '',
                hint: 'Added to marketing messages that lack it.' })),
      h('section', { class: 'card', 'aria-labelledby': 'settings-marketing' },
        h('h2', { id: 'settings-marketing' }, 'Marketing'),
        h('h3', { id: 'settings-quiet' }, 'Quiet hours'),
        h('p', { class: 'hint' }, 'In each recipient’s own time zone. Marketing messages wait until the quiet hours end; transactional messages are never held.'),
        quietToggle, quietTimes,
        h('h3', {}, 'Frequency cap'),
        h('p', { class: 'hint' }, 'The default for campaigns: a recipient who already got this many marketing messages in the window is skipped.'),
        capToggle, capFields),
      h('section', { class: 'card', 'aria-labelledby': 'settings-keywords' },
        h('h2', { id: 'settings-keywords' }, 'Keywords and replies'),
        KEYWORD_GROUPS.map(([key, label, hint]) => h('fieldset', { class: 'keywords' },
          h('legend', {}, label),
          h('div', { class: 'grid-2 tight' },
            field({ label: 'Keywords', name: `${key}.keywords`, id: `settings-${key}-keywords`,
                    value: (loaded[key]?.keywords ?? []).join(', '), hint }),
            field({ label: 'Reply', name: `${key}.reply`, id: `settings-${key}-reply`, type: 'textarea', rows: 2,
                    value: loaded[key]?.reply ?? '' }))))),
      h('section', { class: 'card', 'aria-labelledby': 'settings-verification' },
        h('h2', { id: 'settings-verification' }, 'Verification defaults'),
        h('p', { class: 'hint' }, 'For every verification that does not set its own. Limits protect you from SMS pumping and brute force.'),
        h('div', { class: 'grid-2 tight' }, VERIFICATION_NUMBERS.map(([key, label, hint]) => field({
          label, name: `verification.${key}`, id: `settings-verification-${key.replace(/_/g, '-')}`, type: 'number', inputmode: 'numeric',
          value: verification[key] ?? '', hint: hint || undefined,
        }))),
        h('p', { class: 'hint' }, testNumbers.length
          ? `Test numbers (fixed codes, nothing sent): ${testNumbers.join(', ')}. Add or remove them on the Verifications page.`
          : 'No test numbers. Add them on the Verifications page: they get a fixed code and nothing is sent.')),
      h('section', { class: 'card', 'aria-labelledby': 'settings-events' },
        h('h2', { id: 'settings-events' }, 'Events'),
        field({ label: 'Events URL', name: 'events_url', id: 'settings-events-url', type: 'url', value: loaded.events_url ?? '',
                placeholder: 'https://example.com/herald-events', hint: 'Herald POSTs message events here. Empty: no events.' }),
        h('div', { class: 'field' },
          h('label', { for: 'settings-signing-secret' }, 'Signing secret'),
          h('div', { class: 'with-button' }, secret, copyButton(() => secret.value, 'Copy', 'Copy the signing secret')),
          h('p', { class: 'hint', id: 'settings-signing-secret-hint' }, 'Each event carries an HMAC-SHA256 signature made with this secret. Read-only.'))),
      formError(),
      h('div', { class: 'actions sticky-actions' },
        h('button', { type: 'submit', id: 'settings-save' }, 'Save settings'),
        h('button', { type: 'button', class: 'secondary', id: 'settings-revert' }, 'Revert'),
        saved));

    form.querySelector('#settings-revert').addEventListener('click', render);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      clearErrors(form);
      const patch = changes(form, loaded);
      if (!Object.keys(patch).length) {
        saved.show('Nothing changed.', 'info');
        return;
      }
      await busy(form.querySelector('#settings-save'), 'Saving…', async () => {
        try {
          loaded = await api('PATCH', '/v1/settings', patch);
          render();
          container.querySelector('#settings-notice').show('Settings saved.');
        } catch (error) {
          if (!(error instanceof APIError)) throw error;
          showError(form, error);
        }
      });
    });
    replace(container, jump, form);
  }

  load();
  return () => {};
}

const list = (text, upper) => text.split(/[\s,;]+/).filter(Boolean).map((w) => (upper ? w.toUpperCase() : w));
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/** The PATCH body: only the values that differ from what was loaded. */
function changes(form, loaded) {
  const get = (name) => form.querySelector(`[data-field="${name}"]`);
  const patch = {};
  const brand = get('brand').value.trim();
  if (brand !== loaded.brand) patch.brand = brand;
  const countries = list(get('allowed_countries').value, true);
  if (!same(countries, loaded.allowed_countries ?? [])) patch.allowed_countries = countries;
  const footer = get('marketing_footer').value;
  if (footer !== (loaded.marketing_footer ?? '')) patch.marketing_footer = footer;
  const eventsURL = get('events_url').value.trim();
  if (eventsURL !== (loaded.events_url ?? '')) patch.events_url = eventsURL === '' ? null : eventsURL;

  const quietOn = get('quiet_hours').checked;
  const quiet = quietOn ? { start: get('quiet_hours.start').value, end: get('quiet_hours.end').value } : null;
  const before = loaded.quiet_hours ?? null;
  if (Boolean(quiet) !== Boolean(before) || (quiet && (quiet.start !== before.start || quiet.end !== before.end))) {
    patch.quiet_hours = quiet;
  }

  const capOn = get('frequency_cap').checked;
  const cap = capOn ? { max: Number(get('frequency_cap.max').value), window_hours: Number(get('frequency_cap.window_hours').value) } : null;
  if (!same(cap, loaded.frequency_cap ?? null)) patch.frequency_cap = cap;

  const verification = {};
  for (const [key] of VERIFICATION_NUMBERS) {
    const raw = get(`verification.${key}`).value.trim();
    const value = raw === '' ? null : Number(raw);
    if (value !== (loaded.verification?.[key] ?? null)) verification[key] = value;
  }
  if (Object.keys(verification).length) patch.verification = verification;

  for (const [key] of KEYWORD_GROUPS) {
    const group = {};
    const keywords = list(get(`${key}.keywords`).value, true);
    if (!same(keywords, loaded[key]?.keywords ?? [])) group.keywords = keywords;
    const reply = get(`${key}.reply`).value;
    if (reply !== (loaded[key]?.reply ?? '')) group.reply = reply;
    if (Object.keys(group).length) patch[key] = group;
  }
  return patch;
}
