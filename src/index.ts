import {
  ILabShell,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { LabIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { requestAPI } from './request';

const lakeSvg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <ellipse cx="12" cy="6" rx="8" ry="3"/>
    <path d="M4 9c0 1.7 3.6 3 8 3s8-1.3 8-3v3c0 1.7-3.6 3-8 3s-8-1.3-8-3z"/>
    <path d="M4 15c0 1.7 3.6 3 8 3s8-1.3 8-3v3c0 1.7-3.6 3-8 3s-8-1.3-8-3z"/>
  </g>
</svg>`;

export const lakeIcon = new LabIcon({ name: 'odlake:lake', svgstr: lakeSvg });

interface IServerInfo {
  version: string;
}

/**
 * The left-sidebar panel. It shows that the server extension answers; the
 * catalog and search views grow from here.
 */
class LakePanel extends Widget {
  constructor() {
    super();
    this.id = 'odlake-panel';
    this.addClass('jp-OdlakePanel');
    this.title.icon = lakeIcon;
    this.title.caption = 'Open Data Lake';
    const heading = document.createElement('h2');
    heading.textContent = 'Open Data Lake';
    this._status = document.createElement('p');
    this._status.className = 'jp-OdlakePanel-status';
    this._status.textContent = 'Connecting to the server extension…';
    this.node.append(heading, this._status);
  }

  async refresh(): Promise<void> {
    try {
      const info = await requestAPI<IServerInfo>('info');
      this._status.textContent = `odlake server extension ${info.version}`;
    } catch (error) {
      this._status.textContent = `The odlake server extension did not answer: ${
        (error as Error).message
      }`;
    }
  }

  private _status: HTMLParagraphElement;
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyterlab-odlake:plugin',
  description: 'Browse, attach and stream the Open Data samples of a Rucio lake.',
  autoStart: true,
  requires: [ILabShell],
  optional: [ISettingRegistry],
  activate: (
    app: JupyterFrontEnd,
    labShell: ILabShell,
    settingRegistry: ISettingRegistry | null
  ) => {
    const panel = new LakePanel();
    labShell.add(panel, 'left', { rank: 400 });
    void panel.refresh();
    if (settingRegistry) {
      settingRegistry.load(plugin.id).catch(reason => {
        console.error('Failed to load settings for jupyterlab-odlake.', reason);
      });
    }
  }
};

export default plugin;
