/**
 * The odlake REST API as the frontend calls it: one method a route and method of its
 * description (jupyterlab_odlake/server/openapi.json), taking and answering the types of ./tokens.
 * The models call this; nothing else in the frontend makes requests.
 */
import { requestAPI } from './request';
import {
  ICatalog,
  IDidReply,
  IDownload,
  IDownloadBody,
  IDownloads,
  IFilesPage,
  IFilesQuery,
  IInfo,
  IInstanceQuery,
  IInstances,
  IReplicas,
  IReplicasQuery,
  IAttachBody,
  ICacheCheck,
  IVerifyBody,
  IAttachment,
  IRuleBody,
  IRuleCreated,
  IRuleDeleted,
  IRules,
  ISearchPage,
  ISearchQuery,
  IUpload,
  IUploadBody,
  IUploads
} from './tokens';

type Query = Record<string, string | number | boolean | string[] | null | undefined>;

/** A route with its query: arrays as repeated keys (filter=a&filter=b), absent values left out. */
export function withQuery(route: string, query: object = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query as Query)) {
    if (Array.isArray(value)) {
      value.forEach(v => params.append(key, v));
    } else if (value !== undefined && value !== null) {
      params.set(key, String(value));
    }
  }
  const text = params.toString();
  return text ? `${route}?${text}` : route;
}

/** The route of a DID, scope and name escaped: dids/user.alice/a%2Fb.root */
export function didRoute(did: string): string {
  const i = did.indexOf(':');
  return `dids/${encodeURIComponent(did.slice(0, i))}/${encodeURIComponent(did.slice(i + 1))}`;
}

const id = (value: string) => encodeURIComponent(value);

const post = (body: object): RequestInit => ({ method: 'POST', body: JSON.stringify(body) });

const DELETE: RequestInit = { method: 'DELETE' };

export class LakeClient {
  /** GET /info */
  info(): Promise<IInfo> {
    return requestAPI<IInfo>('info');
  }

  /** GET /instances */
  instances(): Promise<IInstances> {
    return requestAPI<IInstances>('instances');
  }

  /** GET /search */
  search(query: ISearchQuery): Promise<ISearchPage> {
    return requestAPI<ISearchPage>(withQuery('search', query));
  }

  /** GET /dids/{scope}/{name} */
  did(did: string, query: IInstanceQuery = {}): Promise<IDidReply> {
    return requestAPI<IDidReply>(withQuery(didRoute(did), query));
  }

  /** GET /dids/{scope}/{name}/files */
  files(did: string, query: IFilesQuery = {}): Promise<IFilesPage> {
    return requestAPI<IFilesPage>(withQuery(`${didRoute(did)}/files`, query));
  }

  /** POST /dids/{scope}/{name}/attach: an attach resolved on the server, as a kernel asks for it */
  attach(did: string, body: IAttachBody = {}): Promise<IAttachment> {
    return requestAPI<IAttachment>(`${didRoute(did)}/attach`, post(body));
  }

  /** POST /dids/{scope}/{name}/verify: the cached copies of the DID's files re-checked in full */
  verify(did: string, body: IVerifyBody = {}): Promise<ICacheCheck> {
    return requestAPI<ICacheCheck>(`${didRoute(did)}/verify`, post(body));
  }

  /** GET /dids/{scope}/{name}/replicas */
  replicas(did: string, query: IReplicasQuery = {}): Promise<IReplicas> {
    return requestAPI<IReplicas>(withQuery(`${didRoute(did)}/replicas`, query));
  }

  /** GET /catalog */
  catalog(query: IInstanceQuery = {}): Promise<ICatalog> {
    return requestAPI<ICatalog>(withQuery('catalog', query));
  }

  /** GET /downloads */
  downloads(): Promise<IDownloads> {
    return requestAPI<IDownloads>('downloads');
  }

  /** POST /downloads */
  startDownload(body: IDownloadBody): Promise<IDownload> {
    return requestAPI<IDownload>('downloads', post(body));
  }

  /** GET /downloads/{transfer_id} */
  download(downloadId: string): Promise<IDownload> {
    return requestAPI<IDownload>(`downloads/${id(downloadId)}`);
  }

  /** DELETE /downloads/{transfer_id} */
  cancelDownload(downloadId: string): Promise<IDownload> {
    return requestAPI<IDownload>(`downloads/${id(downloadId)}`, DELETE);
  }

  /** GET /uploads */
  uploads(): Promise<IUploads> {
    return requestAPI<IUploads>('uploads');
  }

  /** POST /uploads */
  startUpload(body: IUploadBody): Promise<IUpload> {
    return requestAPI<IUpload>('uploads', post(body));
  }

  /** GET /uploads/{transfer_id} */
  upload(uploadId: string): Promise<IUpload> {
    return requestAPI<IUpload>(`uploads/${id(uploadId)}`);
  }

  /** DELETE /uploads/{transfer_id} */
  cancelUpload(uploadId: string): Promise<IUpload> {
    return requestAPI<IUpload>(`uploads/${id(uploadId)}`, DELETE);
  }

  /** GET /rules */
  rules(query: IInstanceQuery = {}): Promise<IRules> {
    return requestAPI<IRules>(withQuery('rules', query));
  }

  /** POST /rules */
  createRule(body: IRuleBody): Promise<IRuleCreated> {
    return requestAPI<IRuleCreated>('rules', post(body));
  }

  /** DELETE /rules/{rule_id} */
  deleteRule(ruleId: string, query: IInstanceQuery = {}): Promise<IRuleDeleted> {
    return requestAPI<IRuleDeleted>(withQuery(`rules/${id(ruleId)}`, query), DELETE);
  }
}
