#!/usr/bin/env node
// `edgetwin-opcua-sim`: the compiled ../dist/bin/sim.js (the root `npm install` builds it; or `npm run build`).
await import('../dist/bin/sim.js');
