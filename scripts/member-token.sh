#!/usr/bin/env bash
# member-token.sh prints a member token (JWT) for local development: for the
# member with externalRef REF, signed with the development key `make run` uses
# (scripts/dev-jwt.sh), valid for 12 hours (PROMOGATE_JWT_TTL). `make
# member-token REF=demo-anna` calls it; send the token as
# "Authorization: Bearer <token>" (the explorer's Headers pane, or
# connection_init's payload of a subscription).
#
# Usage: scripts/member-token.sh REF
#
# PROMOGATE_DEV_DIR and PROMOGATE_BIN are those of scripts/run.sh. With JWT
# settings of your own in the environment there is no development key, and
# `promogate token member` refuses to sign.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"

if [[ $# -ne 1 || -z $1 ]]; then
	echo "usage: scripts/member-token.sh REF   (make member-token REF=demo-anna)" >&2
	exit 2
fi
bin=${PROMOGATE_BIN:-bin/promogate}
dev=${PROMOGATE_DEV_DIR:-.data}
if [[ ! -x $bin ]]; then
	echo "scripts/member-token.sh: $bin is missing; build it with 'make build'" >&2
	exit 1
fi
# shellcheck source=scripts/dev-jwt.sh
source scripts/dev-jwt.sh
exec "$bin" token member "$1"
