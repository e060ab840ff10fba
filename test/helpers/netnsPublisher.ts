/**
 * A werift publisher as its own process, so a test can run it inside a network namespace:
 *   ip netns exec NS node test/helpers/netnsPublisher.ts '<json PublisherJob>'
 * It takes its ICE servers from recbot's GET /ice-servers (as a browser would), publishes the clip over /ws
 * and prints one line `RESULT <json>`.
 */
import { weriftIceServers } from "../../src/session/iceOptions.ts";
import type { IceServer } from "../../src/session/iceServers.ts";
import { readClip, type ClipFiles } from "../../src/testkit/clip.ts";
import { publish } from "../../src/testkit/publisher.ts";

export interface PublisherJob {
  /** http://host:port of recbot as seen from the publisher's namespace. */
  base: string;
  clip: ClipFiles;
  /** The publisher's own address (its host candidates). */
  address: string;
  iceTransportPolicy?: "all" | "relay";
}

export interface PublisherOutcome {
  sessionId: string;
  offerToAnswerMs: number;
  offerToConnectedMs: number;
  pair: Awaited<ReturnType<typeof publish>>["pair"];
  framesSent: { video: number; audio: number };
  secondsSent: number;
  finished: any;
  iceServers: IceServer[];
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2]) as PublisherJob;
  const iceServers = (await (await fetch(`${job.base}/ice-servers`)).json()) as IceServer[];
  const result = await publish({
    url: `${job.base.replace(/^http/, "ws")}/ws`,
    clip: readClip(job.clip),
    // The lab address instead of publish()'s loopback default; recbot's STUN/TURN servers with their credentials.
    ice: { iceAddresses: [job.address] },
    peerConfig: { ...weriftIceServers(iceServers), iceTransportPolicy: job.iceTransportPolicy ?? "all" },
    acceptRemoteCandidate: () => true, // every address here lives in the lab's namespaces
  });
  const { offerToAnswerMs, offerToConnectedMs, pair, framesSent, secondsSent, finished, sessionId } = result;
  const outcome: PublisherOutcome = { sessionId, offerToAnswerMs, offerToConnectedMs, pair, framesSent, secondsSent, finished, iceServers };
  process.stdout.write(`RESULT ${JSON.stringify(outcome)}\n`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
