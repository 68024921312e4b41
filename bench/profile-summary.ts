// `node --import tsx bench/profile-summary.ts <file.cpuprofile> [--last S] [--requests N] [--top N]`
// — where a CPU profile's time goes: self time per package / source file, the hottest functions,
// and inclusive time of the repository's own functions. With --last S only the last S seconds
// before the process stopped count (the load phase of a scenario); with --requests N times are
// also shown per request. Profiles come from `npm run bench -- <scenario> --cpu-prof`.
import { readFile } from "node:fs/promises";
import { relative } from "node:path";
import { parseArgs } from "node:util";
import { REPO_ROOT } from "./lib/processes.ts";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Shutdown after the load takes a moment; it is left out of a --last window. */
const SHUTDOWN_US = 150_000;

/** Groups a script URL: an npm package, a repo file, or a Node internal. */
function bucketOf(url: string, functionName: string): string {
  if (url === "") return functionName.startsWith("(") ? functionName : "(native)";
  if (url.startsWith("node:")) return "node: internals";
  const path = url.startsWith("file://") ? decodeURIComponent(url.slice("file://".length)) : url;
  const nm = path.lastIndexOf("/node_modules/");
  if (nm >= 0) {
    const rest = path.slice(nm + "/node_modules/".length).split("/");
    return rest[0]?.startsWith("@") ? `${rest[0]}/${rest[1]}` : (rest[0] ?? path);
  }
  return relative(REPO_ROOT, path.split("?")[0] ?? path);
}

const { values, positionals } = parseArgs({
  args: process.argv.slice(2),
  allowPositionals: true,
  options: { last: { type: "string" }, requests: { type: "string" }, top: { type: "string" } },
});
const file = positionals[0];
if (!file) {
  process.stderr.write(
    "usage: node --import tsx bench/profile-summary.ts <file.cpuprofile> [--last S] [--requests N] [--top N]\n",
  );
  process.exit(2);
}
const top = Number(values.top ?? 25);
const requests = values.requests === undefined ? undefined : Number(values.requests);
const profile = JSON.parse(await readFile(file, "utf8")) as Profile;
const windowEnd = profile.endTime - (values.last ? SHUTDOWN_US : 0);
const windowStart = values.last ? windowEnd - Number(values.last) * 1e6 : Number.NEGATIVE_INFINITY;

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parentOf = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
const label = (node: ProfileNode) =>
  `${node.callFrame.functionName || "(anonymous)"}  ${bucketOf(node.callFrame.url, node.callFrame.functionName)}:${node.callFrame.lineNumber + 1}`;

const buckets = new Map<string, number>();
const selfByFunction = new Map<string, number>();
const inclusive = new Map<string, number>();
const add = (map: Map<string, number>, key: string, us: number) => map.set(key, (map.get(key) ?? 0) + us);
let busyUs = 0;
let idleUs = 0;
let at = profile.startTime;
profile.samples.forEach((id, i) => {
  const us = profile.timeDeltas[i] ?? 0;
  at += us;
  const node = byId.get(id);
  if (!node || at < windowStart || at > windowEnd) return;
  if (node.callFrame.functionName === "(idle)") {
    idleUs += us;
    return;
  }
  busyUs += us;
  add(buckets, bucketOf(node.callFrame.url, node.callFrame.functionName), us);
  add(selfByFunction, label(node), us);
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parentOf.get(cur)) {
    const frame = byId.get(cur);
    if (!frame || !/^(src|sandbox|bin)\//.test(bucketOf(frame.callFrame.url, ""))) continue;
    const key = label(frame);
    if (!seen.has(key)) add(inclusive, key, us);
    seen.add(key);
  }
});

const fmt = (us: number) => {
  const share = `${((100 * us) / busyUs).toFixed(1).padStart(5)}%`;
  const abs = requests
    ? `${(us / requests).toFixed(1).padStart(8)} µs/req`
    : `${(us / 1000).toFixed(0).padStart(7)} ms`;
  return `${share}  ${abs}`;
};
const print = (title: string, map: Map<string, number>) => {
  process.stdout.write(`\n${title}\n`);
  for (const [key, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    process.stdout.write(`  ${fmt(us)}  ${key}\n`);
  }
};
process.stdout.write(
  `${file}${values.last ? ` (last ${values.last}s)` : ""}: busy ${(busyUs / 1000).toFixed(0)} ms, idle ${(idleUs / 1000).toFixed(0)} ms${requests ? `, ${(busyUs / requests).toFixed(1)} µs CPU per request` : ""}\n`,
);
print("Self time by package / file", buckets);
print("Hottest functions (self time)", selfByFunction);
print("Repository functions (inclusive time)", inclusive);
