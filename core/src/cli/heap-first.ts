/**
 * Imported first by main.ts, so it runs before any other module allocates: `edgetwin edge` tunes
 * the V8 heap for a small node while the heap is still at its initial size (see tuneHeapForEdge).
 *
 * `--optimize-for-size` only with an external broker (`--mqtt-url`): the embedded aedes broker
 * needs the optimizing compiler's full inlining. Measured with `npm run bench:twin`, it made the
 * embedded broker saturate at ~4,300 reports/s instead of ~10,000.
 */
import { tuneHeapForEdge } from '@edgetwin/device-twin/heap';

const externalBroker = process.argv.some((a) => a === '--mqtt-url' || a.startsWith('--mqtt-url='));
if (process.argv[2] === 'edge') tuneHeapForEdge({ optimizeForSize: externalBroker });
