#!/usr/bin/env node
// The counter mapper as a process: `node examples/dist/template-mapper/main.js --help`.
import { mapperCli } from '@edgetwin/sdk/mapper';
import { counterMapper } from './mapper.js';

await mapperCli(counterMapper);
