# Gregor broker image: `docker build -t gregor:dev .` (docker-compose.yml builds it as gregor:dev).
#
# Stages: `manifests` (package.json files + lockfile) → `build` (all dependencies, proto codegen, tsc) and `deps`
# (production dependencies only) → the runtime image: node, production node_modules, each package's dist, the CLI
# bin and the generated protobuf code. No apt/apk: only COPY and npm steps (plus one `node -e` for the data
# directory, since node:20-slim-like bases need not ship coreutils), so the image builds offline when the npm
# cache of the base image holds the locked packages (scripts/docker/seed-base-image.sh makes such a base).
# Works with the classic builder (docker 20.10, docker-compose 1.29) and BuildKit alike.

FROM node:20-slim AS manifests
WORKDIR /app
COPY package.json package-lock.json ./
# One line per workspace: npm ci checks the lockfile against every workspace manifest (a missing one fails the
# build loudly, which is what we want when a package is added).
COPY packages/common/package.json packages/common/
COPY packages/raft/package.json packages/raft/
COPY packages/records/package.json packages/records/
COPY packages/storage/package.json packages/storage/
COPY packages/coordinator/package.json packages/coordinator/
COPY packages/metadata/package.json packages/metadata/
COPY packages/kafka-protocol/package.json packages/kafka-protocol/
COPY packages/protocol/package.json packages/protocol/
COPY packages/broker/package.json packages/broker/
COPY packages/client/package.json packages/client/
COPY packages/cli/package.json packages/cli/
COPY packages/sim/package.json packages/sim/

FROM manifests AS build
# --ignore-scripts: the root `prepare` script is `npm run build`, which cannot run before the sources are copied;
# the native dependencies (classic-level, lz4-napi, @node-rs/crc32) ship prebuilt linux-x64-gnu binaries and need no
# install script. Manifests first, sources after: a source change keeps the dependency layer cached.
RUN npm ci --prefer-offline --no-audit --no-fund --ignore-scripts
COPY tsconfig.base.json tsconfig.json ./
COPY scripts/gen-proto.mjs scripts/
COPY proto proto
COPY packages packages
RUN npm run build

FROM manifests AS deps
# Production dependencies only; npm links the workspaces into node_modules/@gregor/* (symlinks to packages/*,
# filled with dist/ by the runtime stage).
RUN npm ci --omit=dev --prefer-offline --no-audit --no-fund --ignore-scripts

FROM node:20-slim
WORKDIR /app
COPY --from=deps /app ./
COPY --from=build /app/packages/common/dist packages/common/dist
COPY --from=build /app/packages/raft/dist packages/raft/dist
COPY --from=build /app/packages/records/dist packages/records/dist
COPY --from=build /app/packages/storage/dist packages/storage/dist
COPY --from=build /app/packages/coordinator/dist packages/coordinator/dist
COPY --from=build /app/packages/metadata/dist packages/metadata/dist
COPY --from=build /app/packages/kafka-protocol/dist packages/kafka-protocol/dist
COPY --from=build /app/packages/protocol/dist packages/protocol/dist
COPY --from=build /app/packages/protocol/generated packages/protocol/generated
COPY --from=build /app/packages/broker/dist packages/broker/dist
COPY --from=build /app/packages/client/dist packages/client/dist
COPY --from=build /app/packages/cli/dist packages/cli/dist
COPY --from=build /app/packages/cli/bin packages/cli/bin
# The data directory must exist and belong to `node` before VOLUME: a new named volume copies the ownership of the
# image directory it is mounted on, and the broker does not run as root.
RUN ["node", "-e", "const fs = require('node:fs'); fs.mkdirSync('/var/lib/gregor', { recursive: true }); fs.chownSync('/var/lib/gregor', 1000, 1000)"]
# `gregor` on PATH (npm links the workspace bin), e.g. `docker-compose exec broker-1 gregor topics list -b broker-1:9292`.
# UV_THREADPOOL_SIZE: getaddrinfo runs on libuv's pool, and a dead container's name can take ~10 s to fail to
# resolve (Docker's DNS without an upstream); with the default 4 threads such lookups stall the broker's file and
# level I/O. It must be in the environment before node starts (the pool is created before any JS could set it).
ENV NODE_ENV=production \
    UV_THREADPOOL_SIZE=64 \
    GREGOR_DATA_DIR=/var/lib/gregor \
    PATH=/app/node_modules/.bin:$PATH
USER node
VOLUME /var/lib/gregor
# Client (CLIENT and any other client listener), inter-broker (BROKER: raft, controller, replication), admin HTTP.
EXPOSE 9092 9292 9093 8080
# Ready = registered, unfenced and seeing a quorum leader (/readyz on the ADMIN listener of GREGOR_LISTENERS).
HEALTHCHECK --interval=5s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "packages/cli/bin/gregor.js", "healthcheck"]
# Exec form: node is PID 1 and gets SIGTERM from `docker stop` directly, which starts the controlled shutdown
# (leaderships move away first). The default stop timeout of 10 s is enough for it; compose gives 30 s.
STOPSIGNAL SIGTERM
# --initial-old-space-size: the broker's heap option, as Kafka's KAFKA_HEAP_OPTS; why in packages/cli/src/broker-processes.ts
# (BROKER_NODE_ARGS): Buffer churn would otherwise start a full GC every few MB under load.
CMD ["node", "--initial-old-space-size=128", "packages/cli/bin/gregor.js", "broker"]
