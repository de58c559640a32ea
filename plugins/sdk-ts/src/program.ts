import type {
  Description,
  EligibilityRequest,
  EligibilityResponse,
  EvaluateRequest,
  EvaluateResponse,
  QuoteRequest,
  QuoteResponse,
  TickRequest,
  TickResponse,
  ValidateConfigRequest,
  ValidateConfigResponse,
} from "./types.js";
import { noPointsCap } from "./types.js";

/**
 * CallContext comes with every call: the core's deadline for it, and a signal aborted when the
 * deadline passes or the core gives up on the call. Stop work when the signal is aborted.
 */
export interface CallContext {
  deadline?: Date;
  signal: AbortSignal;
}

/** Awaitable is a value or a promise of it: every method may be async. */
export type Awaitable<T> = T | Promise<T>;

/**
 * Program is the contract between the core and a program plugin, the same as the Go SDK's
 * sdk.Program. describe and evaluate are required; the other methods default to what the Go
 * SDK's sdk.Base does (see defaults). Methods may be called concurrently. A method that cannot
 * decide throws a PluginError; any other exception reaches the core as INTERNAL.
 */
export interface Program {
  /** describe returns the plugin's name, version, event types, config schema and hooks. */
  describe(ctx: CallContext): Awaitable<Description>;
  /** validateConfig checks a campaign configuration: one FieldError per problem. */
  validateConfig?(req: ValidateConfigRequest, ctx: CallContext): Awaitable<ValidateConfigResponse>;
  /** checkEligibility decides whether a member may enrol in a campaign. */
  checkEligibility?(req: EligibilityRequest, ctx: CallContext): Awaitable<EligibilityResponse>;
  /** evaluate decides a batch of events: exactly one result per item, in order. */
  evaluate(req: EvaluateRequest, ctx: CallContext): Awaitable<EvaluateResponse>;
  /** quote adjusts the price in points of a reward for a member. */
  quote?(req: QuoteRequest, ctx: CallContext): Awaitable<QuoteResponse>;
  /** tick runs a scheduled hook over one page of the campaign's members. */
  tick?(req: TickRequest, ctx: CallContext): Awaitable<TickResponse>;
}

/**
 * defaults are the methods a Program may leave out: validateConfig accepts every
 * configuration, checkEligibility finds every member eligible, quote leaves the price
 * unchanged with no cap, tick has no effects and ends the run.
 */
export const defaults = {
  validateConfig(): ValidateConfigResponse {
    return {};
  },
  checkEligibility(): EligibilityResponse {
    return { eligible: true };
  },
  quote(req: QuoteRequest): QuoteResponse {
    return { price: req.item.price, maxPointsPayable: noPointsCap, allowed: true };
  },
  tick(): TickResponse {
    return {};
  },
};
