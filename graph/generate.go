//go:build ignore

// Command generate regenerates graph/ from the schema (`make generate`, which runs
// `go run graph/generate.go`): what `go tool gqlgen generate` does with gqlgen.yml, plus the
// plugin sequential below, which plain gqlgen would drop.
package main

import (
	"fmt"
	"io"
	"log"
	"os"

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
// stack, scheduling it. List elements still run concurrently, so dataloaders still batch
// across a list.
var sequentialObjects = []string{"Transaction", "Reward", "Benefit", "ApiKey", "AuditEntry"}

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
}
