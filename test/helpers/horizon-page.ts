// The lab Horizon (tools/lab/horizon.sh) as a user works it in Chromium (test/helpers/chromium.ts):
// the login form, the header's region menu, the sidebar, a table's cells by their column's header,
// a detail page's overview, a row's action menu and Horizon's confirmation dialog. Everything waits
// on what the page shows (Playwright's auto-waiting locators), never on a clock.
import type { Locator, Page } from 'playwright-core';
import { HORIZON_URL } from './horizon.js';

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** matches a text that is exactly one of `texts` (whitespace around it aside) */
const exactly = (...texts: string[]) => new RegExp(`^\\s*(${texts.map(escape).join('|')})\\s*$`);

/** Fills and sends the login form; resolves once Horizon shows the signed-in header or an error. */
export async function logIn(page: Page, user: string, password: string): Promise<void> {
  await page.goto(`${HORIZON_URL}/auth/login/`);
  await page.getByLabel('User Name').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign In' }).click();
  await page.locator('.user-menu .user-name, .alert-danger').first().waitFor();
}

/** Picks `region` in the header's project/region menu; resolves once the header names it. */
export async function switchRegion(page: Page, region: string): Promise<void> {
  await page.locator('a.dropdown-toggle:has(.context-region)').click();
  await page.locator('.context-selection').getByRole('link', { name: region, exact: true }).click();
  await page.locator('.context-region', { hasText: exactly(region) }).waitFor();
}

/** Opens a panel from the sidebar (Project → `group` → `panel`), unfolding the group when it is folded. */
export async function openPanel(page: Page, group: string, panel: string): Promise<void> {
  const links = page.locator(`#sidebar-accordion-project-${group}`);
  const link = links.getByRole('link', { name: panel, exact: true });
  if (!(await link.isVisible())) await page.locator(`#sidebar [data-target="#sidebar-accordion-project-${group}"]`).click();
  await link.click();
}

/** The data table with this id (Horizon's table name). */
export const dataTable = (page: Page, name: string): Locator => page.locator(`table#${name}`);

/** The body rows of `table` showing `text` in some cell. */
export const rowsWith = (table: Locator, text: string): Locator =>
  table.locator('tbody tr').filter({ has: table.page().locator('td', { hasText: exactly(text) }) });

/** The column headers of `table`, once it is on the page (a tab's table arrives when the tab is clicked). */
async function headers(table: Locator): Promise<string[]> {
  await table.locator('thead th').first().waitFor();
  return (await table.locator('thead th').allInnerTexts()).map((h) => h.trim());
}

/** The cell of `row` under the column headed `header`. */
export async function cell(table: Locator, row: Locator, header: string): Promise<Locator> {
  const all = await headers(table);
  const i = all.indexOf(header);
  if (i < 0) throw new Error(`no column ${header} in ${JSON.stringify(all)}`);
  return row.locator(`td:nth-child(${i + 1})`);
}

/** Every cell of `row` (waited for: exactly one row) as shown, keyed by its column's header (the checkbox column is ''). */
export async function cells(table: Locator, row: Locator): Promise<Record<string, string>> {
  const all = await headers(table);
  await row.waitFor();
  const values = (await row.locator('td').allInnerTexts()).map((v) => v.replace(/\s+/g, ' ').trim());
  return Object.fromEntries(all.map((h, i) => [h, values[i] ?? '']));
}

/** Waits until `cellOf` (a table cell) shows one of `texts`; returns what it shows. */
export async function waitForCell(cellOf: Locator, texts: string[], timeoutMs: number): Promise<string> {
  await cellOf.filter({ hasText: exactly(...texts) }).waitFor({ timeout: timeoutMs });
  return (await cellOf.innerText()).trim();
}

/** The <dt> → <dd> pairs of a detail page's overview, as shown (the first of a repeated label). */
export async function overview(page: Page): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const dt of await page.locator('dl dt').all()) {
    const label = (await dt.innerText()).trim();
    if (!(label in out)) out[label] = (await dt.locator('xpath=following-sibling::dd[1]').innerText()).replace(/\s+/g, ' ').trim();
  }
  return out;
}

/** Horizon's success banners on the page, as text. */
export async function successBanners(page: Page): Promise<string[]> {
  await page.locator('.alert-success').first().waitFor();
  return (await page.locator('.alert-success').allInnerTexts()).map((s) => s.replace(/\s+/g, ' ').trim());
}

/** Clicks `action` in `row`'s action menu (the caret beside its first action), or the row's only button. */
export async function rowAction(row: Locator, action: string): Promise<void> {
  const toggle = row.locator('.actions_column .dropdown-toggle');
  if (await toggle.count()) await toggle.click();
  await row.locator('.actions_column').getByRole('button', { name: action, exact: true }).click();
}

/** Horizon's confirmation dialog: its text, and a click on `confirm`. */
export async function confirmDialog(page: Page, confirm: string): Promise<string> {
  const modal = page.locator('#modal_wrapper .modal');
  await modal.waitFor();
  const text = (await modal.locator('.modal-body').innerText()).replace(/\s+/g, ' ').trim();
  await modal.locator('.modal-footer').getByRole('link', { name: confirm, exact: true }).click();
  await modal.waitFor({ state: 'detached' });
  return text;
}
