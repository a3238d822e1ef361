#!/usr/bin/env node
// `edgetwin-modbus-sim`: the compiled ../dist/bin/modbus-sim.js (the root `npm install` builds it; or `npm run build`).
await import('../dist/bin/modbus-sim.js');
