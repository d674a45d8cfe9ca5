#!/usr/bin/env bash
# Builds the container image and checks it the way an operator would: starts it, waits for its
# HEALTHCHECK to report healthy, asks /health and /ask, checks the server runs as a non-root user and
# that KB_ENCODER=torch stops with a clear message (the runtime image has no torch), measures image
# size, cold start and RSS, then removes what it started.
#
# Uses docker when a Docker engine answers, podman otherwise. On a machine prepared by
# ../shared/tools/container-prep.sh (no registry; pip reaches packages through the machine's own pip
# configuration) it uses the flags that script prints, and takes torch from pip's configuration instead
# of the PyTorch index (TORCH_INDEX_URL, empty). Override with TORCH_INDEX_URL=..., IMAGE=..., PORT=...
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${IMAGE:-community-ops-kb:check}
PORT=${PORT:-8891}
NAME=kb-check-$$
build_flags=() run_flags=() engine=()

if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  engine=(docker)
  run_flags=(-p "127.0.0.1:$PORT:$PORT")
elif command -v podman >/dev/null; then
  engine=(podman)
  if [[ -f /etc/containers/kb-build-mounts ]]; then
    export CONTAINERS_CONF=/etc/containers/kb-sandbox.conf
    engine=(podman --runtime runc)
    # shellcheck disable=SC2207  # the prepared file is a list of -v flags
    build_flags=(--network host --pull=never $(cat /etc/containers/kb-build-mounts))
    run_flags=(--network host)
    : "${TORCH_INDEX_URL=}"
  else
    run_flags=(-p "127.0.0.1:$PORT:$PORT")
  fi
  build_flags+=(--format docker)  # keeps the HEALTHCHECK, which the OCI format drops
else
  echo "container_check: neither docker nor podman is installed" >&2
  exit 1
fi
[[ -v TORCH_INDEX_URL ]] && build_flags+=(--build-arg "TORCH_INDEX_URL=$TORCH_INDEX_URL")

step() { printf '\n== %s\n' "$*"; }
fail() { echo "container_check: FAIL: $*" >&2; exit 1; }
cleanup() { "${engine[@]}" rm -f "$NAME" "$NAME-torch" >/dev/null 2>&1 || true; }
trap cleanup EXIT

step "build $IMAGE with ${engine[*]}"
started=$(date +%s)
"${engine[@]}" build "${build_flags[@]}" -t "$IMAGE" .
echo "build: $(($(date +%s) - started)) s"
size=$("${engine[@]}" image inspect --format '{{.Size}}' "$IMAGE")
echo "image size: $((size / 1000000)) MB"
if "${engine[@]}" run --rm --entrypoint python "$IMAGE" -c 'import torch' >/dev/null 2>&1; then
  fail "the runtime image contains torch"
fi
echo "torch in the runtime image: no"

step "run"
t0=$(date +%s.%N)
"${engine[@]}" run -d --name "$NAME" "${run_flags[@]}" -e KB_PORT="$PORT" "$IMAGE" >/dev/null
# the first moment /health answers: the cold start (process start, index load, warm-up)
for _ in $(seq 1 120); do
  curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break
  [[ $("${engine[@]}" inspect --format '{{.State.Running}}' "$NAME") == true ]] || {
    "${engine[@]}" logs "$NAME" | tail -20; fail "the container exited"; }
  sleep 0.25
done
echo "cold start (run to /health 200): $(echo "$(date +%s.%N) - $t0" | bc | xargs printf '%.1f') s"

step "wait for the HEALTHCHECK to report healthy"
status=""
for _ in $(seq 1 60); do
  # podman without systemd runs no health timers: run the image's own check command on demand
  [[ ${engine[0]} == podman ]] && "${engine[@]}" healthcheck run "$NAME" >/dev/null 2>&1 || true
  status=$("${engine[@]}" inspect --format '{{.State.Health.Status}}' "$NAME" 2>/dev/null || true)
  [[ $status == healthy ]] && break
  sleep 2
done
[[ $status == healthy ]] || fail "HEALTHCHECK status is '${status:-none}', not healthy"
echo "health status: $status"

step "/health and /ask"
health=$(curl -fsS "http://127.0.0.1:$PORT/health")
echo "$health"
grep -q '"status":"ok"' <<<"$health" || fail "/health"
answer=$(curl -fsS -X POST "http://127.0.0.1:$PORT/ask" -H 'Content-Type: application/json' \
  -d '{"question": "社群定位分哪几步？", "k": 3}')
echo "${answer:0:300}…"
grep -q '"answered":true' <<<"$answer" || fail "/ask did not answer"

step "runs as a non-root user"
uid=$("${engine[@]}" exec "$NAME" sh -c "awk '/^Uid:/ {print \$2}' /proc/1/status")
echo "uid of the server process: $uid"
[[ $uid != 0 ]] || fail "the server runs as root"

step "RSS after a few requests"
for q in 群里全是广告怎么办 社群运营的陷阱有哪些 怎么做社群SOP; do
  curl -fsS -X POST "http://127.0.0.1:$PORT/search" -H 'Content-Type: application/json' \
    -d "{\"query\": \"$q\"}" >/dev/null
done
"${engine[@]}" exec "$NAME" sh -c "grep VmRSS /proc/1/status"

step "KB_ENCODER=torch in the slim image"
"${engine[@]}" rm -f "$NAME" >/dev/null
set +e
out=$(timeout 120 "${engine[@]}" run --name "$NAME-torch" "${run_flags[@]}" -e KB_PORT="$PORT" \
  -e KB_ENCODER=torch "$IMAGE" 2>&1)
rc=$?
set -e
echo "$out" | tail -3
echo "exit code: $rc"
[[ $rc != 0 && $rc != 124 ]] || fail "KB_ENCODER=torch should stop the server"
grep -q "KB_ENCODER=torch needs torch" <<<"$out" || fail "KB_ENCODER=torch failed without saying why"

echo
echo "container_check: OK ($IMAGE, $((size / 1000000)) MB)"
