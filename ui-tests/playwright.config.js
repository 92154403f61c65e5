/**
 * Galata's configuration, run with Debian's chromium (no browser download) against a
 * JupyterLab wired to the demo lake named by ODLAKE_LAKE_HOME.
 */
const baseConfig = require('@jupyterlab/galata/lib/playwright-config');

const port = process.env.ODLAKE_UI_PORT || '8888';
// the JupyterHub of deploy/jupyterhub, when the tests run as root (it spawns servers as alice)
const hubPort = process.env.ODLAKE_HUB_UI_PORT;
const withHub = Boolean(hubPort) && process.getuid && process.getuid() === 0;

module.exports = {
  ...baseConfig,
  timeout: 120000,
  expect: { timeout: 30000 },
  retries: 0,
  workers: 1,
  reporter: [['list'], ['html', { open: 'never' }]],
  use: {
    ...baseConfig.use,
    baseURL: `http://127.0.0.1:${port}`,
    trace: 'retain-on-failure',
    video: 'off',
    launchOptions: {
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync'
      ]
    }
  },
  projects: [
    { name: 'lab', testMatch: 'odlake.spec.ts' },
    ...(withHub
      ? [{ name: 'hub', testMatch: 'hub.spec.ts', use: { baseURL: `http://127.0.0.1:${hubPort}` } }]
      : [])
  ],
  webServer: [
    {
      command: 'jlpm start',
      url: `http://127.0.0.1:${port}/lab`,
      timeout: 120 * 1000,
      reuseExistingServer: false
    },
    ...(withHub
      ? [
          {
            command: 'python hub_server.py',
            url: `http://127.0.0.1:${hubPort}/hub/api`,
            timeout: 180 * 1000,
            reuseExistingServer: false,
            gracefulShutdown: { signal: 'SIGTERM', timeout: 30000 }
          }
        ]
      : [])
  ]
};
