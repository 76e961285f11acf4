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
