// The baseline: a bare Fastify hello-world, no plugins, no logger. Started by the bench runner in
// its own process with the same Node and loader as Mailroom.
import Fastify from "fastify";

const port = Number(process.env.PORT ?? 0);
const app = Fastify({ logger: false });
app.get("/", async () => ({ object: "Hello", items: [], cursor: null }));
await app.listen({ port, host: "127.0.0.1" });

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    app.close().then(() => process.exit(0));
  });
}
