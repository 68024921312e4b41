// Cancelling a Graph call through the node:http transport (graph-transport.ts): before the answer the
// call fails with the signal's reason; while a streamed answer is read, it is cut short; after an answer
// was read to its end, cancelling does nothing — its keep-alive socket is back in the pool and must
// neither be destroyed under the next request nor raise an error nobody listens to (a client going
// away just as its download finished once did both, an uncaught exception).
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import { after, before, describe, it } from "node:test";
import { httpTransport } from "../src/providers/microsoft/graph-transport.ts";

describe("cancelling a call of the node:http transport", () => {
  let server: Server;
  let base = "";
  const uncaught: unknown[] = [];
  const onUncaught = (error: unknown) => uncaught.push(error);
  before(async () => {
    process.on("uncaughtException", onUncaught);
    server = createServer((req, res) => {
      if (req.url === "/slow") return void setTimeout(() => res.end("late"), 2_000);
      if (req.url === "/chunked") {
        res.write("a".repeat(3_000));
        return void res.end("b".repeat(3_000));
      }
      if (req.url === "/mid") return void res.end(Buffer.alloc(200 * 1024));
      if (req.url === "/big") {
        res.writeHead(200, { "content-type": "application/octet-stream" });
        res.write(Buffer.alloc(64 * 1024));
        return void setTimeout(() => res.end(Buffer.alloc(64 * 1024)), 200);
      }
      res.end("small");
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(async () => {
    process.off("uncaughtException", onUncaught);
    server.closeAllConnections();
    server.close();
  });

  const transport = httpTransport();
  const settle = () => new Promise((r) => setTimeout(r, 50));
  const read = (path: string) =>
    transport(`${base}${path}`, { method: "GET", headers: {}, timeoutMs: 5_000 });
  const streamed = (path: string, signal: AbortSignal) =>
    transport(`${base}${path}`, { method: "GET", headers: {}, timeoutMs: 5_000, stream: true, signal });

  it("before the answer: the call fails with the signal's reason", async () => {
    const cancel = new AbortController();
    const pending = transport(`${base}/slow`, {
      method: "GET",
      headers: {},
      timeoutMs: 5_000,
      signal: cancel.signal,
    });
    setTimeout(() => cancel.abort(new Error("client went away")), 20);
    await assert.rejects(pending, /client went away/);
    await settle();
    assert.deepEqual(uncaught, []);
  });

  it("after a streamed answer was read to its end: nothing happens, and the socket serves the next call", async () => {
    for (let i = 0; i < 3; i++) {
      const cancel = new AbortController();
      const answer = await streamed("/small", cancel.signal);
      const chunks: Buffer[] = [];
      for await (const chunk of answer.stream!) chunks.push(chunk as Buffer);
      assert.equal(Buffer.concat(chunks).toString(), "small");
      cancel.abort(new Error("client went away"));
      const next = await read("/small");
      assert.equal(next.bytes.toString(), "small");
    }
    await settle();
    assert.deepEqual(uncaught, []);
  });

  for (const path of ["/small", "/chunked", "/mid"])
    it(`a streamed answer never read (a HEAD's body), cancelled once its bytes are in (${path}): no uncaught error`, async () => {
      const cancel = new AbortController();
      const answer = await streamed(path, cancel.signal);
      await settle();
      cancel.abort(new Error("client went away"));
      await settle();
      assert.equal(answer.status, 200);
      const next = await read("/small");
      assert.equal(next.bytes.toString(), "small");
      await settle();
      assert.deepEqual(uncaught, []);
    });

  it("cancelled as a streamed answer ends (a client leaving as its download finishes): the socket is left alone", async () => {
    for (const path of ["/small", "/chunked", "/mid"]) {
      const cancel = new AbortController();
      const answer = await streamed(path, cancel.signal);
      const ended = new Promise((resolve) => answer.stream!.once("end", resolve));
      answer.stream!.once("end", () => cancel.abort(new Error("client went away")));
      answer.stream!.resume();
      await ended;
      const next = await read("/small");
      assert.equal(next.bytes.toString(), "small");
    }
    await settle();
    assert.deepEqual(uncaught, []);
  });

  it("while a streamed answer is read: it closes early", async () => {
    const cancel = new AbortController();
    const answer = await streamed("/big", cancel.signal);
    const closed = new Promise((resolve) => answer.stream!.once("close", resolve));
    // The reader of a body cut short may hear of it as an error (ECONNRESET "aborted").
    answer.stream!.on("error", () => {});
    answer.stream!.resume();
    cancel.abort(new Error("client went away"));
    await closed;
    assert.equal(answer.stream!.readableEnded, false);
    await settle();
    assert.deepEqual(uncaught, []);
  });
});
