# syntax=docker/dockerfile:1
# The pake-operator image: the operator (`operator`, the default command) and
# the task runner the operator starts as Jobs (`run <task>`), one binary.
#
#   docker build -t pake-operator:dev .
#
# Not built by this repository's CI (the reference machine has no container
# engine); the Helm chart's test runs the same entry point as a local process.
ARG NODE_IMAGE=node:24-bookworm-slim

# Compile TypeScript to dist/ (type errors fail the build).
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# Production dependencies only.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
# pg_dump, pg_dumpall, pg_restore and psql for the backup, verification and
# restore runners (Debian bookworm: PostgreSQL 15 clients; a newer server
# needs an image with newer clients, and the backup runner says so).
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-client \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# Numeric, so that runAsNonRoot can verify it without an /etc/passwd entry.
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["operator"]
