/**
 * What the dialogs read from their forms: metadata lines, the proposed dataset.
 */
import { parseMetadata, proposedDataset } from '../tokens';

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
