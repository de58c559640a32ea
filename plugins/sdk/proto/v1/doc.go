// Package programv1 is the generated protobuf and gRPC code of version 1 of the
// program plugin protocol (program.proto). Only plugins/sdk imports it: partners
// and the core use the plain types of plugins/sdk. Regenerate with
// scripts/proto.sh (make proto).
package programv1
