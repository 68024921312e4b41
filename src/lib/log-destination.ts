// Where log lines go when they go to stdout: written asynchronously so a slow reader never stalls
// Mailroom, and dropped — never retried forever — when nobody reads them any more. pino's own
// destination (sonic-boom 4) retries every failed write in its exit-time flush, so a stdout whose
// reader is gone (EPIPE) or full and unread kept the process from ever exiting.
import { write, writeSync } from "node:fs";
import { Writable } from "node:stream";

/** Queued bytes beyond which new lines are dropped (and counted) until the reader catches up. */
const MAX_QUEUED_BYTES = 8 * 1024 * 1024;
/** Largest single write: keeps one write's buffer small when the queue is long. */
const MAX_WRITE_BYTES = 256 * 1024;
const EAGAIN_RETRY_MS = 20;

export class FdLogDestination extends Writable {
  #queue: Buffer[] = [];
  #queued = 0;
  #writing = false;
  #broken = false;
  #drained: ((error?: Error) => void)[] = [];
  /** Lines dropped because the queue was full or the reader is gone. */
  dropped = 0;

  constructor(private readonly fd: number) {
    super({ decodeStrings: true });
  }

  override _write(chunk: Buffer, _encoding: string, callback: () => void): void {
    this.#enqueue(chunk);
    callback();
  }

  /** Whether the reader went away (EPIPE and the like): everything since is dropped. */
  get broken(): boolean {
    return this.#broken;
  }

  #enqueue(chunk: Buffer): void {
    if (this.#broken || this.#queued + chunk.length > MAX_QUEUED_BYTES) {
      this.dropped++;
      return;
    }
    this.#queue.push(chunk);
    this.#queued += chunk.length;
    this.#pump();
  }

  #take(): Buffer {
    const buffer = this.#queue.length === 1 ? this.#queue[0]! : Buffer.concat(this.#queue);
    const slice = buffer.subarray(0, MAX_WRITE_BYTES);
    const rest = buffer.subarray(slice.length);
    this.#queue = rest.length > 0 ? [rest] : [];
    this.#queued = rest.length;
    return slice;
  }

  #pump(): void {
    if (this.#writing || this.#broken || this.#queue.length === 0) return;
    this.#writing = true;
    const buffer = this.#take();
    const attempt = (offset: number): void => {
      write(this.fd, buffer, offset, buffer.length - offset, null, (error, written) => {
        if (error) {
          if (error.code === "EAGAIN") {
            setTimeout(() => attempt(offset), EAGAIN_RETRY_MS).unref();
            return;
          }
          this.#breakOff();
          this.#settle();
          return;
        }
        if (offset + written < buffer.length) return attempt(offset + written);
        this.#writing = false;
        this.#pump();
        this.#settle();
      });
    };
    attempt(0);
  }

  /** Calls back once everything queued so far is written, or dropped because the reader is gone. */
  flush(callback: (error?: Error) => void): void {
    if (this.#broken || (!this.#writing && this.#queue.length === 0)) {
      callback();
      return;
    }
    this.#drained.push(callback);
  }

  #settle(): void {
    if (!this.#broken && (this.#writing || this.#queue.length > 0)) return;
    for (const callback of this.#drained.splice(0)) callback();
  }

  #breakOff(): void {
    this.#broken = true;
    this.#writing = false;
    this.dropped += this.#queue.length;
    this.#queue = [];
    this.#queued = 0;
  }

  /**
   * Writes what is queued before the process exits, once, without retrying. Skipped while an earlier
   * write is still pending: the reader is then not keeping up (a full pipe would block this thread),
   * so the queued lines are dropped rather than the exit delayed.
   */
  flushSync(): void {
    if (this.#broken || this.#writing) return;
    while (this.#queue.length > 0) {
      const buffer = this.#take();
      try {
        let offset = 0;
        while (offset < buffer.length) offset += writeSync(this.fd, buffer, offset);
      } catch {
        this.#breakOff();
        return;
      }
    }
  }
}

const stdoutDestinations = new Set<FdLogDestination>();

/** Stdout as a log destination, flushed once when the process exits. */
export function stdoutLogDestination(): FdLogDestination {
  const destination = new FdLogDestination(1);
  stdoutDestinations.add(destination);
  process.once("exit", () => destination.flushSync());
  return destination;
}

/** Resolves once every stdout destination has written (or dropped) what it was given. */
export function flushStdoutDestinations(): Promise<void> {
  return Promise.all(
    [...stdoutDestinations].map((d) => new Promise<void>((resolve) => d.flush(() => resolve()))),
  ).then(() => undefined);
}
