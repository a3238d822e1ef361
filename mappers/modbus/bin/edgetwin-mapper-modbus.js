#!/usr/bin/env node
// `edgetwin-mapper-modbus`: the compiled ../dist/src/bin.js (the root `npm install` builds it; or `npm run build`).
await import('../dist/src/bin.js');
