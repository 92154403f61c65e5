import { expect, test } from '@jupyterlab/galata';
import { Page } from '@playwright/test';
import { readdirSync, readFileSync } from 'fs';
import * as path from 'path';

/**
 * What a physicist does with the Open Data Lake panel, in a real JupyterLab and a real
 * Chromium, against the demo lake.
 */

test.use({ autoGoto: true });

const lakeHome = process.env.ODLAKE_LAKE_HOME ?? '';

/** The tokens the Jupyter server holds (ui-tests/jupyter_server_test_config.py puts them here): Rucio's,
 * and the sign-in's access tokens and refresh token (ui-tests/prepare_lake.py signs the demo user in). */
function heldTokens(dir: string): string[] {
  const files = readdirSync(dir, { recursive: true, encoding: 'utf-8' });
  const tokens = files
    .filter(f => {
      const name = path.basename(f);
      return (
        (name.startsWith('auth_token_') && !name.startsWith('auth_token_exp')) ||
        /^signin_\w+_token$/.test(name)
      );
    })
    .map(f => readFileSync(path.join(dir, f), 'utf-8').trim());
  const refresh = files
    .filter(f => path.basename(f) === 'signin.json')
    .map(f => JSON.parse(readFileSync(path.join(dir, f), 'utf-8')).refresh_token as string);
  return [...tokens, ...refresh].filter(Boolean);
}

const SHOTS = 'test-results/screenshots';

async function openPanel(page: Page) {
  await page.locator('.jp-SideBar [title="Open Data Lake"]').click();
  await expect(page.locator('#odlake-panel')).toBeVisible();
}

function row(page: Page, did: string) {
  return page.locator(`#odlake-panel .jp-OdlakeDid[data-did="${did}"]`).first();
}

/** Count (and dismiss) the dialogs a page opens: a script run from a name or value would open one. */
function countAlerts(page: Page): { count: number } {
  const alerts = { count: 0 };
  page.on('dialog', async dialog => {
    alerts.count++;
    await dialog.dismiss();
  });
  return alerts;
}

/** Drag a DID's row from the panel and drop it on the notebook's first cell, with the mouse as a person would. */
async function dropOnFirstCell(page: Page, did: string) {
  const from = (await row(page, did).locator('.jp-OdlakeDid-name').boundingBox())!;
  const to = (await page.locator('.jp-NotebookPanel .jp-Cell').first().boundingBox())!;
  await page.mouse.move(from.x + 10, from.y + from.height / 2);
  await page.mouse.down();
  await page.mouse.move(from.x + 40, from.y + 20, { steps: 5 });
  await page.mouse.move(to.x + 80, to.y + to.height / 2, { steps: 20 });
  await page.mouse.up();
}

test.describe('Open Data Lake panel', () => {
  test('shows the instance and the catalog of analyses', async ({ page }) => {
    await openPanel(page);
    await expect(page.locator('.jp-OdlakeStatus')).toHaveAttribute('data-state', 'ok');
    // the demo user is signed in at the lake's provider: the panel says whose storage token it reads with
    await expect(page.locator('#odlake-panel .jp-OdlakeSignedIn')).toHaveText(
      /^Signed in as odlake; storage token until \S+/
    );
    await expect(page.locator('#odlake-panel .jp-OdlakeSignedIn')).toHaveAttribute(
      'data-subject',
      'odlake'
    );
    // each analysis shows once: its container's row, with no heading that repeats the name
    for (const analysis of ['GamGam', '1lep', '4lep']) {
      const group = page.locator(`.jp-OdlakeAnalysis[data-analysis="${analysis}"]`);
      await expect(group).toHaveCount(1);
      await expect(
        group.locator('.jp-OdlakeDid-name', { hasText: new RegExp(`^${analysis}$`) })
      ).toHaveCount(1);
    }
    await expect(page.locator('.jp-OdlakeAnalysis-title')).toHaveCount(0);
    await row(page, 'opendata:GamGam').locator('.jp-OdlakeDid-toggle').click();
    await expect(row(page, 'opendata:GamGam.Data')).toContainText('10 fb⁻¹');
    // the row shows the first fields; hover and the row's details show them all
    await expect(row(page, 'opendata:GamGam.Data')).toHaveAttribute('title', /lumi_fb: 10/);
    await expect(row(page, 'opendata:GamGam.Data')).toHaveAttribute('title', /energy_tev: 13/);
    await row(page, 'opendata:GamGam.Data').locator('.jp-OdlakeDid-toggle').click();
    const details = page.locator('#odlake-panel .jp-OdlakeDetails').last();
    await expect(details).toContainText('n_events');
    await expect(details).toContainText('energy_tev');
    const files = page.locator('#odlake-panel .jp-OdlakeFile');
    await expect(files).toHaveCount(4);
    await expect(files.first()).toContainText('data_A.GamGam.root');
    await expect(files.first()).toContainText('MB');
    await expect(row(page, 'opendata:GamGam.Data')).toHaveAttribute(
      'title',
      /opendata:GamGam\.Data/
    );
    await page.screenshot({ path: `${SHOTS}/catalog.png` });
  });

  test('a pattern and a filter chip narrow the results', async ({ page }) => {
    await openPanel(page);
    await page.locator('.jp-OdlakeTab', { hasText: 'Search' }).click();
    await page.locator('.jp-OdlakeSearch-type').selectOption('all');
    await page.locator('.jp-OdlakeSearch-query').fill('opendata:*GamGam*');
    await page.locator('.jp-OdlakeSearch-query').press('Enter');
    const results = page.locator('#odlake-panel .jp-OdlakeResults .jp-OdlakeDid');
    await expect(page.locator('.jp-OdlakeSearch-count')).toHaveText('12 found');
    await page.locator('.jp-OdlakeSearch-filter').fill('sample_type=mc');
    await page.locator('.jp-OdlakeSearch-filter').press('Enter');
    await expect(page.locator('.jp-OdlakeSearch-count')).toHaveText('6 found');
    await expect(results).toHaveCount(6);
    await expect(row(page, 'opendata:GamGam.MC')).toBeVisible(); // in Rucio's order, not sorted
  });

  test('a word finds the names holding it in every scope', async ({ page }) => {
    await openPanel(page);
    await page.locator('.jp-OdlakeTab', { hasText: 'Search' }).click();
    await page.locator('.jp-OdlakeSearch-query').fill('GamGam');
    await page.locator('.jp-OdlakeSearch-query').press('Enter');
    const results = page.locator('#odlake-panel .jp-OdlakeResults .jp-OdlakeDid');
    await expect(row(page, 'opendata:GamGam.Data')).toBeVisible();
    await expect(row(page, 'opendata:GamGam.MC')).toBeVisible();
    await expect(results).toHaveCount(3); // the container GamGam and its two datasets
  });

  test('searches with a pattern and metadata filter chips', async ({ page }) => {
    await openPanel(page);
    await page.locator('.jp-OdlakeTab', { hasText: 'Search' }).click();
    await page.locator('.jp-OdlakeSearch-type').selectOption('file');
    await page.locator('.jp-OdlakeSearch-query').fill('opendata:*');
    await page.locator('.jp-OdlakeSearch-filter').fill('dsid=343981');
    await page.locator('.jp-OdlakeSearch-filter').press('Enter');
    await expect(page.locator('.jp-OdlakeChip[data-filter="dsid=343981"]')).toBeVisible();
    await expect(page.locator('#odlake-panel .jp-OdlakeResults .jp-OdlakeDid')).toHaveCount(1);
    await expect(row(page, 'opendata:mc_343981.ggH125_gamgam.GamGam.root')).toContainText(
      'ggH125_gamgam'
    );
    await page.screenshot({ path: `${SHOTS}/search.png` });
    await page.locator('.jp-OdlakeChip-remove').click();
    await expect(page.locator('.jp-OdlakeChip')).toHaveCount(0);
    await expect(page.locator('.jp-OdlakeSearch-count')).toContainText('found');
    await page.locator('.jp-OdlakeSearch-filter').fill('not a filter');
    await page.locator('.jp-OdlakeSearch-filter').press('Enter');
    await expect(page.locator('#odlake-panel .jp-OdlakeError')).toContainText('key=value');
  });

  test('a dataset of 2,100 files shows its first page at once and scrolls to its end', async ({
    page
  }) => {
    await openPanel(page);
    await page.locator('.jp-OdlakeTab', { hasText: 'Search' }).click();
    await page.locator('.jp-OdlakeSearch-query').fill('opendata:ui.2100');
    await page.locator('.jp-OdlakeSearch-query').press('Enter');
    await row(page, 'opendata:ui.2100').locator('.jp-OdlakeDid-name').click();
    const list = page.locator('.jp-OdlakeSelected .jp-OdlakeFileList');
    const count = page.locator('.jp-OdlakeSelected .jp-OdlakeFileList-count');
    await expect(list.locator('.jp-OdlakeFile').first()).toContainText('ui.file_');
    await expect(count).toHaveText('100+ files');
    // virtualized: a screenful of rows in the DOM, not thousands
    expect(await list.locator('.jp-OdlakeFile').count()).toBeLessThan(60);
    // each scroll to the end fetches the next page, until the server has read the whole listing
    for (let pages = 1; pages < 30 && (await count.textContent())!.includes('+'); pages++) {
      const before = (await count.textContent())!;
      await list.evaluate(node => (node.scrollTop = node.scrollHeight));
      await expect(count).not.toHaveText(before);
    }
    await expect(count).toHaveText('2,100 files');
    await list.evaluate(node => (node.scrollTop = node.scrollHeight));
    await expect(list.locator('.jp-OdlakeFile').last()).toContainText('ui.file_');
    await page.screenshot({ path: `${SHOTS}/files-scrolled.png` });
  });

  test('each file says how it is read, in the mode and schemes the settings ask for', async ({
    page
  }) => {
    const save = (raw: string) =>
      page.evaluate(
        async r =>
          (window as any).jupyterapp.serviceManager.settings.save('jupyterlab-odlake:plugin', r),
        raw
      );
    const filesOf = async () => {
      await openPanel(page);
      await row(page, 'opendata:GamGam').locator('.jp-OdlakeDid-toggle').click();
      await row(page, 'opendata:GamGam.Data').locator('.jp-OdlakeDid-toggle').click();
      const files = page.locator('#odlake-panel .jp-OdlakeFile');
      await expect(files).toHaveCount(4);
      return files;
    };
    // the defaults: auto mode reads the copy mounted here in place, streams the others over root://
    let files = await filesOf();
    const read = (name: string) => files.filter({ hasText: name }).locator('.jp-OdlakeFile-read');
    await expect(read('data_A.GamGam.root')).toHaveText('in place');
    await expect(read('data_B.GamGam.root')).toHaveText('root');
    await expect(read('data_B.GamGam.root')).toHaveAttribute(
      'title',
      'streamed over root:// from ODLAKE_XROOTD'
    );
    try {
      await save('{ "defaultMode": "stream", "streamSchemes": "https,root" }');
      await page.reload();
      files = await filesOf();
      await expect(files.locator('.jp-OdlakeFile-read', { hasText: /^https$/ })).toHaveCount(4);
      await expect(read('data_A.GamGam.root')).toHaveAttribute(
        'title',
        'streamed over https:// from ODLAKE_HTTP'
      );
      await page.screenshot({ path: `${SHOTS}/files-read-over-http.png` });
    } finally {
      await save('{}');
    }
  });

  test('attach puts a working %odlake cell into the notebook', async ({ page }) => {
    await page.notebook.createNew();
    await openPanel(page);
    await row(page, 'opendata:GamGam').locator('.jp-OdlakeDid-toggle').click();
    await row(page, 'opendata:GamGam.MC').locator('button', { hasText: 'Attach' }).click();
    const dialog = page.locator('.jp-Dialog');
    await expect(dialog.locator('input[aria-label="Variable name"]')).toHaveValue('gamgam_mc');
    await dialog.locator('select[aria-label="Mode"]').selectOption('stream');
    await page.screenshot({ path: `${SHOTS}/attach-dialog.png` });
    await dialog.locator('.jp-mod-accept').click();
    const output = page.locator('.jp-OutputArea-output', {
      hasText: 'gamgam_mc = opendata:GamGam.MC: 5 files'
    });
    await expect(output).toBeVisible({ timeout: 60000 });
    await expect(page.locator('.jp-Cell').first()).toContainText(
      '%odlake attach opendata:GamGam.MC as gamgam_mc --mode stream'
    );
    await page.screenshot({ path: `${SHOTS}/attached.png` });
  });

  test('dragging a dataset onto a notebook inserts an attach cell there', async ({ page }) => {
    await page.notebook.createNew();
    await page.notebook.setCell(0, 'code', 'x = 1');
    await openPanel(page);
    await row(page, 'opendata:GamGam').locator('.jp-OdlakeDid-toggle').click();
    await dropOnFirstCell(page, 'opendata:GamGam.Data');
    const cells = page.locator('.jp-NotebookPanel .jp-Cell');
    await expect(cells).toHaveCount(2);
    // the kernel names the variable: the drop writes only the DID
    await expect(cells.nth(1)).toContainText('%odlake attach opendata:GamGam.Data');
    await expect(cells.nth(1)).not.toContainText(' as ');
    await expect(cells.nth(0)).toContainText('x = 1');
  });

  test('a dropped GamGam.MC cell runs and attaches all its files', async ({ page }) => {
    await page.notebook.createNew();
    await openPanel(page);
    await row(page, 'opendata:GamGam').locator('.jp-OdlakeDid-toggle').click();
    await dropOnFirstCell(page, 'opendata:GamGam.MC');
    // dropped on the new notebook's empty cell: the attach line fills it
    await expect(page.locator('.jp-NotebookPanel .jp-Cell').first()).toContainText(
      '%odlake attach opendata:GamGam.MC'
    );
    await page.notebook.runCell(0);
    await expect(
      page.locator('.jp-OutputArea-output', { hasText: 'gamgam_mc = opendata:GamGam.MC: 5 files' })
    ).toBeVisible();
    const last = (await page.notebook.getCellCount()) - 1;
    await page.notebook.setCell(last, 'code', 'print("files:", len(gamgam_mc.paths))');
    await page.notebook.runCell(last);
    await expect(page.locator('.jp-OutputArea-output', { hasText: 'files: 5' })).toBeVisible();
  });

  test('a dropped DID named like a Python keyword attaches under the name the kernel gives', async ({
    page
  }) => {
    await page.notebook.createNew();
    await openPanel(page);
    await page.locator('.jp-OdlakeTab', { hasText: 'Search' }).click();
    await page.locator('.jp-OdlakeSearch-type').selectOption('dataset');
    await page.locator('.jp-OdlakeSearch-query').fill('opendata:class');
    await page.locator('.jp-OdlakeSearch-query').press('Enter');
    await expect(page.locator('.jp-OdlakeSearch-count')).toHaveText('1 found');
    await dropOnFirstCell(page, 'opendata:class');
    await expect(page.locator('.jp-NotebookPanel .jp-Cell').first()).toContainText(
      '%odlake attach opendata:class'
    );
    await page.notebook.runCell(0);
    await expect(
      page.locator('.jp-OutputArea-output', { hasText: 'class_ = opendata:class: 1 files' })
    ).toBeVisible();
  });

  test('a dead instance shows its error', async ({ page }) => {
    await openPanel(page);
    await page.locator('select[aria-label="Rucio instance"]').selectOption('dead');
    await expect(page.locator('.jp-OdlakeStatus')).toHaveAttribute('data-state', 'error');
    await expect(page.locator('#odlake-panel .jp-OdlakeError').first()).toContainText(
      'cannot be reached'
    );
    await page.screenshot({ path: `${SHOTS}/dead-instance.png` });
  });

  test('metadata is shown as text, never run as HTML', async ({ page }) => {
    const alerts = countAlerts(page);
    await openPanel(page);
    await page.locator('.jp-OdlakeTab', { hasText: 'Search' }).click();
    await page.locator('.jp-OdlakeSearch-query').fill('opendata:ui.hostile');
    await page.locator('.jp-OdlakeSearch-query').press('Enter');
    await expect(row(page, 'opendata:ui.hostile')).toContainText('<img src=x onerror=alert(1)>');
    await expect(row(page, 'opendata:ui.hostile')).toContainText('<b>mc</b>');
    await expect(page.locator('#odlake-panel img[src="x"], #odlake-panel b')).toHaveCount(0);
    expect(alerts.count).toBe(0);
  });

  test('an analysis named in HTML is shown as its text', async ({ page }) => {
    const alerts = countAlerts(page);
    await openPanel(page);
    await page.locator('select[aria-label="Rucio instance"]').selectOption('hostile');
    await expect(page.locator('.jp-OdlakeStatus')).toHaveAttribute('data-state', 'ok');
    await expect(page.locator('.jp-OdlakeAnalysis-title')).toHaveText(
      '<img src=x onerror=alert(1)>'
    );
    await expect(row(page, 'hostile:analysis')).toBeVisible();
    await expect(page.locator('#odlake-panel img[src="x"]')).toHaveCount(0);
    expect(alerts.count).toBe(0);
    await page.locator('select[aria-label="Rucio instance"]').selectOption('demo');
  });

  test('the keyboard moves through the catalog and expands', async ({ page }) => {
    await openPanel(page);
    await row(page, 'opendata:1lep').focus();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    await expect(row(page, 'opendata:GamGam')).toBeFocused();
    await page.keyboard.press('Enter');
    await expect(row(page, 'opendata:GamGam.Data')).toBeVisible();
    await expect(row(page, 'opendata:GamGam')).toHaveAttribute('aria-expanded', 'true');
  });

  test('dark theme', async ({ page }) => {
    await page.theme.setDarkTheme();
    await openPanel(page);
    await row(page, 'opendata:GamGam').locator('.jp-OdlakeDid-toggle').click();
    await row(page, 'opendata:GamGam.Data').locator('.jp-OdlakeDid-toggle').click();
    await expect(page.locator('#odlake-panel .jp-OdlakeFile')).toHaveCount(4);
    await page.screenshot({ path: `${SHOTS}/catalog-dark.png` });
    await page.theme.setLightTheme();
  });

  test('a download shows its progress and ends verified', async ({ page }) => {
    await openPanel(page);
    await row(page, 'opendata:1lep').locator('.jp-OdlakeDid-toggle').click();
    await row(page, 'opendata:1lep.MC').locator('button', { hasText: 'Download' }).click();
    const download = page.locator('.jp-OdlakeDownload').first();
    await expect(download).toHaveAttribute('data-state', 'done');
    await expect(download).toContainText('2/2 files');
    await page.screenshot({ path: `${SHOTS}/download.png` });
  });

  test('files go up from the file browser, show their progress, are found, and get a rule', async ({
    page,
    tmpPath
  }) => {
    const stamp = Date.now().toString(36);
    const hist = `hist-${stamp}.txt`;
    const fit = `fit-${stamp}.txt`;
    const dataset = `user.root:ui.upload.${stamp}`;
    await page.contents.uploadContent('125.0 2.5\n', 'text', `${tmpPath}/${hist}`);
    await page.contents.uploadContent('mass 125.1\n', 'text', `${tmpPath}/${fit}`);
    await page.filebrowser.openDirectory(tmpPath);
    const item = (name: string) => page.locator('.jp-DirListing-item', { hasText: name });
    await item(hist).click();
    await item(fit).click({ modifiers: ['Control'] });
    await item(fit).click({ button: 'right' });
    await page.locator('.lm-Menu-itemLabel', { hasText: 'Upload to Open Data Lake…' }).click();
    const form = page.locator('.jp-Dialog .jp-OdlakeForm');
    await expect(form.locator('textarea[aria-label="Files"]')).toHaveValue(
      new RegExp(`^${tmpPath}/(${hist}\\n${tmpPath}/${fit}|${fit}\\n${tmpPath}/${hist})$`)
    );
    await expect(form.locator('input[aria-label="Dataset"]')).toHaveValue(/^user\.root:/);
    await expect(form.locator('input[aria-label="RSE"]')).toHaveValue('ODLAKE_USERDISK');
    await form.locator('input[aria-label="Dataset"]').fill(dataset);
    await form.locator('textarea[aria-label="Metadata"]').fill(`note=ui${stamp}`);
    await page.screenshot({ path: `${SHOTS}/upload-form.png` });
    await page.locator('.jp-Dialog button', { hasText: 'Upload' }).click();

    // the upload in the panel's transfers: two files, every byte, a full bar
    const upload = page.locator('.jp-OdlakeDownload[data-kind="upload"]', { hasText: dataset });
    await expect(upload).toHaveAttribute('data-state', 'done');
    await expect(upload).toContainText('2/2 files · 21 B of 21 B');
    expect(await upload.locator('progress').evaluate(p => (p as HTMLProgressElement).value)).toBe(
      1
    );
    await page.screenshot({ path: `${SHOTS}/upload-done.png` });

    // found by a search with its metadata
    await page.locator('.jp-OdlakeTab', { hasText: 'Search' }).click();
    await page.locator('.jp-OdlakeSearch-query').fill(`user.root:ui.upload.${stamp}`);
    await page.locator('.jp-OdlakeSearch-filter').fill(`note=ui${stamp}`);
    await page.locator('.jp-OdlakeSearch-form button[type="submit"]').click();
    await expect(row(page, dataset)).toBeVisible();

    // made available on the lake's local RSE: a copy is needed, and the lake has no transfer service
    await row(page, dataset).click({ button: 'right' });
    await page.locator('.lm-Menu-itemLabel', { hasText: 'Make Available on…' }).click();
    await page.locator('.jp-Dialog input[aria-label="RSE expression"]').fill('ODLAKE_LOCAL');
    await page.locator('.jp-Dialog button', { hasText: 'Make available' }).click();
    // the upload's own rule keeps the files on the user disk (OK); the new one is on ODLAKE_LOCAL
    const rule = page
      .locator('.jp-OdlakeRule', { hasText: dataset })
      .filter({ hasText: 'on ODLAKE_LOCAL' });
    await expect(rule.locator('.jp-OdlakeRule-state')).toHaveText('REPLICATING');
    await expect(rule).toContainText('0/2 files there');
    await expect(rule).toContainText("waiting for the lake's transfer service");
    await expect(rule).toContainText('no expiry');
    await page.screenshot({ path: `${SHOTS}/rules.png` });
    await rule.locator('button', { hasText: 'Delete' }).click();
    await page.locator('.jp-Dialog button', { hasText: 'Delete' }).click();
    await expect(rule).toContainText('expires');
  });

  test('commands are in the palette and the context menu', async ({ page }) => {
    await openPanel(page);
    await row(page, 'opendata:GamGam').click({ button: 'right' });
    const menu = page.locator('.lm-Menu');
    for (const label of [
      'Attach to Notebook',
      'Download (verified, into the cache)',
      'Copy DID',
      'Copy Python Snippet'
    ]) {
      await expect(menu.locator('.lm-Menu-itemLabel', { hasText: label })).toBeVisible();
    }
    await page.keyboard.press('Escape');
    await page.keyboard.press('Control+Shift+c');
    await page.locator('.lm-CommandPalette-input').fill('Open Data Lake');
    await expect(
      page.locator('.lm-CommandPalette-item', { hasText: 'Open Data Lake: Refresh' })
    ).toBeVisible();
  });

  test('neither the Rucio password nor a token reaches the browser', async ({ page }) => {
    const bodies: string[] = [];
    page.on('response', async response => {
      if (response.url().includes('/odlake/')) {
        bodies.push(await response.text().catch(() => ''));
      }
    });
    await openPanel(page);
    await page.locator('.jp-OdlakeTab', { hasText: 'Search' }).click();
    await page.locator('.jp-OdlakeSearch-query').fill('GamGam');
    await page.locator('.jp-OdlakeSearch-query').press('Enter');
    await expect(row(page, 'opendata:GamGam.MC')).toBeVisible();
    await row(page, 'opendata:GamGam.MC').locator('button', { hasText: 'Download' }).click();
    await expect(page.locator('.jp-OdlakeDownload').first()).toHaveAttribute('data-state', 'done');
    const stored = await page.evaluate(() =>
      JSON.stringify([{ ...window.localStorage }, { ...window.sessionStorage }, document.cookie])
    );
    const seen = [stored, await page.content(), ...bodies].join('\n');
    const secrets = [readFileSync(path.join(lakeHome, 'etc', 'password'), 'utf-8').trim()];
    secrets.push(...heldTokens(path.join(lakeHome, 'jupyter-state', 'tokens')));
    // the password, Rucio's token, and the sign-in's two access tokens and its refresh token
    expect(secrets.length).toBeGreaterThan(4);
    expect(bodies.length).toBeGreaterThan(3);
    for (const secret of secrets) {
      expect(secret.length).toBeGreaterThanOrEqual(8);
      expect(seen.includes(secret)).toBe(false);
    }
  });
});
