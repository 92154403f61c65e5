/**
 * The rules model against a fake server: the rules of the chosen instance, made and
 * deleted with the list read again after each, forgotten when another instance is chosen.
 */
import { CatalogModel } from '../models/catalog';
import { RulesModel } from '../models/rules';
import { requestAPI } from '../request';

jest.mock('../request', () => ({ requestAPI: jest.fn() }));
const request = requestAPI as jest.MockedFunction<typeof requestAPI>;

const rule = (id: string) => ({
  id,
  did: 'user.ulla:skim',
  rse_expression: 'ODLAKE_LOCAL',
  state: 'REPLICATING',
  explained: "waiting for the lake's transfer service",
  locks_ok: 0,
  locks_total: 2,
  expires_at: null,
  account: 'ulla'
});

afterEach(() => request.mockReset());

describe('rules', () => {
  it('are made on the chosen instance, read again, deleted, and forgotten with the instance', async () => {
    const catalog = new CatalogModel();
    catalog.instance = 'demo';
    const rules = new RulesModel(catalog);
    request.mockResolvedValueOnce(rule('r1')); // POST rules
    request.mockResolvedValueOnce({ instance: 'demo', rules: [rule('r1')] });
    const made = await rules.replicate('user.ulla:skim', 'ODLAKE_LOCAL', 7);
    expect(made.id).toBe('r1');
    expect(request.mock.calls[0][0]).toBe('rules');
    expect(request.mock.calls[0][1]).toMatchObject({ method: 'POST' });
    expect(JSON.parse(request.mock.calls[0][1]?.body as string)).toEqual({
      did: 'user.ulla:skim',
      rse_expression: 'ODLAKE_LOCAL',
      lifetime_days: 7,
      instance: 'demo'
    });
    expect(request.mock.calls[1][0]).toBe('rules?instance=demo');
    expect(rules.items?.map(r => r.id)).toEqual(['r1']);

    request.mockResolvedValueOnce({ id: 'r1', deleted: true });
    request.mockResolvedValueOnce({ instance: 'demo', rules: [] });
    await rules.deleteRule('r1');
    expect(request.mock.calls[2][0]).toBe('rules/r1?instance=demo');
    expect(request.mock.calls[2][1]).toMatchObject({ method: 'DELETE' });
    expect(rules.items).toEqual([]);

    request.mockResolvedValue({ instance: 'other', analyses: [] });
    await catalog.selectInstance('other');
    expect(rules.items).toBeNull();
    rules.dispose();
  });

  it("say why they cannot be read, and keep the last list's absence", async () => {
    const rules = new RulesModel(new CatalogModel());
    request.mockRejectedValueOnce(new Error('Rucio instance demo cannot be reached.'));
    await rules.load();
    expect(request.mock.calls[0][0]).toBe('rules');
    expect(rules.error).toBe('Rucio instance demo cannot be reached.');
    expect(rules.items).toBeNull();
  });
});
