// bundle.mjs bundles a plugin's entry script and everything it imports (the SDK, gRPC, the
// protobuf runtime) into ONE executable CommonJS file with a node shebang: the file the core
// registers, whose SHA-256 then covers all of the plugin's code.
//
//   node scripts/bundle.mjs [ENTRY [OUTFILE]]
//
// Defaults: examples/weekenddouble/main.ts into dist/weekenddouble-ts.cjs.
import { chmodSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const entry = resolve(process.argv[2] ?? join(root, "examples", "weekenddouble", "main.ts"));
const outfile = resolve(process.argv[3] ?? join(root, "dist", "weekenddouble-ts.cjs"));

await build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  // The core starts plugins with an empty environment (no PATH): env then searches the
  // system's default path (/bin:/usr/bin), where Debian's nodejs puts node.
  banner: { js: "#!/usr/bin/env node" },
  legalComments: "eof",
  logLevel: "warning",
});
chmodSync(outfile, 0o755);
