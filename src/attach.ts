import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { NotebookActions, NotebookPanel } from '@jupyterlab/notebook';
import { Widget } from '@lumino/widgets';

import { whenLoaded } from './kernels';
import { attachLine, isVariableName, variableName } from './cells';
import { Mode, MODES } from './tokens';

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
    for (const m of MODES) {
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

/** Ask for a variable name and a mode; the attach line, or null when cancelled or the name is refused. */
export async function askAttachLine(did: string, mode: Mode, schemes = ''): Promise<string | null> {
  const result = await showDialog({
    title: `Attach ${did}`,
    body: new AttachForm(did, mode),
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Attach' })]
  });
  if (!result.button.accept || !result.value) {
    return null;
  }
  const { name, mode: chosen } = result.value;
  if (!isVariableName(name)) {
    Notification.error(`"${name}" is not a valid Python variable name.`, { autoClose: 5000 });
    return null;
  }
  return attachLine(did, name, chosen, schemes);
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
