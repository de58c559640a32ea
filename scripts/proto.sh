#!/usr/bin/env bash
# Regenerates the plugin wire protocol (plugins/sdk/proto/v*/*.pb.go) with pinned tools:
# protoc from Debian's protobuf-compiler package, protoc-gen-go and protoc-gen-go-grpc
# at the exact versions below, installed into ./.bin (gitignored).
set -euo pipefail

PROTOC_GEN_GO_VERSION=v1.36.11
PROTOC_GEN_GO_GRPC_VERSION=v1.5.1

cd "$(dirname "$0")/.."
root=$PWD

if ! command -v protoc >/dev/null 2>&1 || [ ! -f /usr/include/google/protobuf/timestamp.proto ]; then
	echo "proto.sh: installing protoc (Debian package protobuf-compiler)" >&2
	sudo_cmd=()
	if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
	"${sudo_cmd[@]}" apt-get update -qq
	DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq protobuf-compiler >/dev/null
fi

mkdir -p .bin
installed_version() { # binary -> version string it reports, empty if absent
	[ -x ".bin/$1" ] && ".bin/$1" --version 2>/dev/null | awk '{print $NF}'
}
if [ "$(installed_version protoc-gen-go)" != "$PROTOC_GEN_GO_VERSION" ]; then
	GOBIN="$root/.bin" go install "google.golang.org/protobuf/cmd/protoc-gen-go@$PROTOC_GEN_GO_VERSION"
fi
if [ "$(installed_version protoc-gen-go-grpc)" != "${PROTOC_GEN_GO_GRPC_VERSION#v}" ]; then
	GOBIN="$root/.bin" go install "google.golang.org/grpc/cmd/protoc-gen-go-grpc@$PROTOC_GEN_GO_GRPC_VERSION"
fi

echo "proto.sh: $(protoc --version), protoc-gen-go $PROTOC_GEN_GO_VERSION, protoc-gen-go-grpc $PROTOC_GEN_GO_GRPC_VERSION" >&2
for dir in plugins/sdk/proto/v*/; do
	PATH="$root/.bin:$PATH" protoc \
		--proto_path=. \
		--go_out=. --go_opt=paths=source_relative \
		--go-grpc_out=. --go-grpc_opt=paths=source_relative \
		"$dir"*.proto
done
