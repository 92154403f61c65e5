/**
 * src/tokens.ts against the REST API's description (jupyterlab_odlake/server/openapi.yaml):
 * `jlpm test` first generates ./generated/openapi.d.ts from it, then ts-jest type-checks
 * this file, so a field added, removed or retyped on one side only fails the run (a
 * `same<A, B>(…)` below does not compile unless A and B are the same type). At run time,
 * the tests check that every schema and operation of the description is checked here.
 */
import type { components, paths } from './generated/openapi';
import { operations, schemaNames } from './openapi';
import type {
  DidType,
  IAlternative,
  ICatalog,
  IDid,
  IAttachBody,
  IAttachment,
  IDownload,
  IDownloadBody,
  IDownloads,
  IFile,
  IFilesPage,
  IFilesQuery,
  IInfo,
  IInstance,
  IInstanceQuery,
  IInstances,
  ILocation,
  IPage,
  IReplicas,
  IReplicasQuery,
  IResolved,
  IRule,
  IRuleBody,
  IRuleDeleted,
  IRules,
  ISearchPage,
  ISearchQuery,
  ITransfer,
  IUpload,
  IUploadBody,
  IUploads,
  Metadata,
  Mode
} from '../tokens';

type Schemas = components['schemas'];
/** true only when each type is assignable to the other. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

/** Compiles only when A and B are the same type; gives back what it checked, by name. */
function same<A, B>(name: string, holds: Same<A, B>): string {
  return holds ? name : '';
}

type Operation<P extends keyof paths, M extends string> = M extends keyof paths[P]
  ? NonNullable<paths[P][M]>
  : never;
type Json<R> = R extends { content: { 'application/json': infer J } } ? J : never;
/** The JSON a route answers with `status`. */
type Reply<P extends keyof paths, M extends string, S extends number = 200> =
  Operation<P, M> extends { responses: infer R } ? (S extends keyof R ? Json<R[S]> : never) : never;
/** The query a route reads (never when it reads none). */
type Query<P extends keyof paths, M extends string> =
  Operation<P, M> extends { parameters: { query?: infer Q } } ? NonNullable<Q> : never;
/** The JSON body a route reads. */
type Body<P extends keyof paths, M extends string> =
  Operation<P, M> extends { requestBody: infer B } ? Json<B> : never;

const schemas = [
  same<IInfo, Schemas['Info']>('Info', true),
  same<IInstance, Schemas['Instance']>('Instance', true),
  same<IDid, Schemas['DID']>('DID', true),
  same<IFile, Schemas['File']>('File', true),
  same<ITransfer, Schemas['Transfer']>('Transfer', true),
  same<IResolved, Schemas['Resolved']>('Resolved', true),
  same<IAttachment, Schemas['Attachment']>('Attachment', true),
  same<IRule, Schemas['Rule']>('Rule', true),
  same<ICatalog, Schemas['Catalog']>('Catalog', true),
  same<ICatalog['analyses'][number]['containers'][number], Schemas['CatalogContainer']>(
    'CatalogContainer',
    true
  ),
  same<ILocation, Schemas['Location']>('Location', true),
  same<IAlternative, Schemas['Alternative']>('Alternative', true),
  same<IPage<IDid>, Schemas['PageOfDIDs']>('PageOfDIDs', true),
  same<Mode, Schemas['Mode']>('Mode', true),
  same<DidType, Schemas['DIDType']>('DIDType', true),
  same<Metadata, Schemas['Metadata']>('Metadata', true)
];
/** The schemas the frontend never reads: the error's message is read by src/request.ts. */
const UNREAD = ['Error'];

/** Per operation, what src/client.ts sends (query, body) and reads (its answer). */
const checked = [
  same<IInfo, Reply<'/info', 'get'>>('GET /info', true),
  same<IInstances, Reply<'/instances', 'get'>>('GET /instances', true),
  same<ISearchQuery, Query<'/search', 'get'>>('GET /search', true) &&
    same<ISearchPage, Reply<'/search', 'get'>>('GET /search', true),
  same<IInstanceQuery, Query<'/dids/{scope}/{name}', 'get'>>('GET /dids/{scope}/{name}', true) &&
    same<IDid & { instance: string }, Reply<'/dids/{scope}/{name}', 'get'>>(
      'GET /dids/{scope}/{name}',
      true
    ),
  same<IFilesQuery, Query<'/dids/{scope}/{name}/files', 'get'>>(
    'GET /dids/{scope}/{name}/files',
    true
  ) &&
    same<IFilesPage, Reply<'/dids/{scope}/{name}/files', 'get'>>(
      'GET /dids/{scope}/{name}/files',
      true
    ),
  same<IReplicasQuery, Query<'/dids/{scope}/{name}/replicas', 'get'>>(
    'GET /dids/{scope}/{name}/replicas',
    true
  ) &&
    same<IReplicas, Reply<'/dids/{scope}/{name}/replicas', 'get'>>(
      'GET /dids/{scope}/{name}/replicas',
      true
    ),
  same<IAttachBody, Body<'/dids/{scope}/{name}/attach', 'post'>>(
    'POST /dids/{scope}/{name}/attach',
    true
  ) &&
    same<IAttachment, Reply<'/dids/{scope}/{name}/attach', 'post'>>(
      'POST /dids/{scope}/{name}/attach',
      true
    ),
  same<IInstanceQuery, Query<'/catalog', 'get'>>('GET /catalog', true) &&
    same<ICatalog, Reply<'/catalog', 'get'>>('GET /catalog', true),
  same<IDownloads, Reply<'/downloads', 'get'>>('GET /downloads', true),
  same<IDownloadBody, Body<'/downloads', 'post'>>('POST /downloads', true) &&
    same<IDownload, Reply<'/downloads', 'post', 202>>('POST /downloads', true),
  same<IDownload, Reply<'/downloads/{transfer_id}', 'get'>>('GET /downloads/{transfer_id}', true),
  same<IDownload, Reply<'/downloads/{transfer_id}', 'delete'>>(
    'DELETE /downloads/{transfer_id}',
    true
  ),
  same<IUploads, Reply<'/uploads', 'get'>>('GET /uploads', true),
  same<IUploadBody, Body<'/uploads', 'post'>>('POST /uploads', true) &&
    same<IUpload, Reply<'/uploads', 'post', 202>>('POST /uploads', true),
  same<IUpload, Reply<'/uploads/{transfer_id}', 'get'>>('GET /uploads/{transfer_id}', true),
  same<IUpload, Reply<'/uploads/{transfer_id}', 'delete'>>('DELETE /uploads/{transfer_id}', true),
  same<IInstanceQuery, Query<'/rules', 'get'>>('GET /rules', true) &&
    same<IRules, Reply<'/rules', 'get'>>('GET /rules', true),
  same<IRuleBody, Body<'/rules', 'post'>>('POST /rules', true) &&
    same<IRule & { instance: string }, Reply<'/rules', 'post', 201>>('POST /rules', true),
  same<IInstanceQuery, Query<'/rules/{rule_id}', 'delete'>>('DELETE /rules/{rule_id}', true) &&
    same<IRuleDeleted, Reply<'/rules/{rule_id}', 'delete'>>('DELETE /rules/{rule_id}', true)
];

describe('the REST contract', () => {
  it('checks a type of src/tokens.ts against every schema the panel reads', () => {
    expect([...schemas, ...UNREAD].sort()).toEqual(schemaNames());
  });

  it("checks the query, body and answer of every operation against src/tokens.ts's", () => {
    expect([...checked].sort()).toEqual(operations());
  });
});
