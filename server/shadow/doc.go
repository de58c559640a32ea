// Package shadow runs shadows: a registered plugin version and/or a changed configuration
// attached to a running campaign, deciding on every event the campaign decides on, on the same
// snapshot, without applying anything.
//
// The live path only records work: the engine's transaction that settles an event writes one
// small row per shadowed campaign (Service.Enqueue, through engine.Shadows) holding the request
// the live plugin was shown (campaign, event and member snapshot) and its decision. A worker
// (Service.Run) evaluates those rows later with the shadow's plugin, in a process of its own
// (pluginhost.Host.Isolated, lane "shadow") with its own deadline and back-off: a shadow that
// hangs or crashes delays and fails only its own rows. Every row is decided once; a shadow's
// decision is compared with the live one (Diff, Examples).
//
// Promote makes the shadow live in one transaction that changes the campaign's plugin version
// and configuration under the campaign's row lock; every event is applied once, by the version
// its outcome names (the engine's exactly-once guarantee per campaign and event). Drop detaches
// it. A campaign has at most one attached shadow.
package shadow
