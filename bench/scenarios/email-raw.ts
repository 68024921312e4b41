// GET /api/v1/emails/{id}/raw through Mailroom vs GET /v1.0/me/messages/{id}/$value straight to the
// sandbox, for a ~1 MB and a ~30 MB message (same run, same user, each side through its own app; setup as in email-list.ts).
// The messages are drafts made through Graph as a client would (a draft, then the attachment: inline
// under 3 MB, an upload session above). Each round runs 4 downloaders (Outlook's 4 concurrent requests
// per mailbox) for the duration, reading every byte; it reports MB/s per side, their ratio, and
// Mailroom's peak RSS growth over its RSS before the round (sampled every 20 ms): the body is piped,
// so it should not grow with the message size.
import { readMemory } from "../lib/processes.ts";
import type { Scenario, ScenarioResult, Settings } from "../lib/scenario.ts";
import { median, round } from "../lib/stats.ts";
import { type EmailBench, startEmailBench, underWindow } from "./email-list.ts";

const CONNECTIONS = 4;
const MIB = 1024 * 1024;
const UPLOAD_CHUNK = 4 * MIB;

async function graph(bench: EmailBench, path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${bench.accessToken}`);
  headers.set("prefer", 'IdType="ImmutableId"');
  if (init.body !== undefined) headers.set("content-type", "application/json");
  const res = await fetch(`${bench.sandboxBase}/v1.0${path}`, { ...init, headers });
  if (!res.ok) throw new Error(`Graph ${init.method ?? "GET"} ${path}: ${res.status} ${await res.text()}`);
  return res;
}

/** A draft whose MIME is about `mib` MiB (a base64 attachment of ¾ of it). Returns its Graph id. */
async function makeMessage(bench: EmailBench, mib: number): Promise<string> {
  const draft = (await (
    await graph(bench, "/me/messages", {
      method: "POST",
      body: JSON.stringify({
        subject: `Raw bench ${mib} MB`,
        body: { contentType: "html", content: `<p>A ${mib} MB message.</p>` },
        toRecipients: [{ emailAddress: { address: "bench@fabrikam.com" } }],
      }),
    })
  ).json()) as { id: string };
  const content = Buffer.alloc(Math.floor((mib * MIB * 3) / 4), 0x5a);
  const name = `payload-${mib}.bin`;
  if (content.length < 3_000_000) {
    await graph(bench, `/me/messages/${draft.id}/attachments`, {
      method: "POST",
      body: JSON.stringify({
        "@odata.type": "#microsoft.graph.fileAttachment",
        name,
        contentType: "application/octet-stream",
        contentBytes: content.toString("base64"),
      }),
    });
    return draft.id;
  }
  const session = (await (
    await graph(bench, `/me/messages/${draft.id}/attachments/createUploadSession`, {
      method: "POST",
      body: JSON.stringify({ AttachmentItem: { attachmentType: "file", name, size: content.length } }),
    })
  ).json()) as { uploadUrl: string };
  for (let start = 0; start < content.length; start += UPLOAD_CHUNK) {
    const chunk = content.subarray(start, start + UPLOAD_CHUNK);
    const res = await fetch(session.uploadUrl, {
      method: "PUT",
      headers: {
        "content-type": "application/octet-stream",
        "content-range": `bytes ${start}-${start + chunk.length - 1}/${content.length}`,
      },
      body: chunk,
    });
    if (!res.ok) throw new Error(`upload chunk at ${start}: ${res.status} ${await res.text()}`);
    await res.arrayBuffer();
  }
  return draft.id;
}

interface Run {
  mbPerS: number;
  downloads: number;
  peakRssGrowthMiB: number;
}

/** `CONNECTIONS` downloaders for `durationS`, each reading whole bodies; bytes counted as they arrive. */
async function download(
  url: string,
  headers: Record<string, string>,
  durationS: number,
  rssOf?: number,
): Promise<Run> {
  const baseline = rssOf ? (await readMemory(rssOf)).rssMiB : 0;
  let peak = baseline;
  const sampler = rssOf
    ? setInterval(() => {
        void readMemory(rssOf)
          .then((m) => {
            peak = Math.max(peak, m.rssMiB);
          })
          .catch(() => {});
      }, 20)
    : undefined;
  const started = performance.now();
  const deadline = started + durationS * 1000;
  let bytes = 0;
  let downloads = 0;
  const worker = async () => {
    while (performance.now() < deadline) {
      const res = await fetch(url, { headers });
      if (res.status !== 200) throw new Error(`${url}: ${res.status} ${await res.text()}`);
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) bytes += chunk.byteLength;
      downloads++;
    }
  };
  try {
    await Promise.all(Array.from({ length: CONNECTIONS }, worker));
  } finally {
    if (sampler) clearInterval(sampler);
  }
  const seconds = (performance.now() - started) / 1000;
  return { mbPerS: bytes / MIB / seconds, downloads, peakRssGrowthMiB: peak - baseline };
}

export const emailRaw: Scenario = {
  name: "raw",
  describe:
    "GET /api/v1/emails/{id}/raw vs GET /v1.0/me/messages/{id}/$value straight to the sandbox, 1 MB and 30 MB messages: MB/s and Mailroom's peak RSS growth",
  async run(settings: Settings, log): Promise<ScenarioResult> {
    const bench = await startEmailBench(settings, log);
    try {
      const rows: (string | number)[][] = [];
      const data: Record<string, unknown> = {};
      for (const mib of [1, 30]) {
        const id = await makeMessage(bench, mib);
        const mailroomUrl = `${bench.mailroomBase}/api/v1/emails/${encodeURIComponent(id)}/raw?account_id=${bench.accountId}`;
        const directUrl = `${bench.sandboxBase}/v1.0/me/messages/${id}/$value`;
        const mailroomHeaders = { "x-api-key": bench.apiKey };
        const directHeaders = {
          authorization: `Bearer ${bench.accessToken}`,
          prefer: 'IdType="ImmutableId"',
        };
        const size = (await (await fetch(directUrl, { headers: directHeaders })).arrayBuffer()).byteLength;
        // Warm-up of each side, then alternating measured rounds.
        await underWindow(bench.sandboxBase, () => download(directUrl, directHeaders, settings.warmupS));
        await underWindow(bench.sandboxBase, () => download(mailroomUrl, mailroomHeaders, settings.warmupS));
        const direct: Run[] = [];
        const mailroom: Run[] = [];
        for (let i = 0; i < settings.rounds; i++) {
          const order = i % 2 === 0 ? ["direct", "mailroom"] : ["mailroom", "direct"];
          for (const side of order) {
            const run =
              side === "direct"
                ? await underWindow(bench.sandboxBase, () =>
                    download(directUrl, directHeaders, settings.durationS),
                  )
                : await underWindow(bench.sandboxBase, () =>
                    download(mailroomUrl, mailroomHeaders, settings.durationS, bench.child.pid),
                  );
            (side === "direct" ? direct : mailroom).push(run);
            log(
              `  ${mib} MB round ${i + 1}/${settings.rounds} ${side.padEnd(8)} ${round(run.mbPerS, 1)} MB/s (${run.downloads} downloads)${side === "mailroom" ? `, peak RSS +${round(run.peakRssGrowthMiB, 1)} MiB` : ""}`,
            );
            await new Promise((r) => setTimeout(r, 1000));
          }
        }
        const m = median(mailroom.map((r) => r.mbPerS));
        const d = median(direct.map((r) => r.mbPerS));
        const growth = Math.max(...mailroom.map((r) => r.peakRssGrowthMiB));
        rows.push(
          [`Mailroom /raw, ${round(size / MIB, 1)} MiB`, round(m, 1), round(growth, 1)],
          [`Graph (sandbox) /$value, ${round(size / MIB, 1)} MiB`, round(d, 1), "—"],
        );
        data[`${mib}MB`] = {
          sizeBytes: size,
          mailroom,
          direct,
          ratio: round(m / d, 3),
          peakRssGrowthMiB: growth,
        };
      }
      const notes = [1, 30].map((mib) => {
        const entry = data[`${mib}MB`] as { ratio: number; peakRssGrowthMiB: number };
        return `${mib} MB: throughput ratio Mailroom/direct ${entry.ratio}; Mailroom peak RSS growth ${round(entry.peakRssGrowthMiB, 1)} MiB (aim < 16 MiB)`;
      });
      return {
        status: "ok",
        table: {
          title: `raw — ${CONNECTIONS} downloaders, ${settings.rounds} × ${settings.durationS}s per size, medians`,
          columns: ["path", "MB/s", "peak RSS growth MiB"],
          rows,
          notes,
        },
        data,
      };
    } finally {
      await bench.stop();
    }
  },
};
