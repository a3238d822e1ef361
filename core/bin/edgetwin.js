#!/usr/bin/env node
// The `edgetwin` command. The code is compiled TypeScript in ../dist (built by `npm install` via the
// root `prepare` script, or by `npm run build`).
import('../dist/cli/main.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND') {
    console.error('edgetwin: not built yet; run "npm run build" in the repository root');
    process.exit(1);
  }
  throw err;
});
