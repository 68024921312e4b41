// Sending and reading back one large attachment through Mailroom beside the same upload session and
// download sent straight to the sandbox, in one run (setup as email-list.ts: the sandbox and Mailroom
// each in its own child process, so only Mailroom's memory is measured). Per size (10, 50, 100 MB):
//   mailroom: POST /api/v1/emails (multipart in the SDK's part order) → 201; GET …/attachments/{id},
//             read to the end.
//   direct:   POST /me/messages, createUploadSession, PUT chunks of 320 KiB × 12, /send;
//             GET …/attachments/{id}/$value, read to the end.
//   integration: the same multipart body and read through bench/attachments-integration-server.ts
//             (what an operator could write instead: the file read whole, the same Graph calls, the
//             download piped through), in its own process.
// Every side sends from memory through the same node:http client (see `call`). Throughput is MB/s of
// the attachment (medians of rounds, alternating order). Mailroom's memory is its peak RSS (VmHWM)
// after each size over its RSS before the first large attachment (after a 4 MB warm-up): sizes run in
// ascending order in one process, so a size's figure is the most the process grew while handling
// attachments up to that size (memory it took and kept for a smaller one counts).
import { writeFile } from "node:fs/promises";
import { Agent, request } from "node:http";
import { join } from "node:path";
import { cleanEnv, freePort, REPO_ROOT, readMemory, spawnChild, waitFor200 } from "../lib/processes.ts";
import type { Scenario } from "../lib/scenario.ts";
import { median, round } from "../lib/stats.ts";
import { type EmailBench, startEmailBench } from "./email-list.ts";

const MB = 1024 * 1024;
const SIZES_MB = [10, 50, 100];
const CHUNK_BYTES = 320 * 1024 * 12;
const THROUGHPUT_AIM = 0.8;
const RSS_GROWTH_AIM_MIB = 32;
const ADELE = "adele.vance@contoso.onmicrosoft.com";

interface Timing {
  sendMs: number;
  readMs: number;
}

export const attachments: Scenario = {
  name: "attachments",
  describe: "send + read back 10/50/100 MB attachments via Mailroom vs upload session + $value direct",
  async run(settings, log) {
    const bench = await startEmailBench(settings, log);
    const integrationPort = await freePort();
    const integrationChild = spawnChild(
      "integration",
      process.execPath,
      ["--import", "tsx", join(REPO_ROOT, "bench/attachments-integration-server.ts")],
      {
        env: cleanEnv({
          PORT: String(integrationPort),
          GRAPH_BASE: bench.sandboxBase,
          GRAPH_TOKEN: bench.accessToken,
        }),
      },
    );
    const integrationBase = `http://127.0.0.1:${integrationPort}`;
    try {
      await waitFor200(integrationChild, integrationPort, "/", { timeoutMs: 30_000 });
      const rows: (string | number)[][] = [];
      const data: Record<string, unknown> = {};
      const warm = Buffer.alloc(4 * MB, 1);
      await throughMailroom(bench, warm);
      await direct(bench, warm);
      await throughIntegration(bench, integrationBase, warm);
      // The peak so far (connecting the mailboxes) is not the attachments': Linux resets VmHWM to the
      // current RSS on "5" in clear_refs (proc(5)).
      const peakReset = await writeFile(`/proc/${bench.child.pid}/clear_refs`, "5").then(
        () => true,
        () => false,
      );
      const before = await readMemory(bench.child.pid);
      for (const sizeMb of SIZES_MB) {
        const bytes = Buffer.alloc(sizeMb * MB);
        for (let i = 0; i < bytes.length; i += 4096) bytes[i] = (i >> 12) & 0xff;
        // A round trip through each side first (not timed; its memory counts), so neither side's
        // times include first-use costs.
        await throughMailroom(bench, bytes);
        await direct(bench, bytes);
        await throughIntegration(bench, integrationBase, bytes);
        const mailroom: Timing[] = [];
        const straight: Timing[] = [];
        const integration: Timing[] = [];
        const sides = ["mailroom", "direct", "integration"] as const;
        for (let round_ = 0; round_ < settings.rounds; round_++) {
          // Each side takes each place in the order in turn.
          const order = sides.map((_, i) => sides[(i + round_) % sides.length]!);
          for (const side of order) {
            if (side === "mailroom") mailroom.push(await throughMailroom(bench, bytes));
            else if (side === "direct") straight.push(await direct(bench, bytes));
            else integration.push(await throughIntegration(bench, integrationBase, bytes));
          }
        }
        const after = await readMemory(bench.child.pid);
        const growthMiB = after.peakRssMiB - before.rssMiB;
        const rate = (timings: Timing[], key: keyof Timing) =>
          sizeMb / (median(timings.map((t) => t[key])) / 1000);
        const both = (timings: Timing[]) => sizeMb / (median(timings.map((t) => t.sendMs + t.readMs)) / 1000);
        const result = {
          sendMBps: { mailroom: rate(mailroom, "sendMs"), direct: rate(straight, "sendMs") },
          readMBps: { mailroom: rate(mailroom, "readMs"), direct: rate(straight, "readMs") },
          roundTripMBps: { mailroom: both(mailroom), direct: both(straight), integration: both(integration) },
          rssBeforeMiB: before.rssMiB,
          peakRssMiB: after.peakRssMiB,
          peakGrowthMiB: growthMiB,
        };
        data[`${sizeMb}MB`] = result;
        const ratio = result.roundTripMBps.mailroom / result.roundTripMBps.direct;
        const vsIntegration = result.roundTripMBps.mailroom / result.roundTripMBps.integration;
        log(
          `  ${sizeMb} MB: round trip ${round(result.roundTripMBps.mailroom, 1)} vs ${round(result.roundTripMBps.direct, 1)} MB/s (${round(ratio, 2)}×), vs the integration's ${round(result.roundTripMBps.integration, 1)} (${round(vsIntegration, 2)}×); peak RSS +${round(growthMiB, 1)} MiB`,
        );
        rows.push([
          `${sizeMb} MB`,
          `${round(result.sendMBps.mailroom, 1)} / ${round(result.sendMBps.direct, 1)}`,
          `${round(result.readMBps.mailroom, 1)} / ${round(result.readMBps.direct, 1)}`,
          `${round(result.roundTripMBps.mailroom, 1)} / ${round(result.roundTripMBps.direct, 1)}`,
          round(ratio, 2),
          round(result.roundTripMBps.integration, 1),
          round(vsIntegration, 2),
          round(growthMiB, 1),
        ]);
      }
      const ratios = SIZES_MB.map((s) => {
        const r = data[`${s}MB`] as { roundTripMBps: { mailroom: number; direct: number } };
        return r.roundTripMBps.mailroom / r.roundTripMBps.direct;
      });
      const growths = SIZES_MB.map((s) => (data[`${s}MB`] as { peakGrowthMiB: number }).peakGrowthMiB);
      const throughputMet = ratios.every((r) => r >= THROUGHPUT_AIM);
      const memoryMet = growths.every((g) => g < RSS_GROWTH_AIM_MIB);
      return {
        status: "ok",
        table: {
          title: `attachments — one attachment sent and read back, ${settings.rounds} rounds per size (MB/s: mailroom / direct)`,
          columns: [
            "size",
            "send MB/s",
            "read MB/s",
            "round trip MB/s",
            "ratio",
            "integration MB/s",
            "÷ integration",
            "peak RSS growth MiB",
          ],
          rows,
          notes: [
            `aim: round trip ≥ ${THROUGHPUT_AIM}× direct — ${throughputMet ? "met" : "MISSED"}`,
            "÷ integration: Mailroom's round trip over the integration's (bench/attachments-integration-server.ts: the file read whole, the same Graph calls; no aim)",
            `aim: Mailroom peak RSS growth < ${RSS_GROWTH_AIM_MIB} MiB at every size — ${memoryMet ? "met" : "MISSED"}`,
          ],
        },
        data: {
          ...data,
          peakReset,
          throughputAim: THROUGHPUT_AIM,
          rssGrowthAimMiB: RSS_GROWTH_AIM_MIB,
          throughputMet,
          memoryMet,
        },
      };
    } finally {
      await integrationChild.stop();
      await bench.stop();
    }
  },
};

/**
 * The bench's HTTP client for both sides: node:http with keep-alive, a body sent from memory, the
 * answer read to its end. `fetch` pushes a 100 MB Buffer at about 100 MB/s on this machine (1 s into a
 * bare sink, against 0.17–0.21 s here), and Mailroom's send cannot start its upload before the last
 * byte is in (Graph needs the file's size first), so a slow client counts twice on Mailroom's side
 * and once on the direct one.
 */
const agent = new Agent({ keepAlive: true });

interface Answer {
  status: number;
  /** The body as text, unless `count` was asked (then empty). */
  text: string;
  /** Bytes of the body. */
  length: number;
}

function call(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Buffer; count?: boolean },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const body = options.body;
    const headers: Record<string, string | number> = { ...options.headers };
    if (body !== undefined) headers["content-length"] = Buffer.byteLength(body);
    const req = request(url, { method: options.method ?? "GET", headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      let length = 0;
      res.on("data", (chunk: Buffer) => {
        length += chunk.length;
        if (!options.count) chunks.push(chunk);
      });
      res.on("error", reject);
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8"), length }),
      );
    });
    req.on("error", reject);
    req.end(body);
  });
}

async function throughMailroom(bench: EmailBench, bytes: Buffer<ArrayBuffer>): Promise<Timing> {
  const headers = { "x-api-key": bench.apiKey };
  // The body is built before the clock starts, as the direct side's chunks are.
  const { body, contentType } = sdkOrderForm(bench, `bench ${bytes.length}`, bytes);
  const started = performance.now();
  const sent = await call(`${bench.mailroomBase}/api/v1/emails`, {
    method: "POST",
    headers: { ...headers, "content-type": contentType },
    body,
  });
  if (sent.status !== 201) throw new Error(`send failed: ${sent.status} ${sent.text}`);
  const { id } = JSON.parse(sent.text) as { id: string };
  const sendMs = performance.now() - started;
  const email = JSON.parse((await call(`${bench.mailroomBase}/api/v1/emails/${id}`, { headers })).text) as {
    attachments: { id: string }[];
  };
  const attachmentId = email.attachments[0]?.id;
  if (!attachmentId) throw new Error("the sent email has no attachment");
  const readStarted = performance.now();
  const read = await call(`${bench.mailroomBase}/api/v1/emails/${id}/attachments/${attachmentId}`, {
    headers,
    count: true,
  });
  if (read.status !== 200 || read.length !== bytes.length)
    throw new Error(`read back ${read.length} of ${bytes.length} bytes (${read.status})`);
  return { sendMs, readMs: performance.now() - readStarted };
}

/** A send in the SDK's part order: body, account_id, subject, the file, then the recipients. */
function sdkOrderForm(
  bench: EmailBench,
  subject: string,
  bytes: Buffer,
): { body: Buffer; contentType: string } {
  return multipart(
    [
      ["body", "bench attachment"],
      ["account_id", bench.accountId],
      ["subject", subject],
    ],
    bytes,
    [["to", JSON.stringify([{ identifier: ADELE }])]],
  );
}

/** A multipart/form-data body (RFC 7578): text fields, one file `attachments`, then more text fields. */
function multipart(
  before: [string, string][],
  file: Buffer,
  after: [string, string][],
): { body: Buffer; contentType: string } {
  const boundary = `----mailroom-bench-${Date.now().toString(16)}`;
  const text = (fields: [string, string][]) =>
    fields
      .map(
        ([name, value]) =>
          `--${boundary}\r\ncontent-disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`,
      )
      .join("");
  const head = `${text(before)}--${boundary}\r\ncontent-disposition: form-data; name="attachments"; filename="bench.bin"\r\ncontent-type: application/octet-stream\r\n\r\n`;
  const tail = `\r\n${text(after)}--${boundary}--\r\n`;
  return {
    body: Buffer.concat([Buffer.from(head), file, Buffer.from(tail)]),
    contentType: `multipart/form-data; boundary=${boundary}`,
  };
}

async function direct(bench: EmailBench, bytes: Buffer<ArrayBuffer>): Promise<Timing> {
  const graph = `${bench.sandboxBase}/v1.0/me/messages`;
  const headers = {
    authorization: `Bearer ${bench.accessToken}`,
    "content-type": "application/json",
    prefer: 'IdType="ImmutableId"',
  };
  const json = async <T>(url: string, body: unknown): Promise<T> => {
    const res = await call(url, { method: "POST", headers, body: JSON.stringify(body) });
    if (res.status < 200 || res.status > 299) throw new Error(`${url}: ${res.status} ${res.text}`);
    return (res.text ? JSON.parse(res.text) : undefined) as T;
  };
  const started = performance.now();
  const draft = await json<{ id: string }>(graph, {
    subject: `direct ${bytes.length}`,
    body: { contentType: "text", content: "bench attachment" },
    toRecipients: [{ emailAddress: { address: ADELE } }],
  });
  const session = await json<{ uploadUrl: string }>(`${graph}/${draft.id}/attachments/createUploadSession`, {
    AttachmentItem: { attachmentType: "file", name: "bench.bin", size: bytes.length },
  });
  for (let start = 0; start < bytes.length; start += CHUNK_BYTES) {
    const chunk = bytes.subarray(start, Math.min(bytes.length, start + CHUNK_BYTES));
    const res = await call(session.uploadUrl, {
      method: "PUT",
      headers: {
        "content-type": "application/octet-stream",
        "content-range": `bytes ${start}-${start + chunk.length - 1}/${bytes.length}`,
      },
      body: chunk,
    });
    if (res.status !== 200 && res.status !== 201) throw new Error(`chunk refused: ${res.status}`);
  }
  await json(`${graph}/${draft.id}/send`, {});
  const sendMs = performance.now() - started;
  const list = await call(`${graph}/${draft.id}/attachments?$select=id`, { headers });
  const attachmentId = (JSON.parse(list.text) as { value: { id: string }[] }).value[0]?.id;
  if (!attachmentId) throw new Error("the sent message has no attachment");
  const readStarted = performance.now();
  const read = await call(`${graph}/${draft.id}/attachments/${attachmentId}/$value`, {
    headers,
    count: true,
  });
  if (read.status !== 200 || read.length !== bytes.length)
    throw new Error(`read back ${read.length} of ${bytes.length} bytes (${read.status})`);
  return { sendMs, readMs: performance.now() - readStarted };
}

/** The same multipart body and read as `throughMailroom`, through the integration server. */
async function throughIntegration(
  bench: EmailBench,
  base: string,
  bytes: Buffer<ArrayBuffer>,
): Promise<Timing> {
  const { body, contentType } = sdkOrderForm(bench, `integration ${bytes.length}`, bytes);
  const started = performance.now();
  const sent = await call(`${base}/send`, { method: "POST", headers: { "content-type": contentType }, body });
  if (sent.status !== 201) throw new Error(`integration send failed: ${sent.status} ${sent.text}`);
  const { id } = JSON.parse(sent.text) as { id: string };
  const sendMs = performance.now() - started;
  const list = await call(`${bench.sandboxBase}/v1.0/me/messages/${id}/attachments?$select=id`, {
    headers: { authorization: `Bearer ${bench.accessToken}` },
  });
  const attachmentId = (JSON.parse(list.text) as { value: { id: string }[] }).value[0]?.id;
  if (!attachmentId) throw new Error("the integration's message has no attachment");
  const readStarted = performance.now();
  const read = await call(`${base}/messages/${id}/attachments/${attachmentId}`, { count: true });
  if (read.status !== 200 || read.length !== bytes.length)
    throw new Error(`integration read back ${read.length} of ${bytes.length} bytes (${read.status})`);
  return { sendMs, readMs: performance.now() - readStarted };
}
