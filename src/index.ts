import { ILabShell, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, Notification } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { askAttachLine, insertCell } from './attach';
import { addCommands } from './commands';
import { IDidActions } from './components/DidRow';
import { LakePanel } from './components/LakePanel';
import { acceptDrops, DidDragger } from './dragdrop';
import { lakeIcon } from './icons';
import { loadInKernels } from './kernels';
import { LakeModel } from './model';
import { DEFAULTS, ISettings, PLUGIN_ID } from './settings';
import { pythonSnippet, variableName } from './cells';
import { IDid } from './tokens';

export { lakeIcon };

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Browse, search and attach the Open Data samples of a Rucio lake.',
  autoStart: true,
  requires: [ILabShell, INotebookTracker],
  optional: [ISettingRegistry, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    labShell: ILabShell,
    tracker: INotebookTracker,
    settingRegistry: ISettingRegistry | null,
    palette: ICommandPalette | null
  ) => {
    const model = new LakeModel(message => Notification.error(message, { autoClose: 8000 }));
    let settings: ISettings = { ...DEFAULTS };
    let contextDid: IDid | null = null;

    const currentNotebook = async (): Promise<NotebookPanel> => {
      if (tracker.currentWidget) {
        return tracker.currentWidget;
      }
      const created: NotebookPanel = await app.commands.execute('notebook:create-new', {
        kernelName: 'python3'
      });
      await created.sessionContext.ready;
      return created;
    };

    const attach = async (did: IDid) => {
      const line = await askAttachLine(did.did, settings.defaultMode, settings.streamSchemes);
      if (!line) {
        return;
      }
      const notebook = await currentNotebook();
      labShell.activateById(notebook.id);
      await insertCell(notebook, notebook.content.activeCellIndex + 1, line, true);
    };

    const download = async (did: IDid) => {
      try {
        await model.download(did.did);
      } catch (error) {
        Notification.error(`Cannot download ${did.did}: ${(error as Error).message}`);
      }
    };

    const rowActions: IDidActions = {
      attach: did => void attach(did),
      download: did => void download(did),
      context: did => {
        contextDid = did;
      },
      drag: (did, event) => {
        contextDid = did;
        dragger.press(did.did, event);
      }
    };
    const panel = new LakePanel(model, rowActions);
    const dragger = new DidDragger(panel);
    panel.title.icon = lakeIcon;
    panel.title.caption = 'Open Data Lake';
    labShell.add(panel, 'left', { rank: 400 });

    addCommands(
      app,
      {
        showPanel: () => labShell.activateById(panel.id),
        refresh: async () => {
          await model.refreshInstances();
          await model.loadCatalog();
        },
        attach,
        download,
        snippet: did =>
          pythonSnippet(
            did.did,
            variableName(did.did),
            settings.defaultMode,
            settings.streamSchemes
          ),
        contextDid: () => contextDid
      },
      palette
    );

    tracker.widgetAdded.connect((_, notebook) => {
      loadInKernels(notebook, () => settings);
      acceptDrops(notebook, () => settings);
    });

    if (settingRegistry) {
      settingRegistry
        .load(PLUGIN_ID)
        .then(loaded => {
          const update = () => {
            settings = { ...DEFAULTS, ...(loaded.composite as Partial<ISettings>) };
            model.pageSize = settings.pageSize;
            model.defaultInstance = settings.defaultInstance;
            model.readMode = settings.defaultMode;
            model.streamSchemes = settings.streamSchemes;
          };
          update();
          loaded.changed.connect(update);
        })
        .catch(reason => console.error('Failed to load settings for jupyterlab-odlake.', reason));
    }

    void model.refreshInstances().then(() => model.loadCatalog());
  }
};

export default plugin;
