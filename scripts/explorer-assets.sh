#!/usr/bin/env bash
# explorer-assets.sh downloads the GraphiQL explorer's vendored assets from the
# npm registry at pinned versions into server/internal/explorer/assets/ and rewrites
# server/internal/explorer/assets/VERSIONS (package@version, license, file, sha256).
#
# Usage: scripts/explorer-assets.sh           download and replace the assets
#        scripts/explorer-assets.sh --check   download into a temp dir and fail
#                                             (exit 1) if the committed files
#                                             differ
#
# Needs npm. To upgrade, change the pinned versions below, run the script and
# check the explorer in a browser (GraphiQL 3 ships its UMD bundle as
# graphiql.min.js; GraphiQL 4+ no longer ships a UMD build).
set -euo pipefail

GRAPHIQL_VERSION=3.8.3
REACT_VERSION=18.3.1

# package@version:file-in-package:asset-name
FILES=(
	"graphiql@$GRAPHIQL_VERSION:graphiql.min.js:graphiql.min.js"
	"graphiql@$GRAPHIQL_VERSION:graphiql.min.css:graphiql.min.css"
	"graphiql@$GRAPHIQL_VERSION:LICENSE:LICENSE.graphiql"
	"react@$REACT_VERSION:umd/react.production.min.js:react.production.min.js"
	"react@$REACT_VERSION:LICENSE:LICENSE.react"
	"react-dom@$REACT_VERSION:umd/react-dom.production.min.js:react-dom.production.min.js"
	"react-dom@$REACT_VERSION:LICENSE:LICENSE.react-dom"
)

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
DEST=$ROOT/server/internal/explorer/assets

check=0
case ${1:-} in
"") ;;
--check) check=1 ;;
*)
	echo "usage: $0 [--check]" >&2
	exit 2
	;;
esac

command -v npm >/dev/null 2>&1 || {
	echo "$0: npm is required (Debian: apt-get install npm)" >&2
	exit 1
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out=$tmp/assets
mkdir -p "$out" "$tmp/pkg"

declare -A unpacked=()
for entry in "${FILES[@]}"; do
	IFS=: read -r spec _ _ <<<"$entry"
	[[ -n ${unpacked[$spec]:-} ]] && continue
	echo "npm pack $spec" >&2
	tgz=$(cd "$tmp/pkg" && npm pack --silent "$spec" | tail -n 1)
	mkdir -p "$tmp/pkg/$spec"
	tar -xzf "$tmp/pkg/$tgz" -C "$tmp/pkg/$spec"
	unpacked[$spec]=1
done

{
	echo "# Vendored GraphiQL explorer assets, from the npm registry; written by"
	echo "# scripts/explorer-assets.sh, do not edit. Files are copied unmodified."
	echo "# graphiql.min.js also bundles GraphiQL's own dependencies (MIT-licensed"
	echo "# @graphiql/*, codemirror, graphql-js and others; see their notices inside)."
	echo "# package@version license file sha256"
} >"$out/VERSIONS"

for entry in "${FILES[@]}"; do
	IFS=: read -r spec src name <<<"$entry"
	pkgdir=$tmp/pkg/$spec/package
	cp "$pkgdir/$src" "$out/$name"
	license=$(node -e 'process.stdout.write(String(require(process.argv[1]).license || "UNKNOWN"))' "$pkgdir/package.json" 2>/dev/null ||
		sed -n 's/.*"license": *"\([^"]*\)".*/\1/p' "$pkgdir/package.json" | sed -n 1p)
	printf '%s %s %s %s\n' "$spec" "$license" "$name" "$(sha256sum "$out/$name" | cut -d' ' -f1)" >>"$out/VERSIONS"
done

if ((check)); then
	if diff -r -q "$out" "$DEST"; then
		echo "server/internal/explorer/assets matches the pinned npm packages" >&2
		exit 0
	fi
	echo "server/internal/explorer/assets differs from the pinned npm packages; run $0" >&2
	exit 1
fi

mkdir -p "$DEST"
# Replace only the files this script manages.
for entry in "${FILES[@]}"; do
	IFS=: read -r _ _ name <<<"$entry"
	cp "$out/$name" "$DEST/$name"
done
cp "$out/VERSIONS" "$DEST/VERSIONS"
echo "updated $DEST:" >&2
grep -v '^#' "$DEST/VERSIONS" >&2
