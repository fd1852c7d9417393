# syntax=docker/dockerfile:1

# The base images are arguments so that a build without registry access can give local ones (the image test
# does); the defaults are the published images, pinned by digest so that a rebuild gets the same bases whatever the
# tags point to by then. The digests are those that public Dockerfiles kept current by Renovate and Dependabot pinned
# in 2026 for node:24.21.0-bookworm-slim (an index of amd64 and arm64) and distroless nodejs24-debian12:nonroot. No
# registry was reachable where they were written, so check them before a release, and move them with the tags:
#   crane digest node:24-bookworm-slim
#   crane digest gcr.io/distroless/nodejs24-debian12:nonroot
# (or `docker buildx imagetools inspect IMAGE`), then pass them as --build-arg or change the defaults below.
ARG BUILD_IMAGE=node:24.21.0-bookworm-slim@sha256:0e0ff40c39bc087845bfb27465a0df4ea419520094bc35842ff83dd8cbe6f9b6
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian12:nonroot@sha256:14d42e2511532589a7c7e01a753667a74fcc96266e137e8125006b87b0c32d0a

# Production dependencies only, without the optional ones (firebase-admin's Firestore and Cloud Storage clients,
# which the gateway never loads). No install scripts: the remaining ones (@firebase/util, protobufjs) are the
# ones package.json's allowScripts turns off.
FROM ${BUILD_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund

# Build: the sources import production packages only, so the compiler needs that tree plus TypeScript and the
# type packages, at the lockfile's versions, installed one directory up where module and type resolution find
# them. The full development tree (test, lint and benchmark tools) would triple the build time.
FROM ${BUILD_IMAGE} AS build
WORKDIR /build
COPY package-lock.json /tmp/package-lock.json
RUN --mount=type=cache,target=/root/.npm npm install --no-save --no-package-lock --ignore-scripts --no-audit --no-fund \
      $(node -p "['typescript', '@types/node', '@types/express', '@types/node-forge'].map((n) => n + '@' + require('/tmp/package-lock.json').packages['node_modules/' + n].version).join(' ')")
WORKDIR /build/app
COPY --from=deps /app/node_modules ./node_modules
COPY tsconfig.json ./
COPY src ./src
RUN /build/node_modules/.bin/tsc -p tsconfig.json
# The image is for deployments: without credentials it refuses to start rather than fall back to the simulator.
COPY config/pushgate.toml ./config/
RUN sed -i 's/^simulator = "auto"/simulator = "off" /' config/pushgate.toml && grep -q '^simulator = "off"' config/pushgate.toml

# Runtime: distroless, no shell or package manager. Its entrypoint is node, so node is PID 1 and receives
# SIGTERM itself (the gateway's graceful shutdown depends on that).
FROM ${RUNTIME_IMAGE}
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="pushgate" \
      org.opencontainers.image.description="Gaurun-compatible push notification gateway for APNs and FCM HTTP v1" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.source="https://github.com/pushgate/pushgate" \
      org.opencontainers.image.url="https://github.com/pushgate/pushgate"
WORKDIR /app
ENV NODE_ENV=production
# Node sizes the V8 heap from the container's memory limit by itself (cgroup v1 or v2: about 56% of the limit).
# The young generation is capped besides, as `npm start` does: V8 grows it with the limit (to 192 MiB without one),
# and a burst fills it with garbage between scavenges; at 4 MiB per semi-space the burst's peak was 16% below 16 MiB's
# and about half of no cap's, at the same CPU per push (docs/memory.md). An operator's own NODE_OPTIONS replaces this.
ENV NODE_OPTIONS=--max-semi-space-size=4
# Files stay owned by root: the nonroot user can read the application but not modify it.
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /build/app/dist ./dist
COPY package.json ./
COPY --from=build /build/app/config/pushgate.toml /etc/pushgate/pushgate.toml
# Numeric, so Kubernetes' runAsNonRoot can verify it without resolving names.
USER 65532:65532
EXPOSE 1056
# No shell or curl in the image: node asks for readiness. Kubernetes ignores this and uses the chart's probes.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["/nodejs/bin/node", "-e", "fetch('http://127.0.0.1:' + (process.env.PUSHGATE_CORE_PORT || 1056) + '/health/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["dist/main.js", "--config", "/etc/pushgate/pushgate.toml"]
