// Logging in the shape of hclog's JSON format (@timestamp, @level, @message and attributes), one
// object a line on standard error, which go-plugin's host parses into levelled log lines filed
// under the plugin's name.

/** Level is an hclog level. */
export type Level = "trace" | "debug" | "info" | "warn" | "error";

/** Attributes are the key-value pairs of a log line. */
export type Attributes = Record<string, unknown>;

/** Logger writes levelled JSON lines. */
export interface Logger {
  trace(message: string, attributes?: Attributes): void;
  debug(message: string, attributes?: Attributes): void;
  info(message: string, attributes?: Attributes): void;
  warn(message: string, attributes?: Attributes): void;
  error(message: string, attributes?: Attributes): void;
}

/** logLine returns one hclog JSON line (with its newline). */
export function logLine(level: Level, message: string, attributes: Attributes = {}, now: Date = new Date()): string {
  const entry: Attributes = {};
  for (const [k, v] of Object.entries(attributes)) {
    entry[k] = v instanceof Error ? v.message : v;
  }
  entry["@timestamp"] = now.toISOString();
  entry["@level"] = level;
  entry["@message"] = message;
  try {
    return JSON.stringify(entry) + "\n";
  } catch {
    return JSON.stringify({ "@timestamp": entry["@timestamp"], "@level": level, "@message": message }) + "\n";
  }
}

function write(level: Level, message: string, attributes?: Attributes): void {
  process.stderr.write(logLine(level, message, attributes));
}

/**
 * log writes to standard error, which the core reads and logs under the plugin's name. Do not
 * print to standard output: the core reads the handshake from it.
 */
export const log: Logger = {
  trace: (m, a) => write("trace", m, a),
  debug: (m, a) => write("debug", m, a),
  info: (m, a) => write("info", m, a),
  warn: (m, a) => write("warn", m, a),
  error: (m, a) => write("error", m, a),
};
