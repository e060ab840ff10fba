import { randomUUID } from "node:crypto";
import { PeerSession, type PeerSessionDeps } from "./peerSession.ts";

/** All live sessions. A session that closes removes itself; `closeAll` finalizes every one. */
export class SessionRegistry {
  private readonly sessions = new Map<string, PeerSession>();

  private readonly deps: PeerSessionDeps;

  constructor(deps: PeerSessionDeps) {
    this.deps = deps;
  }

  get size(): number {
    return this.sessions.size;
  }

  create(): PeerSession {
    const session = new PeerSession(randomUUID(), this.deps);
    this.sessions.set(session.id, session);
    session.once("closed", () => this.sessions.delete(session.id));
    return session;
  }

  get(id: string): PeerSession | undefined {
    return this.sessions.get(id);
  }

  list(): PeerSession[] {
    return [...this.sessions.values()];
  }

  async closeAll(reason: string): Promise<void> {
    await Promise.all(this.list().map((s) => s.close(reason)));
  }
}
