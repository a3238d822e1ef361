#!/usr/bin/env node
// The counter mapper as a process: `node examples/template-mapper/dist/src/bin.js --help`.
import { mapperCli } from '@edgetwin/sdk/mapper';
import { counterMapper } from './mapper.js';

await mapperCli(counterMapper);
