/**
 * The twin and history databases are their owner's alone (0600), -wal and -shm included: they hold
 * every device's spec and every reading, and a daemon's umask (022) would leave them readable by
 * every local user. A database left readable by an older release is tightened when opened.
 */
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HistoryStore, openTwinStore } from '@edgetwin/device-twin';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

const mode = (file: string) => (statSync(file).mode & 0o777).toString(8);

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'edgetwin-private-'));
  chmodSync(dir, 0o755); // as a data dir made under umask 022
  dirs.push(dir);
  return dir;
}

describe('database files', () => {
  it('the twin database and its -wal and -shm files are created 0600 under umask 022', () => {
    const file = join(tempDir(), 'edgetwin.db');
    const old = process.umask(0o022);
    try {
      const store = openTwinStore({ file });
      store.replaceResources([], []); // a write, so the WAL exists
      for (const f of [file, `${file}-wal`, `${file}-shm`]) {
        expect(existsSync(f), f).toBe(true);
        expect([f, mode(f)]).toEqual([f, '600']);
      }
      store.close();
    } finally {
      process.umask(old);
    }
  });

  it('the history database is created 0600, and a 0644 one left by an older release is tightened', () => {
    const dir = tempDir();
    const fresh = join(dir, 'history.db');
    const old = process.umask(0o022);
    try {
      new HistoryStore({ file: fresh }).close();
      expect(mode(fresh)).toBe('600');
      const legacy = join(dir, 'legacy.db');
      writeFileSync(legacy, '');
      chmodSync(legacy, 0o644);
      openTwinStore({ file: legacy }).close();
      expect(mode(legacy)).toBe('600');
    } finally {
      process.umask(old);
    }
  });
});
