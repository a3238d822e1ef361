#!/usr/bin/env node
/** `edgetwin-mapper-opcua`: the OPC UA mapper process (flags: see --help). */
import { format } from 'node:util';
import { setErrorLogger, setWarningLogger } from 'node-opcua-client';
import { pino } from 'pino';
import { mapperCli, parseMapperArgs } from '@edgetwin/sdk/mapper';
import { opcuaMapper } from './mapper.js';

// node-opcua prints its own diagnostics to the console; send them through pino instead, warnings
// at debug level (the mapper's EdgeTwinErrors already say what went wrong and what to do).
let level = 'info';
try {
  const parsed = parseMapperArgs('opcua', process.argv.slice(2));
  if (parsed !== 'help' && parsed.logLevel) level = parsed.logLevel;
} catch {
  // mapperCli reports bad flags itself
}
const opcuaLog = pino({ name: 'mapper-opcua', level }).child({ module: 'node-opcua' });
setWarningLogger((...args: unknown[]) => opcuaLog.debug(format(...args)));
setErrorLogger((...args: unknown[]) => opcuaLog.warn(format(...args)));

await mapperCli(opcuaMapper);
