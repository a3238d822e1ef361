#!/usr/bin/env node
// `edgetwin-mapper-ble`: the compiled ../dist/bin.js (the root `npm install` builds it; or `npm run build`).
await import('../dist/bin.js');
