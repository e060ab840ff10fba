# recbot: Node (runs the TypeScript sources directly with type stripping) + Debian's ffmpeg, as a non-root user.
FROM node:26-bookworm-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: recbot's dependencies are pure JS; it also skips the npm "node" package's download,
# since the image already has Node.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY src ./src

# The image's unprivileged "node" user owns only the recordings directory (a volume in docker-compose.yml).
RUN mkdir -p /app/recordings && chown node:node /app/recordings
USER node

ENV NODE_ENV=production \
    RECBOT_HOST=0.0.0.0 \
    RECBOT_PORT=8080 \
    RECBOT_RECORDINGS_DIR=/app/recordings
EXPOSE 8080/tcp
VOLUME ["/app/recordings"]

HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:' + (process.env.RECBOT_PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"

# SIGTERM (docker stop) finalizes the recordings before exit.
STOPSIGNAL SIGTERM
CMD ["node", "src/cli/main.ts", "serve"]
