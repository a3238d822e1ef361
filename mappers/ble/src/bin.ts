#!/usr/bin/env node
/** `edgetwin-mapper-bluetooth`: the BLE mapper process (EDGETWIN_BLE_BINDINGS=hci|websocket|sim). */
import { mapperCli } from '@edgetwin/sdk/mapper';
import { bleMapper } from './mapper.js';

await mapperCli(bleMapper);
