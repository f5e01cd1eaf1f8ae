// Horizon in a real browser: Debian's Chromium, headless, driven by playwright-core
// (test/helpers/chromium.ts), works the lab Horizon with trove-dashboard (tools/lab/horizon.sh) as
// a user does: signs in with the login form, picks the test's region in the header, launches a
// database from Database → Instances with the Launch Instance workflow, waits for the panel's own
// refresh to show it Active, opens its details page (the screenshot is kept: its path is printed),
// then deletes it from its row's menu and sees it gone from trove-ts and from the panel. What the
// HTTP-level horizon.test.ts checks (every tab, the Backups panel, the form's fields) stays there;
// this test adds what only a browser runs: the workflow's modal and tabs, the rows' ajax refresh,
// the action menu and its confirmation dialog.
import test, { type ExecutionContext } from 'ava';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { waitForInstance } from '../helpers/control-plane.js';
import { DEMO } from '../helpers/keystone-lab.js';
import { cloud } from '../helpers/cloud-lab.js';
import { HORIZON_URL, horizonTest } from '../helpers/horizon.js';
import { startHorizonRegion, type HorizonRegion, type NovaFlavor } from '../helpers/horizon-region.js';
import { launchChromium, type Chromium } from '../helpers/chromium.js';
import { artifactsDir } from '../helpers/artifacts.js';
import { descendantsOf } from '../helpers/reap.js';
import {
  cell,
  cells,
  confirmDialog,
  dataTable,
  logIn,
  openPanel,
  overview,
  rowAction,
  rowsWith,
  successBanners,
  switchRegion,
  waitForCell,
} from '../helpers/horizon-page.js';

const REGION = 'trove-ts-test-horizon-browser';
const NAME = 'hzb1';
const it = await horizonTest(test, { browser: true });

let region: HorizonRegion | undefined;
let browser: Chromium | undefined;
let page: Page;
let artifacts: string;
let flavor: NovaFlavor;
let id: string;
let ip: string;

const ramShown = (mb: number) => (mb % 1024 === 0 ? `${mb / 1024}GB` : `${mb}MB`);
const trimmed = (xs: string[]) => xs.map((x) => x.replace(/\s+/g, ' ').trim());

/** A full-page screenshot into the run's artifacts directory; its path is printed. */
async function screenshot(t: ExecutionContext, name: string): Promise<string> {
  const file = path.join(artifacts, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  t.log(`screenshot: ${file}`);
  return file;
}

it.before(async () => {
  region = await startHorizonRegion(REGION);
  flavor = region.flavors[0]!;
  artifacts = artifactsDir('horizon-browser');
  browser = await launchChromium();
  page = browser.page;
});
it.afterEach.always(async (t) => {
  // what the browser showed when a step failed
  if (!t.passed && browser)
    await screenshot(
      t,
      `failed-${t.title
        .replace(/^afterEach.always hook for /, '')
        .replace(/[^a-z0-9]+/gi, '-')
        .slice(0, 60)}`,
    ).catch(() => undefined);
});
it.after.always(async () => {
  await browser?.close();
  await region?.cp.stop();
});

it.serial('signs in with the login form and picks the test region in the header menu', async (t) => {
  await logIn(page, DEMO.name, DEMO.password);
  t.is(new URL(page.url()).pathname, '/project/', `login: ${trimmed(await page.locator('.alert-danger').allInnerTexts()).join('; ')}`);
  t.is((await page.locator('.user-menu .user-name').innerText()).trim(), DEMO.name);
  await switchRegion(page, REGION);
  t.is((await page.locator('.context-project').innerText()).trim(), DEMO.project);
  t.is((await page.locator('.context-region').innerText()).trim(), REGION);
});

it.serial('Database → Instances → Launch Instance: the workflow, filled in as a user does, launches the database', async (t) => {
  await openPanel(page, 'database', 'Instances');
  await page.waitForURL(`${HORIZON_URL}/project/databases/`);
  t.is(await page.title(), 'Instances - OpenStack Dashboard');
  await page.getByRole('link', { name: 'Launch Instance' }).click();
  const modal = page.locator('#modal_wrapper .modal', { has: page.locator('form[action="/project/databases/launch"]') });
  await modal.waitFor();
  t.is((await modal.locator('.modal-title').innerText()).trim(), 'Launch Instance');
  // Details: name, volume, datastore, and the flavor select of that datastore version (Nova's flavors)
  await modal.getByRole('textbox', { name: 'Instance Name', exact: true }).fill(NAME);
  await modal.getByRole('spinbutton', { name: 'Volume Size', exact: true }).fill('1');
  const datastore = modal.getByRole('combobox', { name: 'Datastore', exact: true });
  t.deepEqual(trimmed(await datastore.locator('option').allInnerTexts()), ['mariadb - 10.11']);
  await datastore.selectOption({ label: 'mariadb - 10.11' });
  const flavors = modal.getByRole('combobox', { name: 'Flavor', exact: true });
  t.deepEqual(trimmed(await flavors.locator('option').allInnerTexts()).sort(), region!.flavors.map((f) => f.name).sort());
  await flavors.selectOption({ label: flavor.name });
  // Networking: the lab's network, moved to the selected ones when Horizon did not preselect it
  await modal.getByRole('link', { name: 'Networking' }).click();
  const selected = modal.locator('#selected_network li');
  if ((await selected.filter({ hasText: cloud.CLOUD_NETWORK! }).count()) === 0)
    await modal.locator('#available_network li', { hasText: cloud.CLOUD_NETWORK! }).locator('a.btn').click();
  t.deepEqual(
    trimmed(await selected.allInnerTexts()).map((n) => n.replace(/\(.*\)$/, '')),
    [cloud.CLOUD_NETWORK],
  );
  // Initialize Databases: a database and its user
  await modal.getByRole('link', { name: 'Initialize Databases' }).click();
  await modal.getByRole('textbox', { name: 'Initial Databases', exact: true }).fill('shop');
  await modal.getByRole('textbox', { name: 'Initial Admin User', exact: true }).fill('app');
  await modal.getByRole('textbox', { name: 'Password', exact: true }).fill('App-pass-1');
  await modal.getByRole('button', { name: 'Launch', exact: true }).click();
  t.deepEqual(await successBanners(page), [`Success: Launched instance named "${NAME}".`]);
  t.is(new URL(page.url()).pathname, '/project/databases/');
  const row = rowsWith(dataTable(page, 'databases'), NAME);
  t.is(await row.count(), 1);
  id = (await row.getAttribute('data-object-id'))!;
  // what trove-ts was asked for
  const got = (await region!.api.get(`/instances/${id}`)).data.instance;
  t.is(got?.name, NAME, JSON.stringify(got));
  t.is(got.flavor.id, flavor.id);
  t.is(got.volume.size, 1);
  t.deepEqual([got.datastore.type, got.datastore.version], ['mariadb', '10.11']);
});

it.serial('the panel refreshes the row by itself until Active: name, datastore, version, host, size, volume, statuses', async (t) => {
  const table = dataTable(page, 'databases');
  const row = page.locator(`tr#databases__row__${id}`);
  // Horizon polls a row in a transitional status (Building) and redraws it; no reload
  const status = await waitForCell(await cell(table, row, 'Status'), ['Active', 'Error', 'Failed'], 240_000);
  const instance = (await region!.api.get(`/instances/${id}`)).data.instance;
  t.is(status, 'Active', JSON.stringify(instance));
  ip = String(instance.ip[0]);
  const shown = await cells(table, row);
  t.like(shown, {
    'Instance Name': NAME,
    Datastore: 'mariadb',
    'Datastore Version': '10.11',
    Host: ip,
    Size: `${flavor.name} | ${ramShown(flavor.ram)} RAM`,
    'Replication Status': '-',
    'Volume Size': '1GB',
    Status: 'Active',
    'Operating Status': 'Healthy',
  });
  await screenshot(t, 'instances');
});

it.serial("the instance's details page: its overview as trove-ts has it, its users and databases; the screenshot is kept", async (t) => {
  await page.locator(`tr#databases__row__${id}`).getByRole('link', { name: NAME, exact: true }).click();
  await page.waitForURL(`${HORIZON_URL}/project/databases/${id}/`);
  t.is(await page.title(), `${NAME} - OpenStack Dashboard`);
  t.like(await overview(page), {
    Name: NAME,
    ID: id,
    Datastore: 'mariadb',
    'Datastore Version': '10.11',
    Status: 'Active',
    'Operating Status': 'Healthy',
    Flavor: flavor.name,
    RAM: ramShown(flavor.ram),
    'Volume Size': '1GB',
    Host: ip,
    'Database Port': '3306',
  });
  const file = await screenshot(t, 'details');
  const png = readFileSync(file);
  t.is(png.subarray(1, 4).toString(), 'PNG', file);
  t.true(png.length > 10_000, `${file}: ${png.length} bytes`);
  // the tabs load when clicked: the form's initial database and user, made by the guest
  await page.locator('.nav-tabs').getByRole('link', { name: 'Users', exact: true }).click();
  const users = dataTable(page, 'users');
  t.like(await cells(users, rowsWith(users, 'app')), { 'User Name': 'app', 'Allowed Host': '%', Databases: 'shop' });
  await page.locator('.nav-tabs').getByRole('link', { name: 'Databases', exact: true }).click();
  const databases = dataTable(page, 'databases');
  t.like(await cells(databases, rowsWith(databases, 'shop')), { 'Database Name': 'shop' });
});

it.serial("Delete Instance from the row's menu: confirmed, scheduled, then gone from trove-ts and from the panel", async (t) => {
  await page.locator('.breadcrumb').getByRole('link', { name: 'Instances', exact: true }).click();
  await page.waitForURL(`${HORIZON_URL}/project/databases/`);
  await rowAction(page.locator(`tr#databases__row__${id}`), 'Delete Instance');
  t.is(await confirmDialog(page, 'Delete Instance'), `You have selected: "${NAME}". Please confirm your selection. Deleted instances are not recoverable.`);
  t.deepEqual(await successBanners(page), [`Success: Scheduled deletion of Instance: ${NAME}`]);
  const last = await waitForInstance(region!.api, id, (_i, status) => status === 404);
  t.is(last, undefined);
  t.deepEqual((await region!.api.get('/instances')).data.instances, []);
  await page.reload();
  const table = dataTable(page, 'databases');
  t.is(await page.locator(`tr#databases__row__${id}`).count(), 0);
  t.deepEqual(trimmed(await table.locator('tbody tr').allInnerTexts()), ['No items to display.']);
});

it.serial("Chromium's processes are all found by its profile directory (what reaps them on a crash), and none is left once it closes", async (t) => {
  const own = browser!.processes();
  const started = descendantsOf(process.pid).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('/usr/lib/chromium/');
    } catch {
      return false;
    }
  });
  t.true(started.length >= 3, `Chromium's processes: ${started.join(' ')}`);
  t.deepEqual(
    started.filter((pid) => !own.includes(pid)),
    [],
    'a Chromium process the profile directory does not name',
  );
  await browser!.close();
  t.deepEqual(browser!.processes(), []);
});
