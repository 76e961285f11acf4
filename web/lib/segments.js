// SMS length as 3GPP TS 23.038 counts it: GSM-7 160 septets (153 per part when split, an
// extension character costs two and is never split), else UCS-2 70 units (67 per part,
// a surrogate pair is never split). Used when the server has no /v1/templates/preview.

const GSM_BASIC = new Set(
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà');
const GSM_EXTENSION = new Set('\f^{}\\[~]|€');

/** `{encoding, segments, characters, units, perSegment, nonGsm}` for `text`. */
export function countSegments(text) {
  const chars = [...text];
  const nonGsm = [...new Set(chars.filter((c) => !GSM_BASIC.has(c) && !GSM_EXTENSION.has(c)))];
  if (nonGsm.length === 0) {
    const costs = chars.map((c) => (GSM_EXTENSION.has(c) ? 2 : 1));
    return summary('GSM-7', costs, 160, 153, chars.length, nonGsm);
  }
  const costs = chars.map((c) => (c.codePointAt(0) > 0xffff ? 2 : 1));
  return summary('UCS-2', costs, 70, 67, chars.length, nonGsm);
}

function summary(encoding, costs, single, multi, characters, nonGsm) {
  const units = costs.reduce((a, b) => a + b, 0);
  let segments = 0;
  if (units > 0 && units <= single) segments = 1;
  else if (units > single) {
    // Pack parts greedily; an indivisible character that does not fit starts the next part.
    let used = 0;
    segments = 1;
    for (const cost of costs) {
      if (used + cost > multi) { segments += 1; used = 0; }
      used += cost;
    }
  }
  return { encoding, segments, characters, units, perSegment: segments > 1 ? multi : single, nonGsm };
}
