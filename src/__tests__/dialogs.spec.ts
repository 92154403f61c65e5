/**
 * The dialogs, with JupyterLab's dialog faked: each form read and checked by one asker;
 * a wrong form is said in a notification and gives nothing, a cancelled one nothing.
 */
import { Notification, showDialog } from '@jupyterlab/apputils';

import { askAttachLine } from '../dialogs/attach';
import { askDeleteRule, askReplicate } from '../dialogs/rules';
import { askUpload, parseMetadata, proposedDataset } from '../dialogs/upload';

jest.mock('@jupyterlab/apputils', () => ({
  showDialog: jest.fn(),
  Dialog: {
    cancelButton: (o = {}) => ({ ...o, accept: false }),
    okButton: (o = {}) => ({ ...o, accept: true }),
    warnButton: (o = {}) => ({ ...o, accept: true, displayType: 'warn' })
  },
  Notification: { error: jest.fn() }
}));
// jsdom has no DragEvent, which lumino's drag events (loaded with its widgets) extend
jest.mock('@lumino/dragdrop', () => {
  (globalThis as any).DragEvent ??= class extends MouseEvent {};
  return jest.requireActual('@lumino/dragdrop');
});
const dialog = showDialog as jest.Mock;
const notify = Notification.error as jest.Mock;

/** The user fills in the form (by aria-label) and presses the accept button, or cancels. */
function user(fields: Record<string, string>, accept = true): void {
  dialog.mockImplementation(async (options: any) => {
    const node: HTMLElement = options.body.node;
    for (const [label, value] of Object.entries(fields)) {
      const control = node.querySelector<HTMLInputElement>(`[aria-label="${label}"]`);
      if (!control) {
        throw new Error(`no field ${label}`);
      }
      control.value = value;
    }
    return { button: options.buttons[accept ? 1 : 0], value: options.body.getValue() };
  });
}

afterEach(() => {
  dialog.mockReset();
  notify.mockReset();
});

describe('the attach dialog', () => {
  it('gives the attach line of the name and mode chosen, or says why the name is refused', async () => {
    user({ Mode: 'stream' });
    expect(await askAttachLine('opendata:GamGam.MC', 'auto', 'root')).toBe(
      '%odlake attach opendata:GamGam.MC as gamgam_mc --mode stream --scheme root'
    );
    expect(dialog.mock.calls[0][0].title).toBe('Attach opendata:GamGam.MC');
    user({ 'Variable name': 'class' });
    expect(await askAttachLine('opendata:GamGam.MC', 'auto')).toBeNull();
    expect(notify.mock.calls[0][0]).toBe('"class" is not a valid Python variable name.');
  });
});

describe('the upload dialog', () => {
  it('proposes the files and a dataset of the account, and gives what was filled in', async () => {
    user({ Metadata: 'channel=GamGam\nnote=a fit', RSE: ' ODLAKE_USERDISK ' });
    expect(await askUpload(['results/skim.root', 'b.txt'], 'ulla', '', ['channel'])).toEqual({
      paths: ['results/skim.root', 'b.txt'],
      dataset: 'user.ulla:skim',
      rse: 'ODLAKE_USERDISK',
      metadata: { channel: 'GamGam', note: 'a fit' }
    });
    expect(notify).not.toHaveBeenCalled();
  });

  it('says what is wrong, the dataset first, and gives nothing', async () => {
    for (const [fields, message] of [
      [{ Dataset: 'skim', Files: '' }, /^"skim" is not a dataset name/],
      [{ Files: ' \n ' }, /^Choose at least one file/],
      [{ Metadata: 'just words' }, /^Metadata: "just words" is not key=value/]
    ] as [Record<string, string>, RegExp][]) {
      notify.mockReset();
      user(fields);
      expect(await askUpload(['a.txt'], 'ulla', '', [])).toBeNull();
      expect(notify.mock.calls[0][0]).toMatch(message);
    }
  });

  it('gives nothing when cancelled, and says nothing', async () => {
    user({ Dataset: 'not a name' }, false);
    expect(await askUpload(['a.txt'], 'ulla', '', [])).toBeNull();
    expect(notify).not.toHaveBeenCalled();
  });
});

describe('the rule dialogs', () => {
  it('give the RSE expression and a lifetime, none when empty', async () => {
    user({ 'RSE expression': 'type=DISK', 'Lifetime in days': '' });
    expect(await askReplicate('user.ulla:skim', '')).toEqual({
      rseExpression: 'type=DISK',
      lifetimeDays: null
    });
    user({ 'RSE expression': 'X', 'Lifetime in days': '7' });
    expect((await askReplicate('user.ulla:skim', ''))?.lifetimeDays).toBe(7);
  });

  it('refuse a lifetime that is not positive, and no RSE', async () => {
    user({ 'RSE expression': 'X', 'Lifetime in days': '0' });
    expect(await askReplicate('user.ulla:skim', '')).toBeNull();
    user({ 'RSE expression': ' ' });
    expect(await askReplicate('user.ulla:skim', '')).toBeNull();
    expect(notify.mock.calls.map((c: unknown[]) => c[0])).toEqual([
      'A lifetime is a positive number of days, or empty for none.',
      'Name the RSE (or an RSE expression) to make the data available on.'
    ]);
  });

  it('ask before a rule is deleted, with a warning button', async () => {
    const rule = { id: 'r1', did: 'user.ulla:skim', rse_expression: 'ODLAKE_LOCAL' } as any;
    user({});
    expect(await askDeleteRule(rule)).toBe(true);
    expect(dialog.mock.calls[0][0].buttons[1]).toMatchObject({
      label: 'Delete',
      displayType: 'warn'
    });
    expect(dialog.mock.calls[0][0].body.node.textContent).toContain(
      'The rule keeping user.ulla:skim on ODLAKE_LOCAL ends'
    );
    user({}, false);
    expect(await askDeleteRule(rule)).toBe(false);
  });
});

describe('the upload form', () => {
  it('reads key=value lines and names the first line that is not one', () => {
    expect(parseMetadata('channel=GamGam\n\n note = a fit ')).toEqual({
      metadata: { channel: 'GamGam', note: 'a fit' },
      error: ''
    });
    expect(parseMetadata('channel=GamGam\njust words').error).toBe('"just words" is not key=value');
    expect(parseMetadata('=x').error).not.toBe('');
  });
  it("proposes a dataset in the user's scope named after the first file", () => {
    expect(proposedDataset('ulla', ['results/skim.root', 'mass.txt'])).toBe('user.ulla:skim');
    expect(proposedDataset('', [])).toBe('user.ACCOUNT:results');
  });
});
