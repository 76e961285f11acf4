// Campaigns: the list with live progress; a create flow (template → audience → schedule → review
// with the estimate and every exclusion → launch); a detail view with live stats, the
// per-recipient log and pause / resume / cancel / retry failed.
import { api, query } from '../lib/api.js';
import { barChart } from '../lib/chart.js';
import { progressOf } from '../lib/campaigns.js';
import { busy, chip, clearErrors, confirmAction, emptyState, field, formError, h, loading, notice, poll, replace, showError, time } from '../lib/dom.js';

export const title = 'Campaigns';

const REASONS = {
  unsubscribed: 'unsubscribed', invalid_number: 'invalid number', not_mobile: 'not a mobile number',
  frequency_capped: 'frequency cap reached', deleted: 'contact deleted', missing_variable: 'missing template value', canceled: 'campaign cancelled',
};
/** When a campaign goes, as nodes for a sentence. */
function scheduleText(campaign) {
  const s = campaign.schedule;
  if (!s) return ['No schedule: it goes when you send it.'];
  if (s.send_at) return ['Goes at ', time(s.send_at, { long: true }), '.'];
  return [`Goes at ${s.local_time.replace('T', ' ').slice(0, 16)} in each recipient’s own zone (${s.fallback_timezone} when unknown).`];
}

export function mount(container, { session }) {
  const canWrite = session.user.role !== 'viewer';
  const view = h('div', { id: 'campaigns-view' });
  const pageNotice = notice();
  let stopPolling = null;
  replace(container, pageNotice, view);

  function stop() { if (stopPolling) stopPolling(); stopPolling = null; }

  /** Keeps the address in step with the view, so a reload or a shared link opens the same campaign. */
  function remember(id) {
    const hash = id ? `#/campaigns/${id}` : '#/campaigns';
    if (location.hash !== hash) history.replaceState(null, '', hash);
  }

  // MARK: List

  async function showList() {
    stop();
    remember(null);
    const table = h('div', { id: 'campaigns-list' }, loading());
    const create = canWrite ? h('button', { type: 'button', id: 'campaign-new' }, 'New campaign') : null;
    create?.addEventListener('click', showCreate);
    replace(view, h('section', { class: 'card', 'aria-labelledby': 'campaigns-title' },
      h('div', { class: 'card-head' }, h('h2', { id: 'campaigns-title' }, 'Campaigns'), create), table));
    const load = async () => {
      try {
        const campaigns = (await api('GET', '/v1/campaigns?limit=100')).data;
        if (!campaigns.length) {
          replace(table, emptyState('No campaigns yet.', 'A campaign sends one template to a segment’s subscribed contacts, now or on a schedule.'));
          return;
        }
        replace(table, h('table', { class: 'data', id: 'campaigns-table' },
          h('thead', {}, h('tr', {}, ['Name', 'Status', 'Progress', 'Recipients', 'Created'].map((t) => h('th', { scope: 'col' }, t)))),
          h('tbody', {}, campaigns.map((campaign) => {
            const progress = progressOf(campaign.stats);
            const open = h('a', { href: '#/campaigns', class: 'campaign-open' }, campaign.name);
            open.addEventListener('click', (event) => { event.preventDefault(); showDetail(campaign.id); });
            return h('tr', { dataset: { id: campaign.id, status: campaign.status } },
              h('td', {}, open), h('td', {}, chip(campaign.status)),
              h('td', {}, h('progress', { max: 100, value: progress.percent, 'aria-label': `${campaign.name}: ${progress.percent}% done` }),
                ` ${progress.percent}%`),
              h('td', { class: 'num' }, campaign.stats.recipients.toLocaleString()), h('td', {}, time(campaign.created_at)));
          }))));
      } catch (error) {
        replace(table, h('p', { class: 'error', role: 'alert' }, error.message));
      }
    };
    await load();
    stopPolling = poll(load, 3000);
  }

  // MARK: Create: template → audience → schedule → review

  async function showCreate() {
    stop();
    let templates = [];
    let segments = [];
    try {
      [templates, segments] = await Promise.all([
        api('GET', '/v1/templates?limit=200').then((r) => r.data), api('GET', '/v1/segments?limit=200').then((r) => r.data)]);
    } catch (error) { pageNotice.show(error.message, 'error'); return; }
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
    const form = h('form', { id: 'campaign-form', novalidate: true, 'aria-label': 'New campaign' },
      h('h3', {}, '1. Message'),
      field({ label: 'Name', name: 'name', id: 'campaign-name', required: true, placeholder: 'December sale' }),
      templates.length
        ? field({ label: 'Template', name: 'template_id', id: 'campaign-template', required: true,
          options: templates.map((t) => [t.id, `${t.name} (${t.kind})`]) })
        : h('p', { class: 'error' }, 'There are no templates yet: create one first (POST /v1/templates).'),
      field({ label: 'Sender', name: 'sender', id: 'campaign-sender', hint: 'Optional: an alphanumeric sender or number instead of the provider’s.' }),
      h('h3', {}, '2. Audience'),
      field({ label: 'Segment', name: 'segment_id', id: 'campaign-segment',
        options: [['', 'Every subscribed contact'], ...segments.map((s) => [s.id, `${s.name} (${s.subscribed.toLocaleString()} subscribed)`])] }),
      h('h3', {}, '3. When'),
      field({ label: 'Send', name: 'when', id: 'campaign-when', options: [
        ['now', 'Now, after the review'], ['at', 'At a time'], ['local', 'At a time in each recipient’s own zone'], ['draft', 'Keep as a draft']] }),
      field({ label: 'Time', name: 'schedule.send_at', id: 'campaign-send-at', type: 'datetime-local' }),
      field({ label: 'Wall-clock time', name: 'schedule.local_time', id: 'campaign-local-time', type: 'datetime-local' }),
      field({ label: 'Zone for recipients whose zone is unknown', name: 'schedule.fallback_timezone', id: 'campaign-fallback', value: zone }),
      h('h3', {}, '4. Limits'),
      field({ label: 'Messages per second', name: 'throttle_per_second', id: 'campaign-throttle', type: 'number', hint: 'Empty: as fast as providers allow.' }),
      field({ label: 'Quiet hours', name: 'quiet_hours', id: 'campaign-quiet', options: [['settings', 'As in settings'], ['none', 'None'], ['custom', 'Custom']] }),
      h('div', { class: 'row', id: 'campaign-quiet-custom', hidden: true },
        field({ label: 'From', name: 'quiet_hours.start', id: 'campaign-quiet-start', value: '21:00' }),
        field({ label: 'Until', name: 'quiet_hours.end', id: 'campaign-quiet-end', value: '08:00' })),
      field({ label: 'Frequency cap', name: 'frequency_cap', id: 'campaign-cap', options: [['settings', 'As in settings'], ['none', 'None'], ['custom', 'Custom']] }),
      h('div', { class: 'row', id: 'campaign-cap-custom', hidden: true },
        field({ label: 'At most', name: 'frequency_cap.max', id: 'campaign-cap-max', type: 'number', value: '3' }),
        field({ label: 'messages in hours', name: 'frequency_cap.window_hours', id: 'campaign-cap-window', type: 'number', value: '168' })),
      formError(),
      h('div', { class: 'actions' },
        h('button', { type: 'submit', id: 'campaign-review', disabled: !templates.length }, 'Review'),
        h('button', { type: 'button', class: 'secondary', id: 'campaign-back' }, 'Back to the list')));
    const $ = (id) => form.querySelector(`#${id}`);
    const sync = () => {
      const when = $('campaign-when').value;
      $('campaign-send-at').closest('.field').hidden = when !== 'at';
      $('campaign-local-time').closest('.field').hidden = when !== 'local';
      $('campaign-fallback').closest('.field').hidden = when !== 'local';
      $('campaign-quiet-custom').hidden = $('campaign-quiet').value !== 'custom';
      $('campaign-cap-custom').hidden = $('campaign-cap').value !== 'custom';
    };
    for (const id of ['campaign-when', 'campaign-quiet', 'campaign-cap']) $(id).addEventListener('change', sync);
    sync();
    $('campaign-back').addEventListener('click', showList);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      clearErrors(form);
      const body = { name: $('campaign-name').value.trim(), template_id: $('campaign-template').value };
      if ($('campaign-segment').value) body.segment_id = $('campaign-segment').value;
      if ($('campaign-sender').value.trim()) body.sender = $('campaign-sender').value.trim();
      const when = $('campaign-when').value;
      if (when === 'at') {
        const raw = $('campaign-send-at').value;
        body.schedule = { send_at: raw && !Number.isNaN(Date.parse(raw)) ? new Date(raw).toISOString() : raw };
      } else if (when === 'local') {
        const raw = $('campaign-local-time').value;
        body.schedule = { local_time: raw.length === 16 ? `${raw}:00` : raw, fallback_timezone: $('campaign-fallback').value.trim() };
      }
      if ($('campaign-throttle').value) body.throttle_per_second = Number($('campaign-throttle').value);
      const quiet = $('campaign-quiet').value;
      if (quiet === 'none') body.quiet_hours = null;
      if (quiet === 'custom') body.quiet_hours = { start: $('campaign-quiet-start').value.trim(), end: $('campaign-quiet-end').value.trim() };
      const cap = $('campaign-cap').value;
      if (cap === 'none') body.frequency_cap = null;
      if (cap === 'custom') body.frequency_cap = { max: Number($('campaign-cap-max').value), window_hours: Number($('campaign-cap-window').value) };
      await busy($('campaign-review'), 'Counting…', async () => {
        try {
          const campaign = await api('POST', '/v1/campaigns', body);
          await showReview(campaign, when);
        } catch (error) { showError(form, error); }
      });
    });
    replace(view, h('section', { class: 'card', 'aria-labelledby': 'create-title' }, h('h2', { id: 'create-title' }, 'New campaign'), form));
    $('campaign-name').focus();
  }

  async function showReview(campaign, when) {
    stop();
    const box = h('div', { id: 'campaign-estimate' }, loading('Counting the audience…'));
    const launchLabel = when === 'now' ? 'Send now' : when === 'draft' ? null : 'Schedule';
    const launch = launchLabel ? h('button', { type: 'button', id: 'campaign-launch' }, launchLabel) : null;
    const keep = h('button', { type: 'button', class: 'secondary', id: 'campaign-keep' }, 'Keep as a draft');
    const reviewNotice = notice();
    replace(view, h('section', { class: 'card', 'aria-labelledby': 'review-title' },
      h('h2', { id: 'review-title' }, `Review “${campaign.name}”`),
      h('p', {}, ...scheduleText(campaign), campaign.throttle_per_second ? ` At most ${campaign.throttle_per_second} a second.` : ''),
      box, reviewNotice, h('div', { class: 'actions' }, launch, keep)));
    keep.addEventListener('click', () => showDetail(campaign.id));
    launch?.addEventListener('click', async () => {
      await busy(launch, when === 'now' ? 'Sending…' : 'Scheduling…', async () => {
        try {
          await api('POST', `/v1/campaigns/${campaign.id}/${when === 'now' ? 'send' : 'schedule'}`);
          await showDetail(campaign.id);
        } catch (error) { reviewNotice.show(error.field ? `${error.field}: ${error.message}` : error.message, 'error', { sticky: true }); }
      });
    });
    try {
      const estimate = await api('POST', `/v1/campaigns/${campaign.id}/estimate`);
      const excluded = Object.keys(REASONS).filter((reason) => reason in estimate.excluded).map((reason) => [reason, estimate.excluded[reason]]);
      replace(box,
        h('p', { class: 'big-number', id: 'estimate-recipients' }, `${estimate.recipients.toLocaleString()} recipient${estimate.recipients === 1 ? '' : 's'}`),
        h('p', { id: 'estimate-segments' }, `${estimate.segments_total.toLocaleString()} SMS part${estimate.segments_total === 1 ? '' : 's'} in all`,
          estimate.segments_estimated ? ' (estimated from a sample)' : '', ', each text rendered for its recipient with the opt-out footer.'),
        h('table', { class: 'data', id: 'estimate-exclusions' },
          h('caption', {}, 'Left out'),
          h('tbody', {}, excluded.map(([reason, n]) => h('tr', { dataset: { reason } },
            h('th', { scope: 'row' }, REASONS[reason] ?? reason), h('td', { class: 'num' }, n.toLocaleString()))))));
    } catch (error) {
      replace(box, h('p', { class: 'error', role: 'alert' }, error.message));
    }
  }

  // MARK: Detail

  async function showDetail(id) {
    stop();
    remember(id);
    const head = h('div', { class: 'card-head' });
    const summary = h('p', { id: 'campaign-summary' });
    const progress = h('progress', { id: 'campaign-progress', max: 100, value: 0, 'aria-label': 'Campaign progress' });
    const progressText = h('span', { id: 'campaign-progress-text' });
    const chartBox = h('div', { id: 'campaign-chart' });
    const actions = h('div', { class: 'actions', id: 'campaign-actions' });
    const actionNotice = notice();
    const filter = field({ label: 'Show', name: 'status', id: 'recipient-filter', options: [['', 'Everyone'], ['pending', 'Waiting'],
      ['queued', 'Queued'], ['sent', 'Sent'], ['delivered', 'Delivered'], ['failed', 'Failed'], ['undelivered', 'Undelivered'],
      ['skipped', 'Skipped'], ['excluded', 'Excluded'], ['canceled', 'Cancelled']] });
    const log = h('div', { id: 'campaign-recipients' }, loading());
    const back = h('button', { type: 'button', class: 'secondary', id: 'campaign-list' }, 'All campaigns');
    back.addEventListener('click', showList);
    replace(view,
      h('section', { class: 'card', 'aria-labelledby': 'detail-title' }, head, summary, h('div', {}, progress, ' ', progressText),
        chartBox, actions, actionNotice),
      h('section', { class: 'card', 'aria-labelledby': 'log-title' }, h('h2', { id: 'log-title' }, 'Recipients'), filter, log),
      h('div', { class: 'actions' }, back));
    filter.querySelector('select').addEventListener('change', () => loadLog());

    let shownStatus = null;
    async function act(action, label) {
      try {
        const result = await api('POST', `/v1/campaigns/${id}/${action}`);
        actionNotice.show(action === 'retry-failed' ? `${result.retried.toLocaleString()} recipient${result.retried === 1 ? '' : 's'} will be sent again.` : label);
        await load();
      } catch (error) { actionNotice.show(error.message, 'error', { sticky: true }); }
    }
    function button(action, text, label, { confirm } = {}) {
      const b = h('button', { type: 'button', class: action === 'cancel' ? 'danger' : 'secondary', id: `campaign-${action}` }, text);
      b.addEventListener('click', async () => {
        if (confirm && !await confirmAction(confirm)) return;
        await busy(b, `${text}…`, () => act(action, label));
      });
      return b;
    }
    async function load() {
      const campaign = await api('GET', `/v1/campaigns/${id}`);
      const p = progressOf(campaign.stats);
      replace(head, h('h2', { id: 'detail-title' }, campaign.name), chip(campaign.status, 'campaign-status'));
      replace(summary, ...scheduleText(campaign), ...(campaign.launched_at ? [' Audience frozen ', time(campaign.launched_at), '.'] : []));
      progress.value = p.percent;
      progressText.textContent = `${p.done.toLocaleString()} of ${p.total.toLocaleString()} done (${p.percent}%)`;
      const stats = campaign.stats;
      replace(chartBox, barChart([
        { key: 'queued', label: 'Waiting', value: stats.queued }, { key: 'sending', label: 'Sending', value: stats.sending },
        { key: 'sent', label: 'Sent', value: stats.sent }, { key: 'delivered', label: 'Delivered', value: stats.delivered },
        { key: 'undelivered', label: 'Undelivered', value: stats.undelivered }, { key: 'failed', label: 'Failed', value: stats.failed },
        { key: 'skipped', label: 'Skipped', value: stats.skipped }, { key: 'excluded', label: 'Excluded', value: stats.excluded },
      ], { caption: 'Where every recipient stands', label: `${campaign.name}: recipients by status` }));
      if (shownStatus !== campaign.status && canWrite) {
        shownStatus = campaign.status;
        const s = campaign.status;
        replace(actions,
          ['draft', 'scheduled'].includes(s) ? button('send', 'Send now', 'Sending.') : null,
          s === 'sending' ? button('pause', 'Pause', 'Paused: nothing more goes until you resume.') : null,
          s === 'paused' ? button('resume', 'Resume', 'Resumed.') : null,
          ['sending', 'paused', 'completed'].includes(s) && stats.failed ? button('retry-failed', 'Retry failed', '') : null,
          ['draft', 'scheduled', 'sending', 'paused'].includes(s)
            ? button('cancel', 'Cancel campaign', 'Cancelled.', { confirm: { title: `Cancel “${campaign.name}”?`, text: 'Recipients still waiting will not be messaged. This cannot be undone.', confirm: 'Cancel campaign' } })
            : null);
      } else if (canWrite && ['sending', 'paused', 'completed'].includes(campaign.status) && stats.failed && !actions.querySelector('#campaign-retry-failed')) {
        actions.prepend(button('retry-failed', 'Retry failed', ''));
      }
      await loadLog();
    }
    async function loadLog() {
      const status = filter.querySelector('select').value;
      try {
        const page = await api('GET', `/v1/campaigns/${id}/recipients${query({ status: status || null, limit: 100 })}`);
        if (!page.data.length) { replace(log, h('p', { class: 'muted' }, 'Nobody here.')); return; }
        replace(log, h('table', { class: 'data', id: 'recipients-table' },
          h('thead', {}, h('tr', {}, ['Phone', 'Name', 'State', 'Message', 'Why', 'Changed'].map((t) => h('th', { scope: 'col' }, t)))),
          h('tbody', {}, page.data.map((r) => h('tr', { dataset: { contact: r.contact_id, status: r.status } },
            h('td', { class: 'mono' }, r.phone ?? '—'), h('td', {}, r.name ?? ''), h('td', {}, chip(r.status)),
            h('td', {}, r.message_status ? chip(r.message_status) : ''),
            h('td', {}, r.reason ? (REASONS[r.reason] ?? r.reason) : (r.error_code ?? '')),
            h('td', {}, time(r.updated_at)))))),
        page.next_cursor ? h('p', { class: 'muted' }, 'Showing the 100 most recent changes; filter to narrow down.') : null);
      } catch (error) {
        replace(log, h('p', { class: 'error', role: 'alert' }, error.message));
      }
    }
    try { await load(); } catch (error) { replace(view, h('p', { class: 'error', role: 'alert' }, error.message)); return; }
    stopPolling = poll(load, 2000);
  }

  const linked = /^#\/campaigns\/([0-9a-f-]{36})$/i.exec(location.hash);
  if (linked) showDetail(linked[1]); else showList();
  return stop;
}
