// The tracked URLs in mail sent with tracking_options (docs/adr/0009-email-tracking.md), outside
// /api: no API key, no API limits, answered from memory. The pixel answers the same GIF with the same
// headers whatever its token (valid, forged, unknown), so it never tells whether a token is valid;
// a click redirects only to a target whose signature checks, else a 404 page, and records nothing.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import type { HitSource, TrackingService } from "../../../domain/tracking/tracking.service.ts";

/** A transparent 1×1 GIF (42 bytes). */
export const PIXEL_GIF = Buffer.from("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7", "base64");

const NO_CACHE = "no-store, no-cache, must-revalidate, max-age=0";

const NOT_FOUND = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Link not found</title>
<meta name="robots" content="noindex">
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#1f2937}</style></head>
<body><h1>This link is not valid</h1><p>The link may have been copied incompletely. Go back to the message and open the link again, or ask its sender for the address.</p></body></html>`;

function source(request: FastifyRequest): HitSource {
  const agent = request.headers["user-agent"];
  return { ip: request.ip, userAgent: typeof agent === "string" ? agent.slice(0, 1000) : undefined };
}

function pixel(reply: FastifyReply): FastifyReply {
  return reply
    .code(200)
    .header("content-type", "image/gif")
    .header("cache-control", NO_CACHE)
    .header("pragma", "no-cache")
    .header("expires", "0")
    .send(PIXEL_GIF);
}

/** A 302 to a verified target, or the 404 page (the same whatever was wrong with the token). */
function redirect(reply: FastifyReply, target: string | undefined): FastifyReply {
  if (target === undefined)
    return reply.code(404).type("text/html; charset=utf-8").header("cache-control", NO_CACHE).send(NOT_FOUND);
  return reply
    .code(302)
    .header("location", target)
    .header("cache-control", NO_CACHE)
    .header("referrer-policy", "no-referrer")
    .send();
}

export function trackingRoutes(tracking: TrackingService): FastifyPluginAsync {
  return async (app) => {
    app.get<{ Params: { token: string } }>(
      "/t/o/:token",
      { config: { public: true }, schema: { hide: true } },
      (request, reply) => {
        // Link checkers and proxies probing with HEAD fetch nothing: only a GET is an open.
        if (request.method === "GET") {
          const token = request.params.token;
          tracking.open(token.endsWith(".gif") ? token.slice(0, -4) : token, source(request));
        }
        return pixel(reply);
      },
    );
    app.get<{ Params: { token: string } }>(
      "/t/c/:token",
      { config: { public: true }, schema: { hide: true } },
      (request, reply) => {
        const target = tracking.click(request.params.token, source(request), request.method === "GET");
        return target instanceof Promise ? target.then((t) => redirect(reply, t)) : redirect(reply, target);
      },
    );
  };
}
