package sdk

import (
	"context"
	"fmt"

	"github.com/hashicorp/go-plugin"
	programv1 "github.com/promogate/promogate/plugins/sdk/proto/v1"
	"google.golang.org/grpc"
)

// ProtocolVersion is the version of the wire protocol this package speaks. A
// breaking change to the protocol adds a new version; the host keeps serving
// plugins of the old one until it is retired.
const ProtocolVersion = 1

// PluginName is the name under which a plugin process serves its Program, and
// the name the host dispenses.
const PluginName = "program"

// MaxMessageBytes bounds one gRPC message in either direction (a batch of
// events, or its effects). Both Serve and GRPCDialOptions apply it.
const MaxMessageBytes = 16 << 20

// Handshake is shared by the host and every plugin. The magic cookie only
// stops a plugin binary from being run by mistake by something else; it is not
// a security measure (the host checks each binary's SHA-256 instead).
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "PROMOGATE_PLUGIN",
	MagicCookieValue: "3af2350a006ed37e53d3b5949596510f1d84bcec44135270",
}

// VersionedPlugins returns the plugin sets of every protocol version the host
// speaks, for plugin.ClientConfig.VersionedPlugins. Each call returns a new map.
func VersionedPlugins() map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{
		ProtocolVersion: {PluginName: &GRPCPlugin{}},
	}
}

// GRPCDialOptions returns the host's dial options for
// plugin.ClientConfig.GRPCDialOptions: the message size limit of Serve.
func GRPCDialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(MaxMessageBytes),
			grpc.MaxCallSendMsgSize(MaxMessageBytes),
		),
	}
}

// Dispense returns the Program served by a started plugin client
// (plugin.Client.Client()). It fails if the process does not serve one.
func Dispense(c plugin.ClientProtocol) (Program, error) {
	raw, err := c.Dispense(PluginName)
	if err != nil {
		return nil, fmt.Errorf("dispense %s: %w", PluginName, err)
	}
	p, ok := raw.(Program)
	if !ok {
		return nil, fmt.Errorf("dispense %s: got %T, not a Program", PluginName, raw)
	}
	return p, nil
}

// GRPCPlugin is the go-plugin glue of protocol version 1. In a plugin process
// Impl is the Program to serve; on the host Impl is nil and GRPCClient returns
// a Program that calls the plugin over gRPC.
type GRPCPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl Program
}

var _ plugin.GRPCPlugin = (*GRPCPlugin)(nil)

// GRPCServer registers Impl on the plugin's gRPC server.
func (p *GRPCPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	programv1.RegisterProgramServer(s, &grpcServer{impl: p.Impl})
	return nil
}

// GRPCClient returns a Program that calls the plugin over c. Every call
// carries its context's deadline to the plugin; errors come back as
// *RemoteError.
func (p *GRPCPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &grpcClient{client: programv1.NewProgramClient(c)}, nil
}
