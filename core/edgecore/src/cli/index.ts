/** edgecore's commands, composed by the `edgetwin` CLI (package `@edgetwin/core`). */
export { edgeCommand } from './edge-command.js';
export { mqttCommand } from './mqtt-command.js';
export { tokensCommand } from './tokens-command.js';
export { usersCommand } from './users-command.js';
export { CliError, parsePort, parseHours } from './cli-errors.js';
export { createLogger } from './logger.js';
