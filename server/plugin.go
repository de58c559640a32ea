package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/promogate/promogate/db"
	"github.com/promogate/promogate/server/pluginhost"
)

// runPlugin is `promogate plugin`: register a plugin binary in the catalog from the command line.
func runPlugin(args []string) error {
	usage := errors.New(`usage:
  promogate plugin register [--database-url URL] [--by WHO] PATH
      computes the binary's SHA-256, starts it once to ask its name and version, and records it
      in the plugin catalog (as registerPlugin does); a running core uses it from then on.
      Registering the same binary again changes nothing; another binary under a registered
      name and version is refused (build a new version)`)
	if len(args) == 0 {
		return usage
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(os.Stderr, usage)
		return nil
	case "register":
	default:
		return usage
	}
	fs := flag.NewFlagSet("plugin register", flag.ContinueOnError)
	dbURL := fs.String("database-url", env("DATABASE_URL", ""), "PostgreSQL URL (env DATABASE_URL)")
	by := fs.String("by", "cli", "who registers it, recorded in the catalog")
	startTimeout := fs.Duration("start-timeout", envDuration("PROMOGATE_PLUGIN_START_TIMEOUT", 10*time.Second), "time the plugin has to start (env PROMOGATE_PLUGIN_START_TIMEOUT)")
	if err := errors.Join(envErrs...); err != nil {
		return err
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usage
	}
	if *dbURL == "" {
		return errors.New("no database: set DATABASE_URL or --database-url")
	}
	ctx := context.Background()
	bdb, err := db.Open(ctx, *dbURL, db.Options{MaxOpenConns: 2, ApplicationName: "promogate-plugin"})
	if err != nil {
		return err
	}
	defer bdb.Close()
	c := &config{logLevel: "warn", logJSON: false}
	host := pluginhost.New(bdb, c.logger(), time.Now, nil, pluginhost.Options{StartTimeout: *startTimeout})
	defer host.Close()
	e, err := host.RegisterFile(ctx, fs.Arg(0), *by)
	if err != nil {
		return err
	}
	fmt.Printf("registered %s %s sha256 %s %s\n", e.Name, e.Version, e.SHA256, e.Path)
	return nil
}
