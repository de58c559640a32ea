// weekenddouble-ts is the sample TypeScript plugin: points for purchases, doubled at weekends in
// the campaign's time zone. It decides exactly as the Go sample plugins/examples/weekenddouble
// does, so the two can be compared event for event. See README.md.

import {
  addDays,
  credit,
  intValue,
  PluginError,
  zonedTime,
  type EvaluateResult,
  type Event,
  type FieldError,
  type Program,
} from "../../src/index.js";

/** name and version are what the plugin reports; register the file under the same ones. */
export const name = "weekenddouble-ts";
export const version = "1.0.0";

/** Config is a campaign's configuration; fields left out take their value from defaultConfig. */
export interface Config {
  /** pointsPerUnit is credited per whole unitAmount of the purchase. */
  pointsPerUnit: number;
  /** unitAmount is in minor currency units (cents). */
  unitAmount: number;
  /** weekendMultiplier multiplies the points on Saturday and Sunday. */
  weekendMultiplier: number;
  /** eventType is the event type that earns points. */
  eventType: string;
  /** expiresInDays is how many calendar days credited points last; 0 means they do not expire. */
  expiresInDays: number;
}

export const defaultConfig: Config = {
  pointsPerUnit: 1,
  unitAmount: 100,
  weekendMultiplier: 2,
  eventType: "purchase",
  expiresInDays: 365,
};

const eventTypes = ["purchase"];

const configSchema = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  type: "object",
  additionalProperties: false,
  properties: {
    pointsPerUnit: { type: "integer", minimum: 1, maximum: 1000000, description: "Points per whole unitAmount." },
    unitAmount: { type: "integer", minimum: 1, description: "Purchase amount per unit, in minor currency units." },
    weekendMultiplier: { type: "integer", minimum: 1, maximum: 100, description: "Multiplier on Saturday and Sunday in the campaign's time zone." },
    eventType: { type: "string", enum: eventTypes, description: "Event type that earns points." },
    expiresInDays: { type: "integer", minimum: 0, maximum: 3650, description: "Calendar days until credited points expire; 0 for never." },
  },
};

/** ranges bound the integer settings, so that no purchase can overflow. */
const ranges: Record<string, [number, number]> = {
  pointsPerUnit: [1, 1_000_000],
  unitAmount: [1, Number.MAX_SAFE_INTEGER],
  weekendMultiplier: [1, 100],
  expiresInDays: [0, 3650],
};

/** parseConfig reads raw over defaultConfig and reports every problem. */
export function parseConfig(raw: unknown): { config: Config; errors: FieldError[] } {
  const config: Config = { ...defaultConfig };
  if (raw === undefined || raw === null) {
    return { config, errors: [] };
  }
  if (typeof raw !== "object" || Array.isArray(raw)) {
    return { config, errors: [{ field: "", code: "invalid_type", message: "the config must be a JSON object" }] };
  }
  const errors: FieldError[] = [];
  for (const [key, value] of Object.entries(raw)) {
    if (!(key in defaultConfig)) {
      errors.push({ field: key, code: "unknown_field", message: `${key} is not a setting of ${name}` });
    } else if (key === "eventType") {
      if (typeof value !== "string") {
        errors.push({ field: key, code: "invalid_type", message: `${key} must be a string` });
      } else if (!eventTypes.includes(value)) {
        errors.push({ field: key, code: "unsupported", message: `eventType "${value}" is not one of ${eventTypes.join(", ")}` });
      } else {
        config.eventType = value;
      }
    } else if (typeof value !== "number" || !Number.isSafeInteger(value)) {
      errors.push({ field: key, code: "invalid_type", message: `${key} must be an integer` });
    } else {
      const [min, max] = ranges[key]!;
      if (value < min || value > max) {
        errors.push({ field: key, code: min === 1 && key === "unitAmount" ? "must_be_positive" : "out_of_range", message: `${key} is ${value}, it must be between ${min} and ${max}` });
      }
      (config as unknown as Record<string, number>)[key] = value;
    }
  }
  return { config, errors };
}

/** evaluate decides one event. */
function evaluate(config: Config, timeZone: string, ev: Event): EvaluateResult {
  if (ev.type !== config.eventType) {
    return { noEffectReason: `event type "${ev.type}" does not earn points (want "${config.eventType}")` };
  }
  const amount = intValue(ev.attributes, "amount");
  if (amount === undefined) {
    return { noEffectReason: "no integer amount attribute" };
  }
  if (amount <= 0) {
    return { noEffectReason: `amount ${amount} is not positive` };
  }
  const units = Math.floor(amount / config.unitAmount);
  if (units === 0) {
    return { noEffectReason: `amount ${amount} is below one unit of ${config.unitAmount}` };
  }
  let perUnit = config.pointsPerUnit;
  let reason = config.eventType;
  const day = zonedTime(ev.occurredAt, timeZone).weekday;
  if (day === 0 || day === 6) {
    perUnit *= config.weekendMultiplier;
    reason = `${config.eventType}, weekend x${config.weekendMultiplier}`;
  }
  const points = units * perUnit;
  if (!Number.isSafeInteger(points)) {
    return { noEffectReason: `amount ${amount} earns more points than can be counted` };
  }
  const options = config.expiresInDays > 0 ? { expiresAt: addDays(ev.occurredAt, config.expiresInDays, timeZone) } : {};
  return { effects: [credit(points, reason, options)] };
}

/** plugin credits points for purchases, multiplied at weekends. */
export const plugin: Program = {
  describe() {
    return { name, version, eventTypes, configSchema, defaultConfig };
  },

  validateConfig(req) {
    return { errors: parseConfig(req.config).errors };
  },

  evaluate(req) {
    const { config, errors } = parseConfig(req.campaign.config);
    if (errors.length > 0) {
      throw new PluginError("INVALID_CONFIG", `${errors[0]!.field}: ${errors[0]!.message}`);
    }
    return { results: req.items.map((item) => evaluate(config, req.campaign.timeZone, item.event)) };
  },
};
