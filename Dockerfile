# recbot: Debian's ffmpeg + Node 26 brought by npm (the "node" dependency), running the TypeScript sources directly
# (type stripping) as a non-root user. The base is Debian's own image: pulled from a registry, or made from Debian's
# packages where no registry is reachable (scripts/debian-base-image.sh) — the same files either way.

# Stage 1: npm ci, the way a bare machine sets recbot up (README): any Node + npm, here Debian's, runs the install
# and the "node" package's install script fetches Node 26 for this platform into node_modules/.bin.
FROM debian:bookworm-slim AS deps
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm ca-certificates libatomic1 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# recbot's werift patches (docs/werift-patches.md): npm ci's postinstall applies them with patch-package.
COPY patches ./patches
# Where HTTPS to the npm registry passes an inspecting proxy, put its CA certificate(s) (PEM, *.crt) in
# deploy/extra-ca/ before building: npm trusts them for this install only, nothing of them reaches the final image.
COPY deploy/extra-ca/ /tmp/extra-ca/
# The "node" package links its binary into node_modules/node/bin; the platform package it came from (a second
# 150 MB copy once COPY --from breaks the hard link, plus a bundled npm) is not needed at run time.
RUN if ls /tmp/extra-ca/*.crt >/dev/null 2>&1; then cat /tmp/extra-ca/*.crt > /tmp/extra-ca.pem; export NODE_EXTRA_CA_CERTS=/tmp/extra-ca.pem; fi \
 && npm ci --omit=dev --no-audit --no-fund \
 && node_modules/.bin/node -e 'if (+process.versions.node.split(".")[0] < 26) process.exit(1)' \
 && rm -rf node_modules/node/node_modules/node-linux-* node_modules/node/node_modules/node-bin-* \
 && node_modules/.bin/node --version

# Stage 2: recbot's lean recorder ffmpeg (docs/recorder-ffmpeg.md), built from Debian's ffmpeg source package: one per
# recorded stream, ~1 ms of CPU to start and ~2 MB instead of Debian ffmpeg's ~65 ms and ~10 MB.
FROM debian:bookworm-slim AS ffmpeg
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev make curl ca-certificates xz-utils pkg-config libdav1d-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /build
COPY scripts/build-ffmpeg.sh ./scripts/
RUN sh scripts/build-ffmpeg.sh

# Stage 3: what runs. No Debian nodejs/npm here: node is node_modules/.bin/node (official Node builds need libatomic1).
# fonts-dejavu-core: the font a call's composite draws participants' names with (src/calls/composite).
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg fonts-dejavu-core libatomic1 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 1000 --user-group --home-dir /app --no-create-home --shell /usr/sbin/nologin recbot

WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
# Debian's ffmpeg above stays: the call composite encodes with it, and the lean build uses its libdav1d.
COPY --from=ffmpeg /build/.ffmpeg ./.ffmpeg
COPY package.json ./
COPY src ./src

# The unprivileged "recbot" user (uid 1000) owns only the recordings directory (a volume in docker-compose.yml).
RUN mkdir -p /app/recordings && chown recbot:recbot /app/recordings
USER recbot

ENV PATH=/app/node_modules/.bin:$PATH \
    NODE_ENV=production \
    RECBOT_HOST=0.0.0.0 \
    RECBOT_PORT=8080 \
    RECBOT_RECORDINGS_DIR=/app/recordings
EXPOSE 8080/tcp
VOLUME ["/app/recordings"]

HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:' + (process.env.RECBOT_PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"

# node is PID 1 and handles SIGTERM (docker stop): it finalizes open recordings, then exits.
STOPSIGNAL SIGTERM
CMD ["node", "src/cli/main.ts", "serve"]
