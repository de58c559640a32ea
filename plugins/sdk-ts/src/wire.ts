// The gRPC service definitions and messages the plugin serves, from the descriptors compiled
// into src/gen/descriptors.ts (no .proto file is read at run time, so a bundled plugin is one
// self-contained file).

import { Metadata, type ServiceDefinition } from "@grpc/grpc-js";
import { fromJSON, type PackageDefinition } from "@grpc/proto-loader";
import Long from "long";
import protobuf from "protobufjs";

import { descriptors } from "./gen/descriptors.js";
import { errorDomain, errorTable, errorText, PluginError, type ErrorCode } from "./errors.js";

// protobufjs finds long.js through a dynamic require that a bundler cannot follow; without it
// int64 values above 2^53 would be rounded. Give it the module explicitly.
protobuf.util.Long = Long;
protobuf.configure();

/**
 * packageDefinition decodes int64 as decimal strings (convert.ts checks they are safe
 * integers), enums as names, fills defaults and keeps the field names of the .proto.
 */
const packageDefinition: PackageDefinition = fromJSON(descriptors as protobuf.INamespace, {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  arrays: true,
  oneofs: true,
});

function service(name: string): ServiceDefinition {
  const def = packageDefinition[name];
  if (def === undefined || "format" in def) {
    throw new Error(`descriptors lack service ${name}`);
  }
  return def as unknown as ServiceDefinition;
}

export const programService = service("promogate.plugin.v1.Program");
export const healthService = service("grpc.health.v1.Health");
export const controllerService = service("plugin.GRPCController");
export const stdioService = service("plugin.GRPCStdio");

const root = protobuf.Root.fromJSON(descriptors as protobuf.INamespace);
const statusType = root.lookupType("google.rpc.Status");
const errorInfoType = root.lookupType("google.rpc.ErrorInfo");

/** ServiceError is what a grpc-js handler passes to its callback to fail a call. */
export interface ServiceError {
  code: number;
  details: string;
  metadata: Metadata;
}

/**
 * toServiceError turns what a Program method threw into a gRPC status with the stable reason of
 * the error table in a google.rpc.ErrorInfo detail (trailer grpc-status-details-bin), as the Go
 * SDK's toStatus does. Anything but a PluginError is INTERNAL.
 */
export function toServiceError(err: unknown): ServiceError {
  let code: ErrorCode = "INTERNAL";
  let message: string;
  if (err instanceof PluginError) {
    code = err.code;
    message = err.message === "" ? errorText[code] : `${errorText[code]}: ${err.message}`;
  } else {
    message = `${errorText.INTERNAL}: ${err instanceof Error ? err.message : String(err)}`;
  }
  const grpcCode = errorTable[code];
  const info = errorInfoType.encode(errorInfoType.fromObject({ reason: code, domain: errorDomain })).finish();
  const st = statusType.encode(
    statusType.fromObject({
      code: grpcCode,
      message,
      details: [{ type_url: "type.googleapis.com/google.rpc.ErrorInfo", value: info }],
    }),
  ).finish();
  const metadata = new Metadata();
  metadata.set("grpc-status-details-bin", Buffer.from(st));
  return { code: grpcCode, details: message, metadata };
}
