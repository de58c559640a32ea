// Package sdktest runs a program plugin in-process for unit tests, over the
// same gRPC translation the core uses with a real plugin process:
//
//	func TestEvaluate(t *testing.T) {
//		p := sdktest.Connect(t, &Plugin{})
//		resp, err := p.Evaluate(context.Background(), sdk.EvaluateRequest{...})
//		...
//	}
package sdktest

import (
	"testing"

	"github.com/hashicorp/go-plugin"
	"github.com/promogate/promogate/plugins/sdk"
)

// Connect serves impl on an in-process gRPC connection and returns the host's
// client for it: every call goes through protobuf encoding, the wire and back,
// exactly as from the core. The connection is closed when the test ends.
func Connect(t testing.TB, impl sdk.Program) sdk.Program {
	t.Helper()
	client, _ := plugin.TestPluginGRPCConn(t, false, plugin.PluginSet{
		sdk.PluginName: &sdk.GRPCPlugin{Impl: impl},
	})
	// Closing the client asks the server to shut down, as a host does.
	t.Cleanup(func() { _ = client.Close() })
	p, err := sdk.Dispense(client)
	if err != nil {
		t.Fatalf("sdktest: %v", err)
	}
	return p
}
