// A publisher in its own process, so a test can freeze (SIGSTOP) or kill it like a vanished peer.
// usage: node test/helpers/publishProcess.ts <ws-url> <seconds>
import { makeClip } from "../../src/testkit/clip.ts";
import { publish } from "../../src/testkit/publisher.ts";

const [url, seconds = "30"] = process.argv.slice(2);
const clip = await makeClip({ seconds: Number(seconds) });
console.log("clip ready");
const result = await publish({ url, clip });
console.log(JSON.stringify({ finished: result.finished.state }));
process.exit(0);
