/**
 * What the odlake REST API answers, as the frontend uses it, and what the plugins share:
 * the settings, the models and the panel, each behind a Token.
 */
import { Token } from '@lumino/coreutils';
import { IDisposable } from '@lumino/disposable';
import { ISignal } from '@lumino/signaling';

import type { components, paths } from './generated/openapi';

/*
 * What the REST API answers and reads, as the frontend names it. Every type here is taken
 * from the API's description (jupyterlab_odlake/server/openapi.json, the records' schemas
 * made from jupyterlab_odlake/core/records.py), which `jlpm build` turns into
 * ./generated/openapi.ts: a field changed on the server is changed here.
 */

type Schemas = components['schemas'];
type Operation<P extends keyof paths, M extends string> = M extends keyof paths[P]
  ? NonNullable<paths[P][M]>
  : never;
type Json<R> = R extends { content: { 'application/json': infer J } } ? J : never;
/** The JSON a route answers with `status`. */
export type Reply<P extends keyof paths, M extends string, S extends number = 200> =
  Operation<P, M> extends { responses: infer R } ? (S extends keyof R ? Json<R[S]> : never) : never;
/** The query a route reads (never when it reads none). */
export type Query<P extends keyof paths, M extends string> =
  Operation<P, M> extends { parameters: { query?: infer Q } } ? NonNullable<Q> : never;
/** The JSON body a route reads. */
export type Body<P extends keyof paths, M extends string> =
  Operation<P, M> extends { requestBody: infer B } ? Json<B> : never;

export type Mode = Schemas['Mode'];
export type DidType = Schemas['DIDType'];
export type Metadata = Schemas['Metadata'];
/** The modes, in the order the attach dialog offers them (the kernel's MODES, the settings' enum). */
export const MODES: Mode[] = ['auto', 'stream', 'download', 'mounted'];

export const DID_MIME = 'application/x-odlake-did';

export type IError = Schemas['Error'];
export type IInfo = Schemas['Info'];
export type IInstance = Schemas['Instance'];
export type IDid = Schemas['DID'];
export type IFile = Schemas['File'];
/** How a file would be read in the mode the list was asked for. */
export type IFileRead = Schemas['FileRead'];
/** A page of a listing, of any item; `total` is null while the server has not reached its end. */
export type IPage<T> = Omit<Schemas['PageOfDIDs'], 'items'> & { items: T[] };
export type IPageOfDids = Schemas['PageOfDIDs'];
export type IPageOfFiles = Schemas['PageOfFiles'];
export type ICatalogContainer = Schemas['CatalogContainer'];
export type ICatalog = Schemas['Catalog'];

/** A transfer job, either direction: a download of a DID into the cache, or an upload into a dataset. */
export type ITransfer = Schemas['Transfer'];
export type TransferState = ITransfer['state'];
export type IUploadedFile = Schemas['UploadedFile'];
/** A download: files come into the cache in parallel, each verified. */
export type IDownload = ITransfer;
/** An upload: files go one after another, each verified and registered before the next. */
export type IUpload = ITransfer;

/** A replication rule of the user's account. */
export type IRule = Schemas['Rule'];
/** Where and how one file of a DID is read in a mode, and the other ways to read it. */
export type ILocation = Schemas['Location'];
export type IAlternative = Schemas['Alternative'];
/** One file of an attach, resolved: where it is read, or why it cannot be (kind null). */
export type IResolved = Schemas['Resolved'];
/** An attach resolved from one listing, with the download of what the cache lacks. */
export type IAttachment = Schemas['Attachment'];
/** What a kernel needs to read an attach's files from storage that authenticates: where the
 * token is kept and which CA to trust (paths on the server's machine, never a credential). */
export type IReadAccess = Schemas['ReadAccess'];
/** Whose sign-in an instance uses (odlake login) and until when its storage token lives; never a token. */
export type ISignedIn = Schemas['SignedIn'];
/** The cached copies of a DID's files re-checked in full (adler32); bad ones were removed. */
export type ICacheCheck = Schemas['CacheCheck'];

/* What each route answers, and what its query and body hold (src/client.ts sends and reads these). */

export type IInstances = Reply<'/instances', 'get'>;
export type ISearchPage = Reply<'/search', 'get'>;
export type IDidReply = Reply<'/dids/{scope}/{name}', 'get'>;
export type IFilesPage = Reply<'/dids/{scope}/{name}/files', 'get'>;
export type IReplicas = Reply<'/dids/{scope}/{name}/replicas', 'get'>;
export type IDownloads = Reply<'/downloads', 'get'>;
export type IUploads = Reply<'/uploads', 'get'>;
export type IRules = Reply<'/rules', 'get'>;
export type IRuleCreated = Reply<'/rules', 'post', 201>;
export type IRuleDeleted = Reply<'/rules/{rule_id}', 'delete'>;

export type IInstanceQuery = Query<'/catalog', 'get'>;
export type ISearchQuery = Query<'/search', 'get'>;
/** What the search route looks for: collection is datasets and containers. */
export type SearchType = NonNullable<ISearchQuery['type']>;
export type IFilesQuery = Query<'/dids/{scope}/{name}/files', 'get'>;
export type IReplicasQuery = Query<'/dids/{scope}/{name}/replicas', 'get'>;

/** What an attach asks the server to resolve (POST /dids/{scope}/{name}/attach). */
export type IAttachBody = Body<'/dids/{scope}/{name}/attach', 'post'>;
export type IVerifyBody = Body<'/dids/{scope}/{name}/verify', 'post'>;
export type IDownloadBody = Body<'/downloads', 'post'>;
export type IUploadBody = Body<'/uploads', 'post'>;
export type IRuleBody = Body<'/rules', 'post'>;

export function isActive(download: IDownload | IUpload): boolean {
  return download.state === 'resolving' || download.state === 'running';
}

/*
 * What the plugins share. One plugin provides each token (src/index.ts); the others require it.
 */

/** The panel's settings (schema/plugin.json), as the plugins read them. */
/** A mode the settings name, or '' for the instance's own default mode (the server's configuration). */
export type SettingsMode = Mode | '';

export interface ISettings {
  defaultInstance: string;
  defaultMode: SettingsMode;
  /** Stream schemes, preferred first ("root,http"); empty for the server's order. */
  streamSchemes: string;
  runDroppedCell: boolean;
  loadExtensionInKernels: boolean;
  pageSize: number;
}

/** The settings as they are now, and a signal when the user changes them. */
export interface ILakeSettings {
  readonly current: ISettings;
  readonly changed: ISignal<ILakeSettings, ISettings>;
}

export const ILakeSettings = new Token<ILakeSettings>(
  'jupyterlab-odlake:ILakeSettings',
  'The settings of the Open Data Lake extension.'
);

/** The parameters a search started with; its later pages use them, whatever the search box holds then. */
export interface ISearch {
  q: string;
  type: SearchType;
  filter: string[];
}

/**
 * The files of one DID, paged from the server: the pages under the rows in view are
 * fetched, once each. Views render from `items` and re-render on `changed`.
 */
export interface IFileListing {
  readonly changed: ISignal<IFileListing, void>;
  /** One entry a file (undefined until its page came); null before the first page. */
  readonly items: (IFile | undefined)[] | null;
  readonly error: string;
  /** How many files there are, once the server has read the listing to its end; else null. */
  readonly total: number | null;
  /** "2,100 files" once the end was read, "300+ files" while more may follow. */
  countText(): string;
  /** Fetch the pages that hold rows `start` to `stop`, unless asked for already. */
  show(start: number, stop: number): Promise<void>;
}

/**
 * The lake as the panel browses it: the instances and the one chosen, its catalog, a
 * search and its pages, the files of a DID. Views render from it and re-render on `changed`.
 */
export interface ICatalogModel extends IDisposable {
  readonly changed: ISignal<ICatalogModel, void>;
  /** Another instance was chosen (its name): what belongs to the last one is stale. */
  readonly instanceChanged: ISignal<ICatalogModel, string>;

  readonly instances: IInstance[];
  /** The chosen instance's name; empty until the instances came. */
  readonly instance: string;
  readonly current: IInstance | undefined;
  readonly instanceError: string;
  readonly catalog: ICatalog | null;
  readonly catalogError: string;
  readonly loadingCatalog: boolean;

  readonly query: string;
  readonly type: SearchType;
  readonly filters: string[];
  readonly results: IPage<IDid> | null;
  readonly searchError: string;
  readonly searching: boolean;
  /** The search that the current results belong to. */
  readonly lastSearch: ISearch | null;
  /** How attached DIDs are read (the settings' mode): file lists say it per file. */
  /** How the file lists say files are read: the settings' mode, else the chosen instance's default. */
  readonly readMode: Mode;

  /** How many results, in words: "12 found", "100+ found" while the server has more, or why nothing. */
  resultCount(): string;
  /** The metadata keys the catalog shows (a few), as suggestions for an upload's metadata. */
  catalogKeys(): string[];
  setQuery(query: string): void;
  setType(type: SearchType): void;
  /** Add a metadata filter chip; false when it is not of a form the server understands. */
  addFilter(filter: string): boolean;
  removeFilter(filter: string): void;
  /** Check the instances again, then load the catalog of the chosen one. */
  refresh(): Promise<void>;
  refreshInstances(): Promise<void>;
  selectInstance(name: string): Promise<void>;
  loadCatalog(): Promise<void>;
  /** Search with the box's query, type and filters; only the latest search shows its answer. */
  search(): Promise<void>;
  /** The next page of the current results, of the search as it was started. */
  moreResults(): Promise<void>;
  /** The files of a DID, paged from the server as a view scrolls. */
  fileListing(did: string): IFileListing;
}

export const ICatalogModel = new Token<ICatalogModel>(
  'jupyterlab-odlake:ICatalogModel',
  "The Rucio instances, the chosen one's catalog, searches and file lists."
);

/** A download as a transfer. */
export type IDownloadJob = ITransfer & { kind: 'download' };

/** An upload as a transfer. */
export type IUploadJob = ITransfer & { kind: 'upload' };

/** A download or an upload, told apart by its kind: one record shape, followed alike, in one list. */
export type Transfer = ITransfer;

/** What the upload form asks: files under the Jupyter root, into which dataset, where, with what metadata. */
export interface IUploadRequest {
  paths: string[];
  dataset: string;
  /** Empty for the instance's upload RSE. */
  rse: string;
  metadata: Record<string, string>;
}

/** The transfers started in this lab, followed by one poll while any is active. */
export interface ITransfersModel extends IDisposable {
  readonly changed: ISignal<ITransfersModel, void>;
  /** Each transfer once, as it ends (done, failed or cancelled). */
  readonly ended: ISignal<ITransfersModel, Transfer>;
  /** Oldest first. */
  readonly jobs: readonly Transfer[];
  /** Start the verified download of a DID into the cache. */
  download(did: string): Promise<IDownloadJob>;
  /**
   * Upload files into a dataset; the server checks them first (a refusal rejects here,
   * nothing queued), then the upload is followed file by file.
   */
  upload(request: IUploadRequest): Promise<IUploadJob>;
  /** Cancel: a download keeps its partial files to resume; an upload stops after the file in flight. */
  cancel(job: Transfer): Promise<void>;
}

export const ITransfersModel = new Token<ITransfersModel>(
  'jupyterlab-odlake:ITransfersModel',
  'The downloads and uploads started in this lab, with their progress.'
);

/** The replication rules of the chosen instance's account. */
export interface IRulesModel extends IDisposable {
  readonly changed: ISignal<IRulesModel, void>;
  /** Once asked for; null before (and after another instance was chosen). */
  readonly items: IRule[] | null;
  readonly error: string;
  load(): Promise<void>;
  /** Ask for a rule keeping a copy of `did` on the RSEs of `rseExpression`; the rules reload. */
  replicate(did: string, rseExpression: string, lifetimeDays: number | null): Promise<IRule>;
  /** Delete a rule of one's own; the rules reload. */
  deleteRule(id: string): Promise<void>;
}

export const IRulesModel = new Token<IRulesModel>(
  'jupyterlab-odlake:IRulesModel',
  "The replication rules of the chosen instance's account."
);

/** The views of the panel. */
export type LakeView = 'catalog' | 'search' | 'rules';

/** The sidebar panel, for the commands that show it or act on its rows. */
export interface ILakePanel {
  readonly id: string;
  /** The DID a context menu was opened on, or the row in focus (or dragged); null before. */
  readonly contextDid: IDid | null;
  /** Bring the panel forward, in `view` when given. */
  show(view?: LakeView): void;
}

export const ILakePanel = new Token<ILakePanel>(
  'jupyterlab-odlake:ILakePanel',
  'The Open Data Lake panel in the left sidebar.'
);
