// Translation between the protobuf messages (as @grpc/proto-loader decodes them: field names as
// in the .proto, int64 as decimal strings, bytes as Buffer, absent messages as null) and the
// plain types of types.ts. It follows the Go SDK's plugins/sdk/convert.go: a JSON document
// keeps the difference between absent (undefined, no bytes) and present; empty lists arrive as
// empty arrays; an absent Timestamp is undefined.

import { PluginError } from "./errors.js";
import type {
  Balance,
  Benefit,
  Campaign,
  Description,
  Effect,
  EligibilityRequest,
  EligibilityResponse,
  Enrollment,
  EvaluateRequest,
  EvaluateResponse,
  Event,
  Member,
  QuoteRequest,
  QuoteResponse,
  Reason,
  TickRequest,
  TickResponse,
  Tier,
  ValidateConfigRequest,
  ValidateConfigResponse,
  Values,
} from "./types.js";

/** Wire is a decoded or to-be-encoded protobuf message. */
export type Wire = Record<string, any>;

interface WireTimestamp {
  seconds: string | number;
  nanos: number;
}

function invalid(field: string, problem: string): PluginError {
  return new PluginError("INVALID_REQUEST", `${field}: ${problem}`);
}

function malformed(field: string, problem: string): PluginError {
  return new PluginError("MALFORMED_EFFECT", `${field}: ${problem}`);
}

// Decoding: requests from the core.

function intIn(v: string | number | null | undefined, field: string): number {
  const n = Number(v ?? 0);
  if (!Number.isSafeInteger(n)) {
    throw invalid(field, `${String(v)} is not a safe integer`);
  }
  return n;
}

function tsIn(ts: WireTimestamp | null | undefined, field: string): Date | undefined {
  if (ts == null) {
    return undefined;
  }
  const ms = intIn(ts.seconds, field) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6);
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) {
    throw invalid(field, "instant out of range");
  }
  return d;
}

function requiredTsIn(ts: WireTimestamp | null | undefined, field: string): Date {
  const d = tsIn(ts, field);
  if (d === undefined) {
    throw invalid(field, "missing");
  }
  return d;
}

function jsonIn(b: Uint8Array | null | undefined, field: string): unknown {
  if (b == null || b.length === 0) {
    return undefined;
  }
  try {
    return JSON.parse(Buffer.from(b).toString("utf8"));
  } catch (err) {
    throw invalid(field, (err as Error).message);
  }
}

function valuesIn(b: Uint8Array | null | undefined, field: string): Values | undefined {
  const v = jsonIn(b, field);
  if (v === undefined) {
    return undefined;
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    throw invalid(field, "not a JSON object");
  }
  return v as Values;
}

function campaignIn(c: Wire | null): Campaign {
  const w = c ?? {};
  return {
    id: w.id ?? "",
    code: w.code ?? "",
    program: w.program ?? "",
    timeZone: w.time_zone ?? "",
    startsAt: tsIn(w.starts_at, "campaign.starts_at"),
    endsAt: tsIn(w.ends_at, "campaign.ends_at"),
    config: jsonIn(w.config_json, "campaign.config"),
  };
}

function balanceIn(b: Wire): Balance {
  return {
    program: b.program,
    available: intIn(b.available, "member.balances.available"),
    pending: intIn(b.pending, "member.balances.pending"),
    lifetimeEarned: intIn(b.lifetime_earned, "member.balances.lifetime_earned"),
    statusBalance: intIn(b.status_balance, "member.balances.status_balance"),
  };
}

function tierIn(t: Wire): Tier {
  return { program: t.program, tier: t.tier, validUntil: tsIn(t.valid_until, "member.tiers.valid_until") };
}

function benefitIn(b: Wire): Benefit {
  return {
    id: b.id,
    key: b.key,
    campaign: b.campaign,
    kind: b.kind,
    title: b.title,
    code: b.code,
    percent: intIn(b.percent, "member.benefits.percent"),
    scope: b.scope,
    exclusions: b.exclusions ?? [],
    validFrom: tsIn(b.valid_from, "member.benefits.valid_from"),
    validUntil: tsIn(b.valid_until, "member.benefits.valid_until"),
    status: b.status,
    attributes: valuesIn(b.attributes_json, "member.benefits.attributes"),
  };
}

function enrollmentIn(e: Wire): Enrollment {
  return {
    campaign: e.campaign,
    enrolledAt: tsIn(e.enrolled_at, "member.enrollments.enrolled_at"),
    answers: valuesIn(e.answers_json, "member.enrollments.answers"),
    registeredBy: e.registered_by,
    responsible: e.responsible,
  };
}

function memberIn(m: Wire | null): Member {
  const w = m ?? {};
  return {
    id: w.id ?? "",
    externalRef: w.external_ref ?? "",
    name: w.name ?? "",
    email: w.email ?? "",
    phone: w.phone ?? "",
    birthDate: w.birth_date ?? "",
    region: w.region ?? "",
    status: w.status ?? "",
    attributes: valuesIn(w.attributes_json, "member.attributes"),
    balances: (w.balances ?? []).map(balanceIn),
    tiers: (w.tiers ?? []).map(tierIn),
    benefits: (w.benefits ?? []).map(benefitIn),
    enrollments: (w.enrollments ?? []).map(enrollmentIn),
    state: jsonIn(w.state_json, "member.state"),
    version: intIn(w.version, "member.version"),
  };
}

function eventIn(e: Wire | null): Event {
  const w = e ?? {};
  return {
    id: w.id ?? "",
    type: w.type ?? "",
    source: w.source ?? "",
    externalId: w.external_id ?? "",
    occurredAt: requiredTsIn(w.occurred_at, "event.occurred_at"),
    attributes: valuesIn(w.attributes_json, "event.attributes"),
  };
}

export function validateConfigRequestIn(r: Wire): ValidateConfigRequest {
  return { config: jsonIn(r.config_json, "config") };
}

export function eligibilityRequestIn(r: Wire): EligibilityRequest {
  return {
    campaign: campaignIn(r.campaign),
    member: memberIn(r.member),
    answers: valuesIn(r.answers_json, "answers"),
    now: requiredTsIn(r.now, "now"),
  };
}

export function evaluateRequestIn(r: Wire): EvaluateRequest {
  return {
    campaign: campaignIn(r.campaign),
    items: (r.items ?? []).map((it: Wire) => ({ event: eventIn(it.event), member: memberIn(it.member) })),
  };
}

export function quoteRequestIn(r: Wire): QuoteRequest {
  const item = r.item ?? {};
  return {
    campaign: campaignIn(r.campaign),
    member: memberIn(r.member),
    item: {
      rewardId: item.reward_id ?? "",
      category: item.category ?? "",
      code: item.code ?? "",
      price: intIn(item.price, "item.price"),
      attributes: valuesIn(item.attributes_json, "item.attributes"),
    },
    now: requiredTsIn(r.now, "now"),
  };
}

export function tickRequestIn(r: Wire): TickRequest {
  return {
    campaign: campaignIn(r.campaign),
    hook: r.hook ?? "",
    now: requiredTsIn(r.now, "now"),
    members: (r.members ?? []).map(memberIn),
    cursor: r.cursor ?? "",
  };
}

// Encoding: answers to the core.

function intOut(v: number | undefined, field: string): number {
  const n = v ?? 0;
  if (!Number.isSafeInteger(n)) {
    throw malformed(field, `${String(v)} is not a safe integer`);
  }
  return n;
}

function tsOut(d: Date | undefined, field: string): WireTimestamp | undefined {
  if (d === undefined || d === null) {
    return undefined;
  }
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) {
    throw malformed(field, "not a valid Date");
  }
  const ms = d.getTime();
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: (ms - seconds * 1000) * 1e6 };
}

function jsonOut(v: unknown, field: string): Buffer {
  if (v === undefined) {
    return Buffer.alloc(0);
  }
  let text: string | undefined;
  try {
    text = JSON.stringify(v);
  } catch (err) {
    throw malformed(field, (err as Error).message);
  }
  if (text === undefined) {
    throw malformed(field, "not a JSON value");
  }
  return Buffer.from(text, "utf8");
}

function stringsOut(v: string[] | undefined): string[] {
  return v ?? [];
}

export function descriptionOut(d: Description): Wire {
  return {
    name: d.name,
    version: d.version,
    event_types: stringsOut(d.eventTypes),
    config_schema_json: jsonOut(d.configSchema, "description.configSchema"),
    default_config_json: jsonOut(d.defaultConfig, "description.defaultConfig"),
    schedules: (d.schedules ?? []).map((s) => ({ name: s.name, spec: s.spec })),
    benefit_kinds: stringsOut(d.benefitKinds),
    reward_kinds: stringsOut(d.rewardKinds),
    forbidden_reward_kinds: stringsOut(d.forbiddenRewardKinds),
  };
}

export function validateConfigResponseOut(r: ValidateConfigResponse): Wire {
  return { errors: (r.errors ?? []).map((e) => ({ field: e.field, code: e.code, message: e.message })) };
}

function reasonsOut(rs: Reason[] | undefined): Wire[] {
  return (rs ?? []).map((r) => ({ code: r.code, message: r.message }));
}

function effectOut(f: Effect, field: string): Wire {
  const out: Wire = { kind: f.kind };
  let payloads = 0;
  if (f.credit != null) {
    const c = f.credit;
    payloads++;
    out.credit_points = {
      amount: intOut(c.amount, `${field}.credit.amount`),
      reason: c.reason,
      available_at: tsOut(c.availableAt, `${field}.credit.availableAt`),
      expires_at: tsOut(c.expiresAt, `${field}.credit.expiresAt`),
      status_points: intOut(c.statusPoints, `${field}.credit.statusPoints`),
    };
  }
  if (f.debit != null) {
    payloads++;
    out.debit_points = { amount: intOut(f.debit.amount, `${field}.debit.amount`), reason: f.debit.reason };
  }
  if (f.grantBenefit != null) {
    const g = f.grantBenefit;
    payloads++;
    out.grant_benefit = {
      key: g.key,
      kind: g.kind,
      title: g.title,
      percent: intOut(g.percent, `${field}.grantBenefit.percent`),
      scope: g.scope,
      exclusions: stringsOut(g.exclusions),
      quantity: intOut(g.quantity, `${field}.grantBenefit.quantity`),
      recipient: g.recipient,
      code: g.code,
      valid_from: tsOut(g.validFrom, `${field}.grantBenefit.validFrom`),
      valid_until: tsOut(g.validUntil, `${field}.grantBenefit.validUntil`),
      attributes_json: jsonOut(g.attributes, `${field}.grantBenefit.attributes`),
    };
  }
  if (f.changeBenefit != null) {
    const c = f.changeBenefit;
    payloads++;
    out.change_benefit = {
      key: c.key,
      valid_until: tsOut(c.validUntil, `${field}.changeBenefit.validUntil`),
      attributes_json: jsonOut(c.attributes, `${field}.changeBenefit.attributes`),
    };
    if (c.percent !== undefined) {
      out.change_benefit.percent = intOut(c.percent, `${field}.changeBenefit.percent`);
    }
  }
  if (f.endBenefit != null) {
    const e = f.endBenefit;
    payloads++;
    out.end_benefit = { key: e.key, reason: e.reason, at: tsOut(e.at, `${field}.endBenefit.at`) };
  }
  if (f.setTier != null) {
    payloads++;
    out.set_tier = { tier: f.setTier.tier, valid_until: tsOut(f.setTier.validUntil, `${field}.setTier.validUntil`) };
  }
  if (f.issueCode != null) {
    payloads++;
    out.issue_code = { purpose: f.issueCode.purpose };
  }
  if (f.notify != null) {
    const n = f.notify;
    payloads++;
    out.notify = { channel: n.channel, template: n.template, to: n.to, params: n.params ?? {} };
  }
  if (f.putState != null) {
    payloads++;
    if (f.putState.state === undefined) {
      throw malformed(`${field}.putState.state`, "undefined is not JSON (null deletes the state)");
    }
    out.put_state = { state_json: jsonOut(f.putState.state, `${field}.putState.state`) };
  }
  if (f.reject != null) {
    payloads++;
    out.reject = { code: f.reject.code, message: f.reject.message };
  }
  if (payloads > 1) {
    throw malformed(field, `effect of kind "${f.kind}" has ${payloads} payloads, at most one may be set`);
  }
  return out;
}

function effectsOut(fs: Effect[] | undefined, field: string): Wire[] {
  return (fs ?? []).map((f, i) => effectOut(f, `${field}[${i}]`));
}

export function eligibilityResponseOut(r: EligibilityResponse): Wire {
  return { eligible: r.eligible, reasons: reasonsOut(r.reasons), effects: effectsOut(r.effects, "effects") };
}

export function evaluateResponseOut(r: EvaluateResponse): Wire {
  return {
    results: (r.results ?? []).map((res, i) => ({
      effects: effectsOut(res.effects, `results[${i}].effects`),
      no_effect_reason: res.noEffectReason ?? "",
    })),
  };
}

export function quoteResponseOut(r: QuoteResponse): Wire {
  return {
    price: intOut(r.price, "price"),
    max_points_payable: intOut(r.maxPointsPayable, "maxPointsPayable"),
    allowed: r.allowed,
    reasons: reasonsOut(r.reasons),
  };
}

export function tickResponseOut(r: TickResponse): Wire {
  return {
    results: (r.results ?? []).map((me, i) => ({ member_id: me.memberId, effects: effectsOut(me.effects, `results[${i}].effects`) })),
    next_cursor: r.nextCursor ?? "",
  };
}
