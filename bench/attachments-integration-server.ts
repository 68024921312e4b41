// The integration an operator could write in an afternoon instead of Mailroom, for the `attachments`
// scenario: Fastify with @fastify/multipart, the file read whole into memory (`toBuffer()`), then the
// Graph calls Mailroom makes (draft with the recipients, upload session in chunks of 320 KiB × 12,
// `/send`), and the download piped through from `$value`. No API keys, accounts, limiter, idempotency
// or spool: one mailbox, one token (GRAPH_TOKEN), Graph at GRAPH_BASE. Started by the bench in its own
// process, with the same Node and loader as the bench's other servers.
import { Agent, type IncomingMessage, request } from "node:http";
import multipart from "@fastify/multipart";
import Fastify from "fastify";

const port = Number(process.env.PORT ?? 0);
const graphBase = process.env.GRAPH_BASE ?? "";
const token = process.env.GRAPH_TOKEN ?? "";
const CHUNK_BYTES = 320 * 1024 * 12;
const agent = new Agent({ keepAlive: true });

/** A Graph request; an upload session's URL is pre-authenticated (`signed`: no token sent). */
function graph(
  method: string,
  url: string,
  body?: string | Buffer,
  headers: Record<string, string> = {},
  signed = false,
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const all: Record<string, string | number> = { ...headers };
    if (!signed) {
      all.authorization = `Bearer ${token}`;
      // Ids that survive the move to Sent Items, as the direct side and Mailroom ask for.
      all.prefer = 'IdType="ImmutableId"';
    }
    if (body !== undefined) all["content-length"] = Buffer.byteLength(body);
    const req = request(url, { method, headers: all, agent }, resolve);
    req.on("error", reject);
    req.end(body);
  });
}

async function json<T>(method: string, url: string, body?: unknown): Promise<T> {
  const res = await graph(method, url, body === undefined ? undefined : JSON.stringify(body), {
    "content-type": "application/json",
  });
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  if ((res.statusCode ?? 0) >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${text}`);
  return (text ? JSON.parse(text) : {}) as T;
}

const app = Fastify({ logger: false, bodyLimit: 200 * 1024 * 1024, maxParamLength: 1000 });
await app.register(multipart, { limits: { fileSize: 160 * 1024 * 1024 } });

app.get("/", async () => ({ ok: true }));

app.post("/send", async (req, reply) => {
  const fields: Record<string, string> = {};
  let file: { name: string; type: string; bytes: Buffer } | undefined;
  for await (const part of req.parts()) {
    if (part.type === "file")
      file = { name: part.filename, type: part.mimetype, bytes: await part.toBuffer() };
    else fields[part.fieldname] = String(part.value);
  }
  const to = JSON.parse(fields.to ?? "[]") as { identifier: string }[];
  const messages = `${graphBase}/v1.0/me/messages`;
  const draft = await json<{ id: string }>("POST", messages, {
    subject: fields.subject,
    body: { contentType: "text", content: fields.body ?? "" },
    toRecipients: to.map((t) => ({ emailAddress: { address: t.identifier } })),
  });
  if (file) {
    const session = await json<{ uploadUrl: string }>(
      "POST",
      `${messages}/${draft.id}/attachments/createUploadSession`,
      { AttachmentItem: { attachmentType: "file", name: file.name, size: file.bytes.length } },
    );
    for (let start = 0; start < file.bytes.length; start += CHUNK_BYTES) {
      const chunk = file.bytes.subarray(start, Math.min(file.bytes.length, start + CHUNK_BYTES));
      const res = await graph(
        "PUT",
        session.uploadUrl,
        chunk,
        {
          "content-type": "application/octet-stream",
          "content-range": `bytes ${start}-${start + chunk.length - 1}/${file.bytes.length}`,
        },
        true,
      );
      res.resume();
      if ((res.statusCode ?? 0) >= 300) throw new Error(`chunk refused: ${res.statusCode}`);
    }
  }
  await json("POST", `${messages}/${draft.id}/send`, {});
  return reply.code(201).send({ id: draft.id });
});

app.get<{ Params: { id: string; attachment: string } }>(
  "/messages/:id/attachments/:attachment",
  async (req, reply) => {
    const res = await graph(
      "GET",
      `${graphBase}/v1.0/me/messages/${req.params.id}/attachments/${req.params.attachment}/$value`,
    );
    reply.code(res.statusCode ?? 502);
    if (res.headers["content-length"]) reply.header("content-length", res.headers["content-length"]);
    reply.header("content-type", res.headers["content-type"] ?? "application/octet-stream");
    return reply.send(res);
  },
);

await app.listen({ port, host: "127.0.0.1" });

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    app.close().then(() => process.exit(0));
  });
}
