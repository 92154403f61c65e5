/**
 * What the odlake REST API answers, as the frontend uses it.
 */

export type DidType = 'container' | 'dataset' | 'file' | '';
export type Mode = 'stream' | 'download' | 'mounted' | 'auto';

export const DID_MIME = 'application/x-odlake-did';

export interface IInstance {
  name: string;
  display_name: string;
  auth_type: string;
  reachable: boolean;
  authenticated: boolean;
  status: string;
  message?: string;
  default: boolean;
}

export interface IDid {
  scope: string;
  name: string;
  did: string;
  type: DidType;
  bytes: number | null;
  length: number | null;
  metadata?: Record<string, string | number | boolean>;
}

export interface IFile {
  scope: string;
  name: string;
  bytes: number | null;
  adler32: string | null;
  rses?: string[];
  available?: boolean;
}

export interface IPage<T> {
  items: T[];
  total: number;
  next: string | null;
}

export interface ICatalogContainer extends IDid {
  datasets: IDid[];
}

export interface ICatalog {
  instance: string;
  analyses: { name: string; containers: ICatalogContainer[] }[];
}

export interface IDownload {
  id: string;
  instance: string;
  did: string;
  state: 'resolving' | 'running' | 'done' | 'failed' | 'cancelled';
  files_total: number;
  files_done: number;
  bytes_total: number;
  bytes_done: number;
  rate: number;
  errors: string[];
}

/** Human size: 1.6 MB. */
export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) {
    return '';
  }
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

/**
 * A readable Python variable name for a DID, as the kernel helper derives it:
 * opendata:GamGam.Data -> gamgam_data.
 */
export function variableName(did: string): string {
  const name = did.includes(':') ? did.slice(did.indexOf(':') + 1) : did;
  const stem = name.endsWith('.root') ? name.slice(0, -5) : name;
  let ident = stem
    .replace(/[^A-Za-z0-9_]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toLowerCase();
  if (!ident) {
    ident = 'dataset';
  }
  if (/^[0-9]/.test(ident)) {
    ident = 'ds_' + ident;
  }
  return ident.slice(0, 60);
}

/** Is this a name the kernel helper accepts after `as`? */
export function isVariableName(name: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) && !PYTHON_KEYWORDS.has(name);
}

const PYTHON_KEYWORDS = new Set(
  (
    'False None True and as assert async await break class continue def del elif else except ' +
    'finally for from global if import in is lambda nonlocal not or pass raise return try while with yield ' +
    'match case type _'
  ).split(' ')
);

/** The magic line that attaches a DID. Only DIDs the server listed get here. */
export function attachLine(did: string, variable: string, mode: Mode): string {
  // shell-style quoting for the magic's parser, should a name hold unusual characters
  const shown = /^[\w.:/+-]+$/.test(did) ? did : `'${did.replace(/'/g, '')}'`;
  return (
    `%odlake attach ${shown} as ${variable}` +
    (mode === 'auto' ? '' : ` --mode ${mode}`)
  );
}

export function pythonSnippet(did: string, variable: string, mode: Mode): string {
  return (
    'import jupyterlab_odlake as odlake\n' +
    `${variable} = odlake.attach(${JSON.stringify(did)}, mode=${JSON.stringify(mode)})\n` +
    `events = ${variable}.arrays("mini")`
  );
}
