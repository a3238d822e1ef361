#!/usr/bin/env node
/** edgetwin-mapper-modbus --mqtt-url URL --node-name NAME: the Modbus mapper process. */
import { mapperCli } from '@edgetwin/sdk/mapper';
import { modbusMapper } from './mapper.js';

await mapperCli(modbusMapper);
