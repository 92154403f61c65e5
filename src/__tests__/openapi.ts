/**
 * What the REST API's description (jupyterlab_odlake/server/openapi.json) names, read at run
 * time for the tests that must cover all of it: its operations ("GET /search") and its schemas.
 */
import { readFileSync } from 'fs';
import * as path from 'path';

const description = JSON.parse(
  readFileSync(
    path.join(__dirname, '..', '..', 'jupyterlab_odlake', 'server', 'openapi.json'),
    'utf-8'
  )
) as { paths: Record<string, object>; components: { schemas: Record<string, object> } };

const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

/** Every route and method the API has, as "GET /search", "DELETE /rules/{rule_id}". */
export function operations(): string[] {
  return Object.entries(description.paths)
    .flatMap(([route, item]) =>
      Object.keys(item)
        .filter(key => METHODS.includes(key))
        .map(method => `${method.toUpperCase()} ${route}`)
    )
    .sort();
}

/** The names of the schemas under components. */
export function schemaNames(): string[] {
  return Object.keys(description.components.schemas).sort();
}
