/**
 * Imported first by main.ts, so it runs before any other module allocates: `edgetwin edge` tunes
 * the V8 heap for a small node while the heap is still at its initial size (see tuneHeapForEdge).
 */
import { tuneHeapForEdge } from '@edgetwin/device-twin/heap';

if (process.argv[2] === 'edge') tuneHeapForEdge();
