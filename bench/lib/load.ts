// HTTP load with autocannon's programmatic API. Every run is checked: errors, timeouts or any non-2xx
// response make the run broken (a throughput number for 401s would be meaningless).
import autocannon from "autocannon";
import { LOCALHOST } from "./processes.ts";
import { median, round } from "./stats.ts";
import type { Target } from "./targets.ts";

export interface LoadSettings {
  connections: number;
  durationS: number;
  warmupS: number;
  rounds: number;
}

export interface LoadSample {
  requestsPerS: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
}

export interface LoadSummary {
  target: string;
  path: string;
  samples: LoadSample[];
  requestsPerS: number;
  p50Ms: number;
  p99Ms: number;
}

export class BrokenRun extends Error {}

export async function load(target: Target, connections: number, durationS: number): Promise<LoadSample> {
  const result = await autocannon({
    url: `http://${LOCALHOST}:${target.port}${target.path}`,
    connections,
    duration: durationS,
    headers: target.headers,
    timeout: 10,
  });
  const problems: string[] = [];
  if (result.errors > 0) problems.push(`${result.errors} errors (${result.timeouts} timeouts)`);
  if (result.non2xx > 0)
    problems.push(`${result.non2xx} non-2xx responses ${JSON.stringify(result.statusCodeStats)}`);
  if (result["2xx"] === 0) problems.push("no 2xx responses at all");
  if (problems.length > 0) {
    throw new BrokenRun(
      `${target.name} GET ${target.path}: ${problems.join("; ")}\n${target.child.output()}`,
    );
  }
  return {
    requestsPerS: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    requests: result.requests.total,
  };
}

export function summarize(target: Target, samples: LoadSample[]): LoadSummary {
  return {
    target: target.name,
    path: target.path,
    samples,
    requestsPerS: round(median(samples.map((s) => s.requestsPerS)), 0),
    p50Ms: median(samples.map((s) => s.p50Ms)),
    p99Ms: median(samples.map((s) => s.p99Ms)),
  };
}

/**
 * Loads `subject` and `baseline` alternately (ABBA…: B S, S B, B S…) after a warm-up of each, so
 * drift on a noisy machine hits both sides alike. Returns medians and the per-round ratios.
 */
export async function compare(
  subject: Target,
  baseline: Target,
  settings: LoadSettings,
  log: (line: string) => void,
): Promise<{ subject: LoadSummary; baseline: LoadSummary; ratio: number; roundRatios: number[] }> {
  for (const target of [baseline, subject]) {
    log(`  warm-up ${target.name} ${settings.warmupS}s`);
    await load(target, settings.connections, settings.warmupS);
  }
  const samples = new Map<Target, LoadSample[]>([
    [subject, []],
    [baseline, []],
  ]);
  const roundRatios: number[] = [];
  for (let round_ = 0; round_ < settings.rounds; round_++) {
    const order = round_ % 2 === 0 ? [baseline, subject] : [subject, baseline];
    for (const target of order) {
      const sample = await load(target, settings.connections, settings.durationS);
      samples.get(target)!.push(sample);
      log(
        `  round ${round_ + 1}/${settings.rounds} ${target.name.padEnd(8)} ${round(sample.requestsPerS, 0)} req/s, p50 ${sample.p50Ms} ms, p99 ${sample.p99Ms} ms`,
      );
    }
    const s = samples.get(subject)!.at(-1)!;
    const b = samples.get(baseline)!.at(-1)!;
    roundRatios.push(round(s.requestsPerS / b.requestsPerS, 3));
  }
  const subjectSummary = summarize(subject, samples.get(subject)!);
  const baselineSummary = summarize(baseline, samples.get(baseline)!);
  return {
    subject: subjectSummary,
    baseline: baselineSummary,
    ratio: round(subjectSummary.requestsPerS / baselineSummary.requestsPerS, 3),
    roundRatios,
  };
}
