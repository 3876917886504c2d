# syntax=docker/dockerfile:1
# llmscope's image: a build stage that compiles the native SQLite driver (better-sqlite3) and builds dist/ (server +
# dashboard), and a slim runtime stage that runs it as a non-root user with its data on a volume.
#
#   docker build -t llmscope:0.1.0 .
#   docker run -d -p 8080:8080 -v llmscope-data:/data \
#     -e LLMSCOPE_ADMIN_TOKEN=... -e LLMSCOPE_CLIENT_KEY=lsk_... -e OPENAI_API_KEY=sk-... llmscope:0.1.0
#
# Secrets may also come as files: NAME_FILE=/run/secrets/x sets NAME from the file (deploy/docker/entrypoint.sh).
# The default config (deploy/docker/llmscope.yaml) listens on 0.0.0.0 and therefore needs the admin token, and lets
# only holders of the virtual key spend on the server-side provider key: it is never an open relay.

ARG NODE_VERSION=20

FROM node:${NODE_VERSION}-bookworm-slim AS build
# better-sqlite3 compiles against this Node when no prebuilt binary matches
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# dependencies first, so this layer is reused until the lockfile changes
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund --ignore-scripts \
  && npm rebuild better-sqlite3 esbuild
COPY tsconfig.json tsconfig.build.json vite.config.ts ./
COPY bin ./bin
COPY src ./src
RUN npm run build \
  && npm prune --omit=dev --no-audit --no-fund \
  && node -e "new (require('better-sqlite3'))(':memory:').prepare('select 1').get()"

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production \
    LLMSCOPE_CONFIG=/etc/llmscope/llmscope.yaml
WORKDIR /app
# the app's files stay owned by root: the process can read them, not change them
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/bin ./bin
COPY deploy/docker/llmscope.yaml /etc/llmscope/llmscope.yaml
COPY deploy/docker/entrypoint.sh /usr/local/bin/llmscope-entrypoint
RUN chmod 0755 /usr/local/bin/llmscope-entrypoint \
  && mkdir -p /data \
  && chown 1000:1000 /data
# uid 1000 is the image's `node` user; numeric, so Kubernetes' runAsNonRoot can verify it
USER 1000:1000
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.LLMSCOPE_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/local/bin/llmscope-entrypoint"]
CMD ["serve", "--host", "0.0.0.0"]
