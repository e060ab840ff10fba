import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { readFile, readdir, rename, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import type { RecordingMetadata } from "./metadata.ts";

const ID_PATTERN = /^rec_[0-9a-z_-]+$/;

/** True for strings that can be recording ids (and so are safe as file names in the store). */
export function isRecordingId(id: string): boolean {
  return ID_PATTERN.test(id) && id.length <= 100;
}

/** Where recordings live: paths derived from ids (never from client input), atomic sidecar writes. */
export class RecordingStore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = path.resolve(dir);
    mkdirSync(this.dir, { recursive: true });
  }

  newId(): string {
    const time = new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "").replace("T", "_").toLowerCase();
    return `rec_${time}_${randomBytes(4).toString("hex")}`;
  }

  mediaPath(id: string, container: RecordingMetadata["container"]): string {
    return this.resolve(`${id}.${container}`, id);
  }

  metadataPath(id: string): string {
    return this.resolve(`${id}.json`, id);
  }

  private resolve(name: string, id: string): string {
    if (!ID_PATTERN.test(id)) throw new TypeError(`not a recording id: ${JSON.stringify(id)}`);
    return path.join(this.dir, name);
  }

  /** Writes the sidecar atomically (temp file + rename), so readers never see half a JSON. */
  async writeMetadata(meta: RecordingMetadata): Promise<void> {
    const target = this.metadataPath(meta.id);
    const tmp = `${target}.${randomBytes(3).toString("hex")}.tmp`;
    await writeFile(tmp, JSON.stringify(meta, null, 2) + "\n");
    await rename(tmp, target);
  }

  /** Every recording's sidecar, newest first (unreadable or half-written ones are skipped). */
  async list(): Promise<RecordingMetadata[]> {
    const names = (await readdir(this.dir)).filter((n) => n.endsWith(".json") && isRecordingId(n.slice(0, -5)));
    const metas = await Promise.all(
      names.map(async (n) => {
        try {
          return JSON.parse(await readFile(path.join(this.dir, n), "utf8")) as RecordingMetadata;
        } catch {
          return undefined;
        }
      }),
    );
    return metas.filter((m): m is RecordingMetadata => m !== undefined).sort((a, b) => b.startedAt.localeCompare(a.startedAt));
  }

  /** One recording's sidecar, or undefined when there is none. */
  async get(id: string): Promise<RecordingMetadata | undefined> {
    if (!isRecordingId(id)) return undefined;
    try {
      return JSON.parse(await readFile(this.metadataPath(id), "utf8")) as RecordingMetadata;
    } catch {
      return undefined;
    }
  }

  async sizeOf(file: string): Promise<number | undefined> {
    try {
      return (await stat(file)).size;
    } catch {
      return undefined;
    }
  }
}
