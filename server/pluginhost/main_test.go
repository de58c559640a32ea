package pluginhost

import (
	"os"
	"testing"

	"github.com/promogate/promogate/db/dbtest"
)

// TestMain gives the package's tests a migrated database for the plugin catalog, and removes
// the plugin binary the tests built.
func TestMain(m *testing.M) {
	code := dbtest.Main(m)
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}
