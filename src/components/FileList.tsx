import * as React from 'react';
import { FixedSizeList } from 'react-window';

import { LakeModel } from '../model';
import { formatBytes, IFile } from '../tokens';

const ROW = 22;
const MAX_VISIBLE = 12;

/**
 * The files of a dataset or container, paged from the server and virtualized: only the
 * rows in view are in the DOM, and the pages under the rows in view are fetched.
 */
export function FileList(props: { model: LakeModel; did: string; depth: number }): JSX.Element {
  const { model, did } = props;
  const [items, setItems] = React.useState<(IFile | undefined)[] | null>(null);
  const [error, setError] = React.useState('');
  const requested = React.useRef(new Set<number>());

  const load = React.useCallback(
    async (page: number) => {
      if (requested.current.has(page)) {
        return;
      }
      requested.current.add(page);
      try {
        const reply = await model.files(did, page * model.pageSize);
        setItems(previous => {
          const out: (IFile | undefined)[] = previous ? previous.slice() : [];
          out.length = reply.total;
          reply.items.forEach((f, i) => (out[page * model.pageSize + i] = f));
          return out;
        });
      } catch (e) {
        requested.current.delete(page);
        setError((e as Error).message);
      }
    },
    [model, did]
  );

  React.useEffect(() => {
    void load(0);
  }, [load]);

  if (error) {
    return <div className="jp-OdlakeError">{error}</div>;
  }
  if (items === null) {
    return <div className="jp-OdlakeHint">Loading files…</div>;
  }
  if (items.length === 0) {
    return <div className="jp-OdlakeHint">No files.</div>;
  }
  const height = Math.min(items.length, MAX_VISIBLE) * ROW;
  return (
    <FixedSizeList
      className="jp-OdlakeFileList"
      height={height}
      width="100%"
      itemCount={items.length}
      itemSize={ROW}
      onItemsRendered={({ visibleStartIndex, visibleStopIndex }) => {
        for (let i = visibleStartIndex; i <= visibleStopIndex; i++) {
          if (items[i] === undefined) {
            void load(Math.floor(i / model.pageSize));
          }
        }
      }}
    >
      {({ index, style }) => {
        const file = items[index];
        return (
          <div
            className="jp-OdlakeFile"
            style={{ ...style, paddingLeft: 18 + 14 * props.depth }}
            title={file ? `${file.scope}:${file.name}\nadler32 ${file.adler32 ?? '?'}\n${(file.rses ?? []).join(', ')}` : ''}
          >
            {file ? (
              <>
                <span
                  className={'jp-OdlakeFile-dot ' + (file.available ? 'jp-mod-ok' : 'jp-mod-missing')}
                  title={file.available ? 'available' : 'no available replica'}
                />
                <span className="jp-OdlakeFile-name">{file.name}</span>
                <span className="jp-OdlakeFile-size">{formatBytes(file.bytes)}</span>
              </>
            ) : (
              <span className="jp-OdlakeHint">…</span>
            )}
          </div>
        );
      }}
    </FixedSizeList>
  );
}
