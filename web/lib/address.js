// Filters kept in the address (`#/messages?status=failed`), so a reload or a shared link opens
// the same view. Written with replaceState: changing a filter is not a new page in the history.

/** The parameters after `?` in the hash. */
export function readParams() {
  const hash = location.hash;
  const at = hash.indexOf('?');
  return new URLSearchParams(at < 0 ? '' : hash.slice(at + 1));
}

/** Replaces the hash's parameters with the non-empty values of `values`. */
export function writeParams(values) {
  const hash = location.hash;
  const at = hash.indexOf('?');
  const base = at < 0 ? hash : hash.slice(0, at);
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(values)) {
    if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
  }
  const text = params.toString();
  const next = text ? `${base}?${text}` : base;
  if (next !== hash) history.replaceState(null, '', next);
}
