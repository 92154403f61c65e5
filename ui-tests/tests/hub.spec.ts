import { expect, test } from '@playwright/test';

/**
 * A physicist on the institute's JupyterHub (deploy/jupyterhub): logs in on the hub's page,
 * gets JupyterLab as their own Unix user, and finds the lake in the panel, signed in to
 * Rucio as themselves, with nothing configured in their home.
 */
test('alice logs into the hub and sees the lake in the panel as herself', async ({ page }) => {
  await page.goto('/hub/login');
  await page.locator('#username_input').fill('alice');
  await page.locator('#password_input').fill(process.env.ODLAKE_HUB_UI_PASSWORD ?? '');
  await page.locator('#login_submit').click();
  await page.waitForURL(/\/user\/alice\/lab/, { timeout: 120000 });
  await page.locator('.jp-SideBar [title="Open Data Lake"]').click({ timeout: 120000 });
  const status = page.locator('.jp-OdlakeStatus');
  await expect(status).toHaveAttribute('data-state', 'ok', { timeout: 60000 });
  await expect(status).toHaveAttribute('title', /signed in as alice \(userpass\)/);
  await expect(page.locator('.jp-OdlakeAnalysis[data-analysis="GamGam"]')).toHaveCount(1);
  await page.screenshot({ path: 'test-results/screenshots/hub-alice.png' });
});
