import {
  ILabShell,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  Clipboard,
  Dialog,
  ICommandPalette,
  Notification,
  showDialog
} from '@jupyterlab/apputils';
import {
  INotebookTracker,
  NotebookActions,
  NotebookPanel
} from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { LabIcon } from '@jupyterlab/ui-components';
import { MimeData } from '@lumino/coreutils';
import { Drag } from '@lumino/dragdrop';
import { Widget } from '@lumino/widgets';

import { IDidActions } from './components/DidRow';
import { LakePanel } from './components/LakePanel';
import { LakeModel } from './model';
import {
  attachLine,
  DID_MIME,
  IDid,
  isVariableName,
  Mode,
  pythonSnippet,
  variableName
} from './tokens';

const PLUGIN_ID = 'jupyterlab-odlake:plugin';
const LOAD_EXTENSION = '%load_ext jupyterlab_odlake';

const lakeSvg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <ellipse cx="12" cy="6" rx="8" ry="3"/>
    <path d="M4 9c0 1.7 3.6 3 8 3s8-1.3 8-3v3c0 1.7-3.6 3-8 3s-8-1.3-8-3z"/>
    <path d="M4 15c0 1.7 3.6 3 8 3s8-1.3 8-3v3c0 1.7-3.6 3-8 3s-8-1.3-8-3z"/>
  </g>
</svg>`;

export const lakeIcon = new LabIcon({ name: 'odlake:lake', svgstr: lakeSvg });

namespace CommandIDs {
  export const open = 'odlake:open';
  export const attach = 'odlake:attach';
  export const download = 'odlake:download';
  export const copyDid = 'odlake:copy-did';
  export const copySnippet = 'odlake:copy-snippet';
  export const refresh = 'odlake:refresh';
}

interface ISettings {
  defaultInstance: string;
  defaultMode: Mode;
  runDroppedCell: boolean;
  loadExtensionInKernels: boolean;
  pageSize: number;
}

const DEFAULTS: ISettings = {
  defaultInstance: '',
  defaultMode: 'auto',
  runDroppedCell: false,
  loadExtensionInKernels: true,
  pageSize: 100
};

/** The attach form: a variable name (checked) and a mode. */
class AttachForm extends Widget {
  constructor(did: string, mode: Mode) {
    super();
    this.addClass('jp-OdlakeAttachForm');
    const name = document.createElement('input');
    name.className = 'jp-mod-styled';
    name.value = variableName(did);
    name.setAttribute('aria-label', 'Variable name');
    const select = document.createElement('select');
    select.className = 'jp-mod-styled';
    select.setAttribute('aria-label', 'Mode');
    for (const m of ['auto', 'stream', 'download', 'mounted']) {
      const option = document.createElement('option');
      option.value = m;
      option.textContent = m;
      select.appendChild(option);
    }
    select.value = mode;
    const label = (text: string, control: HTMLElement) => {
      const l = document.createElement('label');
      l.textContent = text;
      l.appendChild(control);
      return l;
    };
    this.node.append(label('Variable ', name), label('Mode ', select));
    this._name = name;
    this._mode = select;
  }

  getValue(): { name: string; mode: Mode } {
    return { name: this._name.value.trim(), mode: this._mode.value as Mode };
  }

  private _name: HTMLInputElement;
  private _mode: HTMLSelectElement;
}

/** Put an attach cell into a notebook at `index` (or into its empty active cell), and maybe run it. */
async function insertCell(
  panel: NotebookPanel,
  index: number,
  source: string,
  run: boolean
): Promise<void> {
  const notebook = panel.content;
  const model = notebook.model;
  if (!model) {
    return;
  }
  const active = notebook.activeCell;
  if (
    active &&
    active.model.type === 'code' &&
    active.model.sharedModel.getSource().trim() === '' &&
    index === notebook.activeCellIndex + 1
  ) {
    active.model.sharedModel.setSource(source);
  } else {
    model.sharedModel.insertCell(index, { cell_type: 'code', source });
    notebook.activeCellIndex = index;
  }
  notebook.scrollToItem(notebook.activeCellIndex);
  if (run) {
    await NotebookActions.run(notebook, panel.sessionContext);
  }
}

/** Make sure `%odlake` works in a Python kernel: load the extension on start and restart. */
function loadInKernels(panel: NotebookPanel, settings: () => ISettings): void {
  const context = panel.sessionContext;
  let pending = true;
  const load = async () => {
    const kernel = context.session?.kernel;
    if (!kernel || !pending || !settings().loadExtensionInKernels) {
      return;
    }
    pending = false;
    // sent as soon as the kernel answers: a kernel runs requests in order, so cells run after it see %odlake
    const info = await kernel.info;
    if (info.language_info.name !== 'python') {
      return;
    }
    const reply = await kernel.requestExecute({
      code: LOAD_EXTENSION,
      silent: true,
      store_history: false
    }).done;
    if (reply.content.status === 'error') {
      Notification.warning(
        `The kernel of ${panel.title.label} cannot load odlake (${reply.content.ename}). ` +
          "Install it into that kernel's environment with `%pip install jupyterlab_odlake`, then restart the kernel.",
        { autoClose: false }
      );
    }
  };
  context.kernelChanged.connect(() => {
    pending = true;
    void load();
  });
  context.statusChanged.connect((_, status) => {
    if (status === 'starting' || status === 'restarting' || status === 'autorestarting') {
      pending = true;
    } else if (status === 'idle') {
      void load();
    }
  });
  void context.ready.then(load);
}

/** Accept DIDs dragged from the panel: a code cell `%odlake attach …` where they are dropped. */
function acceptDrops(panel: NotebookPanel, settings: () => ISettings): void {
  const node = panel.content.node;
  const ours = (event: Event) => (event as Drag.Event).mimeData?.hasData(DID_MIME);
  const accept = (event: Event) => {
    if (!ours(event)) {
      return;
    }
    const drag = event as Drag.Event;
    drag.preventDefault();
    drag.stopPropagation();
    drag.dropAction = 'copy';
  };
  node.addEventListener('lm-dragenter', accept, true);
  node.addEventListener('lm-dragover', accept, true);
  node.addEventListener(
    'lm-drop',
    event => {
      if (!ours(event)) {
        return;
      }
      accept(event);
      const drag = event as Drag.Event;
      const did = drag.mimeData.getData(DID_MIME) as string;
      const cells = panel.content.widgets;
      const target = drag.target as HTMLElement;
      let index = cells.findIndex(c => c.node.contains(target));
      index = index === -1 ? cells.length : index + 1;
      const s = settings();
      void insertCell(panel, index, attachLine(did, variableName(did), s.defaultMode), s.runDroppedCell);
    },
    true
  );
}

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
      const current = tracker.currentWidget;
      if (current) {
        return current;
      }
      const created: NotebookPanel = await app.commands.execute('notebook:create-new', {
        kernelName: 'python3'
      });
      await created.sessionContext.ready;
      return created;
    };

    const attach = async (did: IDid) => {
      const form = new AttachForm(did.did, settings.defaultMode);
      const result = await showDialog({
        title: `Attach ${did.did}`,
        body: form,
        buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Attach' })]
      });
      if (!result.button.accept || !result.value) {
        return;
      }
      const { name, mode } = result.value;
      if (!isVariableName(name)) {
        Notification.error(`"${name}" is not a valid Python variable name.`, { autoClose: 5000 });
        return;
      }
      const panel = await currentNotebook();
      labShell.activateById(panel.id);
      const index = panel.content.activeCellIndex + 1;
      await insertCell(panel, index, attachLine(did.did, name, mode), true);
    };

    const download = async (did: IDid) => {
      try {
        await model.download(did.did);
      } catch (error) {
        Notification.error(`Cannot download ${did.did}: ${(error as Error).message}`);
      }
    };

    let dragStart: { x: number; y: number; did: IDid } | null = null;
    const onMove = (event: MouseEvent) => {
      if (!dragStart) {
        return;
      }
      if (Math.abs(event.clientX - dragStart.x) + Math.abs(event.clientY - dragStart.y) < 5) {
        return;
      }
      const did = dragStart.did;
      dragStart = null;
      document.removeEventListener('mousemove', onMove, true);
      const image = document.createElement('div');
      image.className = 'jp-OdlakeDragImage';
      image.textContent = did.did;
      const drag = new Drag({
        mimeData: new MimeData(),
        dragImage: image,
        proposedAction: 'copy',
        supportedActions: 'copy',
        source: panel
      });
      drag.mimeData.setData(DID_MIME, did.did);
      drag.mimeData.setData('text/plain', did.did);
      void drag.start(event.clientX, event.clientY);
    };
    const onUp = () => {
      dragStart = null;
      document.removeEventListener('mousemove', onMove, true);
      document.removeEventListener('mouseup', onUp, true);
    };

    const actions: IDidActions = {
      attach: did => void attach(did),
      download: did => void download(did),
      context: did => {
        contextDid = did;
      },
      drag: (did, event) => {
        if (event.button !== 0) {
          return;
        }
        contextDid = did;
        dragStart = { x: event.clientX, y: event.clientY, did };
        document.addEventListener('mousemove', onMove, true);
        document.addEventListener('mouseup', onUp, true);
      }
    };

    const panel = new LakePanel(model, actions);
    panel.title.icon = lakeIcon;
    panel.title.caption = 'Open Data Lake';
    labShell.add(panel, 'left', { rank: 400 });

    const target = (args: Record<string, unknown>): IDid | null => {
      if (typeof args.did === 'string') {
        const did = args.did;
        return { did, scope: did.split(':')[0], name: did.slice(did.indexOf(':') + 1), type: '', bytes: null, length: null };
      }
      return contextDid;
    };

    app.commands.addCommand(CommandIDs.open, {
      label: 'Open Data Lake: Show Panel',
      execute: () => labShell.activateById(panel.id)
    });
    app.commands.addCommand(CommandIDs.refresh, {
      label: 'Open Data Lake: Refresh',
      execute: async () => {
        await model.refreshInstances();
        await model.loadCatalog();
      }
    });
    app.commands.addCommand(CommandIDs.attach, {
      label: args => (args.did ? `Attach ${args.did}` : 'Attach to Notebook'),
      caption: 'Insert and run %odlake attach in the current notebook',
      isEnabled: args => target(args) !== null,
      execute: args => {
        const did = target(args);
        return did ? attach(did) : undefined;
      }
    });
    app.commands.addCommand(CommandIDs.download, {
      label: 'Download (verified, into the cache)',
      isEnabled: args => target(args) !== null,
      execute: args => {
        const did = target(args);
        return did ? download(did) : undefined;
      }
    });
    app.commands.addCommand(CommandIDs.copyDid, {
      label: 'Copy DID',
      isEnabled: args => target(args) !== null,
      execute: args => {
        const did = target(args);
        if (did) {
          Clipboard.copyToSystem(did.did);
        }
      }
    });
    app.commands.addCommand(CommandIDs.copySnippet, {
      label: 'Copy Python Snippet',
      isEnabled: args => target(args) !== null,
      execute: args => {
        const did = target(args);
        if (did) {
          Clipboard.copyToSystem(pythonSnippet(did.did, variableName(did.did), settings.defaultMode));
        }
      }
    });

    const selector = '.jp-OdlakeDid';
    [CommandIDs.attach, CommandIDs.download, CommandIDs.copyDid, CommandIDs.copySnippet].forEach(
      (command, rank) => app.contextMenu.addItem({ command, selector, rank })
    );
    if (palette) {
      for (const command of [CommandIDs.open, CommandIDs.refresh, CommandIDs.attach, CommandIDs.download,
                             CommandIDs.copyDid, CommandIDs.copySnippet]) {
        palette.addItem({ command, category: 'Open Data Lake' });
      }
    }

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
