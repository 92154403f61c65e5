import { MimeData } from '@lumino/coreutils';

import { DID_MIME, SettingsMode } from './tokens';

/*
 * What a DID becomes in a notebook: the variable it is attached as, the %odlake line,
 * the Python snippet, what a drag of it carries.
 */

/** Python's keywords and soft keywords: never a variable name (the kernel's RESERVED). */
const RESERVED = new Set(
  (
    'False None True and as assert async await break class continue def del elif else except ' +
    'finally for from global if import in is lambda nonlocal not or pass raise return try while with yield ' +
    'match case type _'
  ).split(' ')
);

/**
 * A readable Python variable name for a DID, as the kernel helper derives it:
 * opendata:GamGam.Data -> gamgam_data. Both sides are tested against one table,
 * tests/cases/variable_names.json.
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
  ident = ident.slice(0, 60);
  return RESERVED.has(ident) ? ident + '_' : ident;
}

/** Is this a name the kernel helper accepts after `as`? */
export function isVariableName(name: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) && !RESERVED.has(name);
}

/**
 * The magic line that attaches a DID; without a variable, the kernel names it.
 * Only DIDs the server listed get here (no quotes or control characters in them).
 */
export function attachLine(
  did: string,
  variable: string | null,
  mode: SettingsMode,
  schemes = ''
): string {
  // shell-style quoting for the magic's parser, should a name hold spaces or other odd characters
  const shown = /^[\w.:/+-]+$/.test(did) ? did : `'${did.replace(/'/g, '')}'`;
  return (
    `%odlake attach ${shown}` +
    (variable ? ` as ${variable}` : '') +
    (mode ? ` --mode ${mode}` : '') + // none: the instance's default mode, as the kernel reads it
    (streams(mode) && schemes ? ` --scheme ${schemes}` : '')
  );
}

/** May this mode stream (so that a scheme order matters)? The instance's default may. */
function streams(mode: SettingsMode): boolean {
  return mode === 'stream' || mode === 'auto' || mode === '';
}

export function pythonSnippet(
  did: string,
  variable: string,
  mode: SettingsMode,
  schemes = ''
): string {
  const scheme = streams(mode) && schemes ? `, scheme=${JSON.stringify(schemes)}` : '';
  const how = mode ? `, mode=${JSON.stringify(mode)}` : '';
  return (
    'import jupyterlab_odlake as odlake\n' +
    `${variable} = odlake.attach(${JSON.stringify(did)}${how}${scheme})\n` +
    `events = ${variable}.arrays("mini")`
  );
}

/** What a dragged DID carries: our MIME type for notebooks, plain text for everything else. */
export function dragPayload(did: string): MimeData {
  const data = new MimeData();
  data.setData(DID_MIME, did);
  data.setData('text/plain', did);
  return data;
}

/** The cell a dropped DID becomes: the kernel names the variable, by the same rule as everywhere. */
export function droppedCell(did: string, mode: SettingsMode, schemes = ''): string {
  return attachLine(did, null, mode, schemes);
}
