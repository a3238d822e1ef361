/**
 * A user per mapper (`--mapper-uids BASE`), with real processes: edgecore as root starts the real
 * Modbus and OPC UA mappers against the repo's simulators (OPC UA with SignAndEncrypt, so the
 * mapper uses its PKI directory under its own uid). Shown:
 * - each mapper process runs as its own uid (real, effective, saved, fs), group BASE, no
 *   supplementary groups, HOME and TMPDIR in its own state directory;
 * - devices still report values end to end (DMI socket through the group, the mappers' own DMI
 *   sockets from edgecore, the broker);
 * - each mapper's state directory is its uid's, 0700, and its DMI token and MQTT password files
 *   its uid's, 0600;
 * - a process running as one mapper's uid (`cat`) reads its own token but gets "Permission denied"
 *   on the other mapper's token, MQTT password and /proc/<pid>/environ;
 * - started as a user other than root, `--mapper-uids` is refused with a clear error.
 * Root-only: skipped elsewhere (only root can start processes under other uids).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  linkSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, signalPid, waitFor } from '@edgetwin/sdk/testing';
import { mapperDmiTokenFile } from '@edgetwin/edgecore';
import { startModbusSimulator, type ModbusSimulator } from '@edgetwin/mapper-modbus/sim';
import { defaultPkiDir, trustServerCertificate } from '@edgetwin/mapper-opcua';
import { startOpcuaSimulator, type OpcuaSimulator } from '@edgetwin/mapper-opcua/sim';
import { CLI, startEdgecore, tempDir, type EdgecoreProcess } from '../helpers/edgecore-process.js';

const root = resolve(fileURLToPath(import.meta.url), '../../../../..');
const quickstart = join(root, 'examples', 'quickstart');
const BASE = 47_000;
const UID = { modbus: BASE + 1, opcua: BASE + 2 };
const T = 60_000;
const isRoot = process.getuid?.() === 0;

/** `cat FILE` as uid:gid; its exit status and stderr. */
function catAs(uid: number, file: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('cat', [file], { uid, gid: BASE, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The Uid:, Gid: and Groups: lines of /proc/PID/status. */
function ids(pid: number): { uid: string[]; gid: string[]; groups: string } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => new RegExp(`^${name}:[ \\t]*(.*)$`, 'm').exec(status)?.[1]?.trim() ?? '';
  return { uid: field('Uid').split(/\s+/), gid: field('Gid').split(/\s+/), groups: field('Groups') };
}

describe.skipIf(!isRoot)('--mapper-uids: each mapper under its own uid (edgecore as root, real mappers)', () => {
  let edge: EdgecoreProcess;
  let modbus: ModbusSimulator;
  let opcua: OpcuaSimulator;
  const pids: Record<'modbus' | 'opcua', number> = { modbus: 0, opcua: 0 };
  const stateDir = (protocol: string) => join(edge.dataDir, 'mappers', protocol);
  const twin = async (name: string) =>
    (await (await fetch(`${edge.http}/api/v1/devices/default/${name}/twin`)).json()) as {
      reported: Record<string, { value: unknown } | undefined>;
    };

  beforeAll(async () => {
    const modbusPort = await freePort();
    modbus = await startModbusSimulator(join(quickstart, 'modbus-sim.yaml'), { port: modbusPort });
    opcua = await startOpcuaSimulator({ pkiDir: tempDir('uids-opcua-sim-pki') });
    const devicesDir = tempDir('uids-devices');
    for (const name of ['thermostat.yaml', 'opcua-plant.yaml'])
      writeFileSync(
        join(devicesDir, name),
        readFileSync(join(quickstart, 'devices', name), 'utf8')
          .replaceAll('nodeName: quickstart-node', 'nodeName: edge-1')
          .replace('port: 5020', `port: ${modbusPort}`)
          .replace('opc.tcp://127.0.0.1:4840/edgetwin-sim', opcua.url),
      );
    // A 0700 data dir (mkdtemp): edgecore opens it to the mappers' group itself.
    const dataDir = tempDir('uids-data');
    // The OPC UA mapper trusts the simulator: files root writes into its PKI, which it must then own.
    await trustServerCertificate(opcua.certificateFile, defaultPkiDir(join(dataDir, 'mappers', 'opcua')));
    edge = await startEdgecore({ devicesDir, dataDir, mappers: true, extraArgs: ['--mapper-uids', String(BASE)] });
    const e = edge;
    for (const protocol of ['modbus', 'opcua'] as const)
      await waitFor(
        () => e.logs.some((l) => l.includes(`mapper-${protocol}`) && l.includes('registered with edgecore over DMI')),
        T,
        `the ${protocol} mapper to register over DMI`,
      );
    for (const entry of edge.logEntries())
      if (entry.msg === 'mapper for modbus started' || entry.msg === 'mapper for opcua started')
        pids[entry.protocol as 'modbus' | 'opcua'] = entry.pid as number;
  }, 2 * T);

  afterAll(async () => {
    await edge?.kill();
    await modbus?.stop();
    await opcua?.stop();
  });

  it('each mapper process runs as its own uid, group BASE, no supplementary groups, HOME in its own directory', () => {
    for (const protocol of ['modbus', 'opcua'] as const) {
      const pid = pids[protocol];
      expect(pid, `${protocol} pid from the "started" log line`).toBeGreaterThan(0);
      const { uid, gid, groups } = ids(pid);
      expect(uid).toEqual(Array(4).fill(String(UID[protocol]))); // real, effective, saved, filesystem
      expect(gid).toEqual(Array(4).fill(String(BASE)));
      expect(groups).toBe('');
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      expect(environ).toContain(`HOME=${stateDir(protocol)}`);
      expect(environ).toContain(`TMPDIR=${stateDir(protocol)}`);
    }
    // edgecore itself stays root.
    expect(ids(edge.child.pid!).uid[1]).toBe('0');
  });

  it(
    'devices of both mappers report values end to end',
    async () => {
      await waitFor(
        async () => typeof (await twin('thermostat-1')).reported.temperature?.value === 'number',
        T,
        'thermostat-1 (Modbus) to report its temperature',
      );
      await waitFor(
        async () => typeof (await twin('opcua-tank-1')).reported.level?.value === 'number',
        T,
        'opcua-tank-1 (OPC UA, SignAndEncrypt) to report its level',
      );
    },
    2 * T,
  );

  it("each mapper's state directory is its uid's (0700) and its secret files its uid's (0600)", () => {
    for (const protocol of ['modbus', 'opcua'] as const) {
      const dir = statSync(stateDir(protocol));
      expect([dir.uid, dir.gid, (dir.mode & 0o777).toString(8)]).toEqual([UID[protocol], BASE, '700']);
      for (const file of [mapperDmiTokenFile(edge.dataDir, protocol), join(stateDir(protocol), 'mqtt-password')]) {
        const s = statSync(file);
        expect([file, s.uid, (s.mode & 0o777).toString(8)]).toEqual([file, UID[protocol], '600']);
      }
    }
    // The OPC UA mapper's PKI (trust list written by root before the start; its own key made since).
    const pki = defaultPkiDir(stateDir('opcua'));
    const owners = new Set(
      readdirSync(pki, { recursive: true, encoding: 'utf8' }).map((f) => statSync(join(pki, f)).uid),
    );
    expect([...owners]).toEqual([UID.opcua]);
    // edgecore's DMI socket: root's, group BASE, 0660, in a 0750 directory of group BASE.
    const sock = statSync(join(edge.dataDir, 'dmi', 'dmi.sock'));
    expect([sock.uid, sock.gid, (sock.mode & 0o777).toString(8)]).toEqual([0, BASE, '660']);
    const dmiDir = statSync(join(edge.dataDir, 'dmi'));
    expect([dmiDir.gid, (dmiDir.mode & 0o777).toString(8)]).toEqual([BASE, '750']);
  });

  it("a mapper's uid reads nothing of edgecore's in DATA-DIR but its way to its directory and the DMI socket", () => {
    for (const name of readdirSync(edge.dataDir)) {
      if (name === 'mappers' || name === 'dmi') continue;
      const s = statSync(join(edge.dataDir, name));
      expect([name, (s.mode & 0o077).toString(8)]).toEqual([name, '0']);
    }
    for (const file of ['edgetwin.db', 'dmi-mappers.json', 'security/mqtt-users.json']) {
      const r = catAs(UID.modbus, join(edge.dataDir, file));
      expect([file, r.status, r.stdout]).toEqual([file, 1, '']);
    }
  });

  it("one mapper's uid cannot read the other's token, MQTT password or /proc/<pid>/environ", () => {
    const own = catAs(UID.modbus, mapperDmiTokenFile(edge.dataDir, 'modbus'));
    expect(own.status).toBe(0); // the control: its own token it reads
    expect(own.stdout.trim()).toBe(readFileSync(mapperDmiTokenFile(edge.dataDir, 'modbus'), 'utf8').trim());
    for (const [uid, other] of [
      [UID.modbus, 'opcua'],
      [UID.opcua, 'modbus'],
    ] as const)
      for (const file of [
        mapperDmiTokenFile(edge.dataDir, other),
        join(stateDir(other), 'mqtt-password'),
        `/proc/${pids[other]}/environ`,
      ]) {
        const r = catAs(uid, file);
        expect([file, r.status, r.stdout]).toEqual([file, 1, '']);
        expect(r.stderr).toContain('Permission denied');
      }
  });

  it('ps shows the mappers under their uids and no secret on any command line', () => {
    const ps = execFileSync('ps', ['-eo', 'pid=,uid=,args='], { encoding: 'utf8' });
    for (const protocol of ['modbus', 'opcua'] as const) {
      const line = ps.split('\n').find((l) => l.trim().startsWith(`${pids[protocol]} `));
      expect(line?.trim().split(/\s+/)[1]).toBe(String(UID[protocol]));
      expect(ps).not.toContain(readFileSync(mapperDmiTokenFile(edge.dataDir, protocol), 'utf8').trim());
    }
  });
  it(
    'a restarted mapper gets its uid again, and a symlink it planted where edgecore writes its new token is not followed',
    async () => {
      const victim = join(tempDir('uids-victim'), 'victim');
      writeFileSync(victim, 'untouched\n');
      const token = mapperDmiTokenFile(edge.dataDir, 'modbus');
      const before = readFileSync(token, 'utf8');
      // As the Modbus mapper's uid: the temporary name edgecore writes the next token under.
      const ln = spawnSync('ln', ['-s', victim, `${token}.${edge.child.pid}.tmp`], { uid: UID.modbus, gid: BASE });
      expect(ln.status).toBe(0);
      const old = pids.modbus;
      signalPid(old, 'SIGKILL');
      const e = edge;
      let pid = 0;
      await waitFor(
        () => {
          const started = e.logEntries().filter((l) => l.msg === 'mapper for modbus started');
          pid = (started.at(-1)?.pid as number | undefined) ?? 0;
          return pid !== old && pid > 0;
        },
        T,
        'the Modbus mapper to be restarted',
      );
      pids.modbus = pid;
      expect(ids(pid).uid).toEqual(Array(4).fill(String(UID.modbus)));
      expect(readFileSync(victim, 'utf8')).toBe('untouched\n');
      const s = statSync(token);
      expect([s.uid, (s.mode & 0o777).toString(8)]).toEqual([UID.modbus, '600']);
      expect(readFileSync(token, 'utf8')).not.toBe(before); // a new token for the new process
    },
    2 * T,
  );
});

describe.skipIf(!isRoot)('--mapper-uids as a user other than root', () => {
  it('is refused at start with a clear error, before anything runs', () => {
    const dir = tempDir('uids-nonroot');
    chmodSync(dir, 0o755);
    mkdirSync(join(dir, 'devices'));
    const r = spawnSync(
      process.execPath,
      [CLI, 'edge', '--devices', join(dir, 'devices'), '--data-dir', join(dir, 'data'), '--mapper-uids', String(BASE)],
      { uid: 65534, gid: 65534, encoding: 'utf8', timeout: 30_000 },
    );
    expect(r.error, `${process.execPath} could not be run as uid 65534`).toBeUndefined();
    expect(r.stderr).toContain('--mapper-uids needs edgecore to run as root (it runs as uid 65534)');
    expect(r.status).toBe(1);
    expect(() => statSync(join(dir, 'data'))).toThrow(); // nothing was created
  });
});

describe.skipIf(!isRoot)('--mapper-uids with a mapper program the mappers cannot reach', () => {
  it('is refused at start, naming the directory to open, before any mapper runs', () => {
    // Node itself in a 0700 directory (mkdtemp), as when it is installed under root's home: the
    // mappers' uids could not run it. A hard link keeps the binary's mode (0755) and needs no copy.
    const nodeDir = tempDir('uids-node');
    const node = join(nodeDir, 'node');
    try {
      linkSync(process.execPath, node);
    } catch {
      copyFileSync(process.execPath, node);
      chmodSync(node, 0o755);
    }
    const dir = tempDir('uids-unreachable');
    chmodSync(dir, 0o755); // the data directory is reachable: only the program is not
    mkdirSync(join(dir, 'devices'));
    const r = spawnSync(
      node,
      [CLI, 'edge', '--devices', join(dir, 'devices'), '--data-dir', join(dir, 'data'), '--mapper-uids', String(BASE)],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(r.error).toBeUndefined();
    expect(r.stderr).toContain(`--mapper-uids: ${nodeDir} (mode 700, above the modbus mapper's program`);
    expect(r.stderr).toContain('chmod o+x');
    expect(r.status).toBe(1);
    expect(r.stderr).not.toContain('mapper for modbus started');
  });
});
