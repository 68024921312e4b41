// The tracking baseline: a bare Fastify answering what Mailroom's tracking routes answer (the same
// 42-byte GIF with the same headers, and a 302 to a fixed URL), with nothing behind them.
import Fastify from "fastify";

const GIF = Buffer.from("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7", "base64");
const NO_CACHE = "no-store, no-cache, must-revalidate, max-age=0";
const port = Number(process.env.PORT ?? 0);
const app = Fastify({ logger: false });
app.get("/t/o/:token", (_request, reply) =>
  reply
    .code(200)
    .header("content-type", "image/gif")
    .header("cache-control", NO_CACHE)
    .header("pragma", "no-cache")
    .header("expires", "0")
    .send(GIF),
);
app.get("/t/c/:token", (_request, reply) =>
  reply.code(302).header("location", "https://example.com/landing").header("cache-control", NO_CACHE).send(),
);
await app.listen({ port, host: "127.0.0.1" });

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    app.close().then(() => process.exit(0));
  });
}
