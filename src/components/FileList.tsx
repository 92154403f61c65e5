import * as React from 'react';
import { FixedSizeList } from 'react-window';

import { formatBytes, readLabel } from '../format';
import { ICatalogModel } from '../tokens';

const ROW = 22;
const MAX_VISIBLE = 12;

/**
 * The files of a dataset or container, paged from the server and virtualized: only the
 * rows in view are in the DOM, and the pages under the rows in view are fetched. Until the
 * server has read the listing to its end, the list ends in a row that fetches the next page.
 */
export function FileList(props: {
  catalog: ICatalogModel;
  did: string;
  depth: number;
}): JSX.Element {
  const { catalog, did } = props;
  const listing = React.useMemo(() => catalog.fileListing(did), [catalog, did]);
  const [, setTick] = React.useState(0);
  React.useEffect(() => {
    const rerender = () => setTick(t => t + 1);
    listing.changed.connect(rerender);
    rerender(); // a page that came between the first render and this subscription
    void listing.show(0, 0);
    return () => {
      listing.changed.disconnect(rerender);
    };
  }, [listing]);

  const items = listing.items;
  if (listing.error && !items) {
    return <div className="jp-OdlakeError">{listing.error}</div>;
  }
  if (items === null) {
    return <div className="jp-OdlakeHint">Loading files…</div>;
  }
  if (items.length === 0) {
    return <div className="jp-OdlakeHint">No files.</div>;
  }
  const height = Math.min(items.length, MAX_VISIBLE) * ROW;
  return (
    <>
      <FixedSizeList
        className="jp-OdlakeFileList"
        height={height}
        width="100%"
        itemCount={items.length}
        itemSize={ROW}
        onItemsRendered={({ visibleStartIndex, visibleStopIndex }) => {
          void listing.show(visibleStartIndex, visibleStopIndex);
        }}
      >
        {({ index, style }) => {
          const file = items[index];
          const read = readLabel(file?.read, catalog.readMode);
          return (
            <div
              className="jp-OdlakeFile"
              style={{ ...style, paddingLeft: 18 + 14 * props.depth }}
              title={
                file
                  ? `${file.did}\nadler32 ${file.adler32 ?? '?'}\n${(file.rses ?? []).join(', ')}`
                  : ''
              }
            >
              {file ? (
                <>
                  <span
                    className={
                      'jp-OdlakeFile-dot ' + (file.available ? 'jp-mod-ok' : 'jp-mod-missing')
                    }
                    title={file.available ? 'available' : 'no available replica'}
                  />
                  <span className="jp-OdlakeFile-name">{file.name}</span>
                  {read.tag ? (
                    <span className="jp-OdlakeFile-read" title={read.title}>
                      {read.tag}
                    </span>
                  ) : null}
                  <span className="jp-OdlakeFile-size">{formatBytes(file.bytes)}</span>
                </>
              ) : (
                <span className="jp-OdlakeHint">…</span>
              )}
            </div>
          );
        }}
      </FixedSizeList>
      <div className="jp-OdlakeFileList-count" style={{ paddingLeft: 18 + 14 * props.depth }}>
        {listing.countText()}
      </div>
    </>
  );
}
