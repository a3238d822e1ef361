/**
 * `@edgetwin/core` is the `edgetwin` command (bin/edgetwin.js -> dist/cli/main.js), the composition
 * root of the programs: `edgetwin edge` runs `@edgetwin/edgecore`, `edgetwin cloud`
 * `@edgetwin/cloudcore`, `edgetwin logs|images` the pod agent's commands (`@edgetwin/agent`), and
 * `edgetwin service install` writes their systemd units. Its library API is the unit renderer.
 */
export { renderUnit, SERVICE_DIRS, UNIT_NAMES, type UnitOptions } from './service/units.js';
