// The import graph of the repository, read from the sources: dependencies in src/ run one way
// (main → http → app → config → domain → providers/storage/jobs/outbound → lib; contracts a leaf
// anyone may import), src/ and sandbox/ never import each other, and web/ reaches src/ only in
// src/contracts/.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, it } from "node:test";

/**
 * Edges the rules would refuse that are allowed for now, each with its reason. An entry matches an
 * edge when the importing file starts with `from` and the imported file starts with `to`.
 */
const ALLOWED_EXCEPTIONS: { from: string; to: string; why: string }[] = [];

/** Higher imports lower. Modules of equal rank may import each other, but not in a cycle. */
const RANK: Record<string, number> = {
  main: 7,
  http: 6,
  app: 5,
  config: 4,
  domain: 3,
  providers: 2,
  storage: 2,
  redis: 2,
  jobs: 2,
  outbound: 2,
  lib: 1,
  contracts: 0,
};

const ROOT = resolve(import.meta.dirname, "..");
const SOURCE = /\.(?:ts|tsx|mts|js|mjs)$/;

function filesUnder(dir: string): string[] {
  const absolute = join(ROOT, dir);
  if (!existsSync(absolute)) return [];
  const out: string[] = [];
  for (const name of readdirSync(absolute)) {
    if (name === "node_modules" || name === "dist" || name.startsWith(".")) continue;
    const path = join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) out.push(...filesUnder(path));
    else if (SOURCE.test(name) && !name.endsWith(".d.ts")) out.push(path);
  }
  return out;
}

const STATIC = /(?:^|[\s;}])(?:import|export)\s+(?:type\s+)?(?:[\w*{}\s,$]+?\s+from\s+)?["']([^"'\n]+)["']/g;
const DYNAMIC = /\bimport\(\s*["']([^"'\n]+)["']\s*\)/g;
const AUGMENT = /\bdeclare\s+module\s+["'](\.[^"'\n]*)["']/g;

/** The specifiers a source imports: import/export-from (type-only too), side-effect and dynamic imports. */
export function specifiers(source: string): string[] {
  const out: string[] = [];
  for (const pattern of [STATIC, DYNAMIC, AUGMENT])
    for (const match of source.matchAll(pattern)) out.push(match[1]!);
  return out;
}

interface Edge {
  from: string;
  to: string;
}

/** Relative imports only (packages and node: builtins are not part of the graph), as repository paths. */
function edgesOf(files: string[]): Edge[] {
  const edges: Edge[] = [];
  for (const file of files) {
    for (const spec of specifiers(readFileSync(join(ROOT, file), "utf8"))) {
      if (!spec.startsWith(".")) continue;
      const to = relative(ROOT, resolve(ROOT, dirname(file), spec))
        .split("\\")
        .join("/");
      if (to !== file) edges.push({ from: file, to });
    }
  }
  return edges;
}

function excepted(edge: Edge): boolean {
  return ALLOWED_EXCEPTIONS.some((e) => edge.from.startsWith(e.from) && edge.to.startsWith(e.to));
}

/** `src/<module>/…` → module; `src/x.ts` → x. */
function moduleOf(path: string): string | undefined {
  const parts = path.split("/");
  if (parts[0] !== "src") return undefined;
  return parts.length > 2 ? parts[1] : parts[1]!.replace(SOURCE, "");
}

/** Strongly connected components with more than one node (Tarjan). */
function cycles(graph: Map<string, Set<string>>): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string) => {
    indices.set(node, index);
    low.set(node, index);
    index++;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!indices.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) low.set(node, Math.min(low.get(node)!, indices.get(next)!));
    }
    if (low.get(node) === indices.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const node of graph.keys()) if (!indices.has(node)) visit(node);
  return found;
}

const srcFiles = filesUnder("src");
const srcEdges = edgesOf(srcFiles);

describe("architecture: the import graph", () => {
  it("reads import, import type, export-from, side-effect and dynamic imports", () => {
    const source = [
      'import a from "./a.ts";',
      'import type { B } from "./b.ts";',
      "import {",
      "  type C,",
      "  d,",
      '} from "./c.ts";',
      'export { e } from "./e.ts";',
      'export type * from "./f.ts";',
      'import "./g.ts";',
      'const h = await import("./h.ts");',
      'declare module "./i.ts" {}',
    ].join("\n");
    assert.deepEqual(specifiers(source).sort(), [
      "./a.ts",
      "./b.ts",
      "./c.ts",
      "./e.ts",
      "./f.ts",
      "./g.ts",
      "./h.ts",
      "./i.ts",
    ]);
    assert.ok(srcEdges.length > 100, `only ${srcEdges.length} imports found in src/`);
  });

  it("gives every module of src/ a layer", () => {
    const unknown = [...new Set(srcFiles.map(moduleOf))].filter((m) => m === undefined || !(m in RANK));
    assert.deepEqual(unknown, [], "every src/<module> must be placed in RANK");
  });

  it("has src/ import only downwards: main → http → app → config → domain → providers/storage/jobs/outbound → lib", () => {
    const upward = srcEdges
      .filter((edge) => edge.to.startsWith("src/") && !excepted(edge))
      .filter((edge) => {
        const from = moduleOf(edge.from)!;
        const to = moduleOf(edge.to)!;
        if (from === to || to === "contracts") return false;
        return (RANK[from] ?? 0) < (RANK[to] ?? 0);
      })
      .map((edge) => `${edge.from} → ${edge.to}`);
    assert.deepEqual(upward, []);
  });

  it("keeps src/contracts/ a leaf", () => {
    const out = srcEdges
      .filter((edge) => moduleOf(edge.from) === "contracts" && moduleOf(edge.to) !== "contracts")
      .map((edge) => `${edge.from} → ${edge.to}`);
    assert.deepEqual(out, []);
  });

  it("has no cycle between the modules of src/, nor between the parts of domain/ or of providers/", () => {
    const graph = new Map<string, Set<string>>();
    const node = (path: string) => {
      const module = moduleOf(path)!;
      // The parts of domain/ and providers/ stand apart too: src/domain/<part>, src/providers/<name>.
      return module === "providers" || module === "domain" ? path.split("/").slice(0, 3).join("/") : module;
    };
    for (const edge of srcEdges) {
      if (!edge.to.startsWith("src/") || excepted(edge)) continue;
      const from = node(edge.from);
      const to = node(edge.to);
      if (from === to) continue;
      if (!graph.has(from)) graph.set(from, new Set());
      graph.get(from)!.add(to);
    }
    assert.deepEqual(cycles(graph), []);
  });

  it("has no import between src/ and sandbox/, in either direction", () => {
    const sandboxEdges = edgesOf(filesUnder("sandbox"));
    const crossing = [
      ...srcEdges.filter((edge) => edge.to.startsWith("sandbox/")),
      ...sandboxEdges.filter((edge) => edge.to.startsWith("src/")),
    ]
      .filter((edge) => !excepted(edge))
      .map((edge) => `${edge.from} → ${edge.to}`);
    assert.deepEqual(crossing, []);
  });

  it("has src/ import nothing from web/, and web/ import from src/ only src/contracts/", () => {
    const webEdges = edgesOf(filesUnder("web"));
    const crossing = [
      ...srcEdges.filter((edge) => edge.to.startsWith("web/")),
      ...webEdges.filter((edge) => edge.to.startsWith("src/") && !edge.to.startsWith("src/contracts/")),
    ]
      .filter((edge) => !excepted(edge))
      .map((edge) => `${edge.from} → ${edge.to}`);
    assert.deepEqual(crossing, []);
  });

  it("lists only exceptions that are still needed", () => {
    const all = [...srcEdges, ...edgesOf(filesUnder("web")), ...edgesOf(filesUnder("sandbox"))];
    for (const exception of ALLOWED_EXCEPTIONS)
      assert.ok(
        all.some((edge) => edge.from.startsWith(exception.from) && edge.to.startsWith(exception.to)),
        `the exception ${exception.from} → ${exception.to} no longer matches an import: remove it`,
      );
  });
});
