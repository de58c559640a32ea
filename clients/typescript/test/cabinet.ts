// cabinet.ts is the client's end-to-end scenario, run by e2e/typescript_client_test.go against
// a real core: a member-facing frontend opens the member's cabinet with a member token, the
// shop's billing records a purchase with an ingest key, the cabinet shows the credited points,
// the member redeems a reward (and a retry replays the order), and the cabinet shows the
// balance after the order. It prints one JSON transcript of what the client received, which
// the Go test compares exactly.
//
//   PROMOGATE_URL=… MEMBER_TOKEN=… INGEST_KEY=… MEMBER_REF=… PROGRAM=… node dist/test/cabinet.js
import {
  AvailableRewardsDocument,
  createClient,
  data,
  errorCodes,
  MemberCabinetDocument,
  RecordEventDocument,
  RedeemRewardsDocument,
  RewardQuoteDocument,
  ViewerDocument,
  type MemberCabinetQuery,
} from "../src/index.js";

function env(name: string): string {
  const v = process.env[name];
  if (v === undefined || v === "") {
    throw new Error(`${name} is not set`);
  }
  return v;
}

const url = env("PROMOGATE_URL");
const ref = env("MEMBER_REF");
const program = env("PROGRAM");
const member = createClient({ url, token: env("MEMBER_TOKEN") });
const billing = createClient({ url, token: env("INGEST_KEY") });

/** cabinet is what the frontend shows: the typed query, without ids and instants of writes. */
async function cabinet(): Promise<NonNullable<MemberCabinetQuery["member"]>> {
  const m = data(await member.query(MemberCabinetDocument, { ref }).toPromise()).member;
  if (m === null) {
    throw new Error(`no member ${ref}`);
  }
  return m;
}

function view(m: NonNullable<MemberCabinetQuery["member"]>) {
  return {
    name: m.name,
    balances: m.balances.map((b) => ({ program: b.program.code, available: b.available, pending: b.pending, lifetimeEarned: b.lifetimeEarned, nextExpiration: b.nextExpiration })),
    transactions: m.transactions.edges.map(({ node }) => ({ kind: node.kind, points: node.points, reason: node.reason, program: node.program.code })),
  };
}

const transcript: Record<string, unknown> = {};
transcript.viewer = data(await member.query(ViewerDocument, {}).toPromise()).viewer;
const before = await cabinet();
transcript.before = view(before);

const recorded = data(
  await billing
    .mutation(RecordEventDocument, {
      input: { type: "purchase", memberRef: ref, source: "shop", externalId: "order-1", occurredAt: "2021-04-14T12:00:00+03:00", attributes: { amount: 1250 } },
    })
    .toPromise(),
).recordEvent;
transcript.recorded = { duplicate: recorded.duplicate, error: recorded.error, status: recorded.event?.status, outcome: recorded.event?.outcome };
transcript.afterEvent = view(await cabinet());

const rewards = data(await member.query(AvailableRewardsDocument, { program, memberId: before.id }).toPromise()).rewards.edges.map((e) => e.node);
transcript.rewards = rewards.map((r) => ({ code: r.code, title: r.title, category: r.category, price: r.price, stock: r.stock }));
const reward = rewards[0];
if (reward === undefined) {
  throw new Error("no reward to redeem");
}
transcript.quote = data(await member.query(RewardQuoteDocument, { ref, rewardId: reward.id }).toPromise()).member?.rewardQuote;

const order = { memberId: before.id, rewardIds: [reward.id], idempotencyKey: "cabinet-order-1" };
const first = data(await member.mutation(RedeemRewardsDocument, order).toPromise()).redeemRewards;
const retry = data(await member.mutation(RedeemRewardsDocument, order).toPromise()).redeemRewards;
const strip = (r: typeof first) => ({ replayed: r.replayed, rejection: r.rejection, redemption: r.redemption === null ? null : { ...r.redemption, id: undefined } });
transcript.redeemed = strip(first);
transcript.retried = { ...strip(retry), sameOrder: retry.redemption?.id === first.redemption?.id };
transcript.afterOrder = view(await cabinet());

// A member token may not record events: the error arrives with its stable code.
const refused = await member
  .mutation(RecordEventDocument, { input: { type: "purchase", memberRef: ref, source: "shop", externalId: "order-2", occurredAt: "2021-04-14T12:00:00Z" } })
  .toPromise();
transcript.memberRecords = errorCodes(refused.error);

process.stdout.write(JSON.stringify(transcript) + "\n");
