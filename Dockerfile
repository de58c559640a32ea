# Promogate's container image: the core and every Go programme plugin, built from this
# repository with no Node.js (the console's built assets are committed), run as a non-root user.
#
#   docker build -t promogate .
#   docker compose -f deploy/compose.yaml up     # PostgreSQL and two replicas (docs/operations.md)

FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
COPY plugins/sdk/go.mod plugins/sdk/go.sum plugins/sdk/
RUN go mod download
COPY . .
ARG VERSION=dev
ENV CGO_ENABLED=0
RUN go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/promogate ./server && \
	for d in plugins/*/ plugins/examples/*/; do \
		ls "$d"*.go >/dev/null 2>&1 || continue; \
		[ "$(go list -e -f '{{.Name}}' "./$d")" = main ] || continue; \
		go build -trimpath -ldflags "-s -w" -o "/out/plugins/$(basename "$d")" "./${d%/}"; \
	done

# distroless: no shell, no package manager, uid 65532.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/promogate /usr/local/bin/promogate
COPY --from=build /out/plugins /opt/promogate/plugins
ENV PROMOGATE_LISTEN=0.0.0.0:8080 \
	PROMOGATE_PLUGINS_DIR=/opt/promogate/plugins
EXPOSE 8080
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/promogate"]
CMD ["serve"]
