#!/usr/bin/env node
// `edgetwin-mapper-modbus`: the compiled ../dist/bin/mapper.js (the root `npm install` builds it; or `npm run build`).
await import('../dist/bin/mapper.js');
