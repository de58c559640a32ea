//go:build ignore

// Command generate regenerates graph/ from the schema (`make generate`, which runs
// `go run graph/generate.go`): what `go tool gqlgen generate` does with gqlgen.yml, plus the
// plugin sequential below, which plain gqlgen would drop, and the rewrite of the generated
// list marshalling to marshalList (rewriteLists).
package main

import (
	"fmt"
	"io"
	"log"
	"os"
	"strings"

	"github.com/99designs/gqlgen/api"
	"github.com/99designs/gqlgen/codegen"
	"github.com/99designs/gqlgen/codegen/config"
)

// sequentialObjects are the object types whose fields are resolved one after another, on the
// goroutine that marshals the object, rather than each resolver field on a goroutine of its
// own (gqlgen's default for every type but Mutation). Their resolvers compute from the object
// itself, or look one thing up (the programme, mostly from a cache; a campaign; a member
// through the request's dataloader), and they come in lists (a cabinet's 20 transactions or 10
// rewards), where a goroutine per field costs more than the field: starting it, growing its
// stack, scheduling it. Query is one of them so that its fields see what the fields before them
// read: rewards(filter: {availableTo}) takes the member that member(…) read (Loaders.remember).
// Whether the elements of a list run concurrently is marshalList's decision (lists.go).
var sequentialObjects = []string{"Query", "Transaction", "Reward", "Benefit", "ApiKey", "AuditEntry"}

// sequential is a gqlgen plugin that turns off field concurrency for sequentialObjects (gqlgen
// has no setting for it: its exec worker_limit only caps the goroutines, one per field still).
type sequential struct{}

// Name returns the plugin's name.
func (sequential) Name() string { return "sequential" }

// GenerateCode marks the objects before gqlgen writes the executable schema.
func (sequential) GenerateCode(data *codegen.Data) error {
	for _, name := range sequentialObjects {
		o := data.Objects.ByName(name)
		if o == nil {
			return fmt.Errorf("sequential: no object type %s in the schema", name)
		}
		o.DisableConcurrency = true
	}
	return nil
}

// concurrentList is how gqlgen's generated code marshals a list of objects: a goroutine per
// element. rewriteLists replaces it with marshalList (lists.go), which does so only when the
// elements ask for fields that dataloaders batch.
const (
	concurrentList = "graphql.MarshalSliceConcurrently(ctx, len(v), 0, false, func(ctx context.Context, i int) graphql.Marshaler {"
	sequentialList = "marshalList(ctx, sel, len(v), func(ctx context.Context, i int) graphql.Marshaler {"
)

// rewriteLists rewrites the generated executable schema's list marshalling (see concurrentList).
func rewriteLists(filename string) error {
	b, err := os.ReadFile(filename)
	if err != nil {
		return err
	}
	src := string(b)
	if n, all := strings.Count(src, concurrentList), strings.Count(src, "graphql.MarshalSliceConcurrently("); n == 0 || n != all {
		return fmt.Errorf("rewriteLists: %d of %d calls of graphql.MarshalSliceConcurrently have the expected form; has gqlgen changed?", n, all)
	}
	return os.WriteFile(filename, []byte(strings.ReplaceAll(src, concurrentList, sequentialList)), 0o644)
}

func main() {
	log.SetOutput(io.Discard) // as gqlgen's own command does without --verbose
	cfg, err := config.LoadConfigFromDefaultLocations()
	if err != nil {
		fmt.Fprintln(os.Stderr, "generate:", err)
		os.Exit(2)
	}
	if err := api.Generate(cfg, api.AddPlugin(sequential{})); err != nil {
		fmt.Fprintln(os.Stderr, "generate:", err)
		os.Exit(3)
	}
	if err := rewriteLists(cfg.Exec.Filename); err != nil {
		fmt.Fprintln(os.Stderr, "generate:", err)
		os.Exit(4)
	}
}
