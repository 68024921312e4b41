// Holds streamed bytes whose size must be known before they can be passed on (a Graph upload session
// is created with the file's size; a multipart part does not say it): small ones in memory, within
// a per-spool budget, the rest in a temporary file that `dispose` removes. Reads come back in pieces
// into two reused buffers (one read ahead), so a spooled file costs two pieces of memory to read.
import { mkdtemp, open, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

const WRITE_BATCH_BYTES = 1024 * 1024;

export interface SpooledFile {
  readonly size: number;
  /** The whole content. */
  bytes(): Promise<Buffer>;
  /** The content in pieces of at most `pieceBytes`; a piece is valid until the next is asked for. */
  pieces(pieceBytes: number): AsyncIterable<Buffer>;
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
   * read (a size limit); the bytes read so far are then dropped with the spool.
   */
  async add(
    source: AsyncIterable<Buffer>,
    onBytes: (length: number) => void = () => {},
  ): Promise<SpooledFile> {
    const held: Buffer[] = [];
    let heldBytes = 0;
    let size = 0;
    let path: string | undefined;
    let handle: Awaited<ReturnType<typeof open>> | undefined;
    try {
      for await (const chunk of source) {
        onBytes(chunk.length);
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
    if (path === undefined) {
      const content = held.length === 1 ? held[0]! : Buffer.concat(held);
      this.inMemory += content.length;
      return inMemoryFile(content);
    }
    return onDiskFile(path, size);
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
    async *pieces(pieceBytes) {
      for (let start = 0; start < content.length; start += pieceBytes)
        yield content.subarray(start, Math.min(content.length, start + pieceBytes));
    },
  };
}

function onDiskFile(path: string, size: number): SpooledFile {
  return {
    size,
    bytes: () => readFile(path),
    async *pieces(pieceBytes) {
      const handle = await open(path, "r");
      // Two buffers: the next piece is read while the caller works on this one.
      const length = Math.min(pieceBytes, Math.max(size, 1));
      const buffers = [Buffer.allocUnsafe(length), Buffer.allocUnsafe(length)] as const;
      let next: Promise<number> | undefined;
      try {
        let position = 0;
        let turn = 0;
        next = fill(handle, buffers[turn]!, position, size);
        while (position < size) {
          const filled = (await next) ?? 0;
          next = undefined;
          if (filled === 0) break;
          const piece = buffers[turn]!.subarray(0, filled);
          position += filled;
          turn ^= 1;
          if (position < size) next = fill(handle, buffers[turn]!, position, size);
          yield piece;
        }
      } finally {
        await next?.catch(() => 0);
        await handle.close();
      }
    },
  };
}

/** Reads into `buffer` from `position` until it is full or the file ends: a piece is whole. */
async function fill(
  handle: Awaited<ReturnType<typeof open>>,
  buffer: Buffer,
  position: number,
  size: number,
): Promise<number> {
  let filled = 0;
  while (filled < buffer.length && position + filled < size) {
    const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled;
}
