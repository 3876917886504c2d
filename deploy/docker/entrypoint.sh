#!/bin/sh
# The image's entrypoint: a secret mounted as a file (Docker or Kubernetes) is passed as NAME_FILE=/path, and sets
# NAME to the file's content, so secrets need not sit in the environment `docker inspect` shows. Only llmscope's own
# variables (LLMSCOPE_*) and names ending in _API_KEY, _KEY, _TOKEN, _PASSWORD or _URL are read this way, so other
# *_FILE variables (a CA bundle path, say) keep their meaning. Then it runs llmscope with the given arguments.
set -eu
names=$(env | sed -n 's/^\(LLMSCOPE_[A-Z0-9_]*\)_FILE=.*/\1/p; s/^\([A-Z0-9_]*_\(API_KEY\|KEY\|TOKEN\|PASSWORD\|URL\)\)_FILE=.*/\1/p' | sort -u)
for var in $names; do
  eval "file=\${${var}_FILE}"
  if [ ! -r "$file" ]; then
    echo "llmscope: ${var}_FILE is $file, which cannot be read (is the secret mounted, and readable by uid $(id -u)?)" >&2
    exit 1
  fi
  value=$(cat "$file")
  export "$var=$value"
  unset "${var}_FILE"
done
# 64 MB semi-spaces: calls' short-lived objects die young instead of being copied (docs/deploy.md, "CPU per call").
exec node --max-semi-space-size=64 /app/bin/llmscope.js "$@"
