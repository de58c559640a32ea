// Package sdk is everything a partner needs to write a Promogate program plugin,
// and everything the core needs to talk to one.
//
// A program plugin is a separate executable that decides what a campaign does
// with events, enrolments, reward quotes and scheduled hooks. It is stateless:
// each call carries the campaign, member snapshots and the plugin's own state
// per member, and the plugin answers with [Effect] values that the core
// validates and applies in one database transaction.
//
// A partner implements [Program] (usually by embedding [Base] and writing
// Describe and Evaluate), declares the campaign configuration once as a Go
// struct with [NewConfig] (its JSON Schema, validation and decoding), and calls
// [Serve] from main. The sdktest package runs a Program over the real gRPC
// translation in-process for unit tests. docs/partners.md walks through it.
//
// The core (the host) starts plugins with hashicorp/go-plugin using [Handshake],
// [VersionedPlugins] and [GRPCDialOptions], and gets a [Program] back from
// [Dispense]; that value speaks protocol version [ProtocolVersion] over gRPC.
//
// On the wire, JSON documents (configs, attributes, answers, state) travel as
// bytes. Numbers inside [Values] therefore arrive as [encoding/json.Number];
// use [Values.Int] and [Values.String] to read them. Instants arrive in UTC;
// use [Campaign.Location] to look at them in the campaign's time zone.
package sdk
