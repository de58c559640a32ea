package auth_test

import (
	"os"
	"testing"

	"github.com/promogate/promogate/db/dbtest"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }
