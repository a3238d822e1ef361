/**
 * The quickstart's security is on, with credentials it makes itself: an MQTT identity `tour`
 * (an app that reads and sets every device) whose user name and password are written where
 * Debian's mosquitto_sub and mosquitto_pub read their default options (`$XDG_CONFIG_HOME/mosquitto_sub`,
 * `.../mosquitto_pub`), so the tour's commands carry no password on their command line.
 */
import { join, relative } from 'node:path';
import { addMqttUser, newSecret, writeSecretFile } from '@edgetwin/core';

export interface TourCredentials {
  /** Directory to use as XDG_CONFIG_HOME for the mosquitto clients, relative to the cwd when inside it. */
  mqttConfigDir: string;
}

export async function createTourCredentials(dataDir: string): Promise<TourCredentials> {
  const password = newSecret();
  await addMqttUser(dataDir, { name: 'tour', role: 'app', read: ['*/*'], set: ['*/*'], password });
  const dir = join(dataDir, 'mqtt-clients');
  const options = `-u tour\n-P ${password}\n`;
  await writeSecretFile(join(dir, 'mosquitto_sub'), options);
  await writeSecretFile(join(dir, 'mosquitto_pub'), options);
  return { mqttConfigDir: shortPath(dir) };
}

/** `dir` relative to the current directory when it is below it (as the README's commands are). */
export function shortPath(dir: string): string {
  const rel = relative(process.cwd(), dir);
  return rel && !rel.startsWith('..') ? rel : dir;
}
