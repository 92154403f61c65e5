import { ISignal, Signal } from '@lumino/signaling';

import { LakeClient } from '../client';
import {
  ICatalog,
  ICatalogModel,
  IDid,
  IFile,
  IFileListing,
  IInstance,
  IPage,
  ISearch,
  ISettings,
  Mode,
  SettingsMode,
  SearchType
} from '../tokens';

/** A metadata filter the server understands: key=value, key>=number, … */
const FILTER = /^[A-Za-z_][\w.]*\s*(==|!=|>=|<=|=|>|<)\s*\S+$/;

/** The files of one DID, paged from the server (see IFileListing). */
export class FileListing implements IFileListing {
  constructor(
    private _fetch: (offset: number) => Promise<IPage<IFile>>,
    readonly pageSize: number
  ) {}

  get changed(): ISignal<FileListing, void> {
    return this._changed;
  }

  items: (IFile | undefined)[] | null = null;
  error = '';
  total: number | null = null;

  countText(): string {
    if (this.total !== null) {
      return `${this.total.toLocaleString('en')} ${this.total === 1 ? 'file' : 'files'}`;
    }
    const loaded = (this.items ?? []).filter(f => f !== undefined).length;
    return `${loaded.toLocaleString('en')}+ files`;
  }

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

/** The instances, the chosen one's catalog, a search and its pages, file lists (see ICatalogModel). */
export class CatalogModel implements ICatalogModel {
  /** `onError` is called with each error the server reports, e.g. to show a notification. */
  constructor(
    private _onError: (message: string) => void = () => undefined,
    private _client = new LakeClient()
  ) {}

  get changed(): ISignal<CatalogModel, void> {
    return this._changed;
  }

  get instanceChanged(): ISignal<CatalogModel, string> {
    return this._instanceChanged;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    Signal.clearData(this);
  }

  instances: IInstance[] = [];
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

  pageSize = 100;
  defaultInstance = '';
  /** The settings' mode; '' for the chosen instance's default. */
  settingsMode: SettingsMode = '';
  streamSchemes = '';

  get readMode(): Mode {
    return this.settingsMode || this.current?.default_mode || 'auto';
  }

  /** Take the settings that say how to page, which instance to prefer and how files are read. */
  configure(settings: ISettings): void {
    this.pageSize = settings.pageSize;
    this.defaultInstance = settings.defaultInstance;
    this.settingsMode = settings.defaultMode;
    this.streamSchemes = settings.streamSchemes;
  }

  get instance(): string {
    return this._instance;
  }

  set instance(name: string) {
    if (name !== this._instance) {
      this._instance = name;
      this._instanceChanged.emit(name);
    }
  }

  get current(): IInstance | undefined {
    return this.instances.find(i => i.name === this.instance);
  }

  get lastSearch(): ISearch | null {
    return this._search;
  }

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

  catalogKeys(): string[] {
    const keys = new Set<string>();
    for (const analysis of this.catalog?.analyses ?? []) {
      for (const container of analysis.containers) {
        for (const did of [container, ...container.datasets]) {
          Object.keys(did.metadata).forEach(k => keys.add(k));
        }
      }
    }
    return [...keys].slice(0, 8);
  }

  setQuery(query: string): void {
    this.query = query;
    this._changed.emit();
  }

  setType(type: SearchType): void {
    this.type = type;
    this._changed.emit();
  }

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

  async refresh(): Promise<void> {
    await this.refreshInstances();
    await this.loadCatalog();
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
    this._changed.emit();
    await this.loadCatalog();
  }

  async loadCatalog(): Promise<void> {
    this.loadingCatalog = true;
    await this._latest(
      'catalog',
      () => this._client.catalog(this._query()),
      (catalog, error) => {
        this.catalog = catalog;
        this.catalogError = error;
        this.loadingCatalog = false;
      }
    );
  }

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

  fileListing(did: string): FileListing {
    const pageSize = this.pageSize;
    return new FileListing(
      offset =>
        this._client.files(did, {
          ...this._query(),
          limit: pageSize,
          offset,
          mode: this.readMode,
          scheme: this.streamSchemes || undefined
        }),
      pageSize
    );
  }

  private _searchPage(search: ISearch, cursor?: string): Promise<IPage<IDid>> {
    return this._client.search({ ...this._query(), ...search, limit: this.pageSize, cursor });
  }

  /** The instance to ask, when one is chosen (else the server's default). */
  private _query(): { instance?: string } {
    return this.instance ? { instance: this.instance } : {};
  }

  /**
   * Make a request of one kind; apply its answer (or its error) only if no later request
   * of that kind was made meanwhile, so an earlier, slower answer never wins.
   */
  private async _latest<T>(
    kind: keyof CatalogModel['_seq'],
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

  private _changed = new Signal<CatalogModel, void>(this);
  private _instanceChanged = new Signal<CatalogModel, string>(this);
  private _instance = '';
  private _seq = { instances: 0, catalog: 0, search: 0 };
  private _search: ISearch | null = null;
  private _loadingMore = false;
  private _isDisposed = false;
}
