import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { readFile, readdir, rename, stat, unlink, writeFile } from "node:fs/promises";
import path from "node:path";
import type { CallTag, RecordingMetadata } from "./metadata.ts";

export const RECORDING_ID_PATTERN = "^rec_[0-9a-z_-]{1,80}$";
const ID = new RegExp(RECORDING_ID_PATTERN);
/** A media file of a recording: `<id>.<container>` or a later segment `<id>.s<n>.<container>`. */
const MEDIA_FILE = /^(rec_[0-9a-z_-]{1,80})(?:\.s\d+)?\.(webm|mkv)$/;

/** What start-up found in the recordings directory. */
export interface RebuildReport {
  recordings: number;
  /** Recordings a crash left in state `recording`, now `interrupted`. */
  interrupted: number;
  /** Sidecars that could not be rewritten (e.g. disk full): the index has the truth, the disk gets it later. */
  unsaved: number;
  /** 0-byte media files without a sidecar (nothing was ever recorded into them), deleted. */
  emptyOrphansRemoved: number;
  /** Non-empty media files without a sidecar, listed as `interrupted` recordings. */
  orphans: number;
}

export interface ListQuery {
  sessionId?: string;
  streamId?: string;
  callId?: string;
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
  /** Ids whose sidecar on disk is behind the index (a write failed): retried by `saveUnsaved`. */
  private readonly unsaved = new Set<string>();
  private retryTimer: NodeJS.Timeout | undefined;
  /** Call participants' sessions: their sidecars carry the call tag, whoever (thread, recorder) writes them. */
  private readonly callTags = new Map<string, CallTag>();

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

  /** Tags every sidecar the session writes from now on (and any already written) with its call. */
  tagSession(sessionId: string, tag: CallTag): void {
    this.callTags.set(sessionId, tag);
    for (const meta of this.index.values()) {
      if (meta.sessionId === sessionId && !meta.call) void this.writeMetadata(meta).catch(() => {});
    }
  }

  /** Forgets a closed session's tag (its sidecars are final). */
  untagSession(sessionId: string): void {
    this.callTags.delete(sessionId);
  }

  /** Writes the sidecar atomically (temp file + rename), so readers never see half a JSON. */
  async writeMetadata(meta: RecordingMetadata): Promise<void> {
    // A session's last writes may come after its call forgot it (worker threads): the index keeps the tag.
    const tag = this.callTags.get(meta.sessionId) ?? this.index.get(meta.id)?.call;
    if (tag && !meta.call) meta = { ...meta, call: tag };
    const target = this.metadataPath(meta.id);
    // The index is the live truth even when the disk refuses the sidecar (e.g. full).
    this.index.set(meta.id, structuredClone(meta));
    const tmp = `${target}.${randomBytes(3).toString("hex")}.tmp`;
    try {
      await writeFile(tmp, JSON.stringify(meta, null, 2) + "\n");
      await rename(tmp, target);
      this.unsaved.delete(meta.id);
    } catch (err) {
      await unlink(tmp).catch(() => {});
      this.unsaved.add(meta.id); // retried by retryUnsaved; the caller still hears of the failure
      throw err;
    }
  }

  /** Sidecars whose last write failed (disk full, ...): the API reports the index; the disk is behind. */
  get unsavedCount(): number {
    return this.unsaved.size;
  }

  /** Writes the sidecars that could not be written before; returns how many are still unsaved. */
  async saveUnsaved(): Promise<number> {
    for (const id of [...this.unsaved]) {
      const meta = this.index.get(id);
      if (!meta) {
        this.unsaved.delete(id);
        continue;
      }
      await this.writeMetadata(meta).catch(() => {}); // still failing: stays in `unsaved` for the next try
    }
    return this.unsaved.size;
  }

  /** Retries unsaved sidecars every `intervalMs` until they are written; `onSaved` hears when a round saved some. */
  retryUnsaved(intervalMs: number, onSaved: (saved: number, left: number) => void): void {
    if (this.retryTimer) return;
    this.retryTimer = setInterval(() => {
      const before = this.unsaved.size;
      if (before === 0) return;
      void this.saveUnsaved().then((left) => {
        if (left < before) onSaved(before - left, left);
      });
    }, intervalMs);
    this.retryTimer.unref();
  }

  /** Stops retrying (the server is closing). */
  close(): void {
    clearInterval(this.retryTimer);
    this.retryTimer = undefined;
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
   * `interrupted` (their files are still playable: Matroska written cluster by cluster). Never fails for a
   * full disk: a sidecar that cannot be rewritten stays unsaved (the index, hence the API, has the truth) and
   * is retried later; start-up must work on a full disk, or nobody could free it through the API.
   */
  async rebuildIndex(): Promise<RebuildReport> {
    this.index.clear();
    this.unsaved.clear();
    let interrupted = 0;
    const names = await readdir(this.dir);
    for (const name of names) {
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
        interrupted++;
        this.unsaved.add(id);
      }
      this.index.set(id, meta);
    }
    const orphans = await this.adoptOrphans(names);
    await this.saveUnsaved();
    return { recordings: this.index.size, interrupted, unsaved: this.unsaved.size, ...orphans };
  }

  /**
   * Media files without a sidecar (recbot stopped, or the disk was full, before the first sidecar was written):
   * an empty one holds nothing and is deleted; one with data is listed as an `interrupted` recording.
   */
  private async adoptOrphans(names: string[]): Promise<{ emptyOrphansRemoved: number; orphans: number }> {
    let emptyOrphansRemoved = 0;
    let orphans = 0;
    for (const name of names) {
      const m = MEDIA_FILE.exec(name);
      if (!m || this.index.has(m[1])) continue;
      const file = path.join(this.dir, name);
      const info = await stat(file).catch(() => undefined);
      if (!info?.isFile()) continue;
      if (info.size === 0) {
        await unlink(file).then(() => emptyOrphansRemoved++, () => {});
        continue;
      }
      if (name !== `${m[1]}.${m[2]}`) continue; // a later segment alone: keep it, list only first segments
      const meta: RecordingMetadata = {
        id: m[1], sessionId: "", streamId: "-", file, container: m[2] as RecordingMetadata["container"], tracks: [],
        state: "interrupted", startedAt: info.birthtime.toISOString(), endedAt: info.mtime.toISOString(), sizeBytes: info.size,
        error: "found without its sidecar at start-up (recbot stopped before writing it)",
      };
      this.index.set(meta.id, meta);
      this.unsaved.add(meta.id);
      orphans++;
    }
    return { emptyOrphansRemoved, orphans };
  }

  get(id: string): RecordingMetadata | undefined {
    return ID.test(id) ? this.index.get(id) : undefined;
  }

  /** Newest first, filtered and paged. */
  list(query: ListQuery = {}): { items: RecordingMetadata[]; total: number } {
    const all = [...this.index.values()]
      .filter((m) => (!query.sessionId || m.sessionId === query.sessionId) && (!query.streamId || m.streamId === query.streamId) && (!query.callId || m.call?.callId === query.callId) && (!query.state || m.state === query.state))
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
    await unlink(this.metadataPath(id)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "ENOENT") throw err; // never written (disk full, or an orphan adopted at start-up)
    });
    this.index.delete(id);
    this.unsaved.delete(id);
  }
}
