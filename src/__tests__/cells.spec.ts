/**
 * What a DID becomes in a notebook. The variable names come from the table the kernel's
 * tests use too (tests/cases/variable_names.json): one rule, checked on both sides.
 */
import { DID_MIME, MODES } from '../tokens';
import {
  attachLine,
  dragPayload,
  droppedCell,
  isVariableName,
  pythonSnippet,
  variableName
} from '../cells';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const cases = require('../../tests/cases/variable_names.json');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const schema = require('../../schema/plugin.json');

describe('variable names', () => {
  it.each(cases.names as { did: string; variable: string }[])(
    '$did is attached as $variable',
    ({ did, variable }) => {
      expect(variableName(did)).toBe(variable);
      expect(isVariableName(variableName(did))).toBe(true);
    }
  );

  it.each(cases.checks as { name: string; valid: boolean }[])(
    '"$name" after `as` is accepted: $valid',
    ({ name, valid }) => {
      expect(isVariableName(name)).toBe(valid);
    }
  );
});

describe('the attach line', () => {
  it('names the variable and the mode when asked', () => {
    expect(attachLine('opendata:GamGam.MC', 'mc', 'stream')).toBe(
      '%odlake attach opendata:GamGam.MC as mc --mode stream'
    );
    expect(attachLine('opendata:GamGam.MC', 'mc', 'auto')).toBe(
      '%odlake attach opendata:GamGam.MC as mc --mode auto'
    );
  });

  it("leaves the mode to the instance's default when the settings name none", () => {
    expect(attachLine('opendata:GamGam.MC', 'mc', '', 'root')).toBe(
      '%odlake attach opendata:GamGam.MC as mc --scheme root'
    );
    expect(pythonSnippet('opendata:GamGam.MC', 'mc', '')).toContain(
      'odlake.attach("opendata:GamGam.MC")'
    );
  });

  it('leaves the name to the kernel when dropped', () => {
    expect(droppedCell('opendata:class', '')).toBe('%odlake attach opendata:class');
    expect(droppedCell('opendata:class', 'download')).toBe(
      '%odlake attach opendata:class --mode download'
    );
  });

  it('quotes a name the magic would otherwise split', () => {
    expect(attachLine('user.alice:my results (v2).root', null, '')).toBe(
      "%odlake attach 'user.alice:my results (v2).root'"
    );
    expect(attachLine('opendata:a;b', 'x', '')).toBe("%odlake attach 'opendata:a;b' as x");
    // a quote can never reach the kernel as code (the server refuses such names anyway)
    expect(attachLine("opendata:it's", null, '')).toBe("%odlake attach 'opendata:its'");
  });

  it('asks for the stream schemes set in the settings, where the mode streams', () => {
    expect(attachLine('opendata:GamGam.MC', 'mc', 'stream', 'http,root')).toBe(
      '%odlake attach opendata:GamGam.MC as mc --mode stream --scheme http,root'
    );
    expect(droppedCell('opendata:GamGam.MC', '', 'root')).toBe(
      '%odlake attach opendata:GamGam.MC --scheme root'
    );
    expect(droppedCell('opendata:GamGam.MC', 'download', 'root')).toBe(
      '%odlake attach opendata:GamGam.MC --mode download'
    );
    expect(pythonSnippet('opendata:GamGam.MC', 'mc', 'stream', 'http')).toContain(
      'odlake.attach("opendata:GamGam.MC", mode="stream", scheme="http")'
    );
    expect(attachLine('opendata:GamGam.MC', 'mc', 'stream', '')).toBe(
      '%odlake attach opendata:GamGam.MC as mc --mode stream'
    );
  });

  it('the Python snippet quotes the DID as a string', () => {
    expect(pythonSnippet('opendata:a"b', 'x', 'stream')).toContain(
      'odlake.attach("opendata:a\\"b", mode="stream")'
    );
  });
});

describe('a dragged DID', () => {
  it('carries the DID as odlake data and as plain text', () => {
    const payload = dragPayload('opendata:GamGam.Data');
    expect(payload.getData(DID_MIME)).toBe('opendata:GamGam.Data');
    expect(payload.getData('text/plain')).toBe('opendata:GamGam.Data');
    expect(payload.types().sort()).toEqual([DID_MIME, 'text/plain'].sort());
  });
});

describe('modes', () => {
  it('are the settings schema enum', () => {
    expect(['', ...MODES].sort()).toEqual([...schema.properties.defaultMode.enum].sort());
  });
});
