// Holds streamed bytes whose size must be known before they can be passed on (a Graph upload session
// is created with the file's size; a multipart part does not say it): small ones in memory, within
// a per-spool budget, the rest in a temporary file that `dispose` removes. A range of a file on disk
// is read as a stream of small pieces, so reading it holds a piece or two, never the range, or into a
// buffer the caller lends (an upload chunk).
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, open, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

const WRITE_BATCH_BYTES = 1024 * 1024;
/** Pieces a range is read in (what a socket delivers at a time). */
const READ_PIECE_BYTES = 64 * 1024;

export interface SpooledFile {
  readonly size: number;
  /** The content's SHA-256 (hex), when it was asked for: computed as the bytes came. */
  readonly sha256?: string;
  /** The whole content. */
  bytes(): Promise<Buffer>;
  /** Bytes `start` to `end` (exclusive) in pieces as they are read; a piece stays valid once given. */
  range(start: number, end: number): AsyncIterable<Buffer>;
  /**
   * Bytes `start` to `end` (exclusive) at once: a view of a file held in memory, or read from disk into
   * the buffer `lend` gives (asked only then; at least `end - start` long), valid until it is reused.
   * Fails if the file ends before `end`.
   */
  read(start: number, end: number, lend: () => Buffer): Promise<Buffer>;
}

export interface SpoolOptions {
  /** A file stays in memory while it is under this size… */
  memoryFileBytes: number;
  /** …and while all of this spool's in-memory files stay under this total. */
  memoryBudgetBytes: number;
  /** Where temporary files go (default: the OS's temporary directory). */
  dir?: string;
}

export class Spool {
  private dir: string | undefined;
  private inMemory = 0;
  private files = 0;
  private disposed = false;

  constructor(private readonly options: SpoolOptions) {}

  /**
   * Reads `source` to its end. `onBytes` sees each chunk's length first and may throw to stop the
   * read (a size limit); the bytes read so far are then dropped with the spool. With `sha256` the
   * content's hash is computed on the way, so it needs no second read.
   */
  async add(
    source: AsyncIterable<Buffer>,
    onBytes: (length: number) => void = () => {},
    options: { sha256?: boolean } = {},
  ): Promise<SpooledFile> {
    const hash = options.sha256 ? createHash("sha256") : undefined;
    const held: Buffer[] = [];
    let heldBytes = 0;
    let size = 0;
    let path: string | undefined;
    let handle: Awaited<ReturnType<typeof open>> | undefined;
    try {
      for await (const chunk of source) {
        onBytes(chunk.length);
        hash?.update(chunk);
        size += chunk.length;
        held.push(chunk);
        heldBytes += chunk.length;
        if (!handle && this.fitsInMemory(size)) continue;
        if (!handle) {
          path = await this.nextPath();
          handle = await open(path, "w");
        }
        // Written in batches of about WRITE_BATCH_BYTES, each awaited before more is read: the
        // disk's pace is the backpressure on the source.
        if (heldBytes >= WRITE_BATCH_BYTES) {
          await handle.writev(held.splice(0));
          heldBytes = 0;
        }
      }
      if (handle && held.length > 0) await handle.writev(held.splice(0));
    } finally {
      await handle?.close();
    }
    const sha256 = hash?.digest("hex");
    if (path === undefined) {
      const content = held.length === 1 ? held[0]! : Buffer.concat(held);
      this.inMemory += content.length;
      return withHash(inMemoryFile(content), sha256);
    }
    return withHash(onDiskFile(path, size), sha256);
  }

  /** Removes the temporary files. */
  async dispose(): Promise<void> {
    this.disposed = true;
    if (this.dir !== undefined) await rm(this.dir, { recursive: true, force: true });
  }

  private fitsInMemory(size: number): boolean {
    return size < this.options.memoryFileBytes && this.inMemory + size <= this.options.memoryBudgetBytes;
  }

  private async nextPath(): Promise<string> {
    if (this.disposed) throw new Error("spool already disposed");
    this.dir ??= await mkdtemp(join(this.options.dir ?? tmpdir(), "mailroom-upload-"));
    return join(this.dir, `part-${++this.files}`);
  }
}

function inMemoryFile(content: Buffer): SpooledFile {
  return {
    size: content.length,
    bytes: async () => content,
    async *range(start, end) {
      if (end > start) yield content.subarray(start, end);
    },
    read: async (start, end) => {
      if (end > content.length) throw shortFile(content.length, end);
      return content.subarray(start, end);
    },
  };
}

function onDiskFile(path: string, size: number): SpooledFile {
  return {
    size,
    bytes: () => readFile(path),
    async *range(start, end) {
      if (end <= start) return;
      // Each read is a fresh buffer that dies once used (a hash, not an upload: that reads into a
      // lent buffer with `read`, and leaves no garbage).
      yield* createReadStream(path, { start, end: end - 1, highWaterMark: READ_PIECE_BYTES });
    },
    async read(start, end, lend) {
      const length = end - start;
      const into = lend();
      if (into.length < length)
        throw new RangeError(`a buffer of ${into.length} bytes cannot hold ${length}`);
      const handle = await open(path, "r");
      try {
        let at = 0;
        while (at < length) {
          const { bytesRead } = await handle.read(into, at, length - at, start + at);
          if (bytesRead === 0) throw shortFile(start + at, end);
          at += bytesRead;
        }
      } finally {
        await handle.close();
      }
      return into.subarray(0, length);
    },
  };
}

function withHash(file: SpooledFile, sha256: string | undefined): SpooledFile {
  return sha256 === undefined ? file : { ...file, sha256 };
}

function shortFile(size: number, end: number): Error {
  return new RangeError(`the file ends after ${size} bytes, before ${end}`);
}
