// Wall-clock time in a campaign's time zone, from Node's Intl (full ICU zone data).

import { PluginError } from "./errors.js";

/** ZonedTime is an instant as a wall clock in one time zone shows it. */
export interface ZonedTime {
  year: number;
  /** month is 1..12. */
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** weekday is 0 (Sunday) .. 6 (Saturday), like Date.getDay. */
  weekday: number;
}

const formats = new Map<string, Intl.DateTimeFormat>();
const weekdays: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

function format(timeZone: string): Intl.DateTimeFormat {
  let f = formats.get(timeZone);
  if (f === undefined) {
    try {
      f = new Intl.DateTimeFormat("en-US", {
        timeZone,
        hourCycle: "h23",
        year: "numeric",
        month: "numeric",
        day: "numeric",
        hour: "numeric",
        minute: "numeric",
        second: "numeric",
        weekday: "short",
      });
    } catch {
      throw new PluginError("INVALID_CONFIG", `time zone ${JSON.stringify(timeZone)} is not an IANA zone name`);
    }
    formats.set(timeZone, f);
  }
  return f;
}

/**
 * zonedTime returns the wall-clock time of at in timeZone (an IANA name; empty means UTC), as
 * the Go SDK's Campaign.Location and time.In give it. An unknown zone throws a PluginError
 * with code INVALID_CONFIG.
 */
export function zonedTime(at: Date, timeZone: string): ZonedTime {
  const parts: Record<string, string> = {};
  for (const p of format(timeZone === "" ? "UTC" : timeZone).formatToParts(at)) {
    parts[p.type] = p.value;
  }
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    second: Number(parts.second),
    weekday: weekdays[parts.weekday ?? ""] ?? Number.NaN,
  };
}

/** offsetAt returns how far ahead of UTC the wall clock of timeZone is at the instant ms. */
function offsetAt(ms: number, timeZone: string): number {
  const z = zonedTime(new Date(ms), timeZone);
  const whole = ms - (((ms % 1000) + 1000) % 1000);
  return Date.UTC(z.year, z.month - 1, z.day, z.hour, z.minute, z.second) - whole;
}

/**
 * addDays returns the instant days calendar days after at with the same wall-clock time in
 * timeZone (like Go's t.In(loc).AddDate(0, 0, days)), whatever daylight saving time does in
 * between. An unknown zone throws a PluginError with code INVALID_CONFIG.
 */
export function addDays(at: Date, days: number, timeZone: string): Date {
  const ms = at.getTime();
  const z = zonedTime(at, timeZone);
  const wall = Date.UTC(z.year, z.month - 1, z.day + days, z.hour, z.minute, z.second, ((ms % 1000) + 1000) % 1000);
  let t = wall - offsetAt(ms, timeZone);
  t = wall - offsetAt(t, timeZone);
  return new Date(t);
}
