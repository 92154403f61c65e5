/**
 * The plugins of the extension. The settings and the models are provided behind the
 * tokens of ./tokens; the panel, the commands, the file browser's upload, the notebooks'
 * drops and the kernels' %odlake each require what they use.
 */
import { ILabShell, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, Notification } from '@jupyterlab/apputils';
import { IFileBrowserFactory } from '@jupyterlab/filebrowser';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { addCommands } from './commands';
import { acceptDrops } from './dragdrop';
import { lakeIcon } from './icons';
import { loadInKernels } from './kernels';
import { CatalogModel } from './models/catalog';
import { RulesModel } from './models/rules';
import { TransfersModel } from './models/transfers';
import { LakeSidebar } from './panel';
import { LakeSettings, PLUGIN_ID } from './settings';
import { ICatalogModel, ILakePanel, ILakeSettings, IRulesModel, ITransfersModel } from './tokens';
import { addUploadCommand } from './upload';

export { lakeIcon };

/** The settings of schema/plugin.json: this plugin's id names them. */
const settings: JupyterFrontEndPlugin<ILakeSettings> = {
  id: PLUGIN_ID,
  description: 'The settings of the Open Data Lake extension.',
  autoStart: true,
  provides: ILakeSettings,
  optional: [ISettingRegistry],
  activate: (app: JupyterFrontEnd, registry: ISettingRegistry | null) => {
    const lakeSettings = new LakeSettings();
    if (registry) {
      void lakeSettings.load(registry);
    }
    return lakeSettings;
  }
};

const catalog: JupyterFrontEndPlugin<ICatalogModel> = {
  id: 'jupyterlab-odlake:catalog',
  description: "The Rucio instances, the chosen one's catalog, searches and file lists.",
  autoStart: true,
  provides: ICatalogModel,
  requires: [ILakeSettings],
  activate: (app: JupyterFrontEnd, settings: ILakeSettings) => {
    const model = new CatalogModel(message => Notification.error(message, { autoClose: 8000 }));
    model.configure(settings.current);
    settings.changed.connect((_, current) => model.configure(current));
    void model.refresh();
    return model;
  }
};

const transfers: JupyterFrontEndPlugin<ITransfersModel> = {
  id: 'jupyterlab-odlake:transfers',
  description: 'The downloads and uploads started in this lab, with their progress.',
  autoStart: true,
  provides: ITransfersModel,
  requires: [ICatalogModel],
  activate: (app: JupyterFrontEnd, catalog: ICatalogModel) =>
    new TransfersModel(() => catalog.instance)
};

const rules: JupyterFrontEndPlugin<IRulesModel> = {
  id: 'jupyterlab-odlake:rules',
  description: "The replication rules of the chosen instance's account.",
  autoStart: true,
  provides: IRulesModel,
  requires: [ICatalogModel],
  activate: (app: JupyterFrontEnd, catalog: ICatalogModel) => new RulesModel(catalog)
};

const panel: JupyterFrontEndPlugin<ILakePanel> = {
  id: 'jupyterlab-odlake:panel',
  description: 'Browse, search and attach the Open Data samples of a Rucio lake.',
  autoStart: true,
  provides: ILakePanel,
  requires: [ILabShell, ICatalogModel, ITransfersModel, IRulesModel],
  activate: (
    app: JupyterFrontEnd,
    shell: ILabShell,
    catalog: ICatalogModel,
    transfers: ITransfersModel,
    rules: IRulesModel
  ) => new LakeSidebar(app, shell, { catalog, transfers, rules })
};

const commands: JupyterFrontEndPlugin<void> = {
  id: 'jupyterlab-odlake:commands',
  description: 'Attach, download, make available and copy DIDs; show the panel and the rules.',
  autoStart: true,
  requires: [
    ILakePanel,
    ICatalogModel,
    ITransfersModel,
    IRulesModel,
    ILakeSettings,
    INotebookTracker
  ],
  optional: [ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    panel: ILakePanel,
    catalog: ICatalogModel,
    transfers: ITransfersModel,
    rules: IRulesModel,
    settings: ILakeSettings,
    tracker: INotebookTracker,
    palette: ICommandPalette | null
  ) => addCommands(app, { catalog, transfers, rules, settings, panel, tracker, palette })
};

const upload: JupyterFrontEndPlugin<void> = {
  id: 'jupyterlab-odlake:upload',
  description: 'Upload files from the file browser into a dataset of the lake.',
  autoStart: true,
  requires: [ICatalogModel, ITransfersModel],
  optional: [IFileBrowserFactory, ILakePanel, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    catalog: ICatalogModel,
    transfers: ITransfersModel,
    browsers: IFileBrowserFactory | null,
    panel: ILakePanel | null,
    palette: ICommandPalette | null
  ) => addUploadCommand(app, { catalog, transfers, browsers, panel, palette })
};

const drops: JupyterFrontEndPlugin<void> = {
  id: 'jupyterlab-odlake:dragdrop',
  description: 'A DID dropped on a notebook becomes a %odlake attach cell.',
  autoStart: true,
  requires: [INotebookTracker, ILakeSettings],
  activate: (app: JupyterFrontEnd, tracker: INotebookTracker, settings: ILakeSettings) => {
    tracker.widgetAdded.connect((_, notebook) => acceptDrops(notebook, () => settings.current));
  }
};

const kernels: JupyterFrontEndPlugin<void> = {
  id: 'jupyterlab-odlake:kernels',
  description: 'Load %odlake in the Python kernels of notebooks, on start and restart.',
  autoStart: true,
  requires: [INotebookTracker, ILakeSettings],
  activate: (app: JupyterFrontEnd, tracker: INotebookTracker, settings: ILakeSettings) => {
    tracker.widgetAdded.connect((_, notebook) => loadInKernels(notebook, () => settings.current));
  }
};

export default [settings, catalog, transfers, rules, panel, commands, upload, drops, kernels];
