/**
 * The transfers model against a fake server, its poll driven by jest's fake timers:
 * downloads and uploads in one list, each followed on its own route while active, ended
 * once, cancelled; the poll stops when nothing is active, and with the model.
 */
import { INTERVAL, TransfersModel } from '../models/transfers';
import { requestAPI } from '../request';

jest.mock('../request', () => ({ requestAPI: jest.fn() }));
const request = requestAPI as jest.MockedFunction<typeof requestAPI>;

const download = (state: string, done: number) => ({
  id: 'd1',
  instance: 'demo',
  did: 'opendata:GamGam.MC',
  state,
  files_total: 2,
  files_done: done,
  bytes_total: 20,
  bytes_done: done * 10,
  rate: 5,
  transfers: 1,
  errors: [],
  created: 1,
  finished: null,
  paths: []
});

const upload = (state: string, done: number) => ({
  id: 'u1',
  kind: 'upload',
  instance: 'demo',
  did: 'user.ulla:skim',
  rse: 'USERDISK',
  state,
  files_total: 2,
  files_done: done,
  bytes_total: 20,
  bytes_done: done * 10,
  rate: 5,
  current: null,
  errors: [],
  created: 2,
  finished: null,
  uploaded: []
});

/**
 * A server answering "METHOD route" with the next of its records (the last one again once
 * they are used up), or failing where a record is an Error.
 */
function server(answers: Record<string, unknown[]>): void {
  request.mockImplementation(async (route?: string, init?: RequestInit) => {
    const key = `${init?.method ?? 'GET'} ${route}`;
    const queue = answers[key];
    if (!queue) {
      throw new Error(`nothing at ${key}`);
    }
    const next = queue.length > 1 ? queue.shift() : queue[0];
    if (next instanceof Error) {
      throw next;
    }
    return next as any;
  });
}

/** The routes the poll has read (GETs), in order. */
function polled(): string[] {
  return request.mock.calls.filter(([, init]) => !init?.method).map(([route]) => route ?? '');
}

/** Let the poll tick `n` times (the first comes at once, the next every INTERVAL). */
async function ticks(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await jest.advanceTimersByTimeAsync(i === 0 ? 0 : INTERVAL);
  }
}

beforeEach(() => jest.useFakeTimers());
afterEach(() => {
  jest.useRealTimers();
  request.mockReset();
});

describe('transfers', () => {
  it('follows a download and an upload in one list, each on its route, until both end', async () => {
    server({
      'POST downloads': [download('running', 0)],
      'POST uploads': [upload('running', 0)],
      'GET downloads/d1': [download('running', 1), download('done', 2)],
      'GET uploads/u1': [upload('done', 2)]
    });
    const model = new TransfersModel(() => 'demo');
    const ended: string[] = [];
    model.ended.connect((_, t) => ended.push(`${t.kind} ${t.id} ${t.state}`));

    await model.download('opendata:GamGam.MC');
    await model.upload({
      paths: ['a.txt', 'b.txt'],
      dataset: 'user.ulla:skim',
      rse: '',
      metadata: { channel: 'GamGam' }
    });
    expect(JSON.parse(request.mock.calls[0][1]?.body as string)).toEqual({
      did: 'opendata:GamGam.MC',
      instance: 'demo'
    });
    expect(JSON.parse(request.mock.calls[1][1]?.body as string)).toEqual({
      paths: ['a.txt', 'b.txt'],
      dataset: 'user.ulla:skim',
      rse: null,
      metadata: { channel: 'GamGam' },
      instance: 'demo'
    });
    expect(model.jobs.map(t => [t.kind, t.id, t.state])).toEqual([
      ['download', 'd1', 'running'],
      ['upload', 'u1', 'running']
    ]);

    await ticks(1);
    expect(polled()).toEqual(['downloads/d1', 'uploads/u1']);
    expect(model.jobs.map(t => [t.state, t.files_done])).toEqual([
      ['running', 1],
      ['done', 2]
    ]);
    expect(ended).toEqual(['upload u1 done']);

    await ticks(2);
    // the finished upload is not asked again; the download ends on the second tick
    expect(polled()).toEqual(['downloads/d1', 'uploads/u1', 'downloads/d1']);
    expect(model.jobs.map(t => t.state)).toEqual(['done', 'done']);
    expect(ended).toEqual(['upload u1 done', 'download d1 done']);
    model.dispose();
  });

  it('stops polling when nothing is active, and starts again with a new transfer', async () => {
    server({
      'POST downloads': [download('running', 0), { ...download('resolving', 0), id: 'd2' }],
      'GET downloads/d1': [download('done', 2)],
      'GET downloads/d2': [{ ...download('done', 2), id: 'd2' }]
    });
    const model = new TransfersModel(() => 'demo');
    const tick = jest.spyOn(model, 'refresh');
    await model.download('opendata:GamGam.MC');
    await ticks(10);
    // the first tick saw the download done: no tick after it
    expect(polled()).toEqual(['downloads/d1']);
    expect(tick).toHaveBeenCalledTimes(1);

    await model.download('opendata:GamGam.MC');
    await ticks(10);
    expect(polled()).toEqual(['downloads/d1', 'downloads/d2']);
    expect(tick).toHaveBeenCalledTimes(2);
    model.dispose();
  });

  it('asks again on the next tick when a request fails', async () => {
    server({
      'POST uploads': [upload('running', 0)],
      'GET uploads/u1': [new Error('502'), upload('running', 1), upload('done', 2)]
    });
    const model = new TransfersModel(() => 'demo');
    await model.upload({ paths: ['a.txt'], dataset: 'user.ulla:skim', rse: 'X', metadata: {} });
    await ticks(2);
    expect(model.jobs[0].files_done).toBe(1);
    await ticks(5);
    expect(polled()).toEqual(['uploads/u1', 'uploads/u1', 'uploads/u1']);
    expect(model.jobs[0].state).toBe('done');
    model.dispose();
  });

  it('cancels a transfer of either kind on its route, and says once that it ended', async () => {
    server({
      'POST downloads': [download('running', 0)],
      'POST uploads': [upload('running', 0)],
      'DELETE downloads/d1': [download('cancelled', 0)],
      'DELETE uploads/u1': [upload('cancelled', 1)]
    });
    const model = new TransfersModel(() => 'demo');
    const ended: string[] = [];
    model.ended.connect((_, t) => ended.push(`${t.kind} ${t.state}`));
    await model.download('opendata:GamGam.MC');
    await model.upload({ paths: ['a.txt'], dataset: 'user.ulla:skim', rse: '', metadata: {} });
    await model.cancel(model.jobs[0]);
    const tick = jest.spyOn(model, 'refresh');
    await model.cancel(model.jobs[1]);
    const deleted = request.mock.calls.filter(([, init]) => init?.method === 'DELETE');
    expect(deleted.map(([route]) => route)).toEqual(['downloads/d1', 'uploads/u1']);
    expect(model.jobs.map(t => t.state)).toEqual(['cancelled', 'cancelled']);
    expect(ended).toEqual(['download cancelled', 'upload cancelled']);
    // nothing is active: the poll that the transfers started asks nothing
    await ticks(5);
    expect(polled()).toEqual([]);
    expect(tick).toHaveBeenCalledTimes(1);
    model.dispose();
  });

  it('stops polling and emitting once disposed', async () => {
    server({
      'POST downloads': [download('running', 0)],
      'GET downloads/d1': [download('running', 1)]
    });
    const model = new TransfersModel(() => 'demo');
    let changes = 0;
    model.changed.connect(() => changes++);
    await model.download('opendata:GamGam.MC');
    await ticks(3);
    expect(polled()).toHaveLength(3);
    const before = changes;
    model.dispose();
    expect(model.isDisposed).toBe(true);
    await ticks(5);
    expect(polled()).toHaveLength(3);
    expect(changes).toBe(before);
  });
});
