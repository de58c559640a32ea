/**
 * @promogate/plugin-sdk: write Promogate programme plugins in TypeScript on Node.js. The
 * contract and the wire protocol are the Go SDK's (plugins/sdk): see README.md.
 */
export * from "./types.js";
export { defaults, type Awaitable, type CallContext, type Program } from "./program.js";
export { PluginError, errorTable, errorText, type ErrorCode } from "./errors.js";
export { log, type Attributes, type Level, type Logger } from "./log.js";
export { handshake, serve } from "./serve.js";
export { maxMessageBytes } from "./server.js";
export { addDays, zonedTime, type ZonedTime } from "./time.js";
