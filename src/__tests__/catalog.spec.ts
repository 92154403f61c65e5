/**
 * The catalog model against a fake server: paging with cursors, searches keeping their
 * parameters, only the latest answer winning, file pages fetched once, disposal.
 */
import { CatalogModel } from '../models/catalog';
import { requestAPI } from '../request';
import { readLabel, signedInLine } from '../format';

jest.mock('../request', () => ({ requestAPI: jest.fn() }));
const request = requestAPI as jest.MockedFunction<typeof requestAPI>;

const did = (name: string) => ({
  scope: 'opendata',
  name,
  did: `opendata:${name}`,
  type: 'dataset',
  bytes: 1,
  length: 1,
  metadata: {},
  adler32: null
});

function query(url: string): URLSearchParams {
  return new URLSearchParams(url.slice(url.indexOf('?') + 1));
}

function asObject(params: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  params.forEach((value, key) => (out[key] = value));
  return out;
}

/** A server whose answers the test releases one at a time, in any order. */
function deferredServer() {
  const pending: { url: string; resolve: (v: unknown) => void; reject: (e: Error) => void }[] = [];
  request.mockImplementation(
    (url?: string) =>
      new Promise((resolve, reject) =>
        pending.push({ url: url ?? '', resolve, reject })
      ) as Promise<any>
  );
  return pending;
}

afterEach(() => request.mockReset());

describe('search', () => {
  it('asks for a page, then the next with the cursor and the parameters the search started with', async () => {
    const model = new CatalogModel();
    model.setQuery('opendata:*GamGam*');
    model.setType('all');
    model.addFilter('sample_type=mc');
    model.instance = 'demo';
    model.pageSize = 2;
    request.mockResolvedValueOnce({ items: [did('a'), did('b')], total: 3, next: 'CURSOR' });
    await model.search();
    let q = query(request.mock.calls[0][0] as string);
    expect(asObject(q)).toEqual({
      instance: 'demo',
      q: 'opendata:*GamGam*',
      type: 'all',
      filter: 'sample_type=mc',
      limit: '2'
    });
    // the user edits the box; "more" still belongs to the search shown
    model.setQuery('opendata:other');
    model.removeFilter('sample_type=mc');
    request.mockResolvedValueOnce({ items: [did('c')], total: 3, next: null });
    await model.moreResults();
    q = query(request.mock.calls[1][0] as string);
    expect(q.get('q')).toBe('opendata:*GamGam*');
    expect(q.getAll('filter')).toEqual(['sample_type=mc']);
    expect(q.get('cursor')).toBe('CURSOR');
    expect(model.results?.items.map(i => i.name)).toEqual(['a', 'b', 'c']);
    expect(model.results?.next).toBeNull();
    // at the end: no further request
    await model.moreResults();
    expect(request).toHaveBeenCalledTimes(2);
  });

  it('shows only the latest search, whatever order the answers come in', async () => {
    const pending = deferredServer();
    const model = new CatalogModel();
    model.setQuery('opendata:first');
    const first = model.search();
    model.setQuery('opendata:second');
    const second = model.search();
    pending[1].resolve({ items: [did('second')], total: 1, next: null });
    await second;
    pending[0].resolve({ items: [did('first')], total: 1, next: null });
    await first;
    expect(model.results?.items[0].name).toBe('second');
    expect(model.lastSearch?.q).toBe('opendata:second');
    expect(model.searching).toBe(false);
  });

  it('counts "100+" while the server has more, and exactly once it has all', async () => {
    const model = new CatalogModel();
    model.pageSize = 2;
    expect(model.resultCount()).toBe('');
    request.mockResolvedValueOnce({ items: [did('a'), did('b')], total: null, next: 'MORE' });
    await model.search();
    expect(model.resultCount()).toBe('2+ found');
    request.mockResolvedValueOnce({ items: [did('c')], total: 3, next: null });
    await model.moreResults();
    expect(model.resultCount()).toBe('3 found');
    request.mockResolvedValueOnce({ items: [], total: 0, next: null });
    await model.search();
    expect(model.resultCount()).toMatch(/^Nothing found/);
  });

  it('reports an error and keeps no stale results', async () => {
    const errors: string[] = [];
    const model = new CatalogModel(message => errors.push(message));
    request.mockRejectedValueOnce(new Error('Rucio instance demo cannot be reached.'));
    await model.search();
    expect(model.results).toBeNull();
    expect(model.searchError).toBe('Rucio instance demo cannot be reached.');
    expect(errors).toEqual(['Rucio instance demo cannot be reached.']);
  });

  it('accepts only filters the server understands', () => {
    const model = new CatalogModel();
    expect(model.addFilter('xsec_pb >= 0.01')).toBe(true);
    expect(model.addFilter('channel=GamGam')).toBe(true);
    expect(model.addFilter('channel=GamGam')).toBe(true);
    expect(model.addFilter('no operator')).toBe(false);
    expect(model.addFilter('=x')).toBe(false);
    expect(model.filters).toEqual(['xsec_pb >= 0.01', 'channel=GamGam']);
  });
});

describe('file listing', () => {
  it('fetches each page under the rows in view once, at its offset', async () => {
    const model = new CatalogModel();
    model.pageSize = 100;
    request.mockImplementation(async (url?: string) => {
      const offset = Number(query(url ?? '').get('offset'));
      return {
        items: Array.from({ length: 100 }, (_, i) => ({ name: `f${offset + i}` })),
        total: 1000,
        next: null
      };
    });
    const listing = model.fileListing('opendata:ui.10k');
    await listing.show(0, 0);
    expect(listing.items).toHaveLength(1000);
    expect(listing.items?.[99]?.name).toBe('f99');
    expect(listing.items?.[100]).toBeUndefined();
    await listing.show(550, 560);
    await listing.show(0, 120);
    expect(listing.items?.[555]?.name).toBe('f555');
    expect(listing.items?.[120]?.name).toBe('f120');
    const offsets = request.mock.calls.map(c => query(c[0] as string).get('offset'));
    expect(offsets).toEqual(['0', '500', '100']);
    expect(request.mock.calls[0][0]).toMatch(/^dids\/opendata\/ui\.10k\/files\?/);
  });

  it('grows a page at a time while the total is unknown, and counts "N+" until the end', async () => {
    const model = new CatalogModel();
    model.pageSize = 100;
    request.mockImplementation(async (url?: string) => {
      const offset = Number(query(url ?? '').get('offset'));
      const last = offset + 100 >= 250;
      return {
        items: Array.from({ length: Math.min(100, 250 - offset) }, (_, i) => ({
          name: `f${offset + i}`
        })),
        total: last ? 250 : null,
        next: last ? null : 'c'
      };
    });
    const listing = model.fileListing('opendata:ui.2100');
    await listing.show(0, 0);
    expect(listing.items).toHaveLength(101); // the page and one row that asks for the next
    expect(listing.countText()).toBe('100+ files');
    await listing.show(100, 100);
    expect(listing.items).toHaveLength(201);
    expect(listing.countText()).toBe('200+ files');
    await listing.show(200, 200);
    expect(listing.items).toHaveLength(250);
    expect(listing.countText()).toBe('250 files');
  });

  it('asks how each file is read in the mode and schemes of the settings', async () => {
    const model = new CatalogModel();
    request.mockResolvedValue({ items: [], total: 0, next: null });
    await model.fileListing('opendata:a').show(0, 0);
    expect(asObject(query(request.mock.calls[0][0] as string))).toMatchObject({ mode: 'auto' });
    expect(query(request.mock.calls[0][0] as string).has('scheme')).toBe(false);
    model.settingsMode = 'stream';
    model.streamSchemes = 'http,root';
    await model.fileListing('opendata:b').show(0, 0);
    expect(asObject(query(request.mock.calls[1][0] as string))).toMatchObject({
      mode: 'stream',
      scheme: 'http,root'
    });
  });

  it('escapes a DID name in the route', async () => {
    const model = new CatalogModel();
    request.mockResolvedValue({ items: [], total: 0, next: null });
    await model.fileListing('user.alice:a/b c?.root').show(0, 0);
    expect(request.mock.calls[0][0]).toMatch(/^dids\/user\.alice\/a%2Fb%20c%3F\.root\/files\?/);
  });
});

describe('instances and settings', () => {
  it('asks the chosen instance, and says when another is chosen', async () => {
    const model = new CatalogModel();
    const chosen: string[] = [];
    model.instanceChanged.connect((_, name) => chosen.push(name));
    request.mockResolvedValueOnce({
      instances: [
        { name: 'other', default: false },
        { name: 'demo', default: true }
      ]
    });
    await model.refreshInstances();
    expect(model.instance).toBe('demo');
    request.mockResolvedValue({ instance: 'other', analyses: [] });
    await model.selectInstance('other');
    expect(request.mock.calls[1][0]).toBe('catalog?instance=other');
    await model.selectInstance('other');
    expect(chosen).toEqual(['demo', 'other']);
  });

  it('takes the page size, preferred instance and read mode from the settings', async () => {
    const model = new CatalogModel();
    model.configure({
      defaultInstance: 'other',
      defaultMode: 'download',
      streamSchemes: 'root',
      runDroppedCell: false,
      loadExtensionInKernels: true,
      pageSize: 10
    });
    request.mockResolvedValueOnce({
      instances: [
        { name: 'demo', default: true },
        { name: 'other', default: false }
      ]
    });
    await model.refreshInstances();
    expect(model.instance).toBe('other');
    request.mockResolvedValue({ items: [], total: 0, next: null });
    await model.fileListing('opendata:a').show(0, 0);
    expect(asObject(query(request.mock.calls[1][0] as string))).toEqual({
      instance: 'other',
      limit: '10',
      offset: '0',
      mode: 'download',
      scheme: 'root'
    });
  });

  it("reads files in the chosen instance's default mode when the settings name none", async () => {
    const model = new CatalogModel();
    request.mockResolvedValueOnce({
      instances: [
        { name: 'demo', default: true, default_mode: 'download' },
        { name: 'other', default: false, default_mode: 'stream' }
      ]
    });
    await model.refreshInstances();
    expect(model.readMode).toBe('download');
    model.instance = 'other';
    expect(model.readMode).toBe('stream');
    model.settingsMode = 'mounted';
    expect(model.readMode).toBe('mounted');
  });
});

describe('lifecycle', () => {
  it('stops emitting once disposed, and applies no answer that comes later', async () => {
    const pending = deferredServer();
    const model = new CatalogModel();
    let emitted = 0;
    model.changed.connect(() => emitted++);
    const loading = model.loadCatalog();
    model.dispose();
    expect(model.isDisposed).toBe(true);
    const before = emitted;
    pending[0].resolve({ instance: 'demo', analyses: [] });
    await loading;
    expect(emitted).toBe(before);
    expect(model.catalog).toBeNull();
    model.dispose();
  });
});

describe('how a file is read', () => {
  const read = (kind: any, scheme: string | null = null, rse: string | null = null) => ({
    kind,
    scheme,
    rse,
    reason: kind ? null : 'it has no replica on ODLAKE_LOCAL'
  });
  it('names the protocol of a stream and the RSE in its title', () => {
    expect(readLabel(read('stream', 'root', 'ODLAKE_XROOTD'), 'stream')).toEqual({
      tag: 'root',
      title: 'streamed over root:// from ODLAKE_XROOTD'
    });
    expect(readLabel(read('mounted', 'file', 'ODLAKE_LOCAL'), 'auto').tag).toBe('in place');
    expect(readLabel(read('download'), 'download').tag).toBe('copy');
  });
  it('says a file auto mode must copy, and why another mode cannot read it', () => {
    expect(readLabel(read(null), 'auto').tag).toBe('copy');
    expect(readLabel(read(null), 'mounted')).toEqual({
      tag: 'none',
      title: 'it has no replica on ODLAKE_LOCAL'
    });
    expect(readLabel(undefined, 'auto')).toEqual({ tag: '', title: '' });
  });
});

describe('the sign-in line', () => {
  const signedIn = { subject: 'alice', signed_in_at: 1000, expires_at: 2000, ended: null };

  it('says whose token and until when, and nothing when odlake keeps no sign-in', () => {
    const line = signedInLine(signedIn, 'escape');
    expect(line?.ended).toBe(false);
    expect(line?.text).toMatch(/^Signed in as alice; storage token until \S+/);
    expect(signedInLine(null, 'escape')).toBeNull();
    expect(signedInLine(undefined, 'escape')).toBeNull();
  });

  it('says an ended sign-in in one sentence, with how to sign in again', () => {
    const line = signedInLine({ ...signedIn, ended: 'grant request is invalid' }, 'escape');
    expect(line).toEqual({
      text: 'The sign-in of alice has ended (grant request is invalid): sign in again with odlake login escape',
      ended: true
    });
  });
});
