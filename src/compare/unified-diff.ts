// A unified-diff style text (`--- legacy` / `+++ candidate`, `@@` hunks with
// three lines of context) for mismatch samples shown to people. A plain LCS
// line diff after trimming the common head and tail: samples are small, and
// past LCS_CELLS the middle is shown as all-removed then all-added rather
// than spending quadratic time on a picture.

const LCS_CELLS = 4_000_000;
const CONTEXT = 3;

type Op = { readonly sign: ' ' | '-' | '+'; readonly text: string };

function lineOps(a: string[], b: string[]): Op[] {
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (
    tail < a.length - head &&
    tail < b.length - head &&
    a[a.length - 1 - tail] === b[b.length - 1 - tail]
  ) {
    tail++;
  }
  const ops: Op[] = [];
  for (let i = 0; i < head; i++) ops.push({ sign: ' ', text: a[i] });
  const am = a.slice(head, a.length - tail);
  const bm = b.slice(head, b.length - tail);
  if (am.length * bm.length > LCS_CELLS) {
    for (const text of am) ops.push({ sign: '-', text });
    for (const text of bm) ops.push({ sign: '+', text });
  } else {
    ops.push(...lcsOps(am, bm));
  }
  for (let i = a.length - tail; i < a.length; i++) ops.push({ sign: ' ', text: a[i] });
  return ops;
}

function lcsOps(a: string[], b: string[]): Op[] {
  const n = a.length;
  const m = b.length;
  const w = m + 1;
  // lengths[i*w+j] = LCS of a[i..] and b[j..]
  const lengths = new Uint32Array((n + 1) * w);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lengths[i * w + j] =
        a[i] === b[j]
          ? lengths[(i + 1) * w + j + 1] + 1
          : Math.max(lengths[(i + 1) * w + j], lengths[i * w + j + 1]);
    }
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      ops.push({ sign: ' ', text: a[i++] });
      j++;
    } else if (lengths[(i + 1) * w + j] >= lengths[i * w + j + 1]) {
      ops.push({ sign: '-', text: a[i++] });
    } else {
      ops.push({ sign: '+', text: b[j++] });
    }
  }
  while (i < n) ops.push({ sign: '-', text: a[i++] });
  while (j < m) ops.push({ sign: '+', text: b[j++] });
  return ops;
}

function hunks(ops: Op[]): string[] {
  const out: string[] = [];
  let k = 0;
  // Line numbers (1-based) in legacy and candidate before ops[k].
  const aLine: number[] = [];
  const bLine: number[] = [];
  let al = 1;
  let bl = 1;
  for (const op of ops) {
    aLine.push(al);
    bLine.push(bl);
    if (op.sign !== '+') al++;
    if (op.sign !== '-') bl++;
  }
  while (k < ops.length) {
    while (k < ops.length && ops[k].sign === ' ') k++;
    if (k === ops.length) break;
    const start = Math.max(0, k - CONTEXT);
    let end = k;
    // Extend while the next change is within two contexts of the last one.
    for (let last = k; end < ops.length; end++) {
      if (ops[end].sign !== ' ') last = end;
      else if (end - last > 2 * CONTEXT) break;
    }
    let lastChange = end - 1;
    while (ops[lastChange].sign === ' ') lastChange--;
    const stop = Math.min(ops.length, lastChange + 1 + CONTEXT);
    let aCount = 0;
    let bCount = 0;
    const body: string[] = [];
    for (let x = start; x < stop; x++) {
      if (ops[x].sign !== '+') aCount++;
      if (ops[x].sign !== '-') bCount++;
      body.push(ops[x].sign + ops[x].text);
    }
    const aStart = aCount === 0 ? aLine[start] - 1 : aLine[start];
    const bStart = bCount === 0 ? bLine[start] - 1 : bLine[start];
    out.push(`@@ -${aStart},${aCount} +${bStart},${bCount} @@`, ...body);
    k = stop;
  }
  return out;
}

/**
 * The line diff of two texts, at most `maxChars` long (cut at a line end and
 * marked). Empty when the texts are equal.
 */
export function unifiedDiff(legacy: string, candidate: string, maxChars = 4096): string {
  if (legacy === candidate) return '';
  const lines = [
    '--- legacy',
    '+++ candidate',
    ...hunks(lineOps(legacy.split('\n'), candidate.split('\n'))),
  ];
  const text = lines.join('\n');
  if (text.length <= maxChars) return text;
  const marker = `\n… truncated (${text.length} chars)`;
  if (maxChars <= marker.length) return text.slice(0, Math.max(0, maxChars));
  const room = maxChars - marker.length;
  const cut = text.lastIndexOf('\n', room);
  return text.slice(0, cut > 0 ? cut : room) + marker;
}
