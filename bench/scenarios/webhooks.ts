import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import autocannon from "autocannon";
import { SEEDED_USERS } from "../../sandbox/src/seed.ts";
import { startMailroomBesideSandbox } from "../lib/beside-sandbox.ts";
import { connectMailbox } from "../lib/connect.ts";
import { type Child, LOCALHOST } from "../lib/processes.ts";
import type { Scenario } from "../lib/scenario.ts";
import { median, round } from "../lib/stats.ts";

/** Paced run: events per second and seconds (subscription path). */
const PACED_RATE = 100;
const PACED_SECONDS = 10;
/** Burst size per path; injected with this many requests in flight. */
const BURST = 1000;
const INJECT_CONCURRENCY = 16;
/** How long a phase may wait for its last delivery. */
const DRAIN_TIMEOUT_MS = 30_000;
const RECEIVER_LOAD_S = 5;
const RECEIVER_CONNECTIONS = 4;

interface Sample {
  injected: number;
  delivered: number;
  perS: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  injectS: number;
}

/** The webhook receiver: first delivery time per subject, duplicates counted. */
class Receiver {
  readonly arrivals = new Map<string, number>();
  duplicates = 0;
  bytes: number[] = [];
  sample = "";
  loadRequests = 0;
  private server?: Server;
  port = 0;
  private waiters: (() => void)[] = [];

  async start(): Promise<void> {
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        if (req.url === "/hook") {
          const at = performance.now();
          const raw = Buffer.concat(chunks);
          try {
            const subject = String((JSON.parse(raw.toString("utf8")) as { subject?: unknown }).subject);
            if (this.arrivals.has(subject)) this.duplicates++;
            else this.arrivals.set(subject, at);
            this.bytes.push(raw.length);
            if (!this.sample) this.sample = raw.toString("utf8");
          } catch {
            // not an email event
          }
          for (const wake of this.waiters.splice(0)) wake();
        } else this.loadRequests++;
        res.writeHead(200, { "content-type": "text/plain" });
        res.end("ok");
      });
    });
    await new Promise<void>((done) => this.server!.listen(0, LOCALHOST, done));
    this.port = (this.server.address() as { port: number }).port;
  }

  /** Resolves when every subject has arrived, or after the timeout (whatever arrived by then). */
  async waitFor(subjects: string[], timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!subjects.every((s) => this.arrivals.has(s)) && Date.now() < end)
      await new Promise<void>((done) => {
        const timer = setTimeout(done, 200);
        this.waiters.push(() => {
          clearTimeout(timer);
          done();
        });
      });
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((done) => (this.server ? this.server.close(() => done()) : done()));
  }
}

const USERS = SEEDED_USERS.filter((u) => u.kind === "work" && u.hasMailbox && u.email.includes("contoso"));

async function inject(sandbox: string, to: string, subject: string): Promise<void> {
  const res = await fetch(`${sandbox}/_sandbox/mail`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      from: "Ada Lovelace <ada@fabrikam.example>",
      to: [to],
      subject,
      body: `<p>Hello about ${subject}</p><p>${"Lorem ipsum dolor sit amet. ".repeat(20)}</p>`,
      body_type: "html",
    }),
  });
  if (res.status !== 201) throw new Error(`sandbox refused mail: ${res.status} ${await res.text()}`);
  await res.arrayBuffer().catch(() => {});
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
}

function summarize(receiver: Receiver, injectedAt: Map<string, number>, injectEnd: number): Sample {
  const latencies: number[] = [];
  let first = Number.POSITIVE_INFINITY;
  let last = 0;
  for (const [subject, at] of injectedAt) {
    first = Math.min(first, at);
    const delivered = receiver.arrivals.get(subject);
    if (delivered === undefined) continue;
    latencies.push(delivered - at);
    last = Math.max(last, delivered);
  }
  latencies.sort((a, b) => a - b);
  return {
    injected: injectedAt.size,
    delivered: latencies.length,
    perS: latencies.length > 0 ? round(latencies.length / ((last - first) / 1000), 1) : 0,
    p50Ms: round(median(latencies), 0),
    p99Ms: round(percentile(latencies, 0.99), 0),
    maxMs: round(latencies.at(-1) ?? 0, 0),
    injectS: round((injectEnd - first) / 1000, 2),
  };
}

/**
 * One Mailroom child beside the sandbox in its own process (`bench/lib/beside-sandbox.ts`, as the email
 * scenarios), the receiver's webhook, and every contoso mailbox connected.
 */
async function startMailroom(
  name: string,
  receiver: Receiver,
  extraEnv: Record<string, string>,
  nodeFlags: string[],
): Promise<{ child: Child; sandbox: string; stop(): Promise<void> }> {
  const started = await startMailroomBesideSandbox({
    nodeFlags,
    env: { WEBHOOK_ALLOW_PRIVATE_ADDRESSES: "on", ...extraEnv },
    sandboxEnv: { SANDBOX_ALLOW_HTTP_NOTIFICATIONS: "on" },
  });
  const { child, stop, apiKey: key } = started;
  try {
    const base = started.mailroomBase;
    const sandbox = started.sandboxBase;
    const hook = await fetch(`${base}/api/v1/webhooks`, {
      method: "POST",
      headers: { "x-api-key": key, "content-type": "application/json" },
      body: JSON.stringify({
        request_url: `http://${LOCALHOST}:${receiver.port}/hook`,
        source: "email",
        name: "bench",
        events: ["mail_received"],
      }),
    });
    if (hook.status !== 201) throw new Error(`webhook not created: ${hook.status} ${await hook.text()}`);
    for (const user of USERS) {
      await connectMailbox({ mailroomUrl: base, sandboxUrl: sandbox, apiKey: key, email: user.email });
    }
    // Ready when each mailbox announces a probe: its baseline sync is done (mail that lands during
    // the baseline is history, never announced, so probes are repeated until one arrives).
    const pending = new Set(USERS.map((u) => u.email));
    const deadline = Date.now() + 45_000;
    for (let n = 0; pending.size > 0; n++) {
      if (Date.now() > deadline)
        throw new Error(`no probe delivered for ${[...pending].join(", ")}\n${child.output()}`);
      const probes = [...pending].map((email) => ({ email, subject: `${name}-probe-${email}-${n}` }));
      await Promise.all(probes.map((p) => inject(sandbox, p.email, p.subject)));
      await receiver.waitFor(
        probes.map((p) => p.subject),
        1_500,
      );
      for (const p of probes) if (receiver.arrivals.has(p.subject)) pending.delete(p.email);
    }
    return { child, sandbox, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function paced(receiver: Receiver, sandbox: string, tag: string): Promise<Sample> {
  const injectedAt = new Map<string, number>();
  const total = PACED_RATE * PACED_SECONDS;
  const start = performance.now();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / PACED_RATE;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((done) => setTimeout(done, wait));
    const subject = `${tag}-${i}`;
    injectedAt.set(subject, performance.now());
    inflight.push(inject(sandbox, USERS[i % USERS.length]!.email, subject));
  }
  await Promise.all(inflight);
  const injectEnd = performance.now();
  await receiver.waitFor([...injectedAt.keys()], DRAIN_TIMEOUT_MS);
  return summarize(receiver, injectedAt, injectEnd);
}

async function burst(receiver: Receiver, sandbox: string, tag: string): Promise<Sample> {
  const injectedAt = new Map<string, number>();
  let next = 0;
  await Promise.all(
    Array.from({ length: INJECT_CONCURRENCY }, async () => {
      while (next < BURST) {
        const i = next++;
        const subject = `${tag}-${i}`;
        injectedAt.set(subject, performance.now());
        await inject(sandbox, USERS[i % USERS.length]!.email, subject);
      }
    }),
  );
  const injectEnd = performance.now();
  await receiver.waitFor([...injectedAt.keys()], DRAIN_TIMEOUT_MS);
  return summarize(receiver, injectedAt, injectEnd);
}

export const webhooks: Scenario = {
  name: "webhooks",
  describe:
    "inbound mail injected at the sandbox → webhooks delivered/s and injection→delivery p50/p99 (subscription and polling paths) vs the receiver alone",
  async run(settings, log) {
    const receiver = new Receiver();
    await receiver.start();
    try {
      log(`webhooks: subscription path (${USERS.length} mailboxes)`);
      const subs = await startMailroom(
        "webhooks-subscriptions",
        receiver,
        { GRAPH_SUBSCRIPTIONS: "on", POLL_INTERVAL_SECONDS: "3600" },
        settings.subjectNodeFlags,
      );
      let subsPaced: Sample;
      let subsBurst: Sample;
      try {
        log(`webhooks: paced ${PACED_RATE}/s for ${PACED_SECONDS}s`);
        subsPaced = await paced(receiver, subs.sandbox, "sub-paced");
        log(`webhooks: burst of ${BURST}`);
        subsBurst = await burst(receiver, subs.sandbox, "sub-burst");
      } finally {
        await subs.stop();
      }

      log("webhooks: polling path (POLL_INTERVAL_SECONDS=1)");
      const poll = await startMailroom(
        "webhooks-polling",
        receiver,
        { GRAPH_SUBSCRIPTIONS: "off", POLL_INTERVAL_SECONDS: "1" },
        settings.subjectNodeFlags,
      );
      let pollBurst: Sample;
      try {
        log(`webhooks: burst of ${BURST}`);
        pollBurst = await burst(receiver, poll.sandbox, "poll-burst");
      } finally {
        await poll.stop();
      }

      // The receiver alone, with a body of the size Mailroom delivered.
      const size = Math.round(median(receiver.bytes));
      const body = receiver.sample.padEnd(size, " ").slice(0, Math.max(size, receiver.sample.length));
      log(`webhooks: receiver alone (autocannon, ${RECEIVER_CONNECTIONS} connections, ${size} B bodies)`);
      const load = await autocannon({
        url: `http://${LOCALHOST}:${receiver.port}/load`,
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
        connections: RECEIVER_CONNECTIONS,
        duration: RECEIVER_LOAD_S,
        timeout: 10,
      });
      const receiverAlone = {
        perS: round(load.requests.average, 0),
        p50Ms: load.latency.p50,
        p99Ms: load.latency.p99,
        errors: load.errors + load.non2xx,
      };

      const row = (label: string, s: Sample) => [
        label,
        `${s.delivered}/${s.injected}`,
        s.perS,
        s.p50Ms,
        s.p99Ms,
        s.maxMs,
        s.injectS,
      ];
      const broken = [subsPaced, subsBurst, pollBurst].some((s) => s.delivered < s.injected);
      return {
        status: "ok",
        table: {
          title: `webhooks — ${USERS.length} mailboxes, SQLite, one email webhook at a local receiver`,
          columns: ["path", "delivered", "events/s", "p50 ms", "p99 ms", "max ms", "injection s"],
          rows: [
            row(`subscriptions, paced ${PACED_RATE}/s × ${PACED_SECONDS}s`, subsPaced),
            row(`subscriptions, burst of ${BURST}`, subsBurst),
            row(`polling (1 s), burst of ${BURST} (catch-up)`, pollBurst),
            [
              `receiver alone (autocannon POST, ${RECEIVER_CONNECTIONS} keep-alive connections)`,
              "—",
              receiverAlone.perS,
              receiverAlone.p50Ms,
              receiverAlone.p99Ms,
              "—",
              "—",
            ],
          ],
          notes: [
            `latency = injection request start → first delivery at the receiver; events/s = delivered / (last delivery − first injection)`,
            `aims: ≥ 500 events/s; p99 ≤ 1000 ms at ${PACED_RATE} events/s`,
            `median delivered body ${size} B; duplicate deliveries: ${receiver.duplicates}`,
            ...(broken ? [`NOT ALL DELIVERED within ${DRAIN_TIMEOUT_MS / 1000}s of the last injection`] : []),
          ],
        },
        data: {
          subsPaced,
          subsBurst,
          pollBurst,
          receiverAlone,
          bodyBytes: size,
          duplicates: receiver.duplicates,
        },
      };
    } finally {
      await receiver.close();
    }
  },
};
