// DOM helpers. Everything that shows data goes through text nodes, textContent or
// attributes; nothing here ever parses HTML.

const PROPERTIES = new Set(['value', 'checked', 'selected', 'disabled', 'hidden', 'readOnly', 'required', 'multiple']);

/** `h('button', {class: 'x', onclick: f}, 'Save')` → an element. Strings become text nodes. */
export function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

/** The same for SVG elements. */
export function s(tag, attrs, ...children) {
  return build(document.createElementNS('http://www.w3.org/2000/svg', tag), attrs, children);
}

function build(el, attrs, children) {
  const props = [];
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.setAttribute('class', value);
    else if (key === 'text') el.textContent = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (PROPERTIES.has(key)) props.push([key, value]);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  for (const [key, value] of props) el[key] = value;
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's children. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let uniqueCounter = 0;
export function uniqueId(prefix) { uniqueCounter += 1; return `${prefix}-${uniqueCounter}`; }

// MARK: Forms

/**
 * A labelled form control with a hint and a place for its error. `name` is the API's field path
 * (`config.account_sid`), so a `{"error": {"field"}}` finds its input.
 */
export function field({ label, name, type = 'text', value = '', hint, required = false, options, rows, placeholder,
                        autocomplete = 'off', readOnly = false, inputmode, spellcheck, id }) {
  const controlId = id ?? uniqueId(`f-${name.replace(/[^a-zA-Z0-9_-]+/g, '-')}`);
  const hintId = hint ? `${controlId}-hint` : null;
  const errorId = `${controlId}-error`;
  const common = {
    id: controlId, name, dataset: { field: name }, required, readOnly, placeholder, inputmode,
    'aria-describedby': [hintId, errorId].filter(Boolean).join(' '),
    'aria-required': required ? 'true' : null,
  };
  let control;
  if (options) {
    control = h('select', common, options.map((option) => {
      const [optionValue, optionLabel] = Array.isArray(option) ? option : [option, option];
      return h('option', { value: optionValue }, optionLabel);
    }));
    if (value !== '' && value != null) control.value = value;
  } else if (type === 'textarea') {
    control = h('textarea', { ...common, rows: rows ?? 3, spellcheck: spellcheck ?? null, value: value ?? '' });
  } else if (type === 'checkbox') {
    control = h('input', { ...common, type, checked: Boolean(value) });
  } else {
    control = h('input', { ...common, type, autocomplete, spellcheck: spellcheck ?? null, value: value ?? '' });
  }
  const labelEl = h('label', { for: controlId }, label, required ? h('span', { class: 'req', 'aria-hidden': 'true' }, ' *') : null);
  const wrapper = type === 'checkbox'
    ? h('div', { class: 'field field-check' }, control, labelEl)
    : h('div', { class: 'field' }, labelEl, control);
  if (hint) wrapper.append(h('p', { class: 'hint', id: hintId }, hint));
  wrapper.append(h('p', { class: 'field-error', id: errorId, hidden: true }));
  return wrapper;
}

/** Clears every error shown in `form`. */
export function clearErrors(form) {
  for (const el of form.querySelectorAll('.field-error')) { el.textContent = ''; el.hidden = true; }
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  const box = form.querySelector('.form-error');
  if (box) { box.textContent = ''; box.hidden = true; }
}

/**
 * Shows an API error where it belongs: next to the control whose `data-field` is the error's
 * `field` (or its nearest parent path: `allowed_countries[2]` → `allowed_countries`), otherwise
 * in the form's `.form-error` box. Returns the element that got it.
 */
export function showError(form, error) {
  const text = error.described ?? error.message;
  const control = error.field ? controlFor(form, error.field) : null;
  if (control) {
    const errorEl = document.getElementById(`${control.id}-error`);
    control.setAttribute('aria-invalid', 'true');
    if (errorEl) {
      errorEl.textContent = text;
      errorEl.hidden = false;
      control.focus();
      return errorEl;
    }
  }
  const box = form.querySelector('.form-error');
  box.textContent = text;
  box.hidden = false;
  return box;
}

function controlFor(form, path) {
  let candidate = path;
  while (candidate) {
    const match = [...form.querySelectorAll('[data-field]')].find((el) => el.dataset.field === candidate);
    if (match) return match;
    const cut = Math.max(candidate.lastIndexOf('.'), candidate.lastIndexOf('['));
    candidate = cut > 0 ? candidate.slice(0, cut) : '';
  }
  return null;
}

export function formError() { return h('p', { class: 'form-error error', role: 'alert', hidden: true }); }

/** Runs `task` with `button` disabled and a busy label. */
export async function busy(button, label, task) {
  const original = button.textContent;
  button.disabled = true;
  button.textContent = label;
  try { return await task(); } finally {
    button.disabled = false;
    button.textContent = original;
  }
}

// MARK: Display

const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const shortTime = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });

/** A `<time>` element: short local time, the exact UTC time on hover. */
export function time(iso, { long = false } = {}) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  const date = new Date(iso);
  return h('time', { datetime: iso, title: iso }, (long ? timeFormat : shortTime).format(date));
}

export function relative(iso) {
  const seconds = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
  if (seconds < 5) return 'just now';
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86400)} d ago`;
}

/** A coloured status chip. */
export function chip(status, extraClass = '') {
  return h('span', { class: `chip chip-${String(status).replace(/[^a-z_]/g, '')} ${extraClass}`.trim() }, status);
}

/** A button that copies `value()` to the clipboard and says so. */
export function copyButton(value, label = 'Copy', description = 'Copy to clipboard') {
  const button = h('button', { type: 'button', class: 'secondary small copy', 'aria-label': description }, label);
  button.addEventListener('click', async () => {
    const text = typeof value === 'function' ? value() : value;
    let ok = false;
    try {
      await navigator.clipboard.writeText(text);
      ok = true;
    } catch {
      const scratch = h('textarea', { class: 'offscreen', readOnly: true, value: text });
      document.body.append(scratch);
      scratch.select();
      try { ok = document.execCommand('copy'); } catch { ok = false; }
      scratch.remove();
    }
    button.textContent = ok ? 'Copied' : 'Copy failed';
    setTimeout(() => { button.textContent = label; }, 1500);
  });
  return button;
}

export function emptyState(title, ...body) {
  return h('div', { class: 'empty' }, h('p', { class: 'empty-title' }, title), body.map((part) => h('p', {}, part)));
}

export function loading(text = 'Loading…') {
  return h('p', { class: 'loading', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), text);
}

/** An inline message that replaces itself: `notice.show('Saved', 'ok')`. */
export function notice() {
  const el = h('p', { class: 'notice', role: 'status', hidden: true });
  let timer = null;
  el.show = (text, kind = 'ok', { sticky = false } = {}) => {
    el.textContent = text;
    el.className = `notice notice-${kind}`;
    el.hidden = false;
    clearTimeout(timer);
    if (!sticky) timer = setTimeout(() => { el.hidden = true; }, 6000);
  };
  el.clear = () => { el.hidden = true; el.textContent = ''; };
  return el;
}

// MARK: Behaviour

/**
 * Calls `task` now and every `ms` while the tab is visible, never twice at once.
 * Returns `stop()`.
 */
export function poll(task, ms) {
  let stopped = false;
  let running = false;
  const tick = async () => {
    if (stopped || running || document.visibilityState !== 'visible') return;
    running = true;
    try { await task(); } catch { /* shown by the task */ } finally { running = false; }
  };
  const timer = setInterval(tick, ms);
  const onVisible = () => { if (document.visibilityState === 'visible') tick(); };
  document.addEventListener('visibilitychange', onVisible);
  return () => {
    stopped = true;
    clearInterval(timer);
    document.removeEventListener('visibilitychange', onVisible);
  };
}

/** A modal confirmation; resolves true when the person confirms. */
export function confirmAction({ title, text, confirm = 'Delete' }) {
  const dialog = document.getElementById('confirm-dialog');
  document.getElementById('confirm-title').textContent = title;
  document.getElementById('confirm-text').textContent = text;
  document.getElementById('confirm-ok').textContent = confirm;
  dialog.returnValue = '';
  dialog.showModal();
  document.getElementById('confirm-cancel').focus();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
  });
}
