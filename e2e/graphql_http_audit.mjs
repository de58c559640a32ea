// Runs the graphql-http server audits (GraphQL-over-HTTP conformance) against a URL.
//
//   node e2e/graphql_http_audit.mjs http://127.0.0.1:8080/graphql
//
// The environment variable AUDIT_AUTHORIZATION, when set, is sent as the Authorization header
// of every request. Prints every audit that is not ok, then one JSON line
// {"ok":N,"warn":N,"notice":N,"error":N} and exits 1 when any audit is an error.
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node graphql_http_audit.mjs <graphql url>');
  process.exit(2);
}
const authorization = process.env.AUDIT_AUTHORIZATION;
const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers || {});
  if (authorization) headers.set('authorization', authorization);
  return fetch(input, { ...init, headers });
};

const counts = { ok: 0, warn: 0, notice: 0, error: 0 };
for (const audit of serverAudits({ url, fetchFn })) {
  const result = await audit.fn();
  counts[result.status]++;
  if (result.status !== 'ok') {
    let detail = '';
    if (result.response) {
      const body = await result.response.text().catch(() => '');
      detail = ` (HTTP ${result.response.status} ${result.response.headers.get('content-type')}: ${body.slice(0, 300)})`;
    }
    console.log(`${result.status.toUpperCase()} ${result.id} ${result.name}: ${result.reason}${detail}`);
  }
}
console.log(JSON.stringify(counts));
process.exit(counts.error > 0 ? 1 : 0);
