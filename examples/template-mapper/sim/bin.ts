#!/usr/bin/env node
// A counter device on 127.0.0.1 for trying the template mapper: `node examples/template-mapper/dist/sim/bin.js [port]`.
import { startCounterSimulator } from './simulator.js';

const sim = await startCounterSimulator({ port: Number(process.argv[2] ?? 7070) });
console.log(`counter device listening on 127.0.0.1:${sim.port}`);
process.once('SIGINT', () => void sim.stop());
process.once('SIGTERM', () => void sim.stop());
