import { status } from "@grpc/grpc-js";

/**
 * ErrorCode names the errors a Program method may throw (as a PluginError). Each crosses the
 * process boundary as a gRPC status code plus a stable reason in a google.rpc.ErrorInfo
 * detail, exactly as the Go SDK's Err* values do (plugins/sdk/errors.go), so the core tells
 * them apart.
 */
export type ErrorCode =
  | "INVALID_CONFIG"
  | "INVALID_REQUEST"
  | "UNSUPPORTED_EVENT"
  | "UNSUPPORTED_HOOK"
  | "NOT_IMPLEMENTED"
  | "UNAVAILABLE"
  | "MALFORMED_EFFECT"
  | "INTERNAL";

/** errorTable maps each ErrorCode to the gRPC status code it travels with. */
export const errorTable: Readonly<Record<ErrorCode, status>> = {
  INVALID_CONFIG: status.INVALID_ARGUMENT,
  INVALID_REQUEST: status.INVALID_ARGUMENT,
  UNSUPPORTED_EVENT: status.UNIMPLEMENTED,
  UNSUPPORTED_HOOK: status.UNIMPLEMENTED,
  NOT_IMPLEMENTED: status.UNIMPLEMENTED,
  UNAVAILABLE: status.UNAVAILABLE,
  MALFORMED_EFFECT: status.INTERNAL,
  INTERNAL: status.INTERNAL,
};

/**
 * errorText is the text every message of a code starts with, the same as the Go SDK's errors,
 * so the core reports "invalid campaign config: unitAmount: must be at least 1" whatever the
 * plugin's language.
 */
export const errorText: Readonly<Record<ErrorCode, string>> = {
  INVALID_CONFIG: "invalid campaign config",
  INVALID_REQUEST: "invalid request",
  UNSUPPORTED_EVENT: "unsupported event type",
  UNSUPPORTED_HOOK: "unsupported hook",
  NOT_IMPLEMENTED: "not implemented",
  UNAVAILABLE: "plugin unavailable",
  MALFORMED_EFFECT: "malformed effect",
  INTERNAL: "plugin internal error",
};

/** errorDomain is the ErrorInfo domain that marks statuses made from errorTable. */
export const errorDomain = "promogate.plugin.v1";

/**
 * PluginError is an error a Program method throws when it cannot decide at all; it fails the
 * whole call. Any other thrown value reaches the core as INTERNAL.
 *
 *     throw new PluginError("INVALID_CONFIG", "unitAmount: must be at least 1");
 */
export class PluginError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = "PluginError";
    this.code = code;
  }
}
