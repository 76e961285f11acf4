// A horizontal bar chart as inline SVG, built with DOM APIs. Colours come from CSS classes
// (`bar-<key>`), so the chart follows the status chips.
import { h, s } from './dom.js';

/**
 * `bars`: `[{key, label, value}]`; `unit` follows each number (`%`). Returns a `<figure>` with the chart and a caption; the
 * SVG has a title and each bar a `<title>`, and the numbers are printed beside the bars.
 */
export function barChart(bars, { caption, label, unit = '' }) {
  const rowHeight = 26;
  const labelWidth = 110;
  const valueWidth = 48;
  const width = 480;
  const barSpace = width - labelWidth - valueWidth;
  const height = Math.max(1, bars.length) * rowHeight + 4;
  const max = Math.max(1, ...bars.map((bar) => bar.value));
  const titleId = `chart-title-${Math.random().toString(36).slice(2, 8)}`;

  const svg = s('svg', {
    class: 'chart', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': titleId,
    preserveAspectRatio: 'xMinYMin meet',
  }, s('title', { id: titleId }, label));

  bars.forEach((bar, index) => {
    const y = index * rowHeight + 2;
    const length = bar.value === 0 ? 0 : Math.max(3, Math.round((bar.value / max) * barSpace));
    svg.append(s('g', { class: `bar bar-${bar.key}`, dataset: { key: bar.key, value: String(bar.value) } },
      s('title', {}, `${bar.label}: ${bar.value}${unit}`),
      s('text', { x: labelWidth - 10, y: y + rowHeight / 2, class: 'bar-label', 'text-anchor': 'end', 'dominant-baseline': 'middle' }, bar.label),
      s('rect', { x: labelWidth, y: y + 4, width: barSpace, height: rowHeight - 8, rx: 4, class: 'bar-track' }),
      s('rect', { x: labelWidth, y: y + 4, width: length, height: rowHeight - 8, rx: 4, class: 'bar-fill' }),
      s('text', { x: labelWidth + length + 6, y: y + rowHeight / 2, class: 'bar-value', 'dominant-baseline': 'middle' }, `${bar.value}${unit}`),
    ));
  });
  return h('figure', { class: 'chart-figure' }, svg, caption ? h('figcaption', { class: 'hint' }, caption) : null);
}

/**
 * Stacked columns over time as inline SVG: `buckets` is `[{start, counts: {key: n}}]` oldest
 * first, `keys` the stack order (bottom up; each gets the class `bar-<key>`). Each column has a
 * `<title>` with its hour and counts; the axis shows the largest column and a few times.
 */
export function stackedColumns(buckets, keys, { label, caption, formatTime }) {
  const width = 720;
  const height = 200;
  const left = 44;
  const bottom = 22;
  const plotWidth = width - left - 6;
  const plotHeight = height - bottom - 8;
  const totals = buckets.map((bucket) => keys.reduce((sum, key) => sum + (bucket.counts[key] ?? 0), 0));
  const max = Math.max(1, ...totals);
  const step = plotWidth / Math.max(1, buckets.length);
  const barWidth = Math.max(1, step * 0.78);
  const titleId = `chart-title-${Math.random().toString(36).slice(2, 8)}`;
  const svg = s('svg', {
    class: 'chart chart-columns', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': titleId,
    preserveAspectRatio: 'xMinYMin meet',
  }, s('title', { id: titleId }, label));
  const y = (value) => 8 + plotHeight - (value / max) * plotHeight;
  svg.append(
    s('line', { x1: left, x2: width - 6, y1: y(0), y2: y(0), class: 'axis' }),
    s('line', { x1: left, x2: width - 6, y1: y(max), y2: y(max), class: 'grid-line' }),
    s('text', { x: left - 6, y: y(max), class: 'axis-label', 'text-anchor': 'end', 'dominant-baseline': 'middle' }, max.toLocaleString()),
    s('text', { x: left - 6, y: y(0), class: 'axis-label', 'text-anchor': 'end', 'dominant-baseline': 'middle' }, '0'));
  const labelEvery = Math.max(1, Math.ceil(buckets.length / 8));
  buckets.forEach((bucket, index) => {
    const x = left + index * step + (step - barWidth) / 2;
    const parts = keys.filter((key) => bucket.counts[key]).map((key) => `${bucket.counts[key].toLocaleString()} ${key}`);
    const column = s('g', { class: 'column', dataset: { start: bucket.start, total: String(totals[index]) } },
      s('title', {}, `${formatTime(bucket.start)}: ${parts.length ? parts.join(', ') : 'nothing'}`),
      s('rect', { x: left + index * step, y: 8, width: step, height: plotHeight, class: 'column-hit' }));
    let base = 0;
    for (const key of keys) {
      const value = bucket.counts[key] ?? 0;
      if (!value) continue;
      const top = y(base + value);
      column.append(s('rect', { x, y: top, width: barWidth, height: Math.max(1, y(base) - top), class: `bar-${key} seg` }));
      base += value;
    }
    svg.append(column);
    if (index % labelEvery === 0) {
      svg.append(s('text', { x: left + index * step + step / 2, y: height - 6, class: 'axis-label', 'text-anchor': 'middle' },
        formatTime(bucket.start, { short: true })));
    }
  });
  const legend = h('ul', { class: 'legend' }, keys.map((key) => h('li', {}, h('span', { class: `swatch bar-${key}`, 'aria-hidden': 'true' }), key)));
  return h('figure', { class: 'chart-figure' }, svg, legend, caption ? h('figcaption', { class: 'hint' }, caption) : null);
}
