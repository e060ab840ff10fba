import { defineConfig } from "vitest/config";

// `npm run test:deploy` (scripts/deploy-test.sh): the docker-compose stack, built and run. A cold build takes minutes.
export default defineConfig({
  test: {
    include: ["test/deploy/stack.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 30 * 60_000,
    fileParallelism: false,
    pool: "forks",
  },
});
