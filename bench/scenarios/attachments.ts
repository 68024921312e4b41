// Sending and reading back one large attachment through Mailroom beside the same upload session and
// download sent straight to the sandbox, in one run (setup as email-list.ts: the sandbox and Mailroom
// each in its own child process, so only Mailroom's memory is measured). Per size (10, 50, 100 MB):
//   mailroom: POST /api/v1/emails (multipart, the SDK's shape) → 201; GET …/attachments/{id}, read to
//             the end.
//   direct:   POST /me/messages, createUploadSession, PUT chunks of 320 KiB × 12 from memory, /send;
//             GET …/attachments/{id}/$value, read to the end.
// Throughput is MB/s of the attachment (medians of rounds, alternating order). Mailroom's memory is
// its peak RSS (VmHWM) after each size over its RSS before the first large attachment (after a 4 MB
// warm-up): sizes run in ascending order in one process, so a size's figure is the most the process
// grew while handling attachments up to that size (memory it took and kept for a smaller one counts).
import { writeFile } from "node:fs/promises";
import { readMemory } from "../lib/processes.ts";
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
    try {
      const rows: (string | number)[][] = [];
      const data: Record<string, unknown> = {};
      const warm = Buffer.alloc(4 * MB, 1);
      await throughMailroom(bench, warm);
      await direct(bench, warm);
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
        const mailroom: Timing[] = [];
        const straight: Timing[] = [];
        for (let round_ = 0; round_ < settings.rounds; round_++) {
          const order = round_ % 2 === 0 ? ["mailroom", "direct"] : ["direct", "mailroom"];
          for (const side of order) {
            if (side === "mailroom") mailroom.push(await throughMailroom(bench, bytes));
            else straight.push(await direct(bench, bytes));
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
          roundTripMBps: { mailroom: both(mailroom), direct: both(straight) },
          rssBeforeMiB: before.rssMiB,
          peakRssMiB: after.peakRssMiB,
          peakGrowthMiB: growthMiB,
        };
        data[`${sizeMb}MB`] = result;
        const ratio = result.roundTripMBps.mailroom / result.roundTripMBps.direct;
        log(
          `  ${sizeMb} MB: round trip ${round(result.roundTripMBps.mailroom, 1)} vs ${round(result.roundTripMBps.direct, 1)} MB/s (${round(ratio, 2)}×); peak RSS +${round(growthMiB, 1)} MiB`,
        );
        rows.push([
          `${sizeMb} MB`,
          `${round(result.sendMBps.mailroom, 1)} / ${round(result.sendMBps.direct, 1)}`,
          `${round(result.readMBps.mailroom, 1)} / ${round(result.readMBps.direct, 1)}`,
          `${round(result.roundTripMBps.mailroom, 1)} / ${round(result.roundTripMBps.direct, 1)}`,
          round(ratio, 2),
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
          columns: ["size", "send MB/s", "read MB/s", "round trip MB/s", "ratio", "peak RSS growth MiB"],
          rows,
          notes: [
            `aim: round trip ≥ ${THROUGHPUT_AIM}× direct — ${throughputMet ? "met" : "MISSED"}`,
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
      await bench.stop();
    }
  },
};

async function readToEnd(res: Response): Promise<number> {
  if (!res.ok || !res.body) throw new Error(`download failed: ${res.status} ${await res.text()}`);
  let total = 0;
  const reader = res.body.getReader();
  for (let next = await reader.read(); !next.done; next = await reader.read()) total += next.value.byteLength;
  return total;
}

async function throughMailroom(bench: EmailBench, bytes: Buffer<ArrayBuffer>): Promise<Timing> {
  const headers = { "x-api-key": bench.apiKey };
  // The SDK's order: body, account_id, subject, the files, then the recipients.
  const form = new FormData();
  form.append("body", "bench attachment");
  form.append("account_id", bench.accountId);
  form.append("subject", `bench ${bytes.length}`);
  form.append("attachments", new Blob([bytes]), "bench.bin");
  form.append("to", JSON.stringify([{ identifier: ADELE }]));
  const started = performance.now();
  const res = await fetch(`${bench.mailroomBase}/api/v1/emails`, { method: "POST", headers, body: form });
  if (res.status !== 201) throw new Error(`send failed: ${res.status} ${await res.text()}`);
  const { id } = (await res.json()) as { id: string };
  const sendMs = performance.now() - started;
  const email = (await (await fetch(`${bench.mailroomBase}/api/v1/emails/${id}`, { headers })).json()) as {
    attachments: { id: string }[];
  };
  const attachmentId = email.attachments[0]?.id;
  if (!attachmentId) throw new Error("the sent email has no attachment");
  const readStarted = performance.now();
  const read = await readToEnd(
    await fetch(`${bench.mailroomBase}/api/v1/emails/${id}/attachments/${attachmentId}`, { headers }),
  );
  if (read !== bytes.length) throw new Error(`read back ${read} of ${bytes.length} bytes`);
  return { sendMs, readMs: performance.now() - readStarted };
}

async function direct(bench: EmailBench, bytes: Buffer<ArrayBuffer>): Promise<Timing> {
  const graph = `${bench.sandboxBase}/v1.0/me/messages`;
  const headers = {
    authorization: `Bearer ${bench.accessToken}`,
    "content-type": "application/json",
    prefer: 'IdType="ImmutableId"',
  };
  const json = async <T>(url: string, body: unknown): Promise<T> => {
    const res = await fetch(url, { method: "POST", headers, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
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
    const res = await fetch(session.uploadUrl, {
      method: "PUT",
      headers: {
        "content-type": "application/octet-stream",
        "content-range": `bytes ${start}-${start + chunk.length - 1}/${bytes.length}`,
      },
      body: chunk,
    });
    if (res.status !== 200 && res.status !== 201) throw new Error(`chunk refused: ${res.status}`);
    await res.arrayBuffer();
  }
  await json(`${graph}/${draft.id}/send`, {});
  const sendMs = performance.now() - started;
  const list = await fetch(`${graph}/${draft.id}/attachments?$select=id`, { headers });
  const attachmentId = ((await list.json()) as { value: { id: string }[] }).value[0]?.id;
  if (!attachmentId) throw new Error("the sent message has no attachment");
  const readStarted = performance.now();
  const read = await readToEnd(
    await fetch(`${graph}/${draft.id}/attachments/${attachmentId}/$value`, { headers }),
  );
  if (read !== bytes.length) throw new Error(`read back ${read} of ${bytes.length} bytes`);
  return { sendMs, readMs: performance.now() - readStarted };
}
