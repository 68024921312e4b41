// JSON batching (reference §3.9): ≤ 20 requests, unique ids, dependsOn ordering with 424 for
// dependents of failures. Each sub-request goes through the full pipeline, so it is throttled and
// counted individually. Graph runs at most 4 Outlook requests of a batch at a time
// (throttling-limits.md, "Outlook service batching"); the sandbox does the same.
import type { SandboxState } from "../state.ts";
import type { GraphRequest, GraphResponse } from "./context.ts";
import { badRequest, GraphError } from "./errors.ts";
import { executeGraphRequest, parseGraphUrl } from "./pipeline.ts";

export const MAX_BATCH_REQUESTS = 20;
const BATCH_PARALLELISM = 4;

interface BatchStep {
  id: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  body: unknown;
  dependsOn: string[];
}

interface BatchResult {
  id: string;
  status: number;
  headers: Record<string, string>;
  body?: unknown;
}

function parseSteps(payload: unknown): BatchStep[] {
  const requests = (payload as { requests?: unknown } | null)?.requests;
  if (!Array.isArray(requests)) throw badRequest("Invalid batch payload format.");
  if (requests.length > MAX_BATCH_REQUESTS) {
    throw badRequest(`Number of batch request steps exceeds the maximum of ${MAX_BATCH_REQUESTS}.`);
  }
  const ids = new Set<string>();
  const steps = requests.map((entry): BatchStep => {
    const step = entry as Record<string, unknown> | null;
    if (!step || typeof step !== "object") throw badRequest("Invalid batch payload format.");
    const id = typeof step.id === "number" ? String(step.id) : step.id;
    if (typeof id !== "string" || id === "") throw badRequest("Batch request id is required.");
    if (ids.has(id)) throw badRequest(`Batch request id '${id}' is duplicated. Request ids must be unique.`);
    ids.add(id);
    if (typeof step.method !== "string" || typeof step.url !== "string") {
      throw badRequest(`Batch request '${id}' must have a method and a url.`);
    }
    if (/^https?:/i.test(step.url))
      throw badRequest("Absolute URIs are not supported in batch requests; use relative URLs.");
    const headers: Record<string, string> = {};
    if (step.headers && typeof step.headers === "object") {
      for (const [name, value] of Object.entries(step.headers as Record<string, unknown>)) {
        if (typeof value === "string") headers[name.toLowerCase()] = value;
      }
    }
    if (step.body !== undefined && step.body !== null && headers["content-type"] === undefined) {
      throw badRequest(`Write request id : ${id} does not contain Content-Type header or body.`);
    }
    const dependsOn = Array.isArray(step.dependsOn) ? step.dependsOn.map(String) : [];
    return { id, method: step.method.toUpperCase(), url: step.url, headers, body: step.body, dependsOn };
  });
  for (const step of steps) {
    for (const dependency of step.dependsOn) {
      if (!ids.has(dependency) || dependency === step.id) {
        throw badRequest(`Request '${step.id}' depends on an unknown request '${dependency}'.`);
      }
    }
  }
  return steps;
}

function stepBody(step: BatchStep): Buffer | null {
  if (step.body === undefined || step.body === null) return null;
  const type = step.headers["content-type"] ?? "";
  if (typeof step.body === "string") {
    // Binary/MIME bodies travel base64-encoded inside the batch.
    return /json/i.test(type)
      ? Buffer.from(step.body)
      : Buffer.from(step.body, /text\/plain/i.test(type) ? "utf8" : "base64");
  }
  return Buffer.from(JSON.stringify(step.body));
}

function toResult(id: string, response: GraphResponse): BatchResult {
  const result: BatchResult = { id, status: response.status, headers: {} };
  for (const [name, value] of Object.entries(response.headers)) {
    if (/^(content-type|retry-after|location|preference-applied|odata-version)$/i.test(name))
      result.headers[name] = value;
  }
  if (response.json !== undefined) result.body = response.json;
  else if (response.raw) result.body = response.raw.toString("base64");
  return result;
}

function runStep(
  state: SandboxState,
  step: BatchStep,
  authorization: string | undefined,
): Promise<GraphResponse> {
  const url = step.url.startsWith("/") ? step.url : `/${step.url}`;
  const headers: Record<string, string | undefined> = { ...step.headers, authorization };
  const request: GraphRequest = { method: step.method, ...parseGraphUrl(url), headers, body: stepBody(step) };
  return executeGraphRequest(state, request);
}

export async function executeBatch(
  state: SandboxState,
  payload: unknown,
  authorization: string | undefined,
): Promise<{ responses: BatchResult[] }> {
  const steps = parseSteps(payload);
  const results = new Map<string, BatchResult>();
  const responses: BatchResult[] = [];
  const pending = new Set(steps.map((step) => step.id));
  const running = new Map<string, Promise<void>>();
  const stepById = new Map(steps.map((step) => [step.id, step]));
  const failed = (id: string): boolean => (results.get(id)?.status ?? 0) >= 400;

  while (pending.size > 0 || running.size > 0) {
    let progressed = false;
    for (const id of [...pending]) {
      const step = stepById.get(id)!;
      if (!step.dependsOn.every((dependency) => results.has(dependency))) continue;
      if (step.dependsOn.some(failed)) {
        const result: BatchResult = {
          id,
          status: 424,
          headers: { "Content-Type": "application/json" },
          body: {
            error: {
              code: "FailedDependency",
              message: "The request could not be processed because a request it depends on failed.",
            },
          },
        };
        results.set(id, result);
        responses.push(result);
        pending.delete(id);
        progressed = true;
        continue;
      }
      if (running.size >= BATCH_PARALLELISM) break;
      pending.delete(id);
      progressed = true;
      running.set(
        id,
        runStep(state, step, authorization).then((response) => {
          const result = toResult(id, response);
          results.set(id, result);
          responses.push(result);
          running.delete(id);
        }),
      );
    }
    if (running.size > 0) await Promise.race(running.values());
    else if (!progressed && pending.size > 0) {
      // A dependency cycle: nothing can run.
      throw new GraphError(400, "BadRequest", "The batch request contains a dependency cycle.");
    }
  }
  return { responses };
}
