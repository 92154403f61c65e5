import { IDisposable } from '@lumino/disposable';
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import { LakeClient } from './client';
import {
  ICatalog,
  IDid,
  IDownload,
  IFile,
  IInstance,
  IPage,
  IRule,
  isActive,
  IUpload,
  Mode,
  SearchType
} from './tokens';

/** The parameters a search started with; its later pages use them, whatever the search box holds then. */
export interface ISearch {
  q: string;
  type: SearchType;
  filter: string[];
}

/** A metadata filter the server understands: key=value, key>=number, … */
const FILTER = /^[A-Za-z_][\w.]*\s*(==|!=|>=|<=|=|>|<)\s*\S+$/;

/**
 * The files of one DID, paged from the server: the pages under the rows in view are
 * fetched, once each. Views render from `items` and re-render on `changed`.
 */
export class FileListing {
  constructor(
    private _fetch: (offset: number) => Promise<IPage<IFile>>,
    readonly pageSize: number
  ) {}

  get changed(): ISignal<FileListing, void> {
    return this._changed;
  }

  /** One entry a file (undefined until its page came); null before the first page. */
  items: (IFile | undefined)[] | null = null;
  error = '';
  /** How many files there are, once the server has read the listing to its end; else null. */
  total: number | null = null;

  /** "2,100 files" once the end was read, "300+ files" while more may follow. */
  countText(): string {
    if (this.total !== null) {
      return `${this.total.toLocaleString('en')} ${this.total === 1 ? 'file' : 'files'}`;
    }
    const loaded = (this.items ?? []).filter(f => f !== undefined).length;
    return `${loaded.toLocaleString('en')}+ files`;
  }

  /** Fetch the pages that hold rows `start` to `stop`, unless asked for already. */
  async show(start: number, stop: number): Promise<void> {
    const pages = new Set<number>();
    for (let i = start; i <= stop; i++) {
      if (!this.items || this.items[i] === undefined) {
        pages.add(Math.floor(i / this.pageSize));
      }
    }
    await Promise.all([...pages].map(page => this._load(page)));
  }

  private async _load(page: number): Promise<void> {
    if (this._requested.has(page)) {
      return;
    }
    this._requested.add(page);
    try {
      const reply = await this._fetch(page * this.pageSize);
      const items = this.items ? this.items.slice() : [];
      // an unknown total: the list is as long as what came, plus one row that asks for more
      items.length =
        reply.total ??
        Math.max(items.length, page * this.pageSize + reply.items.length + (reply.next ? 1 : 0));
      reply.items.forEach((f, i) => (items[page * this.pageSize + i] = f));
      this.items = items;
      this.total = reply.total ?? this.total;
      this.error = '';
    } catch (error) {
      this._requested.delete(page);
      this.error = (error as Error).message;
    }
    this._changed.emit();
  }

  private _requested = new Set<number>();
  private _changed = new Signal<FileListing, void>(this);
}

/**
 * The state of the Open Data Lake panel and every call it makes to the server.
 * Views render from it, change it through its methods, and re-render on `changed`.
 */
export class LakeModel implements IDisposable {
  /** `onError` is called with each error the server reports, e.g. to show a notification. */
  constructor(
    private _onError: (message: string) => void = () => undefined,
    private _client = new LakeClient()
  ) {
    this._poll = new Poll({
      auto: false,
      factory: () => this._refreshTransfers(),
      frequency: { interval: 500, backoff: false },
      name: 'jupyterlab-odlake:transfers',
      standby: 'never'
    });
  }

  get changed(): ISignal<LakeModel, void> {
    return this._changed;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._poll.dispose();
    Signal.clearData(this);
  }

  /** The panel's view: the catalog, a search, or the account's replication rules. */
  view: 'catalog' | 'search' | 'rules' = 'catalog';

  instances: IInstance[] = [];
  instance = '';
  instanceError = '';
  catalog: ICatalog | null = null;
  catalogError = '';
  loadingCatalog = false;

  query = 'opendata:*';
  type: SearchType = 'collection';
  filters: string[] = [];
  results: IPage<IDid> | null = null;
  searchError = '';
  searching = false;

  downloads: IDownload[] = [];
  uploads: IUpload[] = [];
  /** The rules of the instance's account, once asked for; null before. */
  rules: IRule[] | null = null;
  rulesError = '';

  pageSize = 100;
  defaultInstance = '';
  /** How attached DIDs are read (the settings' mode and stream schemes): file lists say it per file. */
  readMode: Mode = 'auto';
  streamSchemes = '';

  get current(): IInstance | undefined {
    return this.instances.find(i => i.name === this.instance);
  }

  /** The search that the current results belong to. */
  get lastSearch(): ISearch | null {
    return this._search;
  }

  /** How many results, in words: "12 found", "100+ found" while the server has more, or why nothing. */
  resultCount(): string {
    const results = this.results;
    if (!results) {
      return '';
    }
    if (results.total === 0) {
      return 'Nothing found: check the pattern (scope:name with * wildcards) and the filters.';
    }
    return results.total === null ? `${results.items.length}+ found` : `${results.total} found`;
  }

  setView(view: LakeModel['view']): void {
    this.view = view;
    this._changed.emit();
  }

  setQuery(query: string): void {
    this.query = query;
    this._changed.emit();
  }

  setType(type: SearchType): void {
    this.type = type;
    this._changed.emit();
  }

  /** Add a metadata filter chip; false when it is not of a form the server understands. */
  addFilter(filter: string): boolean {
    const f = filter.trim();
    if (!FILTER.test(f)) {
      return false;
    }
    if (!this.filters.includes(f)) {
      this.filters = [...this.filters, f];
      this._changed.emit();
    }
    return true;
  }

  removeFilter(filter: string): void {
    this.filters = this.filters.filter(f => f !== filter);
    this._changed.emit();
  }

  async refreshInstances(): Promise<void> {
    await this._latest(
      'instances',
      () => this._client.instances(),
      (reply, error) => {
        this.instanceError = error;
        if (!reply) {
          return;
        }
        this.instances = reply.instances;
        if (!this.current) {
          const preferred =
            this.instances.find(i => i.name === this.defaultInstance) ??
            this.instances.find(i => i.default) ??
            this.instances[0];
          this.instance = preferred?.name ?? '';
        }
      }
    );
  }

  async selectInstance(name: string): Promise<void> {
    this.instance = name;
    this.catalog = null;
    this.catalogError = '';
    this.results = null;
    this._search = null;
    this.rules = null;
    this._changed.emit();
    await this.loadCatalog();
  }

  async loadCatalog(): Promise<void> {
    this.loadingCatalog = true;
    await this._latest(
      'catalog',
      () => this._client.catalog(this._instance()),
      (catalog, error) => {
        this.catalog = catalog;
        this.catalogError = error;
        this.loadingCatalog = false;
      }
    );
  }

  /** Search with the box's query, type and filters; only the latest search shows its answer. */
  async search(): Promise<void> {
    const search: ISearch = { q: this.query, type: this.type, filter: [...this.filters] };
    this.searching = true;
    await this._latest(
      'search',
      () => this._searchPage(search),
      (results, error) => {
        this.results = results;
        this._search = results ? search : null;
        this.searchError = error;
        this.searching = false;
      }
    );
  }

  /** The next page of the current results, of the search as it was started. */
  async moreResults(): Promise<void> {
    const search = this._search;
    const cursor = this.results?.next;
    if (!search || !cursor || this._loadingMore) {
      return;
    }
    const seq = this._seq.search;
    this._loadingMore = true;
    try {
      const page = await this._searchPage(search, cursor);
      if (seq !== this._seq.search || !this.results || this._isDisposed) {
        return;
      }
      this.results = {
        items: [...this.results.items, ...page.items],
        total: page.total,
        next: page.next
      };
      this._changed.emit();
    } catch (error) {
      this._onError((error as Error).message);
    } finally {
      this._loadingMore = false;
    }
  }

  /** The files of a DID, paged from the server as a view scrolls. */
  fileListing(did: string): FileListing {
    const pageSize = this.pageSize;
    return new FileListing(
      offset =>
        this._client.files(did, {
          ...this._instance(),
          limit: pageSize,
          offset,
          mode: this.readMode,
          scheme: this.streamSchemes || undefined
        }),
      pageSize
    );
  }

  async download(did: string): Promise<IDownload> {
    const record = await this._client.startDownload({ did, instance: this.instance });
    this.downloads = [...this.downloads, record];
    this._changed.emit();
    void this._poll.start();
    return record;
  }

  async cancel(id: string): Promise<void> {
    const record = await this._client.cancelDownload(id);
    this._update(record);
  }

  /**
   * Upload files (paths under the Jupyter root) into `dataset`; the server checks them first
   * (a refusal rejects here, nothing queued), then the panel follows the upload file by file.
   */
  async upload(
    paths: string[],
    dataset: string,
    rse: string,
    metadata: Record<string, string>
  ): Promise<IUpload> {
    const record = await this._client.startUpload({
      paths,
      dataset,
      rse: rse || null,
      metadata,
      instance: this.instance
    });
    this.uploads = [...this.uploads, record];
    this._changed.emit();
    void this._poll.start();
    return record;
  }

  /** Stop an upload after the file in flight: the dataset keeps only whole files. */
  async cancelUpload(id: string): Promise<void> {
    const record = await this._client.cancelUpload(id);
    this._updateUpload(record);
  }

  /** Called with each upload as it ends (done, failed or cancelled). */
  onUploadEnded: (upload: IUpload) => void = () => undefined;

  async loadRules(): Promise<void> {
    try {
      const reply = await this._client.rules(this._instance());
      this.rules = reply.rules;
      this.rulesError = '';
    } catch (error) {
      this.rulesError = (error as Error).message;
    }
    this._changed.emit();
  }

  /** Ask for a rule keeping a copy of `did` on the RSEs of `rseExpression`; the rules reload. */
  async replicate(did: string, rseExpression: string, lifetimeDays: number | null): Promise<IRule> {
    const rule = await this._client.createRule({
      did,
      rse_expression: rseExpression,
      lifetime_days: lifetimeDays,
      instance: this.instance
    });
    await this.loadRules();
    return rule;
  }

  async deleteRule(id: string): Promise<void> {
    await this._client.deleteRule(id, this._instance());
    await this.loadRules();
  }

  private _update(record: IDownload): void {
    this.downloads = this.downloads.map(d => (d.id === record.id ? record : d));
    this._changed.emit();
  }

  private _updateUpload(record: IUpload): void {
    const before = this.uploads.find(u => u.id === record.id);
    this.uploads = this.uploads.map(u => (u.id === record.id ? record : u));
    this._changed.emit();
    if (before && isActive(before) && !isActive(record)) {
      this.onUploadEnded(record);
    }
  }

  private async _refreshTransfers(): Promise<void> {
    for (const d of this.downloads.filter(isActive)) {
      try {
        this._update(await this._client.download(d.id));
      } catch {
        // the next tick tries again
      }
    }
    for (const u of this.uploads.filter(isActive)) {
      try {
        this._updateUpload(await this._client.upload(u.id));
      } catch {
        // the next tick tries again
      }
    }
    if (!this.downloads.some(isActive) && !this.uploads.some(isActive)) {
      void this._poll.stop();
    }
  }

  private _searchPage(search: ISearch, cursor?: string): Promise<IPage<IDid>> {
    return this._client.search({
      ...this._instance(),
      ...search,
      limit: this.pageSize,
      cursor
    });
  }

  /** The instance to ask, when one is chosen (else the server's default). */
  private _instance(): { instance?: string } {
    return this.instance ? { instance: this.instance } : {};
  }

  /**
   * Make a request of one kind; apply its answer (or its error) only if no later request
   * of that kind was made meanwhile, so an earlier, slower answer never wins.
   */
  private async _latest<T>(
    kind: keyof LakeModel['_seq'],
    request: () => Promise<T>,
    apply: (value: T | null, error: string) => void
  ): Promise<void> {
    const seq = ++this._seq[kind];
    this._changed.emit();
    let value: T | null = null;
    let error = '';
    try {
      value = await request();
    } catch (e) {
      error = (e as Error).message;
    }
    if (seq !== this._seq[kind] || this._isDisposed) {
      return;
    }
    apply(value, error);
    if (error) {
      this._onError(error);
    }
    this._changed.emit();
  }

  private _changed = new Signal<LakeModel, void>(this);
  private _seq = { instances: 0, catalog: 0, search: 0 };
  private _search: ISearch | null = null;
  private _loadingMore = false;
  private _poll: Poll;
  private _isDisposed = false;
}
