/** The pod agent's commands (`edgetwin logs`, `edgetwin images`), composed by the `edgetwin` CLI. */
export { logsCommand, CriLogDecoder } from './logs.js';
export { imagesCommand, imagesImportCommand } from './images-import.js';
export type { CliIo } from './io.js';
