#!/usr/bin/env node
/**
 * The BLE mapper process with the demo peripherals simulated in-process: what
 * `edgetwin-mapper-bluetooth` runs when EDGETWIN_BLE_BINDINGS=sim (its bin picks this file). The
 * mapper is the production one; only its noble bindings are injected.
 */
import { mapperCli } from '@edgetwin/sdk/mapper';
import { createBleMapper } from '../src/mapper.js';
import { openDemoBindings } from './demo.js';

await mapperCli(createBleMapper({ bindings: openDemoBindings }));
