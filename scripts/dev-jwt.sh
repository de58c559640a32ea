# dev-jwt.sh is sourced by scripts/run.sh and scripts/member-token.sh: the
# member-token settings of local development. Unless the caller gives JWT
# settings of its own (PROMOGATE_JWT_ISSUER, PROMOGATE_JWT_JWKS_URL or
# PROMOGATE_JWT_KEYS_FILE), it makes a P-256 key pair in $dev (default .data)
# with `promogate token keygen` if there is none yet, and exports
#   PROMOGATE_JWT_ISSUER=promogate-dev, PROMOGATE_JWT_AUDIENCE=promogate-dev,
#   PROMOGATE_JWT_KEYS_FILE=$dev/dev-jwt-public.pem (the server trusts it),
#   PROMOGATE_JWT_SIGNING_KEY=$dev/dev-jwt-key.pem (`promogate token member`
#   signs with it).
# A deployment never has this key: its member tokens come from the frontend's
# identity provider (docs/security.md).
#
# Expects $bin (the promogate binary) and $dev to be set, and the repository
# root as the working directory.
if [[ -z ${PROMOGATE_JWT_ISSUER:-}${PROMOGATE_JWT_JWKS_URL:-}${PROMOGATE_JWT_KEYS_FILE:-} ]]; then
	mkdir -p "$dev"
	if [[ ! -s $dev/dev-jwt-key.pem || ! -s $dev/dev-jwt-public.pem ]]; then
		rm -f "$dev/dev-jwt-key.pem" "$dev/dev-jwt-public.pem"
		"$bin" token keygen --key "$dev/dev-jwt-key.pem" --public "$dev/dev-jwt-public.pem"
	fi
	export PROMOGATE_JWT_ISSUER=promogate-dev PROMOGATE_JWT_AUDIENCE=promogate-dev
	export PROMOGATE_JWT_KEYS_FILE=$dev/dev-jwt-public.pem PROMOGATE_JWT_SIGNING_KEY=$dev/dev-jwt-key.pem
fi
