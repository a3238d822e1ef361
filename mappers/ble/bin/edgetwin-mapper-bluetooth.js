#!/usr/bin/env node
// `edgetwin-mapper-bluetooth`: the compiled ../dist/src/bin.js (the root `npm install` builds it; or `npm run build`). With
// EDGETWIN_BLE_BINDINGS=sim it runs ../dist/sim/mapper-bin.js instead: the same mapper with the
// simulated peripherals injected as noble's bindings (production code never imports the simulator).
await import(process.env.EDGETWIN_BLE_BINDINGS?.trim() === 'sim' ? '../dist/sim/mapper-bin.js' : '../dist/src/bin.js');
