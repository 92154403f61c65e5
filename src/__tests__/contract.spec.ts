/**
 * The frontend against the REST API's description (jupyterlab_odlake/server/openapi.json).
 * src/tokens.ts takes its REST types from the types generated out of it (../generated), so a
 * field cannot differ; what can still go wrong is checked here, by ts-jest's type check of
 * this file (a `same<A, B>(…)` below does not compile unless A and B are the same type) and
 * at run time: a schema the description gains without a name in tokens.ts, and a method of
 * src/client.ts that sends or reads another operation's types than its own.
 */
import type { LakeClient } from '../client';
import type { components } from '../generated/openapi';
import type * as T from '../tokens';
import type { Body, Query, Reply } from '../tokens';
import { operations, schemaNames } from './openapi';

type Schemas = components['schemas'];
/** true only when A and B are the same type (stricter than each being assignable to the other,
 * which holds of any two objects whose fields are all optional). */
type Same<A, B> =
  (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;

/** Compiles only when A and B are the same type; gives back what it checked, by name. */
function same<A, B>(name: string, holds: Same<A, B>): string {
  return holds ? name : '';
}

/** Each schema of the description by the name the frontend knows it by. */
interface INames {
  Error: T.IError;
  Info: T.IInfo;
  Instance: T.IInstance;
  CatalogContainer: T.ICatalogContainer;
  Catalog: T.ICatalog;
  Mode: T.Mode;
  DIDType: T.DidType;
  Metadata: T.Metadata;
  DID: T.IDid;
  PageOfDIDs: T.IPageOfDids;
  File: T.IFile;
  FileRead: T.IFileRead;
  PageOfFiles: T.IPageOfFiles;
  Alternative: T.IAlternative;
  Location: T.ILocation;
  Transfer: T.ITransfer;
  UploadedFile: T.IUploadedFile;
  Rule: T.IRule;
  Resolved: T.IResolved;
  Attachment: T.IAttachment;
  ReadAccess: T.IReadAccess;
  SignedIn: T.ISignedIn;
  CacheCheck: T.ICacheCheck;
}

/** Compiles only while INames names every schema, and nothing else, each as the schema it is. */
const named: { [K in keyof Schemas]: Same<INames[K & keyof INames], Schemas[K]> } & {
  [K in Exclude<keyof INames, keyof Schemas>]: never;
} = {
  Error: true,
  Info: true,
  Instance: true,
  CatalogContainer: true,
  Catalog: true,
  Mode: true,
  DIDType: true,
  Metadata: true,
  DID: true,
  PageOfDIDs: true,
  File: true,
  FileRead: true,
  PageOfFiles: true,
  Alternative: true,
  Location: true,
  Transfer: true,
  UploadedFile: true,
  Rule: true,
  Resolved: true,
  Attachment: true,
  ReadAccess: true,
  SignedIn: true,
  CacheCheck: true
};

type Method = (...args: any[]) => Promise<unknown>;
/** What a client method answers. */
type Answer<F extends Method> = F extends (...args: any[]) => Promise<infer A> ? A : never;
/** A client method's argument (a query or a body), as it is sent when given. */
type Arg<F extends Method, I extends number> = NonNullable<Parameters<F>[I]>;
type C = LakeClient;

/** Per operation, that its client method sends its query or body and reads its answer. */
const checked = [
  same<Answer<C['info']>, Reply<'/info', 'get'>>('GET /info', true),
  same<Answer<C['instances']>, Reply<'/instances', 'get'>>('GET /instances', true),
  same<Arg<C['search'], 0>, Query<'/search', 'get'>>('GET /search', true) &&
    same<Answer<C['search']>, Reply<'/search', 'get'>>('GET /search', true),
  same<Arg<C['did'], 1>, Query<'/dids/{scope}/{name}', 'get'>>('GET /dids/{scope}/{name}', true) &&
    same<Answer<C['did']>, Reply<'/dids/{scope}/{name}', 'get'>>('GET /dids/{scope}/{name}', true),
  same<Arg<C['files'], 1>, Query<'/dids/{scope}/{name}/files', 'get'>>(
    'GET /dids/{scope}/{name}/files',
    true
  ) &&
    same<Answer<C['files']>, Reply<'/dids/{scope}/{name}/files', 'get'>>(
      'GET /dids/{scope}/{name}/files',
      true
    ),
  same<Arg<C['replicas'], 1>, Query<'/dids/{scope}/{name}/replicas', 'get'>>(
    'GET /dids/{scope}/{name}/replicas',
    true
  ) &&
    same<Answer<C['replicas']>, Reply<'/dids/{scope}/{name}/replicas', 'get'>>(
      'GET /dids/{scope}/{name}/replicas',
      true
    ),
  same<Arg<C['attach'], 1>, Body<'/dids/{scope}/{name}/attach', 'post'>>(
    'POST /dids/{scope}/{name}/attach',
    true
  ) &&
    same<Answer<C['attach']>, Reply<'/dids/{scope}/{name}/attach', 'post'>>(
      'POST /dids/{scope}/{name}/attach',
      true
    ),
  same<Arg<C['verify'], 1>, Body<'/dids/{scope}/{name}/verify', 'post'>>(
    'POST /dids/{scope}/{name}/verify',
    true
  ) &&
    same<Answer<C['verify']>, Reply<'/dids/{scope}/{name}/verify', 'post'>>(
      'POST /dids/{scope}/{name}/verify',
      true
    ),
  same<Arg<C['catalog'], 0>, Query<'/catalog', 'get'>>('GET /catalog', true) &&
    same<Answer<C['catalog']>, Reply<'/catalog', 'get'>>('GET /catalog', true),
  same<Answer<C['downloads']>, Reply<'/downloads', 'get'>>('GET /downloads', true),
  same<Arg<C['startDownload'], 0>, Body<'/downloads', 'post'>>('POST /downloads', true) &&
    same<Answer<C['startDownload']>, Reply<'/downloads', 'post', 202>>('POST /downloads', true),
  same<Answer<C['download']>, Reply<'/downloads/{transfer_id}', 'get'>>(
    'GET /downloads/{transfer_id}',
    true
  ),
  same<Answer<C['cancelDownload']>, Reply<'/downloads/{transfer_id}', 'delete'>>(
    'DELETE /downloads/{transfer_id}',
    true
  ),
  same<Answer<C['uploads']>, Reply<'/uploads', 'get'>>('GET /uploads', true),
  same<Arg<C['startUpload'], 0>, Body<'/uploads', 'post'>>('POST /uploads', true) &&
    same<Answer<C['startUpload']>, Reply<'/uploads', 'post', 202>>('POST /uploads', true),
  same<Answer<C['upload']>, Reply<'/uploads/{transfer_id}', 'get'>>(
    'GET /uploads/{transfer_id}',
    true
  ),
  same<Answer<C['cancelUpload']>, Reply<'/uploads/{transfer_id}', 'delete'>>(
    'DELETE /uploads/{transfer_id}',
    true
  ),
  same<Arg<C['rules'], 0>, Query<'/rules', 'get'>>('GET /rules', true) &&
    same<Answer<C['rules']>, Reply<'/rules', 'get'>>('GET /rules', true),
  same<Arg<C['createRule'], 0>, Body<'/rules', 'post'>>('POST /rules', true) &&
    same<Answer<C['createRule']>, Reply<'/rules', 'post', 201>>('POST /rules', true),
  same<Arg<C['deleteRule'], 1>, Query<'/rules/{rule_id}', 'delete'>>(
    'DELETE /rules/{rule_id}',
    true
  ) &&
    same<Answer<C['deleteRule']>, Reply<'/rules/{rule_id}', 'delete'>>(
      'DELETE /rules/{rule_id}',
      true
    )
];

describe('the REST contract', () => {
  it('names every schema of the description in src/tokens.ts', () => {
    expect(Object.keys(named).sort()).toEqual(schemaNames());
  });

  it("checks the query, body and answer of every operation's client method", () => {
    expect([...checked].sort()).toEqual(operations());
  });
});
