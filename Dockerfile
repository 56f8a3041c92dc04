# The sealed-secrets controller image: `node /app/dist/controller/main.js` as user 1001 on a
# distroless Node 24 runtime (no shell, no npm, no package manager). Build from the repository root:
#   docker build -t <registry>/sealed-secrets-controller:<tag> .
# and see deploy/README.md for installing it. Without a registry, `npm run image` builds the two base
# images locally (scripts/image.ts) and passes them as BUILD_IMAGE and RUNTIME_IMAGE.

# Compiles TypeScript: needs node, npm and a shell.
ARG BUILD_IMAGE=node:24-bookworm-slim
# Runs the controller: needs node at /nodejs/bin/node and the C/C++ runtime libraries it links,
# nothing else (distroless' layout).
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian12:nonroot

# ---- build: compile TypeScript, then keep only the runtime dependencies ---------------------
FROM ${BUILD_IMAGE} AS build
WORKDIR /app
# Dependencies first, so that a source change reuses this layer. --ignore-scripts: compiling
# needs no install script (the `node` devDependency's downloads a Node binary we never run here).
# A build behind a TLS-intercepting proxy passes its CA as the secret `build-ca`
# (docker build --secret id=build-ca,src=<bundle>): mounted for this step only, never in a layer.
COPY package.json package-lock.json ./
RUN --mount=type=secret,id=build-ca \
    if [ -s /run/secrets/build-ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/build-ca; fi \
 && npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY shared/ shared/
COPY cli/ cli/
COPY controller/ controller/
# The sealing page (web/), bundled for browsers into dist/web with esbuild (a devDependency).
COPY web/ web/
COPY scripts/web-bundle.ts scripts/controller-bundle.ts scripts/
# The TypeScript build and the controller's bundle (scripts/controller-bundle.ts); not the kubeseal
# bundle (npm run bundle): the image runs the controller only.
# Then drop what only compilers and people read (type declarations, source maps, TypeScript
# sources, READMEs; licences stay): about 17 MB, mostly @kubernetes/client-node's.
RUN node node_modules/typescript/bin/tsc -p tsconfig.build.json \
 && node -e "import('./scripts/controller-bundle.ts').then((m) => m.bundleController(process.cwd()))" \
 && node -e "import('./scripts/web-bundle.ts').then((m) => m.buildWeb(process.cwd()))" \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund \
 && rm -rf node_modules/.package-lock.json dist/bin dist/cli \
 && node -e "const fs = require('fs'), path = require('path'); \
      const walk = (dir) => { for (const e of fs.readdirSync(dir, { withFileTypes: true })) { \
        const file = path.join(dir, e.name); \
        if (e.isDirectory()) walk(file); else if (/\.(d\.[cm]?ts|map|ts|md)$/.test(e.name)) fs.rmSync(file); } }; \
      walk('node_modules');"

# ---- runtime -----------------------------------------------------------------------------------
FROM ${RUNTIME_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
# package.json: "type": "module" makes dist/ ES modules, and the controller reads its version there.
# Owned by root and not writable by the controller's user: the code cannot be changed at run time.
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules/ node_modules/
COPY --from=build /app/dist/ dist/
# Numeric, so that Kubernetes' runAsNonRoot can check it without a passwd entry.
USER 1001
EXPOSE 8080 8081
# node as PID 1 is fine here: the controller handles SIGTERM itself and starts no child processes.
# The absolute path: the runtime image has no shell and no PATH lookup to rely on.
# The V8 flags are those of controller/main.ts's first line (controller/main-flags.test.ts checks it).
ENTRYPOINT ["/nodejs/bin/node", "--max-semi-space-size=2", "--optimize-for-size", "--no-opt", "--no-maglev", "/app/dist/controller/main.js"]
