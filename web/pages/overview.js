// Overview: what happened in the last 24 hours or 7 days — messages per hour by status,
// delivery rate by provider, verification conversion by country and channel, and the
// campaigns sending now with live progress. Every number comes from an aggregate endpoint.
import { api } from '../lib/api.js';
import { readParams, writeParams } from '../lib/address.js';
import { progressOf } from '../lib/campaigns.js';
import { barChart, stackedColumns } from '../lib/chart.js';
import { emptyState, h, loading, poll, replace } from '../lib/dom.js';

export const title = 'Overview';

const RANGES = { '24h': { hours: 24, label: 'Last 24 hours' }, '7d': { hours: 168, label: 'Last 7 days' } };
const STATUSES = ['delivered', 'sent', 'sending', 'queued', 'undelivered', 'failed', 'canceled'];
const hourFormat = new Intl.DateTimeFormat(undefined, { weekday: 'short', hour: '2-digit', minute: '2-digit' });
const shortHour = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const shortDay = new Intl.DateTimeFormat(undefined, { weekday: 'short', day: 'numeric' });

export function mount(container, { session, canUse }) {
  const range = RANGES[readParams().get('range')] ? readParams().get('range') : '24h';
  const view = { range };
  const showVerifications = canUse('verifications');
  const showCampaigns = canUse('campaigns');

  const toggle = h('div', { class: 'segmented', role: 'group', 'aria-label': 'Time range' },
    Object.entries(RANGES).map(([key, { label }]) => {
      const button = h('button', { type: 'button', dataset: { range: key }, 'aria-pressed': String(key === view.range) }, label);
      button.addEventListener('click', () => {
        view.range = key;
        writeParams({ range: key === '24h' ? '' : key });
        for (const other of toggle.querySelectorAll('button')) other.setAttribute('aria-pressed', String(other === button));
        refresh();
      });
      return button;
    }));

  const tiles = h('div', { class: 'tiles', id: 'overview-tiles' });
  const hourly = h('div', { id: 'overview-hourly' }, loading());
  const providers = h('div', { id: 'overview-providers' }, loading());
  const countries = h('div', { id: 'overview-countries' }, loading());
  const channels = h('div', { id: 'overview-channels' }, loading());
  const campaigns = h('div', { id: 'overview-campaigns', 'aria-live': 'polite' }, loading());

  replace(container,
    h('div', { class: 'card-head page-head' }, h('p', { class: 'hint' }, `Signed in as ${session.user.email}.`), toggle),
    tiles,
    h('section', { class: 'card', 'aria-labelledby': 'hourly-title' }, h('h2', { id: 'hourly-title' }, 'Messages per hour'), hourly),
    h('div', { class: 'grid-2' },
      h('section', { class: 'card', 'aria-labelledby': 'providers-title' }, h('h2', { id: 'providers-title' }, 'Delivery rate by provider'), providers),
      showCampaigns
        ? h('section', { class: 'card', 'aria-labelledby': 'campaigns-title' },
          h('div', { class: 'card-head' }, h('h2', { id: 'campaigns-title' }, 'Campaigns in flight'), h('a', { href: '#/campaigns' }, 'All campaigns')),
          campaigns)
        : null),
    showVerifications
      ? h('div', { class: 'grid-2' },
        h('section', { class: 'card', 'aria-labelledby': 'countries-title' }, h('h2', { id: 'countries-title' }, 'Verification conversion by country'), countries),
        h('section', { class: 'card', 'aria-labelledby': 'channels-title' }, h('h2', { id: 'channels-title' }, 'Verification conversion by channel'), channels))
      : null);

  function formatTime(iso, { short = false } = {}) {
    const date = new Date(iso);
    if (!short) return hourFormat.format(date);
    return view.range === '24h' ? shortHour.format(date) : shortDay.format(date);
  }

  function tile(id, label, value) {
    return h('div', { class: 'tile', id }, h('span', { class: 'tile-value' }, value.toLocaleString()), h('span', { class: 'tile-label' }, label));
  }

  async function loadMessages() {
    const stats = await api('GET', `/v1/message-stats?hours=${RANGES[view.range].hours}`);
    const t = stats.totals;
    const all = Object.values(t).reduce((a, b) => a + b, 0);
    const known = t.delivered + t.undelivered + t.failed;
    replace(tiles,
      tile('tile-total', 'messages', all),
      tile('tile-delivered', 'delivered', t.delivered),
      tile('tile-failed', 'failed or undelivered', t.failed + t.undelivered),
      tile('tile-waiting', 'waiting to send', t.queued + t.sending),
      h('div', { class: 'tile', id: 'tile-rate' },
        h('span', { class: 'tile-value' }, known ? `${Math.round((t.delivered / known) * 1000) / 10}%` : '—'),
        h('span', { class: 'tile-label' }, 'delivery rate')));
    if (!all) replace(hourly, emptyState('Nothing sent in this range.', 'Messages appear here by the hour as they are sent.'));
    else {
      replace(hourly, stackedColumns(stats.hours, STATUSES, {
        label: `Messages per hour, ${RANGES[view.range].label.toLowerCase()}: ${all.toLocaleString()} in all`,
        caption: 'Each column is one hour, by the status its messages have now. Hover a column for its numbers.',
        formatTime,
      }));
    }
    if (!stats.providers.length) {
      replace(providers, emptyState('No provider has sent anything in this range.'));
    } else {
      replace(providers, barChart(stats.providers.map((p) => ({
        key: 'delivered', label: p.name, value: p.delivery_rate === null ? 0 : Math.round(p.delivery_rate * 1000) / 10,
      })), {
        label: 'Delivery rate by provider',
        unit: '%',
        caption: stats.providers.map((p) => `${p.name}: ${p.total.toLocaleString()} messages${p.delivery_rate === null ? ', none settled yet' : ''}`).join(' · '),
      }));
    }
  }

  async function loadVerifications() {
    if (!showVerifications) return;
    const rows = (await api('GET', `/v1/verification-stats?hours=${RANGES[view.range].hours}`)).data;
    const group = (key) => {
      const sums = new Map();
      for (const row of rows) {
        const name = row[key] ?? 'unknown';
        const sum = sums.get(name) ?? { created: 0, approved: 0 };
        sum.created += row.created;
        sum.approved += row.approved;
        sums.set(name, sum);
      }
      return [...sums.entries()].sort((a, b) => b[1].created - a[1].created).slice(0, 12);
    };
    const chart = (box, key, what) => {
      const groups = group(key);
      if (!groups.length) { replace(box, emptyState('No verifications in this range.')); return; }
      replace(box, barChart(groups.map(([name, sum]) => ({
        key: 'delivered', label: name, value: Math.round((sum.approved / sum.created) * 1000) / 10,
      })), {
        label: `Verification conversion by ${what}`,
        unit: '%',
        caption: groups.map(([name, sum]) => `${name}: ${sum.approved} of ${sum.created} approved`).join(' · '),
      }));
    };
    chart(countries, 'country', 'country');
    chart(channels, 'channel', 'channel');
  }

  async function loadCampaigns() {
    if (!showCampaigns) return;
    const [sending, paused] = await Promise.all([
      api('GET', '/v1/campaigns?status=sending&limit=20'),
      api('GET', '/v1/campaigns?status=paused&limit=20'),
    ]);
    const list = [...sending.data, ...paused.data];
    if (!list.length) { replace(campaigns, emptyState('No campaign is sending now.')); return; }
    replace(campaigns, h('ul', { class: 'in-flight', id: 'in-flight' }, list.map((campaign) => {
      const progress = progressOf(campaign.stats);
      return h('li', { dataset: { id: campaign.id } },
        h('a', { href: `#/campaigns/${campaign.id}` }, campaign.name),
        h('span', { class: 'muted' }, `${campaign.status} · ${progress.done.toLocaleString()} of ${progress.total.toLocaleString()} (${progress.percent}%)`),
        h('progress', { max: 100, value: progress.percent, 'aria-label': `${campaign.name}: ${progress.percent}% done` }));
    })));
  }

  function refresh() {
    const guard = (box) => (error) => replace(box, h('p', { class: 'error', role: 'alert' }, error.message));
    loadMessages().catch(guard(hourly));
    loadVerifications().catch(guard(countries));
    loadCampaigns().catch(guard(campaigns));
  }

  refresh();
  const stopCampaigns = poll(loadCampaigns, 3000);
  const stopAll = poll(() => Promise.all([loadMessages(), loadVerifications()]), 30000);
  return () => { stopCampaigns(); stopAll(); };
}
