// check-generated.mjs runs graphql-codegen with codegen.json into a temporary folder and fails
// if the result differs from the committed src/gen: a schema file (../../*.graphqls) or a
// document (src/documents) changed without `npm run generate` (make generate runs it).
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { generate } from "@graphql-codegen/cli";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
process.chdir(root);
const config = JSON.parse(readFileSync("codegen.json", "utf8"));
const work = mkdtempSync(join(tmpdir(), "promogate-client-"));
try {
  const out = join(work, "gen") + "/";
  config.generates = { [out]: config.generates["src/gen/"] };
  config.silent = true;
  await generate(config, true);
  const fresh = new Set(readdirSync(out));
  const committed = new Set(readdirSync("src/gen"));
  const stale = [];
  for (const f of new Set([...fresh, ...committed])) {
    const a = fresh.has(f) ? readFileSync(join(out, f), "utf8") : undefined;
    const b = committed.has(f) ? readFileSync(join("src/gen", f), "utf8") : undefined;
    if (a !== b) stale.push(f);
  }
  if (stale.length > 0) {
    console.error(`src/gen is not generated from the current schema and documents (${stale.join(", ")}): run npm run generate (or make generate)`);
    process.exitCode = 1;
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
