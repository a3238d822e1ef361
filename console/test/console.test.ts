/**
 * The console in a real browser (Debian's chromium through playwright-core) against the
 * quickstart: a real edgecore with the supervised mappers and the simulated devices. What a user
 * sees: every device online, a setpoint set in the form reaching the Modbus register (read back
 * with mbpoll), live values without reload, the API's error for an out-of-range value, a history
 * chart with points, a broken devices file listed as a problem. Screenshots: .ci-out/screenshots.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { freePort, missingPeer, waitFor } from '@edgetwin/sdk/testing';
import { CHROMIUM, launchChromium, screenshot, type TestBrowser } from './helpers/browser.js';

const run = promisify(execFile);
const START = resolve(import.meta.dirname, '../../examples/dist/quickstart/start.js');
const skip = missingPeer(CHROMIUM, 'mbpoll');

describe('the web console', () => {
  let child: ChildProcess;
  let out = '';
  let browser: TestBrowser;
  let page: Page;
  const ports = { http: 0, mqtt: 0, modbus: 0, opcua: 0, zigbee: 0 };
  const dataDir = mkdtempSync(join(tmpdir(), 'edgetwin-console-'));
  const base = () => `http://127.0.0.1:${ports.http}`;
  // The quickstart's HTTP API wants a bearer token: the one it wrote for the tour (curl -H @FILE).
  const bearer = () =>
    readFileSync(join(dataDir, 'http-token.header'), 'utf8')
      .trim()
      .replace(/^Authorization:\s*Bearer\s+/i, '');
  const auth = () => ({ authorization: `Bearer ${bearer()}` });
  const mbpoll = async (...args: string[]) =>
    (
      await run('mbpoll', ['-m', 'tcp', '-p', String(ports.modbus), '-a', '1', ...args, '-1', '127.0.0.1'], {
        timeout: 10_000,
      })
    ).stdout;

  beforeAll(async () => {
    if (skip) return;
    for (const k of Object.keys(ports) as (keyof typeof ports)[]) ports[k] = await freePort();
    child = spawn(process.execPath, [START], {
      env: {
        ...process.env,
        EDGETWIN_HTTP_PORT: String(ports.http),
        EDGETWIN_MQTT_PORT: String(ports.mqtt),
        EDGETWIN_MODBUS_PORT: String(ports.modbus),
        EDGETWIN_OPCUA_PORT: String(ports.opcua),
        EDGETWIN_ZIGBEE_PORT: String(ports.zigbee),
        EDGETWIN_DATA_DIR: dataDir,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(() => out.includes('Press Ctrl-C to stop.'), 120_000, 'the quickstart to start').catch(
      (err: unknown) => {
        throw new Error(`${(err as Error).message}; its output:\n${out}`);
      },
    );
    browser = await launchChromium();
    page = await browser.context.newPage();
    await page.setViewportSize({ width: 1280, height: 900 });
  }, 200_000);

  afterAll(async () => {
    await browser?.close();
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGINT');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it.skipIf(skip)('the quickstart prints the console address first', () => {
    const first = out.split('\n').find((l) => l.trim() !== '');
    expect(first).toContain(`Console: open http://127.0.0.1:${ports.http}/`);
  });

  it.skipIf(skip)('the device list shows every quickstart device online', async () => {
    const api = (await (await fetch(`${base()}/api/v1/devices`, { headers: auth() })).json()) as {
      items: { id: string }[];
    };
    expect(api.items.length).toBeGreaterThanOrEqual(7);
    await page.goto(`${base()}/`);
    // The first visit asks for the token; the browser keeps it.
    await page.locator('form.login input[name="token"]').fill(bearer());
    await page.locator('form.login button[type="submit"]').click();
    for (const { id } of api.items) {
      await page
        .locator(`tr[data-device="${id}"] .state`, { hasText: /^online$/ })
        .waitFor({ timeout: 120_000 })
        .catch(async (err: unknown) => {
          await screenshot(page, 'console-devices-not-online');
          throw err;
        });
    }
    await expect(page.locator('tr[data-device]').count()).resolves.toBe(api.items.length);
    await screenshot(page, 'console-devices');
  });

  it.skipIf(skip)('a live value changes on screen without a reload', async () => {
    await page.goto(`${base()}/#/devices/default/thermostat-1`);
    const humidity = page.getByTestId('value-humidity');
    await humidity.filter({ hasText: /\d/ }).waitFor();
    await page.evaluate('window.marker = 42');
    const before = (await humidity.textContent()) ?? '';
    // The simulator moves humidity every 2 s; the page hears it over server-sent events.
    await humidity.filter({ hasNotText: before }).waitFor({ timeout: 30_000 });
    expect(await page.evaluate('window.marker')).toBe(42);
  });

  it.skipIf(skip)('setting the setpoint in the form writes the holding register', async () => {
    const form = page.locator('[data-prop="setpoint"] form');
    await form.locator('input[name="setpoint"]').fill('24.5');
    await form.locator('button[type="submit"]').click();
    await waitFor(
      async () => /\[2\]:\s+245\b/.test(await mbpoll('-t', '4', '-r', '2', '-c', '1')),
      30_000,
      'register 2 to hold 245',
    );
    await page.getByTestId('value-setpoint').filter({ hasText: '24.5' }).waitFor({ timeout: 30_000 });
    // The twin's write status for it, as the mapper reported the outcome.
    await page.getByTestId('desired-setpoint').filter({ hasText: '24.5' }).filter({ hasText: 'applied' }).waitFor();
    await screenshot(page, 'console-device');
  });

  it.skipIf(skip)('a value outside the model range shows the API error', async () => {
    const res = await fetch(`${base()}/api/v1/devices/default/thermostat-1/twin/desired`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/merge-patch+json', ...auth() },
      body: JSON.stringify({ setpoint: 99 }),
    });
    const problem = (await res.json()) as { detail: string; code: string };
    expect(res.status).toBe(422);
    const form = page.locator('[data-prop="setpoint"] form');
    await form.locator('input[name="setpoint"]').fill('99');
    await form.locator('button[type="submit"]').click();
    const alert = form.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toBe(`${problem.detail} ${problem.code}`);
    await screenshot(page, 'console-out-of-range');
  });

  it.skipIf(skip)('the history chart draws points for a property', async () => {
    await page.goto(`${base()}/#/devices/default/thermostat-1`);
    const chart = page.getByTestId('chart-humidity');
    await chart.waitFor();
    // History is written when a 10 s bucket closes; the chart reloads every 10 s.
    await waitFor(async () => Number(await chart.getAttribute('data-points')) >= 2, 60_000, 'history points');
    // Pixels of the avg line's blue (#2563eb) drawn on uPlot's canvas. Two points 10 s apart on a
    // 15 min axis make a short line, so wait for the chart's 10 s reloads to add a few more.
    const bluePixels = () =>
      page.evaluate<number>(`(() => {
      const c = document.querySelector('[data-testid="chart-humidity"] canvas');
      const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < px.length; i += 4) if (px[i + 2] > 180 && px[i] < 90 && px[i + 3] > 200) n++;
      return n;
    })()`);
    await waitFor(async () => (await bluePixels()) > 20, 60_000, 'the avg line drawn on the canvas');
    await chart.screenshot({
      path: join(resolve(import.meta.dirname, '../../.ci-out/screenshots'), 'console-chart.png'),
    });
  });

  it.skipIf(skip)('a broken devices file appears as a problem with its file and field', async () => {
    writeFileSync(
      join(dataDir, 'devices', 'broken.yaml'),
      [
        'apiVersion: devices.kubeedge.io/v1beta1',
        'kind: Device',
        'metadata: { name: broken-1, namespace: default }',
        'spec:',
        '  deviceModelRef: { name: thermostat-model }',
        '  properties: [{ name: setpoint, collectCycle: soon }]',
        '',
      ].join('\n'),
    );
    await page.goto(`${base()}/`);
    const problems = page.getByTestId('load-problems');
    await problems.filter({ hasText: 'broken.yaml' }).waitFor({ timeout: 30_000 });
    expect(await problems.textContent()).toMatch(/collectCycle/);
    await screenshot(page, 'console-problem');
  });

  it.skipIf(skip)('the mappers page lists each protocol process', async () => {
    await page.goto(`${base()}/#/mappers`);
    for (const protocol of ['modbus', 'opcua', 'zigbee', 'bluetooth']) {
      await page.locator(`tr[data-mapper="${protocol}"] .state`, { hasText: 'running' }).waitFor({ timeout: 30_000 });
    }
    await screenshot(page, 'console-mappers');
  });

  it.skipIf(skip)('works on a phone screen', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${base()}/`);
    await page.locator('tr[data-device="default/thermostat-1"]').waitFor();
    // Cards, not a table wider than the screen.
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await screenshot(page, 'console-phone');
  });
});
