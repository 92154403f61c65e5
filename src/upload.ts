/**
 * Giving back to the lake from the file browser: "Upload to Open Data Lake…" on files asks
 * what to upload where, starts the upload, and says how it ended.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { ICommandPalette, Notification } from '@jupyterlab/apputils';
import { IFileBrowserFactory } from '@jupyterlab/filebrowser';

import { CommandIDs } from './commands';
import { askUpload } from './dialogs/upload';
import { formatBytes } from './format';
import { ICatalogModel, ILakePanel, ITransfersModel, Transfer } from './tokens';

export interface IUploadOptions {
  catalog: ICatalogModel;
  transfers: ITransfersModel;
  browsers: IFileBrowserFactory | null;
  /** Shown when an upload starts, for its progress. */
  panel: ILakePanel | null;
  palette: ICommandPalette | null;
}

/** The upload command, on the file browser's files (a folder is not uploaded as such) and in the palette. */
export function addUploadCommand(app: JupyterFrontEnd, options: IUploadOptions): void {
  const { catalog, transfers, browsers, panel, palette } = options;

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
    const current = catalog.current;
    const request = await askUpload(
      selectedFiles(),
      current?.account ?? '',
      current?.upload_rse ?? '',
      catalog.catalogKeys()
    );
    if (!request) {
      return;
    }
    panel?.show();
    try {
      await transfers.upload(request);
    } catch (error) {
      Notification.error(`Nothing was uploaded: ${(error as Error).message}`, {
        autoClose: 10000
      });
    }
  };

  app.commands.addCommand(CommandIDs.upload, {
    label: 'Upload to Open Data Lake…',
    caption: 'Upload the selected files into a dataset of yours, with metadata',
    execute: upload
  });
  app.contextMenu.addItem({
    command: CommandIDs.upload,
    selector: '.jp-DirListing-item[data-isdir="false"]',
    rank: 10
  });
  palette?.addItem({ command: CommandIDs.upload, category: 'Open Data Lake' });
  transfers.ended.connect((_, transfer) => {
    if (transfer.kind === 'upload') {
      notifyEnded(transfer);
    }
  });
}

/** Say how an upload ended: done, failed, or stopped with the whole files kept. */
function notifyEnded(u: Transfer): void {
  if (u.state === 'done') {
    Notification.success(
      `Uploaded ${u.files_done} files (${formatBytes(u.bytes_done)}) into ${u.did} on ${u.rse}.`,
      { autoClose: 6000 }
    );
  } else if (u.state === 'failed') {
    Notification.error(`The upload into ${u.did} failed: ${u.errors[0] ?? ''}`);
  } else {
    Notification.info(`Upload into ${u.did} stopped: ${u.files_done} whole files kept.`, {
      autoClose: 6000
    });
  }
}
