// Unit tests of the SDK's parts; e2e/typescript_plugin_test.go checks the whole protocol
// against go-plugin's real host.
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

import { credentials, loadPackageDefinition, Metadata, status, type ServiceError } from "@grpc/grpc-js";
import { fromJSON } from "@grpc/proto-loader";
import protobuf from "protobufjs";

import { selfSigned } from "../src/cert.js";
import { evaluateRequestIn, evaluateResponseOut } from "../src/convert.js";
import { descriptors } from "../src/gen/descriptors.js";
import { addDays, credit, intValue, PluginError, zonedTime } from "../src/index.js";
import { handshakeLine } from "../src/serve.js";
import { startServer, unary } from "../src/server.js";
import { toServiceError } from "../src/wire.js";

test("the handshake line is go-plugin's, with the DER certificate in unpadded base64", () => {
  const der = Buffer.from([1, 2, 3, 4]);
  assert.equal(handshakeLine("unix", "/tmp/plugin1", der), "1|1|unix|/tmp/plugin1|grpc|AQIDBA\n");
  assert.equal(handshakeLine("tcp", "127.0.0.1:1234"), "1|1|tcp|127.0.0.1:1234|grpc|\n");
});

test("the certificate is a self-signed CA for localhost, for server and client auth", () => {
  const now = new Date("2026-01-01T00:00:00Z");
  const own = selfSigned(now);
  const cert = new X509Certificate(own.certPem);
  assert.equal(cert.subjectAltName, "DNS:localhost");
  assert.equal(cert.ca, true);
  assert.deepEqual(cert.keyUsage, ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]);
  assert.equal(cert.verify(cert.publicKey), true);
  assert.equal(new Date(cert.validFrom).toISOString(), "2025-12-31T23:59:30.000Z");
  assert.deepEqual(cert.raw, own.certDer);
});

test("zonedTime and addDays follow the campaign's zone across daylight saving time", () => {
  // 2021-03-28 03:00 EET became 04:00 EEST in Kyiv.
  const before = new Date("2021-03-27T10:00:00.250Z"); // 12:00:00.250 in Kyiv (UTC+2)
  assert.deepEqual(zonedTime(before, "Europe/Kyiv"), { year: 2021, month: 3, day: 27, hour: 12, minute: 0, second: 0, weekday: 6 });
  assert.equal(addDays(before, 1, "Europe/Kyiv").toISOString(), "2021-03-28T09:00:00.250Z"); // 12:00 at UTC+3
  assert.equal(addDays(before, 365, "").toISOString(), "2022-03-27T10:00:00.250Z");
  assert.equal(zonedTime(before, "").hour, 10);
  assert.throws(() => zonedTime(before, "Mars/Olympus"), (err: unknown) => err instanceof PluginError && err.code === "INVALID_CONFIG");
});

test("intValue takes only safe integers", () => {
  const v = { a: 12, b: 1.5, c: "12", d: 2 ** 60 };
  assert.equal(intValue(v, "a"), 12);
  assert.equal(intValue(v, "b"), undefined);
  assert.equal(intValue(v, "c"), undefined);
  assert.equal(intValue(v, "d"), undefined);
  assert.equal(intValue(undefined, "a"), undefined);
});

test("errors carry their code, the Go SDK's text and an ErrorInfo detail", () => {
  const root = protobuf.Root.fromJSON(descriptors as protobuf.INamespace);
  const decode = (e: ReturnType<typeof toServiceError>) => {
    const st = root.lookupType("google.rpc.Status").decode(e.metadata.get("grpc-status-details-bin")[0] as Buffer) as unknown as {
      code: number;
      message: string;
      details: { type_url: string; value: Uint8Array }[];
    };
    const info = root.lookupType("google.rpc.ErrorInfo").decode(st.details[0]!.value).toJSON();
    return { code: st.code, message: st.message, typeUrl: st.details[0]!.type_url, info };
  };
  const cfg = toServiceError(new PluginError("INVALID_CONFIG", "unitAmount: must be at least 1"));
  assert.equal(cfg.code, status.INVALID_ARGUMENT);
  assert.equal(cfg.details, "invalid campaign config: unitAmount: must be at least 1");
  assert.deepEqual(decode(cfg), {
    code: status.INVALID_ARGUMENT,
    message: "invalid campaign config: unitAmount: must be at least 1",
    typeUrl: "type.googleapis.com/google.rpc.ErrorInfo",
    info: { reason: "INVALID_CONFIG", domain: "promogate.plugin.v1" },
  });
  const other = toServiceError(new RangeError("out of range"));
  assert.equal(other.code, status.INTERNAL);
  assert.equal(decode(other).info.reason, "INTERNAL");
  assert.equal(other.details, "plugin internal error: out of range");
});

test("requests with unsafe integers and answers with two payloads are refused", () => {
  assert.throws(
    () => evaluateRequestIn({ items: [{ event: { occurred_at: { seconds: "1", nanos: 0 } }, member: { version: "9007199254740993" } }] }),
    (err: unknown) => err instanceof PluginError && err.code === "INVALID_REQUEST" && err.message === "member.version: 9007199254740993 is not a safe integer",
  );
  assert.throws(
    () => evaluateRequestIn({ items: [{ event: {}, member: {} }] }),
    (err: unknown) => err instanceof PluginError && err.message === "event.occurred_at: missing",
  );
  const two = { ...credit(1, "a"), debit: { amount: 1, reason: "b" } };
  assert.throws(
    () => evaluateResponseOut({ results: [{ effects: [two] }] }),
    (err: unknown) => err instanceof PluginError && err.code === "MALFORMED_EFFECT",
  );
});

test("the server answers the health service over mutual TLS and refuses a client without a certificate", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "sdk-ts-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const server = selfSigned();
  const client = selfSigned();
  const running = await startServer(
    { describe: () => ({ name: "x", version: "1.0.0" }), evaluate: () => ({ results: [] }) },
    { address: `unix:${join(dir, "s")}`, tls: { certPem: server.certPem, keyPem: server.keyPem, clientCaPem: client.certPem } },
  );
  t.after(() => running.stop());
  const pkg = loadPackageDefinition(fromJSON(descriptors as protobuf.INamespace, { keepCase: true, enums: String })) as unknown as {
    grpc: { health: { v1: { Health: new (address: string, creds: unknown, options: object) => HealthClient } } };
  };
  interface HealthClient {
    Check(req: object, md: Metadata, cb: (err: ServiceError | null, res: { status: string }) => void): void;
    close(): void;
  }
  const check = (creds: unknown, service: string) =>
    new Promise<string>((resolve) => {
      const c = new pkg.grpc.health.v1.Health(`unix:${join(dir, "s")}`, creds, { "grpc.ssl_target_name_override": "localhost" });
      c.Check({ service }, new Metadata(), (err, res) => {
        c.close();
        resolve(err === null ? res.status : `error ${status[err.code]}`);
      });
    });
  const mtls = credentials.createSsl(Buffer.from(server.certPem), Buffer.from(client.keyPem), Buffer.from(client.certPem));
  assert.equal(await check(mtls, "plugin"), "SERVING");
  assert.equal(await check(mtls, "other"), "error NOT_FOUND");
  assert.equal(await check(credentials.createSsl(Buffer.from(server.certPem)), "plugin"), "error UNAVAILABLE");
});

test("a call that fails once its deadline passed answers DEADLINE_EXCEEDED, whatever the method threw", async () => {
  const handler = unary(
    "Evaluate",
    () => undefined,
    (_req, ctx) =>
      new Promise<never>((_resolve, reject) => {
        ctx.signal.addEventListener("abort", () => reject(new PluginError("UNAVAILABLE", "gave up")));
      }),
    () => ({}),
  );
  const call = { request: {}, getDeadline: () => new Date(Date.now() + 30), on: () => call, removeListener: () => call };
  const alive = setTimeout(() => undefined, 5000); // the call's own timer does not hold the event loop
  const answer = await new Promise<ServiceError | null>((resolve) =>
    handler(call as unknown as Parameters<typeof handler>[0], (err) => resolve(err as ServiceError | null)),
  );
  clearTimeout(alive);
  assert.equal(answer?.code, status.DEADLINE_EXCEEDED);
  assert.equal(answer?.details, "deadline exceeded");
});
