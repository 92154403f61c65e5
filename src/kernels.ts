import { Notification } from '@jupyterlab/apputils';
import { NotebookPanel } from '@jupyterlab/notebook';
import { PromiseDelegate } from '@lumino/coreutils';

import { ISettings } from './tokens';

const LOAD_EXTENSION = '%load_ext jupyterlab_odlake';

/** Per notebook: settles once `%odlake` is loaded in its current kernel (or will not be). */
const loaded = new WeakMap<NotebookPanel, Promise<void>>();

/**
 * Wait until `%odlake` is loaded in the notebook's kernel, before running a cell that uses it
 * (at most `timeout` ms: a kernel that never starts must not hold the cell back for ever).
 */
export function whenLoaded(panel: NotebookPanel, timeout = 30000): Promise<void> {
  const done = loaded.get(panel);
  if (!done || !panel.sessionContext.session?.kernel) {
    return Promise.resolve();
  }
  return Promise.race([done, new Promise<void>(resolve => setTimeout(resolve, timeout))]);
}

/** Make sure `%odlake` works in a Python kernel: load the extension on start and restart. */
export function loadInKernels(panel: NotebookPanel, settings: () => ISettings): void {
  const context = panel.sessionContext;
  let pending = true;
  let current = new PromiseDelegate<void>();
  let settled = false;
  loaded.set(panel, current.promise);
  /** A (re)started kernel: cells wait for the next load. */
  const expect = () => {
    pending = true;
    if (settled) {
      current = new PromiseDelegate<void>();
      settled = false;
      loaded.set(panel, current.promise);
    }
  };
  const settle = () => {
    settled = true;
    current.resolve();
  };
  const load = async () => {
    const kernel = context.session?.kernel;
    if (!kernel || !pending) {
      return;
    }
    pending = false;
    try {
      if (!settings().loadExtensionInKernels) {
        return;
      }
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
    } finally {
      settle();
    }
  };
  context.kernelChanged.connect(() => {
    expect();
    void load();
  });
  context.statusChanged.connect((_, status) => {
    if (status === 'starting' || status === 'restarting' || status === 'autorestarting') {
      expect();
    } else if (status === 'idle') {
      void load();
    }
  });
  void context.ready.then(load);
}
