// Holds streamed bytes whose size must be known before they can be passed on (a Graph upload session
// is created with the file's size; a multipart part does not say it): small ones in memory, within
// a per-spool budget, the rest in a temporary file that `dispose` removes. Reads come back in pieces
// into one reused buffer, so a spooled file costs one piece of memory to read.
import { mkdtemp, open, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

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
    let size = 0;
    let path: string | undefined;
    let handle: Awaited<ReturnType<typeof open>> | undefined;
    try {
      for await (const chunk of source) {
        onBytes(chunk.length);
        size += chunk.length;
        if (!handle && this.fitsInMemory(size)) {
          held.push(chunk);
          continue;
        }
        if (!handle) {
          path = await this.nextPath();
          handle = await open(path, "w");
          for (const piece of held.splice(0)) await handle.write(piece);
        }
        // Awaiting the write before the next chunk: the disk's pace is the backpressure on the source.
        await handle.write(chunk);
      }
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
      try {
        const buffer = Buffer.allocUnsafe(Math.min(pieceBytes, Math.max(size, 1)));
        for (let position = 0; position < size; ) {
          // A piece is whole (up to the end): upload chunks must be exact multiples of their size.
          let filled = 0;
          while (filled < buffer.length && position + filled < size) {
            const { bytesRead } = await handle.read(
              buffer,
              filled,
              buffer.length - filled,
              position + filled,
            );
            if (bytesRead === 0) break;
            filled += bytesRead;
          }
          if (filled === 0) break;
          position += filled;
          yield buffer.subarray(0, filled);
        }
      } finally {
        await handle.close();
      }
    },
  };
}
