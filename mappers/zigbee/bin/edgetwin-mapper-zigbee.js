#!/usr/bin/env node
// `edgetwin-mapper-zigbee`: the compiled ../dist/cli.js (the root `npm install` builds it; or `npm run build`).
await import('../dist/cli.js');
