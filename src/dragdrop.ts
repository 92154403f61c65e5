import { NotebookPanel } from '@jupyterlab/notebook';
import { Drag } from '@lumino/dragdrop';
import { Widget } from '@lumino/widgets';

import { dragPayload, droppedCell } from './cells';
import { insertCell } from './notebook';
import { DID_MIME, ISettings } from './tokens';

/**
 * Start a lumino drag of a DID once the mouse has moved a few pixels from where it was
 * pressed (a click stays a click).
 */
export class DidDragger {
  constructor(private _source: Widget) {}

  press(did: string, event: { button: number; clientX: number; clientY: number }): void {
    if (event.button !== 0) {
      return;
    }
    this._start = { x: event.clientX, y: event.clientY, did };
    document.addEventListener('mousemove', this._onMove, true);
    document.addEventListener('mouseup', this._onUp, true);
  }

  private _onMove = (event: MouseEvent): void => {
    const start = this._start;
    if (!start || Math.abs(event.clientX - start.x) + Math.abs(event.clientY - start.y) < 5) {
      return;
    }
    this._onUp();
    const image = document.createElement('div');
    image.className = 'jp-OdlakeDragImage';
    image.textContent = start.did;
    const drag = new Drag({
      mimeData: dragPayload(start.did),
      dragImage: image,
      proposedAction: 'copy',
      supportedActions: 'copy',
      source: this._source
    });
    void drag.start(event.clientX, event.clientY);
  };

  private _onUp = (): void => {
    this._start = null;
    document.removeEventListener('mousemove', this._onMove, true);
    document.removeEventListener('mouseup', this._onUp, true);
  };

  private _start: { x: number; y: number; did: string } | null = null;
}

/** Accept DIDs dragged from the panel: a code cell `%odlake attach …` where they are dropped. */
export function acceptDrops(panel: NotebookPanel, settings: () => ISettings): void {
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
      void insertCell(
        panel,
        index,
        droppedCell(did, s.defaultMode, s.streamSchemes),
        s.runDroppedCell
      );
    },
    true
  );
}
