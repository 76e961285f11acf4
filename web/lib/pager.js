// A list paged by the server: the first page, then "Load more" for each next cursor. The
// page's own `render(items)` draws what is loaded; nothing is fetched in bulk.
import { busy, h, replace } from './dom.js';

/**
 * `load(cursor)` resolves with `{data, next_cursor}`; `render(items)` returns the list's nodes.
 * Returns `{element, reload(), items()}`; `element` holds the list and the "Load more" button.
 */
export function pager({ load, render, id }) {
  let items = [];
  let cursor = null;
  let generation = 0;
  const listBox = h('div', { class: 'table-wrap' });
  const more = h('button', { type: 'button', class: 'secondary', id: id ? `${id}-more` : undefined, hidden: true }, 'Load more');
  const element = h('div', { id }, listBox, h('div', { class: 'actions center' }, more));

  function draw() {
    replace(listBox, render(items));
    more.hidden = !cursor;
  }

  more.addEventListener('click', () => busy(more, 'Loading…', async () => {
    const mine = generation;
    const page = await load(cursor);
    if (mine !== generation) return;
    items = items.concat(page.data);
    cursor = page.next_cursor;
    draw();
  }));

  async function reload() {
    generation += 1;
    const mine = generation;
    const page = await load(null);
    if (mine !== generation) return;
    items = page.data;
    cursor = page.next_cursor;
    draw();
  }

  return { element, reload, items: () => items, set: (next) => { items = next; draw(); } };
}
