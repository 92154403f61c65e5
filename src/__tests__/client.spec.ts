/**
 * The REST client against a fake Jupyter server: each method calls its route of the REST
 * API's description with its method, query and body, and reads the answer or the error.
 */
import { ServerConnection } from '@jupyterlab/services';

import { LakeClient, withQuery } from '../client';
import { operations } from './openapi';

const makeRequest = jest.spyOn(ServerConnection, 'makeRequest');
// the settings of a Jupyter server at a base URL (jsdom has no fetch of its own to put into them)
jest
  .spyOn(ServerConnection, 'makeSettings')
  .mockReturnValue({ baseUrl: 'http://localhost:8888/base/' } as ServerConnection.ISettings);

/** Answer every request with `body` (JSON) and `status`. */
function answer(body: unknown, status = 200): void {
  makeRequest.mockImplementation(
    async () =>
      ({
        ok: status < 400,
        status,
        text: async () => JSON.stringify(body)
      }) as Response
  );
}

/** What the client asked for: the route under /odlake/, the method and the JSON body. */
function sent(call = 0): { route: string; method: string; body: unknown } {
  const [url, init] = makeRequest.mock.calls[call];
  expect(url.startsWith('http://localhost:8888/base/odlake/')).toBe(true);
  const route = url.slice('http://localhost:8888/base/odlake/'.length);
  return {
    route,
    method: init.method ?? 'GET',
    body: init.body === undefined ? undefined : JSON.parse(init.body as string)
  };
}

afterEach(() => makeRequest.mockReset());

describe('the REST client', () => {
  const client = new LakeClient();

  it('starts a download with a POST of the DID and the instance, and reads its record', async () => {
    answer({ id: 'd1', state: 'resolving' }, 202);
    const record = await client.startDownload({ did: 'opendata:GamGam.MC', instance: 'demo' });
    expect(sent()).toEqual({
      route: 'downloads',
      method: 'POST',
      body: { did: 'opendata:GamGam.MC', instance: 'demo' }
    });
    expect(record.id).toBe('d1');
  });

  it('follows and cancels downloads and uploads on their own routes', async () => {
    answer({ id: 'x' });
    await client.download('d 1');
    await client.cancelDownload('d1');
    await client.upload('u1');
    await client.cancelUpload('u1');
    expect([0, 1, 2, 3].map(i => sent(i))).toEqual([
      { route: 'downloads/d%201', method: 'GET', body: undefined },
      { route: 'downloads/d1', method: 'DELETE', body: undefined },
      { route: 'uploads/u1', method: 'GET', body: undefined },
      { route: 'uploads/u1', method: 'DELETE', body: undefined }
    ]);
  });

  it('posts an upload form as the server reads it', async () => {
    answer({ id: 'u1', state: 'running' }, 202);
    await client.startUpload({
      paths: ['results/a.txt'],
      dataset: 'user.ulla:skim',
      rse: null,
      metadata: { channel: 'GamGam' },
      instance: 'demo'
    });
    expect(sent()).toEqual({
      route: 'uploads',
      method: 'POST',
      body: {
        paths: ['results/a.txt'],
        dataset: 'user.ulla:skim',
        rse: null,
        metadata: { channel: 'GamGam' },
        instance: 'demo'
      }
    });
  });

  it('makes and deletes rules of an instance', async () => {
    answer({ id: 'r1' }, 201);
    await client.createRule({
      did: 'user.ulla:skim',
      rse_expression: 'ODLAKE_LOCAL',
      lifetime_days: null,
      instance: 'demo'
    });
    await client.rules({ instance: 'demo' });
    await client.deleteRule('r/1', { instance: 'demo' });
    expect(sent(0)).toEqual({
      route: 'rules',
      method: 'POST',
      body: {
        did: 'user.ulla:skim',
        rse_expression: 'ODLAKE_LOCAL',
        lifetime_days: null,
        instance: 'demo'
      }
    });
    expect(sent(1)).toEqual({ route: 'rules?instance=demo', method: 'GET', body: undefined });
    expect(sent(2)).toEqual({
      route: 'rules/r%2F1?instance=demo',
      method: 'DELETE',
      body: undefined
    });
  });

  it('puts a DID into its route escaped and the files query after it', async () => {
    answer({ items: [], total: 0, next: null });
    await client.files('user.alice:a/b c?.root', { instance: 'demo', limit: 50, offset: 100 });
    await client.replicas('opendata:GamGam.MC', { mode: 'stream', scheme: 'root' });
    await client.did('opendata:GamGam');
    expect(sent(0).route).toBe(
      'dids/user.alice/a%2Fb%20c%3F.root/files?instance=demo&limit=50&offset=100'
    );
    expect(sent(1).route).toBe('dids/opendata/GamGam.MC/replicas?mode=stream&scheme=root');
    expect(sent(2).route).toBe('dids/opendata/GamGam');
  });

  it('searches with every filter as its own parameter', async () => {
    answer({ items: [], total: 0, next: null, instance: 'demo' });
    await client.search({ q: 'opendata:*', type: 'all', filter: ['a=1', 'b>=2'], limit: 10 });
    expect(sent().route).toBe(
      'search?q=opendata%3A*&type=all&filter=a%3D1&filter=b%3E%3D2&limit=10'
    );
  });

  it("rejects with the server's message when it refuses", async () => {
    answer({ error: 'not_found', message: 'No upload u9.' }, 404);
    await expect(client.upload('u9')).rejects.toThrow('No upload u9.');
  });
});

describe('a query', () => {
  it('leaves absent values out, and the question mark when nothing is left', () => {
    expect(withQuery('catalog', { instance: undefined })).toBe('catalog');
    expect(withQuery('catalog', { instance: 'demo', cursor: null })).toBe('catalog?instance=demo');
    expect(withQuery('search', { q: '' })).toBe('search?q=');
  });
});

describe('every operation of the description', () => {
  const client = new LakeClient();
  /** The operation, the client's call of it, and the route it must reach. */
  const calls: [string, (c: LakeClient) => Promise<unknown>, string][] = [
    ['GET /info', c => c.info(), 'info'],
    ['GET /instances', c => c.instances(), 'instances'],
    ['GET /search', c => c.search({ q: 'opendata:*' }), 'search?q=opendata%3A*'],
    ['GET /dids/{scope}/{name}', c => c.did('opendata:a'), 'dids/opendata/a'],
    ['GET /dids/{scope}/{name}/files', c => c.files('opendata:a'), 'dids/opendata/a/files'],
    [
      'GET /dids/{scope}/{name}/replicas',
      c => c.replicas('opendata:a', { rse: 'type=DISK' }),
      'dids/opendata/a/replicas?rse=type%3DDISK'
    ],
    [
      'POST /dids/{scope}/{name}/attach',
      c => c.attach('opendata:a', { mode: 'stream' }),
      'dids/opendata/a/attach'
    ],
    ['POST /dids/{scope}/{name}/verify', c => c.verify('opendata:a'), 'dids/opendata/a/verify'],
    ['GET /catalog', c => c.catalog({ instance: 'demo' }), 'catalog?instance=demo'],
    ['GET /downloads', c => c.downloads(), 'downloads'],
    ['POST /downloads', c => c.startDownload({ did: 'opendata:a' }), 'downloads'],
    ['GET /downloads/{transfer_id}', c => c.download('d1'), 'downloads/d1'],
    ['DELETE /downloads/{transfer_id}', c => c.cancelDownload('d1'), 'downloads/d1'],
    ['GET /uploads', c => c.uploads(), 'uploads'],
    ['POST /uploads', c => c.startUpload({ paths: ['a'], dataset: 'user.u:d' }), 'uploads'],
    ['GET /uploads/{transfer_id}', c => c.upload('u1'), 'uploads/u1'],
    ['DELETE /uploads/{transfer_id}', c => c.cancelUpload('u1'), 'uploads/u1'],
    ['GET /rules', c => c.rules(), 'rules'],
    ['POST /rules', c => c.createRule({ did: 'opendata:a', rse_expression: 'X' }), 'rules'],
    ['DELETE /rules/{rule_id}', c => c.deleteRule('r1'), 'rules/r1']
  ];

  it('has its method in the client', () => {
    expect(calls.map(([operation]) => operation).sort()).toEqual(operations());
  });

  it.each(calls)('%s is called on its route with its method', async (operation, call, route) => {
    answer({});
    await call(client);
    expect(makeRequest).toHaveBeenCalledTimes(1);
    expect(sent()).toMatchObject({ route, method: operation.split(' ')[0] });
  });
});
