/**
 * The quickstart's security is on, with credentials it makes itself, anew at every start:
 * - an MQTT identity `tour` (an app that reads and sets every device) whose user name and password
 *   are written where Debian's mosquitto_sub and mosquitto_pub read their default options
 *   (`$XDG_CONFIG_HOME/mosquitto_sub`, `.../mosquitto_pub`);
 * - an HTTP bearer token `tour` (scope write) written as a header file for `curl -H @FILE`;
 * so the tour's commands carry no secret on their command line.
 */
import { join, relative } from 'node:path';
import { addMqttUser, createToken, newSecret, revokeTokens, writeSecretFile } from '@edgetwin/edgecore';

export interface TourCredentials {
  /** Directory to use as XDG_CONFIG_HOME for the mosquitto clients, relative to the cwd when inside it. */
  mqttConfigDir: string;
  /** File with the `Authorization: Bearer ...` header line (same). */
  httpHeaderFile: string;
}

export async function createTourCredentials(dataDir: string): Promise<TourCredentials> {
  const password = newSecret();
  await addMqttUser(dataDir, { name: 'tour', role: 'app', read: ['*/*'], set: ['*/*'], password });
  const dir = join(dataDir, 'mqtt-clients');
  const options = `-u tour\n-P ${password}\n`;
  await writeSecretFile(join(dir, 'mosquitto_sub'), options);
  await writeSecretFile(join(dir, 'mosquitto_pub'), options);
  await revokeTokens(dataDir, 'tour');
  const { token } = await createToken(dataDir, { name: 'tour', scopes: ['write'] });
  const headerFile = join(dataDir, 'http-token.header');
  await writeSecretFile(headerFile, `Authorization: Bearer ${token}\n`);
  return { mqttConfigDir: shortPath(dir), httpHeaderFile: shortPath(headerFile) };
}

/** `dir` relative to the current directory when it is below it (as the README's commands are). */
export function shortPath(dir: string): string {
  const rel = relative(process.cwd(), dir);
  return rel && !rel.startsWith('..') ? rel : dir;
}
