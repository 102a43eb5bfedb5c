#!/usr/bin/env bash
# Measures the ECR registry: push and pull throughput of a ~SIZE MiB image (default 200)
# through a release `homeport server`, against Docker's own `docker save` + `docker load` of
# the same image on the same machine as the reference.
#
# The image is a static busybox plus LAYERS layers (default 4) of random, incompressible
# data built with `docker build` (no registry needed). Each figure is one timed run: push
# to an empty repository; pull after removing the image from Docker; save to a file; load
# from that file after removing the image again (a load into a daemon that still has the
# layers skips them, so the pipe `docker save | docker load` would measure little). Docker's
# login state lives in a temporary DOCKER_CONFIG; everything the script made is removed.
#
#   scripts/bench-registry.sh [SIZE_MIB] [LAYERS]     (needs the aws CLI, Docker, busybox-static)
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-200}
layers=${2:-4}
source scripts/lib.sh
build
image="homeport-bench-registry:$$"
remote=""
on_exit 'docker rmi -f "$image" $remote "homeport-bench-registry-base:$$" > /dev/null 2>&1'

mkdir -p "$work/rootfs/bin" "$work/build"
cp /bin/busybox "$work/rootfs/bin/busybox"
ln -s busybox "$work/rootfs/bin/sh"
tar -C "$work/rootfs" -cf "$work/rootfs.tar" .
docker import "$work/rootfs.tar" "homeport-bench-registry-base:$$" > /dev/null
echo "FROM homeport-bench-registry-base:$$" > "$work/build/Dockerfile"
for n in $(seq 1 "$layers"); do
  head -c $((size * 1024 * 1024 / layers)) /dev/urandom > "$work/build/data$n"
  echo "COPY data$n /data$n" >> "$work/build/Dockerfile"
done
docker build -q -t "$image" "$work/build" > /dev/null 2> "$work/build.err" || { cat "$work/build.err" >&2; exit 1; }
rm -f "$work"/build/data*
bytes=$(docker image inspect --format '{{.Size}}' "$image")

start_server
host=${endpoint#http://}
remote="$host/bench/big:v1"
export DOCKER_CONFIG="$work/docker"
mkdir -p "$DOCKER_CONFIG"
aws ecr create-repository --repository-name bench/big > /dev/null
aws ecr get-login-password | docker login --username AWS --password-stdin "$host" > /dev/null 2>&1

seconds() { # runs "$@" quietly, prints the wall time in seconds
  local start end
  start=$(date +%s.%N)
  "$@" > /dev/null
  end=$(date +%s.%N)
  echo "$end - $start" | bc
}
report() { # NAME SECONDS
  printf '%-22s %7.2f s  %7.1f MB/s\n' "$1" "$2" "$(echo "$bytes / 1000000 / $2" | bc -l)"
}

docker tag "$image" "$remote"
push=$(seconds docker push "$remote")
docker rmi "$remote" "$image" > /dev/null
pull=$(seconds docker pull "$remote")
docker tag "$remote" "$image"
docker rmi "$remote" > /dev/null
save=$(seconds docker save -o "$work/image.tar" "$image")
docker rmi "$image" > /dev/null
load=$(seconds docker load -i "$work/image.tar")

echo "image: $((bytes / 1000000)) MB uncompressed, $layers random layers on busybox"
report "docker push (Homeport)" "$push"
report "docker pull (Homeport)" "$pull"
report "docker save (file)" "$save"
report "docker load (file)" "$load"
report "save + load" "$(echo "$save + $load" | bc)"
echo "server: VmHWM $(hwm)"
