# syntax=docker/dockerfile:1

# Build: compile TypeScript with the full dependency tree.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Install scripts run here: the `node` devDependency's fetches the Node 24 binary that npm scripts
# (nest build) find first on PATH; without it its placeholder would shadow the image's node.
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY tsconfig.json nest-cli.json ./
COPY src ./src
RUN npm run build
# The image is for deployments: without credentials it refuses to start rather than fall back to the simulator.
COPY config/pushgate.toml ./config/
RUN sed -i 's/^simulator = "auto"/simulator = "off" /' config/pushgate.toml && grep -q '^simulator = "off"' config/pushgate.toml

# Production dependencies only. No install scripts: the remaining ones (@firebase/util, protobufjs) are
# the ones package.json's allowScripts turns off.
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# Runtime: distroless, no shell or package manager. Its entrypoint is node, so node is PID 1 and receives
# SIGTERM itself (the gateway's graceful shutdown depends on that).
FROM gcr.io/distroless/nodejs24-debian12:nonroot
WORKDIR /app
ENV NODE_ENV=production
# Files stay owned by root: the nonroot user can read the application but not modify it.
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY --from=build /app/config/pushgate.toml /etc/pushgate/pushgate.toml
# Numeric, so Kubernetes' runAsNonRoot can verify it without resolving names.
USER 65532:65532
EXPOSE 1056
CMD ["dist/main.js", "--config", "/etc/pushgate/pushgate.toml"]
