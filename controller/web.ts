/**
 * The sealing page (web/, bundled into dist/web by scripts/web-bundle.ts), served by every
 * replica on the HTTP API port: `/` is the page, `/assets/...` its files. The browser seals with
 * the certificate from `v1/cert.pem`; no value ever reaches the controller, so the page needs no
 * authentication of its own. `--web=false` leaves these routes out.
 *
 * Headers: a strict Content-Security-Policy (only this origin's files; no inline script or style,
 * no frames, no forms, no plugins), no referrer, no sniffing. The page sets no cookies and uses no
 * storage; nothing here reads a request body.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type NextFunction, type Request, type Response } from 'express';

export const WEB_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** dist/web next to dist/controller (the build's layout, also in the image). */
export const DEFAULT_WEB_DIR = fileURLToPath(new URL('../web/', import.meta.url));

function securityHeaders(_req: Request, res: Response, next: NextFunction): void {
  res.setHeader('Content-Security-Policy', WEB_CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
  next();
}

/**
 * The page's routes over `dir` (a built dist/web). A missing build answers 404 with a hint instead
 * of failing start-up: the HTTP API does not depend on the page.
 */
export function webRouter(dir: string): express.Router {
  const router = express.Router();
  const index = join(dir, 'index.html');
  router.get('/', securityHeaders, (_req, res) => {
    if (!existsSync(index)) {
      res.status(404).type('text/plain; charset=utf-8').send('the sealing page is not built (npm run build); the HTTP API works without it\n');
      return;
    }
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(index);
  });
  router.use('/assets', securityHeaders, express.static(join(dir, 'assets'), {
    index: false,
    dotfiles: 'deny',
    fallthrough: true,
    redirect: false,
    // Asset names do not change with their content (except the chunks'): revalidate each time.
    cacheControl: true,
    maxAge: 0,
  }));
  return router;
}
