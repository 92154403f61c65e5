import { JupyterFrontEnd } from '@jupyterlab/application';
import { Clipboard, ICommandPalette, Notification } from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';

import { pythonSnippet, variableName } from './cells';
import { askDeleteRule, askReplicate } from './dialogs/rules';
import { attachInNotebook } from './notebook';
import {
  ICatalogModel,
  IDid,
  ILakePanel,
  ILakeSettings,
  IRulesModel,
  ITransfersModel
} from './tokens';

export namespace CommandIDs {
  export const open = 'odlake:open';
  export const attach = 'odlake:attach';
  export const download = 'odlake:download';
  export const copyDid = 'odlake:copy-did';
  export const copySnippet = 'odlake:copy-snippet';
  export const refresh = 'odlake:refresh';
  export const upload = 'odlake:upload';
  export const replicate = 'odlake:replicate';
  export const showRules = 'odlake:show-rules';
  export const deleteRule = 'odlake:delete-rule';
}

/** What the commands act with. */
export interface ICommandsOptions {
  catalog: ICatalogModel;
  transfers: ITransfersModel;
  rules: IRulesModel;
  settings: ILakeSettings;
  panel: ILakePanel;
  tracker: INotebookTracker;
  palette: ICommandPalette | null;
}

/** The DID a command acts on: its `did` argument (from the palette or another extension), else the row in focus. */
export function targetDid(args: Record<string, unknown>, fallback: IDid | null): IDid | null {
  if (typeof args.did === 'string' && args.did.includes(':')) {
    const did = args.did;
    const i = did.indexOf(':');
    return {
      did,
      scope: did.slice(0, i),
      name: did.slice(i + 1),
      type: '',
      bytes: null,
      length: null,
      metadata: {},
      adler32: null
    };
  }
  return fallback;
}

/**
 * The commands on DIDs (attach, download, make available, copy) and the panel's (show,
 * refresh, rules), in the palette and on the panel's rows' context menu.
 */
export function addCommands(app: JupyterFrontEnd, options: ICommandsOptions): void {
  const { commands } = app;
  const { catalog, transfers, rules, settings, panel, tracker, palette } = options;

  /** A command on one DID: enabled when there is one, run with it. */
  const onDid = (
    id: string,
    label: string | ((args: Record<string, unknown>) => string),
    run: (did: IDid) => unknown,
    caption = ''
  ) => {
    commands.addCommand(id, {
      label: args => (typeof label === 'string' ? label : label(args)),
      caption,
      isEnabled: args => targetDid(args, panel.contextDid) !== null,
      execute: args => {
        const did = targetDid(args, panel.contextDid);
        return did ? run(did) : undefined;
      }
    });
  };

  commands.addCommand(CommandIDs.open, {
    label: 'Open Data Lake: Show Panel',
    execute: () => panel.show()
  });
  commands.addCommand(CommandIDs.refresh, {
    label: 'Open Data Lake: Refresh',
    execute: () => catalog.refresh()
  });
  onDid(
    CommandIDs.attach,
    args => (args.did ? `Attach ${args.did}` : 'Attach to Notebook'),
    did => attachInNotebook(app, tracker, did.did, settings.current),
    'Insert and run %odlake attach in the current notebook'
  );
  onDid(CommandIDs.download, 'Download (verified, into the cache)', did =>
    download(transfers, did)
  );
  onDid(
    CommandIDs.replicate,
    args => (args.did ? `Make ${args.did} Available on…` : 'Make Available on…'),
    did => replicate(rules, panel, did),
    'Ask Rucio for a copy on an RSE of your choice (a replication rule)'
  );
  commands.addCommand(CommandIDs.showRules, {
    label: 'Open Data Lake: Show My Replication Rules',
    execute: () => panel.show('rules')
  });
  commands.addCommand(CommandIDs.deleteRule, {
    label: 'Delete Rule',
    caption: 'Delete a replication rule of yours (its id: the argument id)',
    execute: args => deleteRule(rules, String(args.id))
  });
  onDid(CommandIDs.copyDid, 'Copy DID', did => Clipboard.copyToSystem(did.did));
  onDid(CommandIDs.copySnippet, 'Copy Python Snippet', did =>
    Clipboard.copyToSystem(
      pythonSnippet(
        did.did,
        variableName(did.did),
        settings.current.defaultMode,
        settings.current.streamSchemes
      )
    )
  );

  const onRows = [
    CommandIDs.attach,
    CommandIDs.download,
    CommandIDs.replicate,
    CommandIDs.copyDid,
    CommandIDs.copySnippet
  ];
  onRows.forEach((command, rank) =>
    app.contextMenu.addItem({ command, selector: '.jp-OdlakeDid', rank })
  );
  for (const command of [CommandIDs.open, CommandIDs.refresh, CommandIDs.showRules, ...onRows]) {
    palette?.addItem({ command, category: 'Open Data Lake' });
  }
}

async function download(transfers: ITransfersModel, did: IDid): Promise<void> {
  try {
    await transfers.download(did.did);
  } catch (error) {
    Notification.error(`Cannot download ${did.did}: ${(error as Error).message}`);
  }
}

/** Ask where to make a DID available, make the rule, and show it among the rules. */
async function replicate(rules: IRulesModel, panel: ILakePanel, did: IDid): Promise<void> {
  const request = await askReplicate(did.did, '');
  if (!request) {
    return;
  }
  try {
    const rule = await rules.replicate(did.did, request.rseExpression, request.lifetimeDays);
    Notification.success(`Rule ${rule.id} for ${rule.did}: ${rule.state}, ${rule.explained}.`, {
      autoClose: 8000
    });
    panel.show('rules');
  } catch (error) {
    Notification.error(`No rule was made: ${(error as Error).message}`, { autoClose: 10000 });
  }
}

/** Ask whether to delete a rule of the list, and delete it. */
async function deleteRule(rules: IRulesModel, id: string): Promise<void> {
  const rule = rules.items?.find(r => r.id === id);
  if (!rule || !(await askDeleteRule(rule))) {
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
}
