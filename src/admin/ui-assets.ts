// Serves the dashboard on the admin listener: `/` → `/ui/`, `/ui/` →
// index.html, `/ui/assets/<name>.<hash>.<ext>` → the files built in memory
// at the first /ui request (ui-build.ts). No auth here: the page signs in
// through /api/session; only /api answers with data.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ASSET_PREFIX, buildUi, type UiAsset, type UiBundle } from './ui-build.ts';

/**
 * No inline script or style and nothing from another host (issue 14): what an
 * injected `<script>` or `style=` would need is refused by the browser.
 * uPlot sizes its elements through the CSSOM (element.style), which
 * `style-src 'self'` allows; `data:` images are uPlot's none, kept for icons.
 */
export const UI_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/** Hashed names change with the content, so a cached file is never stale (RFC 8246 immutable). */
const IMMUTABLE = 'public, max-age=31536000, immutable';

export interface Ui {
  /** True when the request was the dashboard's (answered); false: not a /ui path, try the API. */
  handle(req: IncomingMessage, res: ServerResponse, pathname: string): boolean;
}

function send(
  req: IncomingMessage,
  res: ServerResponse,
  asset: UiAsset,
  cacheControl: string,
): void {
  // RFC 9110 §12.5.3: a client that lists gzip gets it; `gzip;q=0` means no.
  const accept = String(req.headers['accept-encoding'] ?? '');
  const gzip = /\bgzip\b(?!;\s*q=0(\.0*)?\b)/.test(accept);
  const body = gzip ? asset.gzip : asset.body;
  res.writeHead(200, {
    'content-type': asset.type,
    'content-length': body.length,
    'cache-control': cacheControl,
    'content-security-policy': UI_CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    vary: 'accept-encoding',
    ...(gzip ? { 'content-encoding': 'gzip' } : {}),
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function notFound(res: ServerResponse, text: string, status = 404): void {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    'content-security-policy': UI_CSP,
    'x-content-type-options': 'nosniff',
  });
  res.end(text);
}

/** The dashboard's request handler; the files are built at its first request, once. */
export function createUi(build: () => UiBundle = buildUi): Ui {
  let bundle: UiBundle | undefined;
  return {
    handle(req, res, pathname) {
      if (pathname === '/' || pathname === '/ui') {
        res.writeHead(302, { location: '/ui/', 'content-length': 0, 'cache-control': 'no-store' });
        res.end();
        return true;
      }
      if (!pathname.startsWith('/ui/')) return false;
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('allow', 'GET, HEAD');
        notFound(res, 'the dashboard files are read with GET\n', 405);
        return true;
      }
      bundle ??= build();
      if (pathname === '/ui/' || pathname === '/ui/index.html') {
        // index.html names the hashed files of this build: never cached.
        send(req, res, bundle.index, 'no-store');
        return true;
      }
      const asset = pathname.startsWith(ASSET_PREFIX) ? bundle.assets.get(pathname) : undefined;
      if (asset) send(req, res, asset, IMMUTABLE);
      else notFound(res, `no dashboard file ${pathname}\n`);
      return true;
    },
  };
}
