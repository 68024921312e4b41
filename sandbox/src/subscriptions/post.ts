// One POST to a subscriber with a hard deadline, and the wording of its failures in the
// delivery log.
class TimeoutError extends Error {
  override readonly name = "TimeoutError";
}

export function isTimeout(error: unknown): boolean {
  return error instanceof TimeoutError;
}

export function errorText(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message}: ${cause.message}` : error.message;
  }
  return String(error);
}

/** One POST with a hard deadline covering headers and body; the timer never keeps the process alive. */
export async function postWithTimeout(
  url: string,
  body: string,
  contentType: string,
  timeoutMs: number,
): Promise<{ status: number; contentType: string | null; body: string }> {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new TimeoutError(`timed out after ${timeoutMs} ms`)),
    timeoutMs,
  );
  timer.unref();
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": contentType },
      body,
      signal: controller.signal,
      redirect: "manual",
    });
    const text = await response.text();
    return { status: response.status, contentType: response.headers.get("content-type"), body: text };
  } catch (error) {
    if (controller.signal.aborted) throw new TimeoutError(`timed out after ${timeoutMs} ms`);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
