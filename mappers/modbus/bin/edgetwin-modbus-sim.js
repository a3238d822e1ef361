#!/usr/bin/env node
// `edgetwin-modbus-sim`: the compiled ../dist/sim/bin.js (the root `npm install` builds it; or `npm run build`).
await import('../dist/sim/bin.js');
