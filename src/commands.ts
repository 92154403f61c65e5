import { JupyterFrontEnd } from '@jupyterlab/application';
import { Clipboard, ICommandPalette } from '@jupyterlab/apputils';

import { IDid } from './tokens';

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
}

/** What the commands do; the plugin gives the ways (panel, notebook, model). */
export interface ICommandActions {
  showPanel(): void;
  refresh(): Promise<void>;
  attach(did: IDid): Promise<void>;
  download(did: IDid): Promise<void>;
  snippet(did: IDid): string;
  /** Open the upload form for the files selected in the file browser (any, when none is). */
  upload(): Promise<void>;
  /** Ask where to make a DID available, and create the rule. */
  replicate(did: IDid): Promise<void>;
  showRules(): void;
  /** The DID a context menu was opened on or the row in focus, if any. */
  contextDid(): IDid | null;
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

export function addCommands(
  app: JupyterFrontEnd,
  actions: ICommandActions,
  palette: ICommandPalette | null
): void {
  const { commands } = app;
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
      isEnabled: args => targetDid(args, actions.contextDid()) !== null,
      execute: args => {
        const did = targetDid(args, actions.contextDid());
        return did ? run(did) : undefined;
      }
    });
  };

  commands.addCommand(CommandIDs.open, {
    label: 'Open Data Lake: Show Panel',
    execute: () => actions.showPanel()
  });
  commands.addCommand(CommandIDs.refresh, {
    label: 'Open Data Lake: Refresh',
    execute: () => actions.refresh()
  });
  onDid(
    CommandIDs.attach,
    args => (args.did ? `Attach ${args.did}` : 'Attach to Notebook'),
    actions.attach,
    'Insert and run %odlake attach in the current notebook'
  );
  onDid(CommandIDs.download, 'Download (verified, into the cache)', actions.download);
  onDid(
    CommandIDs.replicate,
    args => (args.did ? `Make ${args.did} Available on…` : 'Make Available on…'),
    actions.replicate,
    'Ask Rucio for a copy on an RSE of your choice (a replication rule)'
  );
  commands.addCommand(CommandIDs.upload, {
    label: 'Upload to Open Data Lake…',
    caption: 'Upload the selected files into a dataset of yours, with metadata',
    execute: () => actions.upload()
  });
  commands.addCommand(CommandIDs.showRules, {
    label: 'Open Data Lake: Show My Replication Rules',
    execute: () => actions.showRules()
  });
  // the file browser's context menu, on files (a folder is not uploaded as such)
  app.contextMenu.addItem({
    command: CommandIDs.upload,
    selector: '.jp-DirListing-item[data-isdir="false"]',
    rank: 10
  });
  onDid(CommandIDs.copyDid, 'Copy DID', did => Clipboard.copyToSystem(did.did));
  onDid(CommandIDs.copySnippet, 'Copy Python Snippet', did =>
    Clipboard.copyToSystem(actions.snippet(did))
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
  for (const command of [
    CommandIDs.open,
    CommandIDs.refresh,
    CommandIDs.upload,
    CommandIDs.showRules,
    ...onRows
  ]) {
    palette?.addItem({ command, category: 'Open Data Lake' });
  }
}
