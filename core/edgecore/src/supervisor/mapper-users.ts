/**
 * A user per mapper (`edgetwin edge --mapper-uids BASE`): edgecore, running as root, starts the
 * mapper of each protocol under a uid of its own, BASE + the protocol's offset below, with group
 * BASE (the mappers' shared group, which may use edgecore's DMI socket). A mapper's state directory
 * (`DATA-DIR/mappers/<protocol>`, holding its DMI token, its MQTT password, its OPC UA PKI) is
 * owned by its uid, mode 0700, and its secret files 0600: another mapper's uid gets EACCES reading
 * them, and the kernel refuses it `/proc/<pid>/environ` and ptrace of another uid's process.
 * The uids need no /etc/passwd entry (they may have one, e.g. from systemd-sysusers).
 */
import { lstat, mkdir, lchown, chmod, chown, readdir, realpath, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { EdgeTwinError } from '@edgetwin/sdk';

/** uid = BASE + offset; gid = BASE. Fixed, so a mapper keeps its uid (and its files) across restarts. */
export const MAPPER_UID_OFFSETS: Readonly<Record<string, number>> = {
  modbus: 1,
  opcua: 2,
  ble: 3,
  bluetooth: 4,
  zigbee: 5,
};

/** The largest BASE: uids up to 2^31 - 2 stay clear of (uid_t)-1 and of signed-int trouble in tools. */
const MAX_BASE = 2 ** 31 - 2 - Math.max(...Object.values(MAPPER_UID_OFFSETS));

export interface MapperUsers {
  /** The mappers' shared group (BASE): the DMI socket's group. */
  gid: number;
  /** The uid the mapper of `protocol` runs as; throws for a protocol without an offset. */
  uid(protocol: string): number;
}

/**
 * The users of `--mapper-uids BASE`. Refused (ET_CONFIG_INVALID) unless edgecore runs as root:
 * only root can start a process under another uid, and a silent fallback to one shared user would
 * look hardened while it is not.
 */
export function mapperUsers(base: number, euid: number | undefined = process.geteuid?.()): MapperUsers {
  if (!Number.isInteger(base) || base < 1 || base > MAX_BASE)
    throw new EdgeTwinError(
      'ET_CONFIG_INVALID',
      `--mapper-uids ${base}: expected an integer from 1 to ${MAX_BASE} (the mappers' group; their uids are BASE+1 to BASE+5)`,
    );
  if (euid !== 0)
    throw new EdgeTwinError(
      'ET_CONFIG_INVALID',
      `--mapper-uids needs edgecore to run as root (it runs as uid ${euid ?? 'unknown'}): only root can start ` +
        'each mapper under its own uid. Run edgecore as root, or drop --mapper-uids (the mappers then run as ' +
        "edgecore's user and can read each other's secrets)",
    );
  return {
    gid: base,
    uid(protocol: string): number {
      const offset = MAPPER_UID_OFFSETS[protocol];
      if (offset === undefined)
        throw new EdgeTwinError(
          'ET_CONFIG_INVALID',
          `--mapper-uids: no uid for protocol "${protocol}" (known: ${Object.keys(MAPPER_UID_OFFSETS).join(', ')}); ` +
            'run its mapper standalone (--external-mapper) or without --mapper-uids',
        );
      return base + offset;
    },
  };
}

/**
 * Makes `dir` (a mapper's state directory) its own: owned by uid:gid, mode 0700, and everything in
 * it owned by uid (files edgecore wrote there, or left by a run without --mapper-uids). Symlinks
 * are re-owned, never followed; a file with several hard links is left alone (it may be a link to
 * a file elsewhere that the mapper must not get).
 */
export async function ownMapperDir(dir: string, uid: number, gid: number): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await lchown(dir, uid, gid);
  await chmod(dir, 0o700);
  await ownTree(dir, uid, gid);
}

async function ownTree(dir: string, uid: number, gid: number): Promise<void> {
  for (const name of await readdir(dir)) {
    const path = join(dir, name);
    const s = await lstat(path);
    if (s.isDirectory()) {
      if (s.uid !== uid) await lchown(path, uid, gid);
      await ownTree(path, uid, gid);
    } else if (s.uid !== uid && (s.isSymbolicLink() || s.nlink === 1)) {
      await lchown(path, uid, gid);
    }
  }
}

/**
 * Lets the mappers' group into `DATA-DIR/mappers` (0750, group BASE) and checks that it can reach
 * it: every directory above must be searchable by others (or by the group). DATA-DIR itself, made
 * by edgecore, gets the group's search bit when others lack it. Since the mappers can then open
 * DATA-DIR's files by name, everything else in it (the twin database with every device's spec,
 * the history) loses its group and other bits, and edgecore's umask becomes 077 for what it
 * creates later (the mappers inherit it, inside their own directories).
 */
export async function openMappersDir(dataDir: string, gid: number): Promise<void> {
  process.umask(0o077);
  for (const name of await readdir(dataDir)) {
    if (name === 'mappers' || name === 'dmi') continue; // opened to the group below and by the DMI server
    const path = join(dataDir, name);
    const s = await lstat(path);
    if (!s.isSymbolicLink() && (s.mode & 0o077) !== 0) await chmod(path, s.mode & 0o7700);
  }
  const mappers = join(dataDir, 'mappers');
  await mkdir(mappers, { recursive: true });
  await chown(mappers, process.getuid?.() ?? 0, gid);
  await chmod(mappers, 0o750);
  const data = await stat(dataDir);
  if ((data.mode & 0o001) === 0) {
    await chown(dataDir, data.uid, gid);
    await chmod(dataDir, (data.mode & 0o7777) | 0o010);
  }
  await checkSearchable(dirname(resolve(dataDir)), gid, 'the data directory');
}

/**
 * Throws ET_CONFIG_INVALID naming the first directory from `dir` up to / that the mappers' uids
 * cannot search (they run as other users: a 0700 directory above the data dir or the mapper
 * packages keeps them out).
 */
export async function checkSearchable(dir: string, gid: number, what: string): Promise<void> {
  // Symlinks resolved first: what counts is the directories the kernel walks to reach the target.
  const start = await realpath(dir).catch(() => resolve(dir));
  for (let d = start; ; d = dirname(d)) {
    const s = await stat(d).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined; // made later, by edgecore
      throw err;
    });
    if (!s) {
      if (dirname(d) === d) return;
      continue;
    }
    const others = (s.mode & 0o001) !== 0;
    const group = s.gid === gid && (s.mode & 0o010) !== 0;
    if (!others && !group)
      throw new EdgeTwinError(
        'ET_CONFIG_INVALID',
        `--mapper-uids: ${d} (mode ${(s.mode & 0o777).toString(8)}, above ${what}) cannot be searched by the ` +
          `mappers' uids; make it searchable by others (chmod o+x) or by group ${gid}`,
      );
    if (dirname(d) === d) return;
  }
}

/** What the mapper programs look like to checkMapperPrograms: the command of each protocol. */
export interface MapperPrograms {
  commandFor(protocol: string): { command: string; args: string[] } | undefined;
}

/**
 * Throws ET_CONFIG_INVALID when a mapper's uid could not run its program: the runtime (node, or
 * another command) must be executable and the entry script readable by others (or by group
 * `gid`), and every directory above them searchable. Checked at start, for every protocol with a
 * uid whose mapper is installed, so a Node installed under root's 0700 home, or a checkout in a
 * 0700 directory, stops edgecore with the path to fix instead of leaving mappers in a restart loop.
 */
export async function checkMapperPrograms(programs: MapperPrograms, gid: number): Promise<void> {
  for (const protocol of Object.keys(MAPPER_UID_OFFSETS)) {
    const cmd = programs.commandFor(protocol);
    if (!cmd) continue;
    const what = `the ${protocol} mapper's program`;
    await checkUsable(cmd.command, gid, 0o1, what);
    const script = cmd.args[0];
    if (script && isAbsolute(script)) await checkUsable(script, gid, 0o4, what);
  }
}

/** `path` (absolute) and the directories above it usable by a uid that is neither its owner nor root. */
async function checkUsable(path: string, gid: number, bit: 0o1 | 0o4, what: string): Promise<void> {
  if (!isAbsolute(path)) return; // found on PATH by the kernel: nothing to check here
  const real = await realpath(path).catch(() => undefined);
  if (!real) return; // missing: the start reports it as such
  const s = await stat(real);
  const ok = (s.mode & bit) !== 0 || (s.gid === gid && (s.mode & (bit << 3)) !== 0);
  if (!ok)
    throw new EdgeTwinError(
      'ET_CONFIG_INVALID',
      `--mapper-uids: ${real} (mode ${(s.mode & 0o777).toString(8)}, ${what}) cannot be ` +
        `${bit === 0o1 ? 'executed' : 'read'} by the mappers' uids; chmod o+${bit === 0o1 ? 'x' : 'r'} it`,
    );
  await checkSearchable(dirname(real), gid, `${what}, ${path}`);
}
