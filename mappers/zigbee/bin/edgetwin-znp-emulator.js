#!/usr/bin/env node
// `edgetwin-znp-emulator`: the compiled ../dist/emulator/cli.js (the root `npm install` builds it; or `npm run build`).
await import('../dist/emulator/cli.js');
