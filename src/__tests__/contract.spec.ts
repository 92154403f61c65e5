/**
 * src/tokens.ts against the REST API's description (jupyterlab_odlake/server/openapi.yaml):
 * `jlpm test` first generates ./generated/openapi.d.ts from it, then ts-jest type-checks
 * this file, so a field added, removed or retyped on one side only fails the run.
 */
import type { components } from './generated/openapi';
import type {
  DidType,
  ICatalog,
  IDid,
  IFile,
  IInfo,
  IInstance,
  IRule,
  ITransfer,
  Metadata,
  Mode
} from '../tokens';

type Schemas = components['schemas'];
/** true only when each type is assignable to the other. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

const contract: Record<string, true> = {
  info: true as Same<IInfo, Schemas['Info']>,
  instance: true as Same<IInstance, Schemas['Instance']>,
  did: true as Same<IDid, Schemas['DID']>,
  file: true as Same<IFile, Schemas['File']>,
  transfer: true as Same<ITransfer, Schemas['Transfer']>,
  rule: true as Same<IRule, Schemas['Rule']>,
  catalog: true as Same<ICatalog, Schemas['Catalog']>,
  mode: true as Same<Mode, Schemas['Mode']>,
  didType: true as Same<DidType, Schemas['DIDType']>,
  metadata: true as Same<Metadata, Schemas['Metadata']>
};

describe('the REST contract', () => {
  it('holds for every record the panel reads', () => {
    expect(Object.values(contract).every(Boolean)).toBe(true);
  });
});
