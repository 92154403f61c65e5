import { IUploadRequest } from '../tokens';
import { ask, Checked, field, Form, input, textarea } from './form';

/** A dataset name proposed for files: the first file's name without its extension. */
export function proposedDataset(account: string, paths: string[]): string {
  const first = (paths[0] ?? '').split('/').pop() ?? '';
  const stem = first.includes('.') ? first.slice(0, first.lastIndexOf('.')) : first;
  return `user.${account || 'ACCOUNT'}:${stem || 'results'}`;
}

/** Metadata typed in as key=value lines: the keys and values, or the first line that is not one. */
export function parseMetadata(text: string): { metadata: Record<string, string>; error: string } {
  const metadata: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) {
      continue;
    }
    const i = line.indexOf('=');
    const key = i > 0 ? line.slice(0, i).trim() : '';
    if (!/^[A-Za-z_][\w.]*$/.test(key)) {
      return { metadata, error: `"${line.slice(0, 40)}" is not key=value` };
    }
    metadata[key] = line.slice(i + 1).trim();
  }
  return { metadata, error: '' };
}

/** What to upload where: files, a dataset (proposed in the user's scope), an RSE, metadata. */
class UploadForm extends Form<IUploadRequest> {
  constructor(paths: string[], account: string, rse: string, keys: string[]) {
    super();
    this._paths = textarea(
      'Files',
      paths.join('\n'),
      'results/skim.root',
      Math.min(Math.max(paths.length, 2), 6)
    );
    this._dataset = input('Dataset', proposedDataset(account, paths), 'user.ACCOUNT:name');
    this._rse = input('RSE', rse, 'an RSE that accepts writes');
    this._metadata = textarea('Metadata', '', 'channel=GamGam\nnote=fit of the diphoton mass', 3);
    this.node.append(
      field('Files', this._paths, 'paths under the Jupyter root, one a line'),
      field('Dataset', this._dataset, 'scope:name; created when new; your scope is user.<account>'),
      field('RSE', this._rse),
      field(
        'Metadata',
        this._metadata,
        'one key=value a line' + (keys.length ? `; the catalog's keys: ${keys.join(', ')}` : '')
      )
    );
  }

  getValue(): Checked<IUploadRequest> {
    const paths = this._paths.value
      .split('\n')
      .map(p => p.trim())
      .filter(Boolean);
    const dataset = this._dataset.value.trim();
    const { metadata, error } = parseMetadata(this._metadata.value);
    const i = dataset.indexOf(':');
    if (i <= 0 || i === dataset.length - 1) {
      return {
        error: `"${dataset}" is not a dataset name: write scope:name, e.g. user.you:results.`
      };
    }
    if (paths.length === 0) {
      return { error: 'Choose at least one file to upload.' };
    }
    if (error) {
      return { error: `Metadata: ${error}.` };
    }
    return { value: { paths, dataset, rse: this._rse.value.trim(), metadata } };
  }

  private _paths: HTMLTextAreaElement;
  private _dataset: HTMLInputElement;
  private _rse: HTMLInputElement;
  private _metadata: HTMLTextAreaElement;
}

/**
 * Ask what to upload where, proposing `paths` (the files selected), a dataset in the user's
 * scope, `rse` and the catalog's metadata `keys`; null when cancelled or not filled in right.
 */
export function askUpload(
  paths: string[],
  account: string,
  rse: string,
  keys: string[]
): Promise<IUploadRequest | null> {
  return ask('Upload to Open Data Lake', new UploadForm(paths, account, rse, keys), 'Upload');
}
