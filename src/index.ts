import { ILabShell, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, Notification } from '@jupyterlab/apputils';
import { IFileBrowserFactory } from '@jupyterlab/filebrowser';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { addCommands } from './commands';
import { IPanelActions, LakePanel } from './components/LakePanel';
import { acceptDrops, DidDragger } from './dragdrop';
import { askDeleteRule, askReplicate } from './dialogs/rules';
import { askUpload } from './dialogs/upload';
import { lakeIcon } from './icons';
import { loadInKernels } from './kernels';
import { attachInNotebook } from './notebook';
import { CatalogModel } from './models/catalog';
import { RulesModel } from './models/rules';
import { TransfersModel } from './models/transfers';
import { LakeSettings, PLUGIN_ID } from './settings';
import { pythonSnippet, variableName } from './cells';
import { formatBytes, IDid, IRule, Transfer } from './tokens';

export { lakeIcon };

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Browse, search and attach the Open Data samples of a Rucio lake.',
  autoStart: true,
  requires: [ILabShell, INotebookTracker],
  optional: [ISettingRegistry, ICommandPalette, IFileBrowserFactory],
  activate: (
    app: JupyterFrontEnd,
    labShell: ILabShell,
    tracker: INotebookTracker,
    settingRegistry: ISettingRegistry | null,
    palette: ICommandPalette | null,
    browsers: IFileBrowserFactory | null
  ) => {
    const model = new CatalogModel(message => Notification.error(message, { autoClose: 8000 }));
    const transfers = new TransfersModel(() => model.instance);
    const rules = new RulesModel(model);
    const lakeSettings = new LakeSettings();
    let settings = lakeSettings.current;
    lakeSettings.changed.connect((_, current) => {
      settings = current;
      model.configure(current);
    });
    let contextDid: IDid | null = null;

    const attach = (did: IDid) => attachInNotebook(app, tracker, did.did, settings);

    const download = async (did: IDid) => {
      try {
        await transfers.download(did.did);
      } catch (error) {
        Notification.error(`Cannot download ${did.did}: ${(error as Error).message}`);
      }
    };

    /** The files selected in the file browser, as paths under the Jupyter root. */
    const selectedFiles = (): string[] => {
      const browser = browsers?.tracker.currentWidget;
      if (!browser) {
        return [];
      }
      return Array.from(browser.selectedItems())
        .filter(item => item.type !== 'directory')
        .map(item => item.path);
    };

    const upload = async () => {
      const current = model.current;
      const request = await askUpload(
        selectedFiles(),
        current?.account ?? '',
        current?.upload_rse ?? '',
        model.catalogKeys()
      );
      if (!request) {
        return;
      }
      labShell.activateById(panel.id);
      try {
        await transfers.upload(request);
      } catch (error) {
        Notification.error(`Nothing was uploaded: ${(error as Error).message}`, {
          autoClose: 10000
        });
      }
    };
    transfers.ended.connect((_, u: Transfer) => {
      if (u.kind !== 'upload') {
        return;
      }
      if (u.state === 'done') {
        Notification.success(
          `Uploaded ${u.files_done} files (${formatBytes(u.bytes_done)}) into ${u.dataset} on ${u.rse}.`,
          { autoClose: 6000 }
        );
      } else if (u.state === 'failed') {
        Notification.error(`The upload into ${u.dataset} failed: ${u.errors[0] ?? ''}`);
      } else {
        Notification.info(`Upload into ${u.dataset} stopped: ${u.files_done} whole files kept.`, {
          autoClose: 6000
        });
      }
    });

    const replicate = async (did: IDid) => {
      const request = await askReplicate(did.did, '');
      if (!request) {
        return;
      }
      try {
        const rule = await rules.replicate(did.did, request.rseExpression, request.lifetimeDays);
        Notification.success(`Rule ${rule.id} for ${rule.did}: ${rule.state}, ${rule.explained}.`, {
          autoClose: 8000
        });
        panel.setView('rules');
        labShell.activateById(panel.id);
      } catch (error) {
        Notification.error(`No rule was made: ${(error as Error).message}`, { autoClose: 10000 });
      }
    };

    const deleteRule = async (rule: IRule) => {
      if (!(await askDeleteRule(rule))) {
        return;
      }
      try {
        await rules.deleteRule(rule.id);
        Notification.info(`Rule ${rule.id} deleted: it expires within the hour.`, {
          autoClose: 6000
        });
      } catch (error) {
        Notification.error((error as Error).message, { autoClose: 10000 });
      }
    };

    const rowActions: IPanelActions = {
      upload: () => void upload(),
      deleteRule: rule => void deleteRule(rule),
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
    const panel = new LakePanel({ catalog: model, transfers, rules }, rowActions);
    const dragger = new DidDragger(panel);
    panel.title.icon = lakeIcon;
    panel.title.caption = 'Open Data Lake';
    labShell.add(panel, 'left', { rank: 400 });

    addCommands(
      app,
      {
        showPanel: () => labShell.activateById(panel.id),
        refresh: () => model.refresh(),
        attach,
        download,
        snippet: did =>
          pythonSnippet(
            did.did,
            variableName(did.did),
            settings.defaultMode,
            settings.streamSchemes
          ),
        contextDid: () => contextDid,
        upload,
        replicate,
        showRules: () => {
          panel.setView('rules');
          labShell.activateById(panel.id);
        }
      },
      palette
    );

    tracker.widgetAdded.connect((_, notebook) => {
      loadInKernels(notebook, () => settings);
      acceptDrops(notebook, () => settings);
    });

    if (settingRegistry) {
      void lakeSettings.load(settingRegistry);
    }

    void model.refresh();
  }
};

export default plugin;
