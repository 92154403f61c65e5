/**
 * DIDs into notebooks: the notebook to put a cell in, the cell put in and run once
 * %odlake is loaded, the attach dialog's line in the current notebook.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { INotebookTracker, NotebookActions, NotebookPanel } from '@jupyterlab/notebook';

import { askAttachLine } from './dialogs/attach';
import { whenLoaded } from './kernels';
import { ISettings } from './tokens';

/** The notebook in focus, or a new Python notebook when there is none. */
export async function currentNotebook(
  app: JupyterFrontEnd,
  tracker: INotebookTracker
): Promise<NotebookPanel> {
  if (tracker.currentWidget) {
    return tracker.currentWidget;
  }
  const created: NotebookPanel = await app.commands.execute('notebook:create-new', {
    kernelName: 'python3'
  });
  await created.sessionContext.ready;
  return created;
}

/** Ask how to attach `did`, then put the line under the active cell of the current notebook and run it. */
export async function attachInNotebook(
  app: JupyterFrontEnd,
  tracker: INotebookTracker,
  did: string,
  settings: ISettings
): Promise<void> {
  const line = await askAttachLine(did, settings.defaultMode, settings.streamSchemes);
  if (!line) {
    return;
  }
  const notebook = await currentNotebook(app, tracker);
  app.shell.activateById(notebook.id);
  await insertCell(notebook, notebook.content.activeCellIndex + 1, line, true);
}

/** Put a cell into a notebook at `index` (or into its empty active cell there), and maybe run it. */
export async function insertCell(
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
    await whenLoaded(panel);
    await NotebookActions.run(notebook, panel.sessionContext);
  }
}
