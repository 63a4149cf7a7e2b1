#!/usr/bin/env bash
# Regenerates the Go code of every .proto file under proto/, or with --check
# verifies that the committed code is what the generators produce.
# The generators are pinned so that the output is byte-identical on every
# machine: protoc from Debian 12's protobuf-compiler and the Go plugins at the
# versions recorded as tools in go.mod.
set -euo pipefail
cd "$(dirname "$0")/.."

check=false
[ "${1:-}" = --check ] && check=true

want_protoc="libprotoc 3.21.12"
command -v protoc >/dev/null 2>&1 || bash scripts/install-deps.sh test
have=$(protoc --version)
if [ "$have" != "$want_protoc" ]; then
  echo "genproto: need '$want_protoc', found '$have'" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
GOBIN="$work/bin" go install google.golang.org/protobuf/cmd/protoc-gen-go google.golang.org/grpc/cmd/protoc-gen-go-grpc

# proto/<dir>/*.proto generates into the Go package named here.
declare -A target=(
  [locket]=internal/locket/locketpb
  [models]=internal/models
)

status=0
for dir in "${!target[@]}"; do
  compgen -G "proto/$dir/*.proto" >/dev/null || continue
  mkdir -p "$work/out"
  PATH="$work/bin:$PATH" protoc -I proto \
    --go_out=paths=source_relative:"$work/out" \
    --go-grpc_out=paths=source_relative,require_unimplemented_servers=false:"$work/out" \
    proto/"$dir"/*.proto
  pkg=${target[$dir]}
  if $check; then
    mkdir -p "$work/have"
    cp "$pkg"/*.pb.go "$work/have"/ 2>/dev/null || true
    if ! diff -r -q "$work/out/$dir" "$work/have" >/dev/null; then
      echo "genproto: $pkg is not what proto/$dir generates; run 'make proto'" >&2
      status=1
    fi
    rm -rf "$work/have"
  else
    mkdir -p "$pkg"
    rm -f "$pkg"/*.pb.go
    cp "$work/out/$dir"/*.pb.go "$pkg"/
  fi
  rm -rf "$work/out"
done
exit $status
