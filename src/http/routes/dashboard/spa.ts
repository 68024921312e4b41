// Serves the built dashboard (web/dist): hashed assets under /assets/, and index.html for the app's
// client-side pages (DASHBOARD_PAGES, the list the React router renders), so a reload of any page
// loads the app. Only those routes are answered, so /api, /hosted, /.well-known, /health, /ready,
// /metrics and /docs are never shadowed. Without a build, the pages say how to make one.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyPluginAsync } from "fastify";
import { DASHBOARD_PAGES } from "../../../contracts/dashboard/index.ts";

/** web/dist from the sources (src/http/routes/dashboard) or from the bundle (dist/cli.mjs). */
export function defaultWebDist(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, "../../../../web/dist"), join(here, "../web/dist")];
  return candidates.find((dir) => existsSync(join(dir, "index.html"))) ?? candidates[0]!;
}

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Mailroom dashboard</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#1f2937}code{background:#f3f4f6;padding:.1rem .3rem;border-radius:4px}</style></head>
<body><h1>The dashboard is not built yet</h1>
<p>Mailroom's API is running, but the dashboard's files (<code>web/dist</code>) are missing.
Build them with <code>npm run build</code> (it runs on <code>npm install</code> and <code>npm start</code> when Vite is installed), then reload this page.</p>
<p>Meanwhile: <a href="/docs">API reference</a> · <a href="/health">health</a>.</p></body></html>`;

export function spaRoutes(webDist = defaultWebDist()): FastifyPluginAsync {
  return async (app) => {
    const indexPath = join(webDist, "index.html");
    const built = existsSync(indexPath);
    if (built) {
      await app.register(fastifyStatic, {
        root: join(webDist, "assets"),
        prefix: "/assets/",
        // Vite names assets by content hash, so they never change under one name.
        immutable: true,
        maxAge: "365d",
        index: false,
      });
    }
    const index = built ? readFileSync(indexPath, "utf8") : NOT_BUILT;
    for (const url of Object.values(DASHBOARD_PAGES)) {
      app.get(url, { config: { public: true }, schema: { hide: true } }, async (_request, reply) =>
        reply
          .code(built ? 200 : 503)
          .type("text/html; charset=utf-8")
          .header("cache-control", "no-cache")
          .header("x-frame-options", "DENY")
          .header("referrer-policy", "same-origin")
          .send(index),
      );
    }
  };
}
