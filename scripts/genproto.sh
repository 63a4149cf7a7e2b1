#!/usr/bin/env bash
# Regenerates the Go code of every .proto file under proto/.
# The generators are pinned so that the output is byte-identical on every
# machine: protoc from Debian 12's protobuf-compiler and the Go plugins at the
# versions recorded as tools in go.mod.
set -euo pipefail
cd "$(dirname "$0")/.."

want_protoc="libprotoc 3.21.12"
if ! command -v protoc >/dev/null 2>&1; then
  echo "genproto: protoc missing; installing Debian's protobuf-compiler" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q protobuf-compiler >/dev/null
fi
have=$(protoc --version)
if [ "$have" != "$want_protoc" ]; then
  echo "genproto: need '$want_protoc', found '$have'" >&2
  exit 1
fi

bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
GOBIN="$bin" go install google.golang.org/protobuf/cmd/protoc-gen-go google.golang.org/grpc/cmd/protoc-gen-go-grpc

gen() { # gen <go output dir> <proto files...>
  local out=$1; shift
  mkdir -p "$out"
  rm -f "$out"/*.pb.go
  PATH="$bin:$PATH" protoc -I proto \
    --go_out=paths=source_relative:"$bin/out" \
    --go-grpc_out=paths=source_relative,require_unimplemented_servers=false:"$bin/out" \
    "$@"
}

mkdir -p "$bin/out"
# Every file's Go code lands next to the package it belongs to.
gen internal/locket/locketpb proto/locket/*.proto
cp "$bin"/out/locket/*.go internal/locket/locketpb/
if compgen -G "proto/models/*.proto" >/dev/null; then
  gen internal/models proto/models/*.proto
  cp "$bin"/out/models/*.go internal/models/
fi
