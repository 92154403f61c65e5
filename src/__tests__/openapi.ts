/**
 * What jupyterlab_odlake/server/openapi.yaml names, read at run time for the tests that
 * must cover all of it: its operations ("GET /search") and its schemas.
 */
import { readFileSync } from 'fs';
import * as path from 'path';

const lines = readFileSync(
  path.join(__dirname, '..', '..', 'jupyterlab_odlake', 'server', 'openapi.yaml'),
  'utf-8'
).split('\n');

/** The lines of a section: those after `header`, up to the next line indented as little. */
function section(header: string): string[] {
  const start = lines.indexOf(header);
  const indent = header.length - header.trimStart().length;
  const out: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.trim() && line.length - line.trimStart().length <= indent) {
      break;
    }
    out.push(line);
  }
  return out;
}

/** Every route and method the API has, as "GET /search", "DELETE /rules/{rule_id}". */
export function operations(): string[] {
  const found: string[] = [];
  let route = '';
  for (const line of section('paths:')) {
    const r = /^ {2}(\/\S*):\s*$/.exec(line);
    const m = /^ {4}(get|put|post|delete|patch):/.exec(line);
    if (r) {
      route = r[1];
    } else if (m) {
      found.push(`${m[1].toUpperCase()} ${route}`);
    }
  }
  return found.sort();
}

/** The names of the schemas under components. */
export function schemaNames(): string[] {
  return section('  schemas:')
    .map(line => /^ {4}([A-Za-z]\w*):/.exec(line)?.[1])
    .filter((name): name is string => Boolean(name))
    .sort();
}
