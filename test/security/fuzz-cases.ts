// Request cases for the parser fuzz pass (fuzz.test.ts): a base request with
// a smuggled inner request in its body, mutated at random in its framing
// (Content-Length, Transfer-Encoding, chunks), line endings, header syntax,
// request target and bytes. Deterministic for a seed.

import { prng } from '../helpers/prng.ts';

export { prng };

export interface FuzzCase {
  readonly n: number;
  readonly bytes: Buffer;
  /** The names of the mutations applied, to print a failing case. */
  readonly mutations: readonly string[];
  /**
   * Body bytes the upstream must receive if the gateway forwards this case,
   * when no mutation touched the framing; undefined when it is ambiguous.
   */
  readonly bodyBytes: number | undefined;
}

/**
 * The x-request-id of case `n`, with a check value: a flipped byte that turns
 * one case's id into another's would otherwise pass for it.
 */
export function caseId(seed: number, n: number): string {
  return `fz-${seed}-${n}-${(Math.imul(n ^ seed, 0x2c1b3c6d) >>> 8).toString(16)}`;
}

/** The case number an x-request-id names, or undefined. */
export function caseOf(seed: number, id: string): number | undefined {
  const m = /^fz-(\d+)-(\d+)-[0-9a-f]+$/.exec(id);
  if (m === null || Number(m[1]) !== seed) return undefined;
  const n = Number(m[2]);
  return caseId(seed, n) === id ? n : undefined;
}

/** Marker of the request hidden in each body; no upstream may ever see a path with it. */
export const SMUGGLED = '/smuggled-';

type Rand = () => number;

const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const int = (r: Rand, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));

/** A request being built: line, header lines, body; the last header line is never mutated. */
interface Draft {
  method: string;
  target: string;
  version: string;
  headers: string[];
  body: string;
  eol: string;
  /** Framing touched: the expected body length is no longer known. */
  framing: boolean;
  mutations: string[];
}

const TE_VARIANTS = [
  'Transfer-Encoding: chunked',
  'Transfer-Encoding:  chunked',
  'Transfer-Encoding: chunked, identity',
  'Transfer-Encoding: identity, chunked',
  'Transfer-Encoding: xchunked',
  'Transfer-Encoding: chunkedx',
  'Transfer-Encoding:\tchunked',
  'Transfer-Encoding: CHUNKED',
  'TRANSFER-ENCODING: chunked',
  'Transfer-Encoding: chunked ',
  'Transfer-Encoding : chunked',
  'Transfer-Encoding: "chunked"',
  'Transfer-Encoding: gzip, chunked',
  'Transfer-Encoding: chunked, chunked',
  'Transfer-Encoding: x\r\n chunked',
  'Transfer-Encoding:\r\n chunked',
  'Transfer_Encoding: chunked',
  'Transfer-Encoding: \u000bchunked',
];

type Mutation = (r: Rand, d: Draft) => void;

function framing(name: string, m: Mutation): [string, Mutation] {
  return [
    name,
    (r, d) => {
      d.framing = true;
      m(r, d);
    },
  ];
}

function clIndex(d: Draft): number {
  return d.headers.findIndex((h) => /^content-length/i.test(h));
}

const MUTATIONS: readonly [string, Mutation][] = [
  framing('cl-duplicate', (_r, d) => {
    const i = clIndex(d);
    d.headers.push(i === -1 ? `Content-Length: ${d.body.length}` : d.headers[i]);
  }),
  framing('cl-conflict', (r, d) => {
    d.headers.push(`Content-Length: ${Math.max(0, d.body.length + int(r, -20, 20))}`);
  }),
  framing('cl-odd-value', (r, d) => {
    const n = d.body.length;
    const v = pick(r, [
      `${n}, ${n}`,
      `${n},${n + 1}`,
      `+${n}`,
      `-${n}`,
      `0${n}`,
      `0x${n.toString(16)}`,
      `${n}.0`,
      ` ${n} `,
      `${n}abc`,
      '',
      '99999999999999999999',
      `${n}\t`,
    ]);
    const i = clIndex(d);
    const line = `Content-Length: ${v}`;
    if (i === -1) d.headers.unshift(line);
    else d.headers[i] = line;
  }),
  framing('cl-removed', (_r, d) => {
    const i = clIndex(d);
    if (i !== -1) d.headers.splice(i, 1);
  }),
  framing('te-variant', (r, d) => {
    d.headers.splice(int(r, 0, d.headers.length - 1), 0, pick(r, TE_VARIANTS));
  }),
  framing('te-twice', (r, d) => {
    d.headers.push(pick(r, TE_VARIANTS), pick(r, TE_VARIANTS));
  }),
  framing('te-with-cl', (r, d) => {
    if (clIndex(d) === -1) d.headers.push(`Content-Length: ${int(r, 0, d.body.length)}`);
    else d.headers.push('Transfer-Encoding: chunked');
  }),
  framing('chunk-size-bad', (r, d) => {
    const bad = pick(r, [
      '0x5',
      '-1',
      'fffffffffffffffff',
      '5 ',
      ' 5',
      '5;',
      '5;ext=1',
      '5;ext="a\\"b"',
      '5\t;x',
      'g',
      '',
      '00000000000000000005',
    ]);
    d.body = d.body.replace(/^[0-9a-f]+/i, bad);
  }),
  framing('chunk-no-crlf', (_r, d) => {
    d.body = d.body.replace('\r\n0\r\n', '0\r\n');
  }),
  framing('chunk-lf-only', (_r, d) => {
    d.body = d.body.replace(/\r\n/g, '\n');
  }),
  framing('chunk-trailer', (r, d) => {
    d.body = d.body.replace(
      '0\r\n\r\n',
      `0\r\n${pick(r, ['X-T: 1', 'Content-Length: 5', 'Transfer-Encoding: chunked', 'bad trailer'])}\r\n\r\n`,
    );
  }),
  framing('bare-lf', (r, d) => {
    d.eol = pick(r, ['\n', '\r\n', '\n']);
    if (d.eol === '\r\n') d.headers[int(r, 0, d.headers.length - 2)] += '\n';
  }),
  framing('bare-cr', (r, d) => {
    const i = int(r, 0, d.headers.length - 2);
    d.headers[i] = d.headers[i].replace(':', pick(r, [':\r', '\r:', ': x\ry']));
  }),
  [
    'space-before-colon',
    (r, d) => {
      const i = int(r, 0, d.headers.length - 2);
      d.headers[i] = d.headers[i].replace(':', pick(r, [' :', '\t:', '  :']));
      if (/^(content-length|transfer-encoding)/i.test(d.headers[i])) d.framing = true;
    },
  ],
  [
    'obs-fold',
    (r, d) => {
      const i = int(r, 0, d.headers.length - 2);
      d.headers.splice(i + 1, 0, pick(r, [' folded', '\tfolded', ' ', ' chunked']));
      d.framing = true;
    },
  ],
  [
    'control-byte',
    (r, d) => {
      const c = String.fromCharCode(pick(r, [0, 1, 8, 0x0b, 0x0c, 0x1b, 0x7f, 0x85]));
      const where = int(r, 0, 2);
      if (where === 0) d.target = d.target.replace('/', `/${c}`);
      else {
        const i = int(r, 0, d.headers.length - 2);
        const h = d.headers[i];
        const at = int(r, 0, h.length);
        d.headers[i] = h.slice(0, at) + c + h.slice(at);
        if (/^(content-length|transfer-encoding)/i.test(h)) d.framing = true;
      }
    },
  ],
  [
    'long-line',
    (r, d) => {
      const size = pick(r, [4096, 8190, 17000, 70000]);
      if (r() < 0.5) d.headers.splice(0, 0, `X-Long: ${'a'.repeat(size)}`);
      else d.target += `?${'q'.repeat(size)}`;
    },
  ],
  [
    'many-headers',
    (r, d) => {
      const n = pick(r, [50, 101, 2001]);
      for (let i = 0; i < n; i++) d.headers.splice(0, 0, `X-H${i}: ${i}`);
    },
  ],
  [
    'absolute-form',
    (r, d) => {
      d.target = pick(r, [
        `http://shop.test${d.target}`,
        `http://evil.test${d.target}`,
        `HTTP://shop.test:80${d.target}`,
        '*',
        'shop.test:443',
        `//evil.test${d.target}`,
      ]);
    },
  ],
  [
    'dot-segments',
    (r, d) => {
      d.target = d.target.replace(
        '/fuzz/',
        pick(r, ['/fuzz/./', '/fuzz/a/../', '/fuzz/%2e/', '/fuzz//', '/fuzz/.%2e/x/']),
      );
    },
  ],
  [
    'host-duplicate',
    (r, d) => {
      d.headers.splice(0, 0, pick(r, ['Host: evil.test', 'Host: shop.test', 'host: a, b']));
    },
  ],
  [
    'host-missing',
    (_r, d) => {
      d.headers = d.headers.filter((h) => !/^host:/i.test(h));
    },
  ],
  [
    'expect',
    (r, d) => {
      d.headers.splice(
        0,
        0,
        pick(r, ['Expect: 100-continue', 'Expect: foo', 'Expect: 100-CONTINUE']),
      );
    },
  ],
  [
    'upgrade',
    (r, d) => {
      d.headers.splice(
        0,
        0,
        pick(r, ['Upgrade: websocket', 'Upgrade: h2c', 'Upgrade: HTTP/2.0']),
        pick(r, ['Connection: Upgrade', 'Connection: keep-alive, Upgrade', 'X-No: 1']),
      );
    },
  ],
  [
    'method',
    (r, d) => {
      d.method = pick(r, [
        'GET',
        'HEAD',
        'OPTIONS',
        'PUT',
        'DELETE',
        'PATCH',
        'CONNECT',
        'TRACE',
        'get',
        'G ET',
        'POST ',
      ]);
      d.framing = true;
    },
  ],
  [
    'version',
    (r, d) => {
      d.version = pick(r, ['HTTP/1.0', 'HTTP/1.2', 'HTTP/2.0', 'http/1.1', 'HTTP/1.1 ', 'HTTP/1']);
      d.framing = true;
    },
  ],
  [
    'request-line-spaces',
    (r, d) => {
      d.target = pick(r, [
        `${d.target} x`,
        ` ${d.target}`,
        `${d.target}\t`,
        d.target.replace('/', '/ '),
      ]);
    },
  ],
];

/** Bodies: the smuggled request inside a plain body, after a last chunk, or inside a chunk. */
function baseDraft(r: Rand, n: number, seed: number): { draft: Draft; bodyBytes: number } {
  const inner = `GET ${SMUGGLED}${n} HTTP/1.1\r\nHost: shop.test\r\nX-Request-Id: smuggled-${n}\r\n\r\n`;
  const shape = int(r, 0, 3);
  const headers = [
    'Host: shop.test',
    `X-Request-Id: ${caseId(seed, n)}`,
    'Content-Type: text/plain',
  ];
  let body: string;
  let bodyBytes: number;
  let method = 'POST';
  if (shape === 0) {
    // CL body with the inner request at its end (CL.TE: a TE reader would see it after "0").
    body = `0\r\n\r\n${inner}`;
    bodyBytes = body.length;
    headers.push(`Content-Length: ${body.length}`);
  } else if (shape === 1) {
    const data = `a=${n}&pad=${'x'.repeat(int(r, 0, 40))}`;
    body = `${data.length.toString(16)}\r\n${data}\r\n0\r\n\r\n${inner}`;
    bodyBytes = data.length;
    headers.push('Transfer-Encoding: chunked');
  } else if (shape === 2) {
    // TE.CL: the inner request is chunk data; a CL reader would take it as the next request.
    body = `${inner.length.toString(16)}\r\n${inner}\r\n0\r\n\r\n`;
    bodyBytes = inner.length;
    headers.push('Transfer-Encoding: chunked');
  } else {
    method = 'GET';
    body = '';
    bodyBytes = 0;
  }
  // Never mutated: Node's server stops reading after a request with Connection: close, so
  // bytes past the outer request are never a legitimate next request.
  headers.push('Connection: close');
  return {
    draft: {
      method,
      target: `/fuzz/${n}?q=${n}`,
      version: 'HTTP/1.1',
      headers,
      body,
      eol: '\r\n',
      framing: false,
      mutations: [],
    },
    bodyBytes,
  };
}

function render(d: Draft): Buffer {
  const head = `${d.method} ${d.target} ${d.version}${d.eol}${d.headers.join(d.eol)}${d.eol}${d.eol}`;
  return Buffer.from(head + d.body, 'latin1');
}

/** Case `n` of a seed: the base request and 1–3 mutations, sometimes a few flipped bytes. */
export function fuzzCase(seed: number, n: number): FuzzCase {
  const r = prng((seed ^ Math.imul(n + 1, 0x9e3779b1)) >>> 0);
  const { draft, bodyBytes } = baseDraft(r, n, seed);
  const count = int(r, 0, 3);
  for (let i = 0; i < count; i++) {
    const [name, mutate] = pick(r, MUTATIONS);
    draft.mutations.push(name);
    mutate(r, draft);
  }
  let bytes = render(draft);
  if (r() < 0.2) {
    // Flip a few bytes anywhere before the protected Connection line and the CRLF ending
    // the line above it (a flipped LF there would fold Connection into that line).
    const protectedAt = bytes.indexOf('Connection: close') - 2;
    const flips = int(r, 1, 3);
    bytes = Buffer.from(bytes);
    for (let i = 0; i < flips; i++) bytes[int(r, 0, protectedAt - 1)] = int(r, 0, 255);
    draft.mutations.push(`flip×${flips}`);
    draft.framing = true;
  }
  return {
    n,
    bytes,
    mutations: draft.mutations,
    bodyBytes: draft.framing ? undefined : bodyBytes,
  };
}
