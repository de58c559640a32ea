// Drives graphql-ws clients (the graphql-transport-ws protocol's reference client, pinned in
// e2e/package.json) for e2e/live_test.go: commands arrive on stdin, one JSON object a line, and
// what the clients see leaves on stdout, one JSON object a line.
//
//   {"op":"connect","client":"anna","url":"ws://…/graphql","authorization":"Bearer …","headers":{…}}
//       a client (lazy: it connects with its first subscription); authorization goes in
//       connection_init's payload, headers with the upgrade request; no retries
//   {"op":"subscribe","client":"anna","id":"s1","query":"subscription …","variables":{…}}
//   {"op":"unsubscribe","client":"anna","id":"s1"}
//   {"op":"dispose","client":"anna"}          close the client's connection
//
// Output: {"client","event":"connected"}, {"client","event":"closed","code","reason"},
// {"client","id","type":"next","payload":{data,errors}}, {"client","id","type":"error",
// "payload":…} (an array of GraphQL errors, or {code, reason} of a close event) and
// {"client","id","type":"complete"}.
import { createInterface } from 'node:readline';

import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const clients = new Map();
const subscriptions = new Map();

const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');

const describe = (e) => {
  if (Array.isArray(e)) return e;
  if (e && typeof e === 'object' && 'code' in e && 'reason' in e) return { code: e.code, reason: e.reason };
  return { message: String(e && e.message ? e.message : e) };
};

const commands = {
  connect({ client, url, authorization, headers }) {
    // ws lets the upgrade request carry headers, which a browser's WebSocket cannot.
    class HeaderWebSocket extends WebSocket {
      constructor(address, protocols) {
        super(address, protocols, { headers: headers || {} });
      }
    }
    clients.set(client, createClient({
      url,
      webSocketImpl: HeaderWebSocket,
      connectionParams: authorization ? { Authorization: authorization } : undefined,
      retryAttempts: 0,
      on: {
        connected: () => out({ client, event: 'connected' }),
        closed: (e) => out({ client, event: 'closed', code: e.code, reason: e.reason }),
      },
    }));
  },
  subscribe({ client, id, query, variables }) {
    const dispose = clients.get(client).subscribe({ query, variables }, {
      next: (payload) => out({ client, id, type: 'next', payload }),
      error: (e) => out({ client, id, type: 'error', payload: describe(e) }),
      complete: () => out({ client, id, type: 'complete' }),
    });
    subscriptions.set(`${client}/${id}`, dispose);
  },
  unsubscribe({ client, id }) {
    subscriptions.get(`${client}/${id}`)();
  },
  async dispose({ client }) {
    await clients.get(client).dispose();
  },
};

const rl = createInterface({ input: process.stdin });
rl.on('line', async (line) => {
  const cmd = JSON.parse(line);
  try {
    await commands[cmd.op](cmd);
  } catch (e) {
    out({ client: cmd.client, id: cmd.id, type: 'failure', payload: describe(e) });
  }
});
rl.on('close', () => {
  for (const c of clients.values()) c.dispose();
  process.exit(0);
});
