import * as React from 'react';
import { FixedSizeList } from 'react-window';

import { ReactWidget } from '@jupyterlab/apputils';

import { LakeModel } from '../model';
import { formatBytes, ICatalog, IDid, IDownload, isActive } from '../tokens';
import { DidRow, IDidActions, metadataLines } from './DidRow';
import { FileList } from './FileList';

const RESULT_ROW = 26;

function StatusDot(props: { model: LakeModel }): JSX.Element {
  const current = props.model.current;
  let state = 'unknown';
  let title = 'Checking…';
  if (props.model.instanceError) {
    state = 'error';
    title = props.model.instanceError;
  } else if (current) {
    state = current.authenticated ? 'ok' : 'error';
    title = current.authenticated
      ? `${current.display_name}: reachable, signed in as ${current.account} (${current.auth_type})`
      : (current.message ?? current.status);
  }
  return <span className={`jp-OdlakeStatus jp-mod-${state}`} title={title} data-state={state} />;
}

function Expandable(props: {
  did: IDid;
  depth: number;
  model: LakeModel;
  actions: IDidActions;
  children?: (depth: number) => React.ReactNode;
}): JSX.Element {
  const [open, setOpen] = React.useState(false);
  return (
    <div className="jp-OdlakeNode">
      <DidRow
        did={props.did}
        depth={props.depth}
        actions={props.actions}
        expanded={open}
        onToggle={() => setOpen(!open)}
      />
      {open && metadataLines(props.did.metadata).length > 0 && (
        <dl className="jp-OdlakeDetails" style={{ paddingLeft: 22 + 14 * props.depth }}>
          {Object.entries(props.did.metadata).map(([key, value]) => (
            <React.Fragment key={key}>
              <dt>{key}</dt>
              <dd>{String(value)}</dd>
            </React.Fragment>
          ))}
        </dl>
      )}
      {open &&
        (props.children ? (
          props.children(props.depth + 1)
        ) : (
          <FileList model={props.model} did={props.did.did} depth={props.depth + 1} />
        ))}
    </div>
  );
}

/** An analysis whose one container bears its name needs no heading of its own: the row says it. */
function namedByItsContainer(analysis: ICatalog['analyses'][number]): boolean {
  return (
    analysis.containers.length === 1 &&
    analysis.containers[0].name.toLowerCase() === analysis.name.toLowerCase()
  );
}

function CatalogView(props: { model: LakeModel; actions: IDidActions }): JSX.Element {
  const { model, actions } = props;
  if (model.catalogError) {
    return <div className="jp-OdlakeError">{model.catalogError}</div>;
  }
  if (!model.catalog) {
    return (
      <div className="jp-OdlakeHint">{model.loadingCatalog ? 'Loading the catalog…' : ''}</div>
    );
  }
  if (model.catalog.analyses.length === 0) {
    return <div className="jp-OdlakeHint">No containers in this lake yet.</div>;
  }
  return (
    <div className="jp-OdlakeCatalog">
      {model.catalog.analyses.map(analysis => (
        <div key={analysis.name} className="jp-OdlakeAnalysis" data-analysis={analysis.name}>
          {!namedByItsContainer(analysis) && (
            <div className="jp-OdlakeAnalysis-title">{analysis.name}</div>
          )}
          {analysis.containers.map(container => (
            <Expandable
              key={container.did}
              did={container}
              depth={0}
              model={model}
              actions={actions}
            >
              {depth =>
                container.datasets.map(ds => (
                  <Expandable key={ds.did} did={ds} depth={depth} model={model} actions={actions} />
                ))
              }
            </Expandable>
          ))}
        </div>
      ))}
    </div>
  );
}

function SearchView(props: { model: LakeModel; actions: IDidActions }): JSX.Element {
  const { model, actions } = props;
  const [filter, setFilter] = React.useState('');
  const [filterError, setFilterError] = React.useState('');
  const [selected, setSelected] = React.useState<IDid | null>(null);
  const results = model.results;
  const addFilter = () => {
    if (!filter.trim()) {
      return;
    }
    if (model.addFilter(filter)) {
      setFilter('');
      setFilterError('');
    } else {
      setFilterError('Write a filter as key=value, key>=number …');
    }
  };
  return (
    <div className="jp-OdlakeSearch">
      <form
        className="jp-OdlakeSearch-form"
        onSubmit={e => {
          e.preventDefault();
          addFilter();
          void model.search();
        }}
      >
        <input
          className="jp-mod-styled jp-OdlakeSearch-query"
          placeholder="a word (GamGam) or scope:pattern (opendata:*MC*)"
          value={model.query}
          aria-label="DID pattern"
          onChange={e => {
            model.setQuery(e.target.value);
            setSelected(null);
            setFilterError('');
          }}
        />
        <select
          className="jp-mod-styled jp-OdlakeSearch-type"
          value={model.type}
          aria-label="DID type"
          onChange={e => {
            model.setType(e.target.value);
            void model.search();
          }}
        >
          <option value="collection">datasets & containers</option>
          <option value="dataset">datasets</option>
          <option value="container">containers</option>
          <option value="file">files</option>
          <option value="all">everything</option>
        </select>
        <input
          className="jp-mod-styled jp-OdlakeSearch-filter"
          placeholder="filter, e.g. channel=GamGam (Enter)"
          aria-label="metadata filter"
          value={filter}
          onChange={e => setFilter(e.target.value)}
        />
        <button type="submit" className="jp-mod-styled jp-mod-accept jp-OdlakeButton">
          Search
        </button>
      </form>
      {filterError && <div className="jp-OdlakeError">{filterError}</div>}
      <div className="jp-OdlakeChips">
        {model.filters.map(f => (
          <span key={f} className="jp-OdlakeChip" data-filter={f}>
            {f}
            <button
              className="jp-OdlakeChip-remove"
              title={`Remove the filter ${f}`}
              onClick={() => {
                model.removeFilter(f);
                void model.search();
              }}
            >
              ×
            </button>
          </span>
        ))}
      </div>
      {model.searchError && <div className="jp-OdlakeError">{model.searchError}</div>}
      {model.searching && <div className="jp-OdlakeHint">Searching…</div>}
      {results && <div className="jp-OdlakeHint jp-OdlakeSearch-count">{model.resultCount()}</div>}
      {results && results.items.length > 0 && (
        <FixedSizeList
          className="jp-OdlakeResults"
          height={Math.min(results.items.length, 14) * RESULT_ROW}
          width="100%"
          itemCount={results.items.length}
          itemSize={RESULT_ROW}
          onItemsRendered={({ visibleStopIndex }) => {
            if (visibleStopIndex >= results.items.length - 3 && results.next) {
              void model.moreResults();
            }
          }}
        >
          {({ index, style }) => (
            <div style={style} onClick={() => setSelected(results.items[index])}>
              <DidRow did={results.items[index]} actions={actions} />
            </div>
          )}
        </FixedSizeList>
      )}
      {selected && selected.type !== 'file' && (
        <div className="jp-OdlakeSelected">
          <div className="jp-OdlakeHint">Files of {selected.did}</div>
          <FileList key={selected.did} model={model} did={selected.did} depth={0} />
        </div>
      )}
    </div>
  );
}

function Downloads(props: { model: LakeModel }): JSX.Element | null {
  const { model } = props;
  if (model.downloads.length === 0) {
    return null;
  }
  return (
    <div className="jp-OdlakeDownloads">
      <div className="jp-OdlakeSection-title">Downloads</div>
      {model.downloads
        .slice()
        .reverse()
        .map((d: IDownload) => {
          const fraction = d.bytes_total ? d.bytes_done / d.bytes_total : 0;
          const active = isActive(d);
          return (
            <div
              key={d.id}
              className="jp-OdlakeDownload"
              data-state={d.state}
              title={d.errors.join('\n')}
            >
              <div className="jp-OdlakeDownload-head">
                <span className="jp-OdlakeDownload-did">{d.did}</span>
                <span className="jp-OdlakeDownload-state">{d.state}</span>
                {active && (
                  <button
                    className="jp-OdlakeButton jp-mod-styled"
                    onClick={() => void model.cancel(d.id)}
                  >
                    Cancel
                  </button>
                )}
              </div>
              <progress max={1} value={fraction} />
              <div className="jp-OdlakeDownload-detail">
                {d.files_done}/{d.files_total} files · {formatBytes(d.bytes_done)} of{' '}
                {formatBytes(d.bytes_total)}
                {active && d.rate > 0 ? ` · ${formatBytes(d.rate)}/s` : ''}
                {d.errors.length > 0 ? ` · ${d.errors[0]}` : ''}
              </div>
            </div>
          );
        })}
    </div>
  );
}

function Panel(props: { model: LakeModel; actions: IDidActions }): JSX.Element {
  const { model, actions } = props;
  const [, setTick] = React.useState(0);
  const [view, setView] = React.useState<'catalog' | 'search'>('catalog');
  React.useEffect(() => {
    const rerender = () => setTick(t => t + 1);
    model.changed.connect(rerender);
    // the model may have changed between the first render and this subscription (an answer that
    // came meanwhile): render once more, or the panel would show "Loading…" until the next change
    rerender();
    return () => {
      model.changed.disconnect(rerender);
    };
  }, [model]);
  return (
    <div className="jp-OdlakePanel-body">
      <div className="jp-OdlakePanel-header">
        <h2>Open Data Lake</h2>
        <div className="jp-OdlakeInstance">
          <StatusDot model={model} />
          <select
            className="jp-mod-styled"
            aria-label="Rucio instance"
            value={model.instance}
            onChange={e => void model.selectInstance(e.target.value)}
          >
            {model.instances.map(i => (
              <option key={i.name} value={i.name}>
                {i.display_name}
              </option>
            ))}
          </select>
          <button
            className="jp-OdlakeButton jp-mod-styled"
            title="Check the instances again and reload"
            onClick={() => {
              void model.refreshInstances().then(() => model.loadCatalog());
            }}
          >
            ⟳
          </button>
        </div>
        {model.current && !model.current.authenticated && (
          <div className="jp-OdlakeError">{model.current.message}</div>
        )}
        <div className="jp-OdlakeTabs" role="tablist">
          <button
            role="tab"
            aria-selected={view === 'catalog'}
            className={'jp-OdlakeTab' + (view === 'catalog' ? ' jp-mod-active' : '')}
            onClick={() => setView('catalog')}
          >
            Catalog
          </button>
          <button
            role="tab"
            aria-selected={view === 'search'}
            className={'jp-OdlakeTab' + (view === 'search' ? ' jp-mod-active' : '')}
            onClick={() => setView('search')}
          >
            Search
          </button>
        </div>
      </div>
      <div className="jp-OdlakePanel-content">
        {view === 'catalog' ? (
          <CatalogView model={model} actions={actions} />
        ) : (
          <SearchView model={model} actions={actions} />
        )}
      </div>
      <Downloads model={model} />
    </div>
  );
}

/** The left-sidebar panel. */
export class LakePanel extends ReactWidget {
  constructor(
    readonly model: LakeModel,
    private _actions: IDidActions
  ) {
    super();
    this.id = 'odlake-panel';
    this.addClass('jp-OdlakePanel');
  }

  render(): JSX.Element {
    return <Panel model={this.model} actions={this._actions} />;
  }

  /** The panel owns its model: disposing the panel stops the model's polling. */
  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.model.dispose();
    super.dispose();
  }
}
