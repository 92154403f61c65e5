import { Signal, ISignal } from '@lumino/signaling';

import { requestAPI } from './request';
import {
  ICatalog,
  IDid,
  IDownload,
  IFile,
  IInstance,
  IPage
} from './tokens';

/**
 * The state of the Open Data Lake panel and every call it makes to the server.
 * Views render from it and re-render on `changed`.
 */
export class LakeModel {
  /** Called with each error the server reports, e.g. to show a notification. */
  constructor(private _onError: (message: string) => void = () => undefined) {}

  get changed(): ISignal<LakeModel, void> {
    return this._changed;
  }

  instances: IInstance[] = [];
  instance = '';
  instanceError = '';
  catalog: ICatalog | null = null;
  catalogError = '';
  loadingCatalog = false;

  query = 'opendata:*';
  type = 'collection';
  filters: string[] = [];
  results: IPage<IDid> | null = null;
  searchError = '';
  searching = false;

  downloads: IDownload[] = [];

  pageSize = 100;
  defaultInstance = '';

  async refreshInstances(): Promise<void> {
    try {
      const reply = await requestAPI<{ instances: IInstance[] }>('instances');
      this.instances = reply.instances;
      this.instanceError = '';
      if (!this.instance || !this.instances.find(i => i.name === this.instance)) {
        const preferred =
          this.instances.find(i => i.name === this.defaultInstance) ??
          this.instances.find(i => i.default) ??
          this.instances[0];
        this.instance = preferred?.name ?? '';
      }
    } catch (error) {
      this.instanceError = (error as Error).message;
      this._onError(this.instanceError);
    }
    this._changed.emit();
  }

  get current(): IInstance | undefined {
    return this.instances.find(i => i.name === this.instance);
  }

  async selectInstance(name: string): Promise<void> {
    this.instance = name;
    this.catalog = null;
    this.catalogError = '';
    this.results = null;
    this._changed.emit();
    await this.loadCatalog();
  }

  private _params(extra: Record<string, string | string[] | undefined>): string {
    const params = new URLSearchParams();
    if (this.instance) {
      params.set('instance', this.instance);
    }
    for (const [key, value] of Object.entries(extra)) {
      if (Array.isArray(value)) {
        value.forEach(v => params.append(key, v));
      } else if (value !== undefined) {
        params.set(key, value);
      }
    }
    return params.toString();
  }

  async loadCatalog(): Promise<void> {
    const seq = ++this._catalogSeq;
    this.loadingCatalog = true;
    this._changed.emit();
    try {
      const catalog = await requestAPI<ICatalog>('catalog?' + this._params({}));
      if (seq !== this._catalogSeq) {
        return;
      }
      this.catalog = catalog;
      this.catalogError = '';
    } catch (error) {
      if (seq !== this._catalogSeq) {
        return;
      }
      this.catalog = null;
      this.catalogError = (error as Error).message;
      this._onError(this.catalogError);
    }
    this.loadingCatalog = false;
    this._changed.emit();
  }

  addFilter(filter: string): boolean {
    const f = filter.trim();
    if (!/^[A-Za-z_][\w.]*\s*(==|!=|>=|<=|=|>|<)\s*\S+$/.test(f)) {
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

  /** One page of a search; the parameters are those the search started with. */
  private _searchPage(search: ISearch, cursor?: string): Promise<IPage<IDid>> {
    return requestAPI<IPage<IDid>>(
      'search?' +
        this._params({ ...search, limit: String(this.pageSize), cursor })
    );
  }

  async search(): Promise<void> {
    // only the latest search may show its answer: an earlier, slower one must not win
    const seq = ++this._searchSeq;
    this._search = { q: this.query, type: this.type, filter: this.filters };
    this.searching = true;
    this._changed.emit();
    try {
      const results = await this._searchPage(this._search);
      if (seq !== this._searchSeq) {
        return;
      }
      this.results = results;
      this.searchError = '';
    } catch (error) {
      if (seq !== this._searchSeq) {
        return;
      }
      this.results = null;
      this.searchError = (error as Error).message;
      this._onError(this.searchError);
    }
    this.searching = false;
    this._changed.emit();
  }

  /** The next page of the current results (of the search as it was started, whatever the box holds now). */
  async moreResults(): Promise<void> {
    if (!this.results?.next || !this._search) {
      return;
    }
    const seq = this._searchSeq;
    const page = await this._searchPage(this._search, this.results.next);
    if (seq !== this._searchSeq || !this.results) {
      return;
    }
    this.results = {
      items: [...this.results.items, ...page.items],
      total: page.total,
      next: page.next
    };
    this._changed.emit();
  }

  /** The page of the files of a DID that starts at `offset`. */
  async files(did: string, offset = 0): Promise<IPage<IFile>> {
    const [scope, name] = splitDid(did);
    return requestAPI<IPage<IFile>>(
      `dids/${encodeURIComponent(scope)}/${encodeURIComponent(name)}/files?` +
        this._params({ limit: String(this.pageSize), offset: String(offset) })
    );
  }

  async download(did: string): Promise<IDownload> {
    const record = await requestAPI<IDownload>('downloads', {
      method: 'POST',
      body: JSON.stringify({ did, instance: this.instance })
    });
    this.downloads = [...this.downloads, record];
    this._changed.emit();
    this._poll();
    return record;
  }

  async cancel(id: string): Promise<void> {
    const record = await requestAPI<IDownload>(`downloads/${id}`, {
      method: 'DELETE'
    });
    this._update(record);
  }

  private _update(record: IDownload): void {
    this.downloads = this.downloads.map(d => (d.id === record.id ? record : d));
    this._changed.emit();
  }

  private _poll(): void {
    if (this._polling) {
      return;
    }
    this._polling = true;
    const tick = async () => {
      const active = this.downloads.filter(
        d => d.state === 'resolving' || d.state === 'running'
      );
      for (const d of active) {
        try {
          this._update(await requestAPI<IDownload>(`downloads/${d.id}`));
        } catch {
          // the next tick tries again
        }
      }
      if (this.downloads.some(d => d.state === 'resolving' || d.state === 'running')) {
        setTimeout(tick, 500);
      } else {
        this._polling = false;
      }
    };
    setTimeout(tick, 300);
  }

  private _changed = new Signal<LakeModel, void>(this);
  private _searchSeq = 0;
  private _search: ISearch | null = null;
  private _catalogSeq = 0;
  private _polling = false;
}

interface ISearch {
  q: string;
  type: string;
  filter: string[];
}

export function splitDid(did: string): [string, string] {
  const i = did.indexOf(':');
  return [did.slice(0, i), did.slice(i + 1)];
}
