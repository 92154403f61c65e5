/**
 * The Open Data Lake panel in the left sidebar: its rows act through the commands, and it
 * remembers the DID a context menu was opened on, for the commands to act on.
 */
import { ILabShell, JupyterFrontEnd } from '@jupyterlab/application';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import { CommandIDs } from './commands';
import { ILakeModels, LakePanel } from './components/LakePanel';
import { DidDragger } from './dragdrop';
import { lakeIcon } from './icons';
import { IDid, ILakePanel, LakeView } from './tokens';

export class LakeSidebar implements ILakePanel {
  constructor(
    app: JupyterFrontEnd,
    private _shell: ILabShell,
    models: ILakeModels
  ) {
    const run = (command: string, args: ReadonlyPartialJSONObject = {}) =>
      void app.commands.execute(command, args);
    this._widget = new LakePanel(models, {
      attach: did => run(CommandIDs.attach, { did: did.did }),
      download: did => run(CommandIDs.download, { did: did.did }),
      upload: () => run(CommandIDs.upload),
      deleteRule: rule => run(CommandIDs.deleteRule, { id: rule.id }),
      context: did => {
        this._contextDid = did;
      },
      drag: (did, event) => {
        this._contextDid = did;
        this._dragger.press(did.did, event);
      }
    });
    this._dragger = new DidDragger(this._widget);
    this._widget.title.icon = lakeIcon;
    this._widget.title.caption = 'Open Data Lake';
    _shell.add(this._widget, 'left', { rank: 400 });
  }

  get id(): string {
    return this._widget.id;
  }

  get contextDid(): IDid | null {
    return this._contextDid;
  }

  show(view?: LakeView): void {
    if (view) {
      this._widget.setView(view);
    }
    this._shell.activateById(this._widget.id);
  }

  private _widget: LakePanel;
  private _dragger: DidDragger;
  private _contextDid: IDid | null = null;
}
