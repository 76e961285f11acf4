// What campaign pages share.

const DONE = ['sent', 'delivered', 'undelivered', 'failed', 'skipped'];

/** Recipients whose message is settled (or who were skipped), out of all recipients. */
export function progressOf(stats) {
  const done = DONE.reduce((sum, key) => sum + (stats[key] ?? 0), 0);
  return { done, total: stats.recipients, percent: stats.recipients ? Math.round((done / stats.recipients) * 100) : 0 };
}
