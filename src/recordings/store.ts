import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { readFile, readdir, rename, stat, unlink, writeFile } from "node:fs/promises";
import path from "node:path";
import type { RecordingMetadata } from "./metadata.ts";

export const RECORDING_ID_PATTERN = "^rec_[0-9a-z_-]{1,80}$";
const ID = new RegExp(RECORDING_ID_PATTERN);

export interface ListQuery {
  sessionId?: string;
  streamId?: string;
  state?: RecordingMetadata["state"];
  offset?: number;
  limit?: number;
}

/**
 * Where recordings live: paths derived from ids (never from client input), atomic sidecar writes,
 * and an in-memory index of every sidecar, rebuilt from disk at start.
 */
export class RecordingStore {
  readonly dir: string;
  private readonly index = new Map<string, RecordingMetadata>();

  constructor(dir: string) {
    this.dir = path.resolve(dir);
    mkdirSync(this.dir, { recursive: true });
  }

  newId(): string {
    const time = new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "").replace("T", "_").toLowerCase();
    return `rec_${time}_${randomBytes(4).toString("hex")}`;
  }

  /** Segment 1 is `<id>.<container>`; later segments (after an ffmpeg restart) `<id>.s<n>.<container>`. */
  mediaPath(id: string, container: RecordingMetadata["container"], segment = 1): string {
    return this.resolve(segment === 1 ? `${id}.${container}` : `${id}.s${segment}.${container}`, id);
  }

  metadataPath(id: string): string {
    return this.resolve(`${id}.json`, id);
  }

  private resolve(name: string, id: string): string {
    if (!ID.test(id)) throw new TypeError(`not a recording id: ${JSON.stringify(id)}`);
    return path.join(this.dir, name);
  }

  /** Writes the sidecar atomically (temp file + rename), so readers never see half a JSON. */
  async writeMetadata(meta: RecordingMetadata): Promise<void> {
    const target = this.metadataPath(meta.id);
    // The index is the live truth even when the disk refuses the sidecar (e.g. full).
    this.index.set(meta.id, structuredClone(meta));
    const tmp = `${target}.${randomBytes(3).toString("hex")}.tmp`;
    try {
      await writeFile(tmp, JSON.stringify(meta, null, 2) + "\n");
      await rename(tmp, target);
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw err;
    }
  }

  async sizeOf(file: string): Promise<number | undefined> {
    try {
      return (await stat(file)).size;
    } catch {
      return undefined;
    }
  }

  /**
   * Reads every sidecar in the directory. Recordings a crash left in state `recording` become
   * `interrupted` (their files are still playable: Matroska written cluster by cluster).
   */
  async rebuildIndex(): Promise<{ recordings: number; interrupted: number }> {
    this.index.clear();
    let interrupted = 0;
    for (const name of await readdir(this.dir)) {
      const id = name.slice(0, -".json".length);
      if (!name.endsWith(".json") || !ID.test(id)) continue;
      let meta: RecordingMetadata;
      try {
        meta = JSON.parse(await readFile(path.join(this.dir, name), "utf8")) as RecordingMetadata;
      } catch {
        continue; // not ours or unreadable: leave it alone
      }
      if (meta.id !== id) continue;
      if (meta.state === "recording") {
        meta.state = "interrupted";
        meta.sizeBytes = await this.sizeOf(meta.file);
        await this.writeMetadata(meta);
        interrupted++;
      }
      this.index.set(id, meta);
    }
    return { recordings: this.index.size, interrupted };
  }

  get(id: string): RecordingMetadata | undefined {
    return ID.test(id) ? this.index.get(id) : undefined;
  }

  /** Newest first, filtered and paged. */
  list(query: ListQuery = {}): { items: RecordingMetadata[]; total: number } {
    const all = [...this.index.values()]
      .filter((m) => (!query.sessionId || m.sessionId === query.sessionId) && (!query.streamId || m.streamId === query.streamId) && (!query.state || m.state === query.state))
      .sort((a, b) => b.startedAt.localeCompare(a.startedAt) || b.id.localeCompare(a.id));
    const offset = query.offset ?? 0;
    return { items: all.slice(offset, offset + (query.limit ?? 50)), total: all.length };
  }

  /** Removes the media file and its sidecar. */
  async delete(id: string): Promise<void> {
    const meta = this.get(id);
    if (!meta) return;
    const files = meta.segments?.length ? meta.segments.map((s) => s.file) : [this.mediaPath(id, meta.container)];
    for (const file of files) {
      // Only files of this id inside the directory, whatever the sidecar says.
      if (path.dirname(file) !== this.dir || !path.basename(file).startsWith(`${id}.`)) continue;
      await unlink(file).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== "ENOENT") throw err;
      });
    }
    await unlink(this.metadataPath(id));
    this.index.delete(id);
  }
}
