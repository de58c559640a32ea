// serve: the plugin side of hashicorp/go-plugin's protocol (server.go), so that the Promogate
// core starts, checks and calls a Node.js plugin exactly as it does a Go one.

import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { selfSigned } from "./cert.js";
import { log } from "./log.js";
import type { Program } from "./program.js";
import { startServer } from "./server.js";

/**
 * handshake is shared with the core (the Go SDK's sdk.Handshake): the magic cookie only stops
 * the plugin from being run by mistake; it is not a security measure (the core checks the
 * SHA-256 of the registered file instead).
 */
export const handshake = {
  protocolVersion: 1,
  magicCookieKey: "PROMOGATE_PLUGIN",
  magicCookieValue: "3af2350a006ed37e53d3b5949596510f1d84bcec44135270",
} as const;

/** coreProtocolVersion is go-plugin's own protocol version, the first field of the handshake line. */
const coreProtocolVersion = 1;

/** parentPollInterval is how often a served plugin checks that the core that started it is alive. */
const parentPollInterval = 250;

/** Environment is what serve reads from the process environment (see go-plugin's client.go). */
export interface Environment {
  [key: string]: string | undefined;
}

/** handshakeLine is the line go-plugin's host reads from standard output to connect. */
export function handshakeLine(network: "unix" | "tcp", address: string, certDer?: Buffer): string {
  // go-plugin sends the raw DER leaf, base64 without padding (RawStdEncoding).
  const cert = certDer === undefined ? "" : certDer.toString("base64").replace(/=+$/, "");
  return `${coreProtocolVersion}|${handshake.protocolVersion}|${network}|${address}|grpc|${cert}\n`;
}

function fail(message: string): never {
  process.stderr.write(message + "\n");
  process.exit(1);
}

/**
 * serve serves program as a Promogate program plugin. Call it once, from the plugin's entry
 * script, and write nothing to standard output before it:
 *
 *     serve({ describe() {...}, evaluate(req) {...} });
 *
 * It checks the magic cookie (run from a shell, the plugin refuses to start), listens on a
 * unix socket (TCP on Windows), serves mutual TLS when the core asks for it (AutoMTLS), writes
 * the handshake line and then serves until the core ends the plugin. Standard output is sent
 * to the core's stdio stream after the handshake; log with log (standard error). The process
 * exits by itself as soon as its parent changes (the core died without stopping its plugins),
 * so no plugin outlives the core; SIGINT is ignored, as in Go plugins, so a Ctrl-C in the
 * core's terminal leaves stopping the plugin to the core.
 */
export async function serve(program: Program, env: Environment = process.env): Promise<void> {
  if (env[handshake.magicCookieKey] !== handshake.magicCookieValue) {
    fail(
      "This binary is a plugin. These are not meant to be executed directly.\n" +
        "Please execute the program that consumes these plugins, which will\n" +
        "load any plugins automatically",
    );
  }
  const versions = (env.PLUGIN_PROTOCOL_VERSIONS ?? "").split(",").filter((v) => v !== "");
  if (versions.length > 0 && !versions.includes(String(handshake.protocolVersion))) {
    log.warn("the host does not speak this plugin's protocol version", { host: versions.join(","), plugin: handshake.protocolVersion });
  }

  let tls: { certPem: string; keyPem: string; clientCaPem: string } | undefined;
  let certDer: Buffer | undefined;
  const clientCert = env.PLUGIN_CLIENT_CERT ?? "";
  if (clientCert !== "") {
    const own = selfSigned();
    tls = { certPem: own.certPem, keyPem: own.keyPem, clientCaPem: clientCert };
    certDer = own.certDer;
  }

  let network: "unix" | "tcp";
  let address: string;
  let socket: string | undefined;
  if (process.platform === "win32") {
    network = "tcp";
    address = "127.0.0.1:0";
  } else {
    network = "unix";
    socket = join(env.PLUGIN_UNIX_SOCKET_DIR || tmpdir(), `plugin${randomBytes(6).toString("hex")}`);
    address = socket;
  }
  const cleanup = () => {
    if (socket !== undefined) rmSync(socket, { force: true });
  };

  let server;
  try {
    server = await startServer(program, {
      address: network === "unix" ? `unix:${address}` : address,
      ...(tls === undefined ? {} : { tls }),
      onShutdown: () => {
        cleanup();
        process.exit(0);
      },
    });
  } catch (err) {
    fail(`plugin init error: ${String(err)}`);
  }
  if (network === "tcp") address = `127.0.0.1:${server.port}`;

  process.stdout.write(handshakeLine(network, address, certDer));
  // From here on standard output belongs to the stdio stream, not to the handshake pipe.
  const running = server;
  process.stdout.write = ((chunk: string | Uint8Array, encoding?: BufferEncoding | ((err?: Error) => void), cb?: (err?: Error) => void) => {
    running.stdout(typeof chunk === "string" ? Buffer.from(chunk, typeof encoding === "string" ? encoding : "utf8") : Buffer.from(chunk));
    const done = typeof encoding === "function" ? encoding : cb;
    if (done !== undefined) queueMicrotask(() => done());
    return true;
  }) as typeof process.stdout.write;

  process.on("SIGINT", () => log.trace("plugin received interrupt signal, ignoring"));
  process.on("exit", cleanup);
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) {
      log.error("parent process is gone, exiting", { parent_pid: parent });
      cleanup();
      process.exit(2);
    }
  }, parentPollInterval).unref();
}
