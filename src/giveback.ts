/**
 * Giving back to the lake: the forms that ask what to upload where, and where to make a DID
 * available (a replication rule). The server does the work; these only ask and check the form.
 */
import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { parseMetadata, proposedDataset } from './tokens';

function field(text: string, control: HTMLElement, hint = ''): HTMLElement {
  const label = document.createElement('label');
  label.className = 'jp-OdlakeForm-field';
  const title = document.createElement('span');
  title.textContent = text;
  label.append(title, control);
  if (hint) {
    const small = document.createElement('small');
    small.className = 'jp-OdlakeForm-hint';
    small.textContent = hint;
    label.appendChild(small);
  }
  return label;
}

function input(label: string, value: string, placeholder = ''): HTMLInputElement {
  const element = document.createElement('input');
  element.className = 'jp-mod-styled';
  element.value = value;
  element.placeholder = placeholder;
  element.setAttribute('aria-label', label);
  return element;
}

function textarea(label: string, value: string, placeholder: string, rows: number) {
  const element = document.createElement('textarea');
  element.className = 'jp-mod-styled';
  element.value = value;
  element.placeholder = placeholder;
  element.rows = rows;
  element.setAttribute('aria-label', label);
  return element;
}

export interface IUploadRequest {
  paths: string[];
  dataset: string;
  rse: string;
  metadata: Record<string, string>;
}

class UploadForm extends Widget {
  constructor(paths: string[], account: string, rse: string, keys: string[]) {
    super();
    this.addClass('jp-OdlakeForm');
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

  getValue(): IUploadRequest & { error: string } {
    const paths = this._paths.value
      .split('\n')
      .map(p => p.trim())
      .filter(Boolean);
    const dataset = this._dataset.value.trim();
    const { metadata, error } = parseMetadata(this._metadata.value);
    let problem = error ? `Metadata: ${error}.` : '';
    const i = dataset.indexOf(':');
    if (i <= 0 || i === dataset.length - 1) {
      problem = `"${dataset}" is not a dataset name: write scope:name, e.g. user.you:results.`;
    } else if (paths.length === 0) {
      problem = 'Choose at least one file to upload.';
    }
    return { paths, dataset, rse: this._rse.value.trim(), metadata, error: problem };
  }

  private _paths: HTMLTextAreaElement;
  private _dataset: HTMLInputElement;
  private _rse: HTMLInputElement;
  private _metadata: HTMLTextAreaElement;
}

/** Show a form; its value when accepted and filled in right, else null (a wrong form is said in a notification). */
async function ask<T>(
  title: string,
  form: Widget & { getValue(): T & { error: string } },
  label: string
): Promise<T | null> {
  const result = await showDialog({
    title,
    body: form,
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label })]
  });
  if (!result.button.accept || !result.value) {
    return null;
  }
  const { error, ...request } = result.value;
  if (error) {
    Notification.error(error, { autoClose: 6000 });
    return null;
  }
  return request as unknown as T;
}

/** Ask what to upload where; null when cancelled or the form is not filled in right. */
export function askUpload(
  paths: string[],
  account: string,
  rse: string,
  keys: string[]
): Promise<IUploadRequest | null> {
  return ask('Upload to Open Data Lake', new UploadForm(paths, account, rse, keys), 'Upload');
}

export interface IReplicateRequest {
  rseExpression: string;
  lifetimeDays: number | null;
}

class ReplicateForm extends Widget {
  constructor(rse: string) {
    super();
    this.addClass('jp-OdlakeForm');
    this._rse = input('RSE expression', rse, 'ODLAKE_USERDISK, or type=DISK');
    this._lifetime = input('Lifetime in days', '', 'none: until the rule is deleted');
    this._lifetime.type = 'number';
    this._lifetime.min = '0';
    this.node.append(
      field('RSE expression', this._rse, "an RSE, or an expression in Rucio's syntax"),
      field('Lifetime (days)', this._lifetime)
    );
  }

  getValue(): IReplicateRequest & { error: string } {
    const rseExpression = this._rse.value.trim();
    const text = this._lifetime.value.trim();
    const lifetimeDays = text ? Number(text) : null;
    let error = rseExpression
      ? ''
      : 'Name the RSE (or an RSE expression) to make the data available on.';
    if (lifetimeDays !== null && !(lifetimeDays > 0)) {
      error = 'A lifetime is a positive number of days, or empty for none.';
    }
    return { rseExpression, lifetimeDays, error };
  }

  private _rse: HTMLInputElement;
  private _lifetime: HTMLInputElement;
}

/** Ask where to make `did` available; null when cancelled or not filled in right. */
export function askReplicate(did: string, rse: string): Promise<IReplicateRequest | null> {
  return ask(`Make ${did} available on…`, new ReplicateForm(rse), 'Make available');
}
