// Runs many short publishing sessions against recbot from a separate process (churn test).
// usage: node test/helpers/churnProcess.ts <ws-url> <sessions> <concurrency>
import { makeClip } from "../../src/testkit/clip.ts";
import { publish } from "../../src/testkit/publisher.ts";

const [url, total = "200", concurrency = "8"] = process.argv.slice(2);
const clip = await makeClip({ seconds: 1, gop: 15 });
let next = 0;
const outcomes: Record<string, number> = {};
async function worker(): Promise<void> {
  while (next < Number(total)) {
    const i = next++;
    const hangup = i % 3 === 0 ? "abrupt" : "bye";
    try {
      const r = await publish({ url, clip, hangup });
      const key = hangup === "abrupt" ? "abrupt" : `bye:${r.finished.state}`;
      outcomes[key] = (outcomes[key] ?? 0) + 1;
    } catch (err) {
      outcomes[`error:${(err as Error).message.slice(0, 60)}`] = (outcomes[`error:${(err as Error).message.slice(0, 60)}`] ?? 0) + 1;
    }
  }
}
await Promise.all(Array.from({ length: Number(concurrency) }, worker));
console.log(JSON.stringify(outcomes));
process.exit(0);
