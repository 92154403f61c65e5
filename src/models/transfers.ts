import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import { LakeClient } from '../client';
import {
  IDownload,
  IDownloadJob,
  isActive,
  ITransfersModel,
  IUpload,
  IUploadJob,
  IUploadRequest,
  Transfer
} from '../tokens';

/** How often the progress of active transfers is read, in ms. */
export const INTERVAL = 500;

/** A record the server answered, as the transfer of its kind. */
function job(kind: 'download', record: IDownload): IDownloadJob;
function job(kind: 'upload', record: IUpload): IUploadJob;
function job(kind: Transfer['kind'], record: IDownload | IUpload): Transfer {
  return { ...record, kind } as Transfer;
}

/**
 * The downloads and uploads started here, in one list. One poll follows them while any
 * is active (every half second), and stops when none is; a new transfer starts it again.
 */
export class TransfersModel implements ITransfersModel {
  /** `instance` says which instance new transfers go to (the one the panel has chosen). */
  constructor(
    private _instance: () => string,
    private _client = new LakeClient()
  ) {
    this._poll = new Poll({
      auto: false,
      factory: () => this.refresh(),
      frequency: { interval: INTERVAL, backoff: false },
      name: 'jupyterlab-odlake:transfers',
      standby: 'never'
    });
  }

  get changed(): ISignal<TransfersModel, void> {
    return this._changed;
  }

  get ended(): ISignal<TransfersModel, Transfer> {
    return this._ended;
  }

  get jobs(): readonly Transfer[] {
    return this._jobs;
  }

  get isDisposed(): boolean {
    return this._poll.isDisposed;
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._poll.dispose();
    Signal.clearData(this);
  }

  async download(did: string): Promise<IDownloadJob> {
    const record = await this._client.startDownload({ did, instance: this._instance() });
    return this._add(job('download', record));
  }

  async upload(request: IUploadRequest): Promise<IUploadJob> {
    const record = await this._client.startUpload({
      paths: request.paths,
      dataset: request.dataset,
      rse: request.rse || null,
      metadata: request.metadata,
      instance: this._instance()
    });
    return this._add(job('upload', record));
  }

  async cancel(transfer: Transfer): Promise<void> {
    this._update(
      transfer.kind === 'download'
        ? job('download', await this._client.cancelDownload(transfer.id))
        : job('upload', await this._client.cancelUpload(transfer.id))
    );
  }

  /** Read the progress of every active transfer once; stop polling when none is active. */
  async refresh(): Promise<void> {
    for (const transfer of this._jobs.filter(isActive)) {
      try {
        this._update(
          transfer.kind === 'download'
            ? job('download', await this._client.download(transfer.id))
            : job('upload', await this._client.upload(transfer.id))
        );
      } catch {
        // the next tick tries again
      }
    }
    if (!this._jobs.some(isActive)) {
      void this._poll.stop();
    }
  }

  private _add<T extends Transfer>(transfer: T): T {
    this._jobs = [...this._jobs, transfer];
    this._changed.emit();
    void this._poll.start();
    return transfer;
  }

  /** Put a later record of a transfer in its place; say so once when it has ended. */
  private _update(transfer: Transfer): void {
    const same = (t: Transfer) => t.kind === transfer.kind && t.id === transfer.id;
    const before = this._jobs.find(same);
    if (!before || this.isDisposed) {
      return;
    }
    this._jobs = this._jobs.map(t => (same(t) ? transfer : t));
    this._changed.emit();
    if (isActive(before) && !isActive(transfer)) {
      this._ended.emit(transfer);
    }
  }

  private _jobs: Transfer[] = [];
  private _poll: Poll;
  private _changed = new Signal<TransfersModel, void>(this);
  private _ended = new Signal<TransfersModel, Transfer>(this);
}
