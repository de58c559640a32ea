// The gRPC server of a plugin process: the Program service and the services go-plugin's host
// expects next to it (health, controller, stdio).

import {
  Server,
  ServerCredentials,
  status,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServerWritableStream,
} from "@grpc/grpc-js";

import * as convert from "./convert.js";
import type { Wire } from "./convert.js";
import { PluginError } from "./errors.js";
import { log } from "./log.js";
import { defaults, type CallContext, type Program } from "./program.js";
import { controllerService, healthService, programService, stdioService, toServiceError } from "./wire.js";

/** maxMessageBytes bounds one gRPC message in either direction, as in the Go SDK. */
export const maxMessageBytes = 16 << 20;

/** healthServiceName is the service go-plugin's host asks the health service about. */
export const healthServiceName = "plugin";

/** ServerOptions configure startServer. */
export interface ServerOptions {
  /** address to listen on, as grpc-js spells it: "unix:/path" or "127.0.0.1:0". */
  address: string;
  /** tls, when set, serves mutual TLS: the key pair to serve and the only client CA to accept. */
  tls?: { certPem: string; keyPem: string; clientCaPem: string };
  /** onShutdown runs after the host's GRPCController.Shutdown was answered. */
  onShutdown?: () => void;
}

/** RunningServer is a started plugin server. */
export interface RunningServer {
  /** port is the bound TCP port (0 for a unix socket). */
  port: number;
  /** stdout sends data to the host as the plugin's standard output (go-plugin's stdio stream). */
  stdout(chunk: Buffer): void;
  /** stop ends every call and closes the listener. */
  stop(): void;
}

/** callContext builds the CallContext of a call: its deadline and an abort signal. */
function callContext(call: ServerUnaryCall<Wire, Wire>): { ctx: CallContext; done: () => void } {
  const controller = new AbortController();
  const raw = call.getDeadline();
  const deadline = raw instanceof Date ? raw : Number.isFinite(raw) ? new Date(raw) : undefined;
  let timer: NodeJS.Timeout | undefined;
  if (deadline !== undefined) {
    timer = setTimeout(() => controller.abort(new DOMException("deadline exceeded", "TimeoutError")), Math.max(0, deadline.getTime() - Date.now()));
    timer.unref();
  }
  const cancelled = () => controller.abort(new DOMException("call cancelled", "AbortError"));
  call.on("cancelled", cancelled);
  return {
    ctx: deadline === undefined ? { signal: controller.signal } : { deadline, signal: controller.signal },
    done: () => {
      if (timer !== undefined) clearTimeout(timer);
      call.removeListener("cancelled", cancelled);
    },
  };
}

/**
 * abortStatus is the answer to a call that failed after its signal aborted: the deadline's or
 * the cancellation's status, whatever the method threw while giving up, so the core sees
 * context.DeadlineExceeded as it does from a Go plugin and not the method's own error.
 */
function abortStatus(signal: AbortSignal) {
  const reason: unknown = signal.reason;
  const timeout = reason instanceof DOMException && reason.name === "TimeoutError";
  return { code: timeout ? status.DEADLINE_EXCEEDED : status.CANCELLED, details: timeout ? "deadline exceeded" : "call cancelled" };
}

/**
 * unary adapts one Program method to a grpc-js handler: decode the request, call the method,
 * encode the answer. Whatever is thrown fails only this call: a PluginError with its code,
 * anything else as INTERNAL (logged with its stack, as the Go SDK logs a panic); once the
 * call's signal has aborted, the deadline's or the cancellation's status (abortStatus).
 */
export function unary<Req, Res>(
  method: string,
  decode: (w: Wire) => Req,
  invoke: (req: Req, ctx: CallContext) => Res | Promise<Res>,
  encode: (res: Res) => Wire,
) {
  return (call: ServerUnaryCall<Wire, Wire>, callback: sendUnaryData<Wire>) => {
    const { ctx, done } = callContext(call);
    (async () => encode(await invoke(decode(call.request), ctx)))().then(
      (out) => {
        done();
        callback(null, out);
      },
      (err: unknown) => {
        done();
        if (ctx.signal.aborted) {
          callback(abortStatus(ctx.signal));
          return;
        }
        if (!(err instanceof PluginError)) {
          log.error("plugin method failed", { method, error: String(err), stack: err instanceof Error ? err.stack : undefined });
        }
        callback(toServiceError(err));
      },
    );
  };
}

function programHandlers(p: Program) {
  return {
    Describe: unary("Describe", () => undefined, (_req, ctx) => p.describe(ctx), convert.descriptionOut),
    ValidateConfig: unary(
      "ValidateConfig",
      convert.validateConfigRequestIn,
      (req, ctx) => (p.validateConfig ? p.validateConfig(req, ctx) : defaults.validateConfig()),
      convert.validateConfigResponseOut,
    ),
    CheckEligibility: unary(
      "CheckEligibility",
      convert.eligibilityRequestIn,
      (req, ctx) => (p.checkEligibility ? p.checkEligibility(req, ctx) : defaults.checkEligibility()),
      convert.eligibilityResponseOut,
    ),
    Evaluate: unary("Evaluate", convert.evaluateRequestIn, (req, ctx) => p.evaluate(req, ctx), convert.evaluateResponseOut),
    Quote: unary("Quote", convert.quoteRequestIn, (req, ctx) => (p.quote ? p.quote(req, ctx) : defaults.quote(req)), convert.quoteResponseOut),
    Tick: unary("Tick", convert.tickRequestIn, (req, ctx) => (p.tick ? p.tick(req, ctx) : defaults.tick()), convert.tickResponseOut),
  };
}

/** stdoutLimit bounds what is kept of the plugin's standard output before the host reads it. */
const stdoutLimit = 64 << 10;

/**
 * startServer serves program with the host services on options.address and resolves once it
 * listens. serve() calls it; tests call it directly.
 */
export function startServer(program: Program, options: ServerOptions): Promise<RunningServer> {
  const server = new Server({
    "grpc.max_receive_message_length": maxMessageBytes,
    "grpc.max_send_message_length": maxMessageBytes,
  });
  server.addService(programService, programHandlers(program));

  const watchers = new Set<ServerWritableStream<Wire, Wire>>();
  server.addService(healthService, {
    Check(call: ServerUnaryCall<Wire, Wire>, callback: sendUnaryData<Wire>) {
      const name = call.request.service ?? "";
      if (name !== "" && name !== healthServiceName) {
        callback({ code: status.NOT_FOUND, details: `unknown service ${name}` });
        return;
      }
      callback(null, { status: "SERVING" });
    },
    Watch(call: ServerWritableStream<Wire, Wire>) {
      const name = call.request.service ?? "";
      call.write({ status: name === "" || name === healthServiceName ? "SERVING" : "SERVICE_UNKNOWN" });
      watchers.add(call);
      call.on("cancelled", () => watchers.delete(call));
    },
  });

  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    for (const w of watchers) w.end();
    server.forceShutdown();
  };
  server.addService(controllerService, {
    Shutdown(_call: ServerUnaryCall<Wire, Wire>, callback: sendUnaryData<Wire>) {
      callback(null, {});
      setImmediate(() => {
        stop();
        options.onShutdown?.();
      });
    },
  });

  // Standard output written before the host opens the stdio stream is kept (up to
  // stdoutLimit) and sent when it does; go-plugin's host allows one stream per process.
  let stream: ServerWritableStream<Wire, Wire> | undefined;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  server.addService(stdioService, {
    StreamStdio(call: ServerWritableStream<Wire, Wire>) {
      if (stream !== undefined) {
        call.emit("error", { code: status.ALREADY_EXISTS, details: "the stdio stream is already open" });
        return;
      }
      stream = call;
      call.on("cancelled", () => {
        if (stream === call) stream = undefined;
      });
      for (const chunk of pending) call.write({ channel: "STDOUT", data: chunk });
      pending = [];
      pendingBytes = 0;
    },
  });
  const stdout = (chunk: Buffer) => {
    if (stream !== undefined) {
      stream.write({ channel: "STDOUT", data: chunk });
    } else if (pendingBytes + chunk.length <= stdoutLimit) {
      pending.push(chunk);
      pendingBytes += chunk.length;
    }
  };

  const credentials =
    options.tls === undefined
      ? ServerCredentials.createInsecure()
      : ServerCredentials.createSsl(
          Buffer.from(options.tls.clientCaPem),
          [{ cert_chain: Buffer.from(options.tls.certPem), private_key: Buffer.from(options.tls.keyPem) }],
          true,
        );
  return new Promise((resolve, reject) => {
    server.bindAsync(options.address, credentials, (err, port) => {
      if (err !== null) {
        reject(err);
        return;
      }
      resolve({ port, stdout, stop });
    });
  });
}
