// Attachments through Mailroom without holding them whole (ADR 0012): multipart sends and drafts of
// several sizes read back byte-identical through the sandbox, the message limit (MAX_MESSAGE_MB)
// refused while the body streams in with nothing sent and no draft left, a client that goes away
// mid-upload, and downloads streamed with their length.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdir } from "node:fs/promises";
import http from "node:http";
import { tmpdir } from "node:os";
import { after, before, describe, it } from "node:test";
import { UnipileClient } from "unipile-node-sdk";
import { mailboxes } from "../sandbox/src/graph/mailbox-store.ts";
import { type ConnectHarness, startConnectHarness } from "./support/connect-harness.ts";
import { until } from "./support/until.ts";

const strict = { validateRequestPayload: true, validateRequestPayloadLevel: "error" } as const;
const ADELE = "adele.vance@contoso.onmicrosoft.com";
const MEGAN = "megan.bowen@contoso.onmicrosoft.com";
const MIB = 1024 * 1024;
const LIMIT_MB = 16;

type Email = Record<string, unknown> & {
  id: string;
  subject: string;
  attachments: { id: string; name: string; size: number }[];
};

function pattern(size: number, seed: number): Buffer<ArrayBuffer> {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + seed * 7 + (i >> 11)) & 0xff;
  return bytes;
}
const sha = (bytes: Buffer | Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const spooled = async () => (await readdir(tmpdir())).filter((n) => n.startsWith("mailroom-upload-"));

describe("attachments streamed through Mailroom", () => {
  let h: ConnectHarness;
  let client: UnipileClient;
  let adeleId: string;
  let meganId: string;

  const store = (email: string) => mailboxes(h.sandbox.state).get(h.sandbox.state.userByEmail(email)!.id);
  const draftsOf = (email: string) => store(email).all.filter((m) => m.isDraft).length;
  const sentCount = () => store(ADELE).all.filter((m) => !m.isDraft).length;
  const post = (path: string, form: FormData) =>
    fetch(`${h.baseUrl}${path}`, { method: "POST", headers: { "x-api-key": h.t.apiKey }, body: form });
  const download = (emailId: string, attachmentId: string) =>
    fetch(`${h.baseUrl}/api/v1/emails/${emailId}/attachments/${attachmentId}`, {
      headers: { "x-api-key": h.t.apiKey },
    });
  const inboxOf = (accountId: string, subject: string) =>
    until(`"${subject}" in the recipient's inbox`, async () => {
      const list = (await client.email.getAll({
        account_id: accountId,
        role: "inbox",
        limit: 20,
      })) as unknown as {
        items: Email[];
      };
      return list.items.find((e) => e.subject === subject);
    });

  before(async () => {
    h = await startConnectHarness("sqlite", { seedCorpus: false, env: { MAX_MESSAGE_MB: String(LIMIT_MB) } });
    client = new UnipileClient(h.baseUrl, h.t.apiKey, strict);
    const ids = await h.connectMailboxes([ADELE, MEGAN]);
    adeleId = ids[ADELE]!;
    meganId = ids[MEGAN]!;
  });
  after(async () => {
    await h.dispose();
  });

  it("files below, at and above 3 MB in one multipart send (attachments[i] names, fields first) arrive byte-identical", async () => {
    const files = [
      { name: "tiny.txt", bytes: pattern(1_000, 1) },
      { name: "under.bin", bytes: pattern(3 * MIB - 8192, 2) },
      { name: "at.bin", bytes: pattern(3 * MIB, 3) },
      { name: "odd.pdf", bytes: pattern(7 * MIB + 12_345, 4) },
    ];
    const form = new FormData();
    form.append("account_id", adeleId);
    form.append("to", JSON.stringify([{ identifier: MEGAN }]));
    form.append("subject", "Streamed sizes");
    form.append("body", "four files");
    for (const [i, f] of files.entries()) form.append(`attachments[${i}]`, new Blob([f.bytes]), f.name);
    const res = await post("/api/v1/emails", form);
    assert.equal(res.status, 201, await res.clone().text());
    const received = await inboxOf(meganId, "Streamed sizes");
    assert.deepEqual(
      received.attachments.map((a) => [a.name, a.size]),
      files.map((f) => [f.name, f.bytes.length]),
    );
    for (const [i, att] of received.attachments.entries()) {
      const answer = await download(received.id, att.id);
      assert.equal(answer.status, 200);
      assert.equal(answer.headers.get("content-length"), String(files[i]!.bytes.length));
      assert.match(
        answer.headers.get("content-disposition") ?? "",
        new RegExp(files[i]!.name.replace(".", "\\.")),
      );
      assert.equal(sha(Buffer.from(await answer.arrayBuffer())), sha(files[i]!.bytes), att.name);
    }
    assert.deepEqual(await spooled(), [], "the temporary files are gone");
  });

  it('no size fails at the inline / upload-session boundary (3,000,000 bytes, Microsoft\'s "3 MB")', async () => {
    // A 3,145,000-byte file is below 3 MiB, but inline it would be a ~4.19 MB request: over Graph's 4 MB.
    const files = [2_999_999, 3_000_000, 3_144_000, 3_145_000, 3_145_727].map((size, i) => ({
      name: `edge-${size}.bin`,
      bytes: pattern(size, 20 + i),
    }));
    const form = new FormData();
    form.append("account_id", adeleId);
    form.append("to", JSON.stringify([{ identifier: MEGAN }]));
    form.append("subject", "Boundary sizes");
    form.append("body", "five files around 3 MB");
    for (const f of files) form.append("attachments", new Blob([f.bytes]), f.name);
    const res = await post("/api/v1/emails", form);
    assert.equal(res.status, 201, await res.clone().text());
    const received = await inboxOf(meganId, "Boundary sizes");
    assert.deepEqual(
      received.attachments.map((a) => [a.name, a.size]),
      files.map((f) => [f.name, f.bytes.length]),
    );
    for (const [i, att] of received.attachments.entries()) {
      const answer = await download(received.id, att.id);
      assert.equal(sha(Buffer.from(await answer.arrayBuffer())), sha(files[i]!.bytes), att.name);
    }
  });

  it("the SDK's order (files before `to`) sends several files byte-identical, through the strict SDK", async () => {
    const one = pattern(4 * MIB + 1, 5);
    const two = pattern(200_000, 6);
    await client.email.send({
      account_id: adeleId,
      to: [{ identifier: MEGAN }],
      subject: "SDK order",
      body: "two files",
      attachments: [
        ["one.bin", one],
        ["two.bin", two],
      ],
    });
    const received = await inboxOf(meganId, "SDK order");
    for (const [att, bytes] of [
      [received.attachments[0]!, one],
      [received.attachments[1]!, two],
    ] as const) {
      const blob = (await client.email.getEmailAttachment({
        email_id: received.id,
        attachment_id: att.id,
      })) as Blob;
      assert.equal(sha(Buffer.from(await blob.arrayBuffer())), sha(bytes));
    }
  });

  it("a draft with a large and a small attachment keeps both, byte-identical", async () => {
    const big = pattern(5 * MIB + 77, 7);
    const small = pattern(10, 8);
    const form = new FormData();
    form.append("account_id", adeleId);
    form.append("to", JSON.stringify([{ identifier: MEGAN }]));
    form.append("subject", "Draft with files");
    form.append("body", "draft");
    form.append("attachments", new Blob([big]), "big.bin");
    form.append("attachments", new Blob([small]), "small.txt");
    const res = await post("/api/v1/drafts", form);
    assert.equal(res.status, 200);
    const { draft_id } = (await res.json()) as { draft_id: string };
    const email = (await client.email.getOne(draft_id)) as unknown as Email;
    assert.deepEqual(
      email.attachments.map((a) => a.size),
      [big.length, small.length],
    );
    const answer = await download(draft_id, email.attachments[0]!.id);
    assert.equal(sha(Buffer.from(await answer.arrayBuffer())), sha(big));
  });

  it("a body over MAX_MESSAGE_MB is 400 errors/content_too_large while it streams: nothing sent, no draft", async () => {
    const drafts = draftsOf(ADELE);
    const sent = sentCount();
    const form = new FormData();
    form.append("account_id", adeleId);
    form.append("to", JSON.stringify([{ identifier: MEGAN }]));
    form.append("body", "too much");
    form.append("attachments", new Blob([pattern(10 * MIB, 9)]), "a.bin");
    form.append("attachments", new Blob([pattern(6.5 * MIB, 10)]), "b.bin");
    const res = await post("/api/v1/emails", form);
    const err = (await res.json()) as { status: number; type: string; detail: string };
    assert.deepEqual([res.status, err.status, err.type], [400, 400, "errors/content_too_large"]);
    assert.match(err.detail, /MAX_MESSAGE_MB/);
    assert.equal(draftsOf(ADELE), drafts);
    assert.equal(sentCount(), sent);
    assert.deepEqual(await spooled(), []);
    // The connection stays usable: the next request is served.
    const next = await fetch(`${h.baseUrl}/api/v1/accounts`, { headers: { "x-api-key": h.t.apiKey } });
    assert.equal(next.status, 200);
  });

  it("a declared Content-Length over the limit is refused before the body is read", async () => {
    const answer = await rawPost(h.baseUrl, h.t.apiKey, {
      contentLength: (LIMIT_MB + 2) * MIB,
      send: (req, head) => req.write(head),
    });
    assert.equal(answer.status, 400);
    assert.equal((JSON.parse(answer.body) as { type: string }).type, "errors/content_too_large");
  });

  it("a client that goes away mid-upload leaves no draft, no sent mail and no temporary file", async () => {
    const drafts = draftsOf(ADELE);
    const sent = sentCount();
    await rawPost(h.baseUrl, h.t.apiKey, {
      contentLength: 10 * MIB,
      send: (req, head) => {
        req.write(head);
        req.write(
          `--${BOUNDARY}\r\nContent-Disposition: form-data; name="attachments"; filename="x.bin"\r\n\r\n`,
        );
        req.write(pattern(5 * MIB, 11));
        setTimeout(() => req.destroy(), 100);
      },
    }).catch(() => undefined);
    await until("the spool is removed", async () => ((await spooled()).length === 0 ? true : undefined));
    assert.equal(draftsOf(ADELE), drafts);
    assert.equal(sentCount(), sent);
  });

  it("a download the client abandons mid-body gives its mailbox slot back", async () => {
    const received = await inboxOf(meganId, "Streamed sizes");
    const big = received.attachments.find((a) => a.name === "odd.pdf")!;
    // Outlook's 4 slots per mailbox: were abandoned downloads to keep theirs, the fifth would wait forever.
    for (let i = 0; i < 5; i++) {
      const stop = new AbortController();
      const answer = await fetch(`${h.baseUrl}/api/v1/emails/${received.id}/attachments/${big.id}`, {
        headers: { "x-api-key": h.t.apiKey },
        signal: stop.signal,
      });
      const reader = answer.body!.getReader();
      await reader.read();
      stop.abort();
    }
    const whole = await download(received.id, big.id);
    assert.equal((await whole.arrayBuffer()).byteLength, big.size);
  });

  it("a failure while attaching deletes the half-built draft", async () => {
    const drafts = draftsOf(ADELE);
    store(ADELE).maxMessageBytes = 4 * MIB;
    try {
      const form = new FormData();
      form.append("account_id", adeleId);
      form.append("to", JSON.stringify([{ identifier: MEGAN }]));
      form.append("body", "x");
      form.append("attachments", new Blob([pattern(2 * MIB, 12)]), "fits.bin");
      form.append("attachments", new Blob([pattern(3 * MIB, 13)]), "over.bin");
      const res = await post("/api/v1/emails", form);
      assert.equal(((await res.json()) as { type: string }).type, "errors/content_too_large");
      assert.equal(draftsOf(ADELE), drafts);
    } finally {
      store(ADELE).maxMessageBytes = 150 * MIB;
    }
  });

  function rawPost(
    baseUrl: string,
    apiKey: string,
    options: { contentLength: number; send: (req: http.ClientRequest, head: string) => void },
  ): Promise<{ status: number; body: string }> {
    const head =
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="account_id"\r\n\r\n${adeleId}\r\n` +
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="to"\r\n\r\n${JSON.stringify([{ identifier: MEGAN }])}\r\n` +
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="body"\r\n\r\nhello\r\n`;
    return new Promise((resolve, reject) => {
      const req = http.request(`${baseUrl}/api/v1/emails`, {
        method: "POST",
        headers: {
          "x-api-key": apiKey,
          "content-type": `multipart/form-data; boundary=${BOUNDARY}`,
          "content-length": options.contentLength,
        },
      });
      req.on("error", reject);
      req.on("response", (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          body += c;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
      options.send(req, head);
    });
  }
});

const BOUNDARY = "mailroom-test-boundary";
