# The sealed-secrets controller image: `node dist/controller/main.js`, as user 1001, on the
# official Node 24 image. Build from the repository root:
#   docker build -t <registry>/sealed-secrets-controller:<tag> .
# and see deploy/README.md for installing it.

ARG NODE_IMAGE=node:24-bookworm-slim

# ---- build: compile TypeScript, then keep only the runtime dependencies ---------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Dependencies first, so that a source change reuses this layer.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY shared/ shared/
COPY cli/ cli/
COPY controller/ controller/
# Only the TypeScript build: the image runs the controller, not the kubeseal bundle (npm run bundle).
RUN npx tsc -p tsconfig.build.json \
 && npm prune --omit=dev --no-audit --no-fund

# ---- runtime -----------------------------------------------------------------------------------
FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
# package.json: "type": "module" makes dist/ ES modules, and the controller reads its version there.
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules/ node_modules/
COPY --from=build /app/dist/ dist/
# Numeric, so that Kubernetes' runAsNonRoot can check it without a passwd entry.
USER 1001
EXPOSE 8080 8081
# node as PID 1 is fine here: the controller handles SIGTERM itself and starts no child processes.
ENTRYPOINT ["node", "/app/dist/controller/main.js"]
