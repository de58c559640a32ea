// The plain types of the Program contract, the same as the Go SDK's (plugins/sdk/types.go and
// effect.go) in TypeScript spelling. Instants are Date (milliseconds: the sub-millisecond part
// the core sends is dropped), integers are number (always safe integers: a value outside
// Number.MIN_SAFE_INTEGER..Number.MAX_SAFE_INTEGER fails the call), JSON documents are the
// parsed value and undefined when absent.

/**
 * Values is a JSON object: event and member attributes, registration answers. It is parsed
 * with JSON.parse, so read integers with intValue, which refuses what a number cannot hold
 * exactly.
 */
export type Values = Record<string, unknown>;

/** Description is what a plugin says about itself (Program.describe). */
export interface Description {
  /** name must match the name the plugin is registered under, e.g. "weekenddouble-ts". */
  name: string;
  /** version is a semantic version, e.g. "1.2.0"; it must match the registered version. */
  version: string;
  /** eventTypes are the event types the plugin evaluates. */
  eventTypes?: string[];
  /** configSchema is a JSON Schema of the campaign configuration (a JSON value). */
  configSchema?: unknown;
  /** defaultConfig is a valid configuration (a JSON value). */
  defaultConfig?: unknown;
  /** schedules are the hooks the core runs with Program.tick. */
  schedules?: Schedule[];
  /** benefitKinds are the benefit kinds the plugin grants. */
  benefitKinds?: string[];
  /** rewardKinds are the reward categories the plugin quotes. */
  rewardKinds?: string[];
  /**
   * forbiddenRewardKinds are reward categories the programme forbids (e.g. "cash"): the core
   * refuses to bind such a reward to the plugin's campaigns and quotes one as not allowed.
   */
  forbiddenRewardKinds?: string[];
}

/**
 * Schedule asks the core to run a hook, in the campaign's time zone: "daily at=HH:MM:SS",
 * "monthly day=N at=HH:MM:SS" or "every=DURATION" (see the Go SDK's ParseSchedule).
 */
export interface Schedule {
  name: string;
  spec: string;
}

/** Campaign is one configured instance of a programme. */
export interface Campaign {
  id: string;
  code: string;
  /** program is the code of the programme; balances and tiers are kept per programme. */
  program: string;
  /** timeZone is an IANA zone name (e.g. "Europe/Riga"); empty means UTC. */
  timeZone: string;
  startsAt?: Date;
  endsAt?: Date;
  /** config is the campaign's configuration, as validated by validateConfig. */
  config?: unknown;
}

/** Member is a snapshot of a member as the core saw it when it made the call. */
export interface Member {
  id: string;
  externalRef: string;
  name: string;
  email: string;
  phone: string;
  /** birthDate is YYYY-MM-DD, empty when unknown. */
  birthDate: string;
  region: string;
  status: string;
  attributes?: Values;
  balances: Balance[];
  tiers: Tier[];
  benefits: Benefit[];
  enrollments: Enrollment[];
  /** state is this plugin's state for this member and campaign (see putState); undefined when there is none. */
  state?: unknown;
  /** version is the version of the member's state the plugin decides on. */
  version: number;
}

/** Balance is a member's balance in one programme. */
export interface Balance {
  program: string;
  available: number;
  pending: number;
  lifetimeEarned: number;
  statusBalance: number;
}

/** Tier is a member's status in one programme. */
export interface Tier {
  program: string;
  tier: string;
  validUntil?: Date;
}

/** Benefit is a benefit a member holds. */
export interface Benefit {
  id: string;
  /** key is the stable id the granting plugin chose; use it in changeBenefit and endBenefit. */
  key: string;
  campaign: string;
  kind: string;
  title: string;
  code: string;
  /** percent is in basis points: 2501 is 25.01%. */
  percent: number;
  scope: string;
  exclusions: string[];
  validFrom?: Date;
  validUntil?: Date;
  status: string;
  attributes?: Values;
}

/** Enrollment is a member's registration in a campaign. */
export interface Enrollment {
  campaign: string;
  enrolledAt?: Date;
  answers?: Values;
  registeredBy: string;
  responsible: string;
}

/** Event is something that happened to a member, as recorded by the core. */
export interface Event {
  id: string;
  type: string;
  source: string;
  externalId: string;
  occurredAt: Date;
  attributes?: Values;
}

/** FieldError is one problem with a campaign configuration. */
export interface FieldError {
  /** field is a JSON path into the config ("unitAmount", "tiers[2].name"); empty for the whole document. */
  field: string;
  /** code is stable and machine-readable, e.g. "required", "must_be_positive". */
  code: string;
  message: string;
}

/** Reason explains a decision: a stable code and a message for people. */
export interface Reason {
  code: string;
  message: string;
}

export interface ValidateConfigRequest {
  /** config is the configuration to check (undefined when the campaign has none). */
  config?: unknown;
}

export interface ValidateConfigResponse {
  /** errors lists the problems; none means valid. */
  errors?: FieldError[];
}

export interface EligibilityRequest {
  campaign: Campaign;
  member: Member;
  answers?: Values;
  now: Date;
}

export interface EligibilityResponse {
  eligible: boolean;
  reasons?: Reason[];
  /** effects are applied on enrolment. */
  effects?: Effect[];
}

export interface EvaluateRequest {
  campaign: Campaign;
  items: EvaluateItem[];
}

export interface EvaluateItem {
  event: Event;
  member: Member;
}

export interface EvaluateResponse {
  /** results holds exactly one result per request item, in order. */
  results: EvaluateResult[];
}

/** EvaluateResult is the decision for one event: effects, or none with a noEffectReason. */
export interface EvaluateResult {
  effects?: Effect[];
  noEffectReason?: string;
}

export interface QuoteRequest {
  campaign: Campaign;
  member: Member;
  item: QuoteItem;
  now: Date;
}

/** QuoteItem is a reward in the catalogue; price is in points. */
export interface QuoteItem {
  rewardId: string;
  category: string;
  code: string;
  price: number;
  attributes?: Values;
}

/** noPointsCap is the QuoteResponse.maxPointsPayable value meaning "no cap". */
export const noPointsCap = -1;

export interface QuoteResponse {
  /** price is the price in points after the plugin's discounts. */
  price: number;
  /**
   * maxPointsPayable is the most points that may pay for the item, or noPointsCap. 0 means
   * points cannot pay for it at all.
   */
  maxPointsPayable: number;
  /** allowed is false when the member may not redeem the item; reasons say why. */
  allowed: boolean;
  reasons?: Reason[];
}

export interface TickRequest {
  campaign: Campaign;
  hook: string;
  now: Date;
  members: Member[];
  /** cursor is empty on the first page, then the nextCursor returned for the previous page. */
  cursor: string;
}

export interface TickResponse {
  results?: MemberEffects[];
  nextCursor?: string;
}

export interface MemberEffects {
  memberId: string;
  effects?: Effect[];
}

/** EffectKind names what an Effect asks the core to do; the core rejects kinds it does not know. */
export type EffectKind =
  | "credit_points"
  | "debit_points"
  | "grant_benefit"
  | "change_benefit"
  | "end_benefit"
  | "set_tier"
  | "issue_code"
  | "notify"
  | "put_state"
  | "reject"
  | (string & {});

/**
 * Effect is one thing a plugin asks the core to do. kind says which; the payload of the same
 * name holds its parameters. Build effects with credit, debit, grantBenefit, … rather than by
 * hand: an Effect with two payloads fails the call with MALFORMED_EFFECT.
 */
export interface Effect {
  kind: EffectKind;
  credit?: CreditPoints;
  debit?: DebitPoints;
  grantBenefit?: GrantBenefit;
  changeBenefit?: ChangeBenefit;
  endBenefit?: EndBenefit;
  setTier?: SetTier;
  issueCode?: IssueCode;
  notify?: Notify;
  putState?: PutState;
  reject?: Reject;
}

export interface CreditPoints {
  /** amount is positive. */
  amount: number;
  reason: string;
  /** availableAt, when in the future, keeps the points pending until then. */
  availableAt?: Date;
  /** expiresAt expires what is left of these points then. */
  expiresAt?: Date;
  /** statusPoints also count toward the status balance; 0 for none. */
  statusPoints?: number;
}

export interface DebitPoints {
  amount: number;
  reason: string;
}

export interface GrantBenefit {
  /** key is unique per member and campaign; granting an existing key again is a no-op. */
  key: string;
  kind: string;
  title?: string;
  /** percent is in basis points, for discounts. */
  percent?: number;
  scope?: string;
  exclusions?: string[];
  quantity?: number;
  recipient?: string;
  code?: string;
  validFrom?: Date;
  validUntil?: Date;
  attributes?: Values;
}

/** ChangeBenefit changes a benefit the plugin granted; fields left undefined stay as they are. */
export interface ChangeBenefit {
  key: string;
  percent?: number;
  validUntil?: Date;
  /** attributes, when set, replace the benefit's attributes. */
  attributes?: Values;
}

export interface EndBenefit {
  key: string;
  /** reason is expired, plan_changed, replaced or another stable code. */
  reason?: string;
  /** at is when it ends; undefined means at once. */
  at?: Date;
}

export interface SetTier {
  tier: string;
  /** validUntil is undefined for a status that does not lapse. */
  validUntil?: Date;
}

export interface IssueCode {
  purpose: string;
}

export interface Notify {
  /** channel is sms, email or webhook. */
  channel: string;
  template: string;
  /** to is an address; empty means the member's own phone or email. */
  to?: string;
  params?: Record<string, string>;
}

/** PutState replaces this plugin's state for the member and campaign; null deletes it. */
export interface PutState {
  state: unknown;
}

export interface Reject {
  code: string;
  message: string;
}

/** credit returns a credit_points effect of amount points. */
export function credit(amount: number, reason: string, options: Omit<CreditPoints, "amount" | "reason"> = {}): Effect {
  return { kind: "credit_points", credit: { amount, reason, ...options } };
}

/** debit returns a debit_points effect of amount points. */
export function debit(amount: number, reason: string): Effect {
  return { kind: "debit_points", debit: { amount, reason } };
}

/** grantBenefit returns a grant_benefit effect. */
export function grantBenefit(g: GrantBenefit): Effect {
  return { kind: "grant_benefit", grantBenefit: g };
}

/** changeBenefit returns a change_benefit effect. */
export function changeBenefit(c: ChangeBenefit): Effect {
  return { kind: "change_benefit", changeBenefit: c };
}

/** endBenefit returns an end_benefit effect. */
export function endBenefit(e: EndBenefit): Effect {
  return { kind: "end_benefit", endBenefit: e };
}

/** setTier returns a set_tier effect. */
export function setTier(s: SetTier): Effect {
  return { kind: "set_tier", setTier: s };
}

/** issueCode returns an issue_code effect: the core generates a unique code for purpose. */
export function issueCode(purpose: string): Effect {
  return { kind: "issue_code", issueCode: { purpose } };
}

/** notify returns a notify effect. */
export function notify(n: Notify): Effect {
  return { kind: "notify", notify: n };
}

/** putState returns a put_state effect holding state (any JSON value; null deletes the state). */
export function putState(state: unknown): Effect {
  return { kind: "put_state", putState: { state } };
}

/** reject returns a reject effect: the core records it and applies none of the item's other effects. */
export function reject(code: string, message: string): Effect {
  return { kind: "reject", reject: { code, message } };
}

/**
 * intValue returns the integer at key of values, or undefined when the key is absent or holds
 * anything but a safe integer (a fraction, a string, a number too large to be exact).
 */
export function intValue(values: Values | undefined, key: string): number | undefined {
  const v = values?.[key];
  return typeof v === "number" && Number.isSafeInteger(v) ? v : undefined;
}

/** stringValue returns the string at key of values, or undefined when absent or not a string. */
export function stringValue(values: Values | undefined, key: string): string | undefined {
  const v = values?.[key];
  return typeof v === "string" ? v : undefined;
}
