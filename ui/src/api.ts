// The console's GraphQL client: the public /graphql endpoint, authenticated by the HttpOnly
// session cookie (sent by the browser, never readable here) plus the header the server requires
// on cookie-authenticated requests (docs/security.md, "Console sessions").
import { Client, cacheExchange, fetchExchange, type CombinedError } from "urql";

export const SESSION_HEADER = "X-Promogate-Console";

let onUnauthenticated: () => void = () => {};

// setUnauthenticatedHandler registers what to do when the session is gone (expired, signed
// out elsewhere, key revoked): the app shows the sign-in page again.
export function setUnauthenticatedHandler(f: () => void) {
  onUnauthenticated = f;
}

export const client = new Client({
  url: "/graphql",
  exchanges: [cacheExchange, fetchExchange],
  requestPolicy: "cache-and-network",
  fetchOptions: () => ({ credentials: "same-origin", headers: { [SESSION_HEADER]: "1" } }),
  fetch: async (input, init) => {
    const res = await fetch(input, init);
    if (res.status === 401) onUnauthenticated();
    return res;
  },
});

// signIn exchanges an API key for a session cookie.
export async function signIn(key: string): Promise<{ ok: true } | { ok: false; status: number; message: string }> {
  const res = await fetch("/console/session", {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", [SESSION_HEADER]: "1" },
    body: JSON.stringify({ key }),
  });
  if (res.ok) return { ok: true };
  let message = res.statusText;
  try {
    const body = await res.json();
    message = body.errors?.[0]?.message ?? message;
  } catch {
    /* not JSON */
  }
  return { ok: false, status: res.status, message };
}

export async function signOut() {
  await fetch("/console/session", { method: "DELETE", credentials: "same-origin", headers: { [SESSION_HEADER]: "1" } });
}

// FieldError is one entry of an INVALID_CONFIG error's extensions.fields.
export type FieldError = { field: string; code: string; message: string };

// errorCode returns the first GraphQL error's extensions.code.
export function errorCode(e: CombinedError | undefined): string | undefined {
  return e?.graphQLErrors?.[0]?.extensions?.code as string | undefined;
}

export function fieldErrors(e: CombinedError | undefined): FieldError[] {
  const f = e?.graphQLErrors?.[0]?.extensions?.fields;
  return Array.isArray(f) ? (f as FieldError[]) : [];
}

// errorMessage is a short text for an error: the server's message without urql's prefix.
export function errorMessage(e: CombinedError | undefined): string {
  if (!e) return "";
  if (e.graphQLErrors.length > 0) return e.graphQLErrors.map((g) => g.message).join("; ");
  return e.networkError?.message ?? e.message;
}

// newKey returns a fresh idempotency key for one user action.
export function newKey(prefix: string): string {
  return `console:${prefix}:${crypto.randomUUID()}`;
}
