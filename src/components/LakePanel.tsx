import * as React from 'react';
import { FixedSizeList } from 'react-window';

import { ReactWidget } from '@jupyterlab/apputils';

import { LakeModel } from '../model';
import {
  formatBytes,
  ICatalog,
  IDid,
  IDownload,
  IRule,
  isActive,
  IUpload,
  SearchType
} from '../tokens';
import { DidRow, IDidActions, metadataLines } from './DidRow';
import { FileList } from './FileList';

const RESULT_ROW = 26;

/** What the panel asks of the application beyond the DID rows: the upload form, a rule's deletion. */
export interface IPanelActions extends IDidActions {
  upload(): void;
  deleteRule(rule: IRule): void;
}

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
            model.setType(e.target.value as SearchType);
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

/** One transfer's row: what, state, cancel while active, a progress bar and the counts. */
function Transfer(props: {
  kind: 'download' | 'upload';
  name: string;
  state: string;
  active: boolean;
  onCancel: () => void;
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
  rate: number;
  detail: string;
  errors: string[];
}): JSX.Element {
  const p = props;
  return (
    <div
      className="jp-OdlakeDownload"
      data-kind={p.kind}
      data-state={p.state}
      title={p.errors.join('\n')}
    >
      <div className="jp-OdlakeDownload-head">
        <span className="jp-OdlakeDownload-did">
          {p.kind === 'upload' ? '↑ ' : '↓ '}
          {p.name}
        </span>
        <span className="jp-OdlakeDownload-state">{p.state}</span>
        {p.active && (
          <button className="jp-OdlakeButton jp-mod-styled" onClick={p.onCancel}>
            Cancel
          </button>
        )}
      </div>
      <progress max={1} value={p.bytesTotal ? p.bytesDone / p.bytesTotal : 0} />
      <div className="jp-OdlakeDownload-detail">
        {p.filesDone}/{p.filesTotal} files · {formatBytes(p.bytesDone)} of{' '}
        {formatBytes(p.bytesTotal)}
        {p.active && p.rate > 0 ? ` · ${formatBytes(p.rate)}/s` : ''}
        {p.detail ? ` · ${p.detail}` : ''}
        {p.errors.length > 0 ? ` · ${p.errors[0]}` : ''}
      </div>
    </div>
  );
}

function Transfers(props: { model: LakeModel }): JSX.Element | null {
  const { model } = props;
  if (model.downloads.length === 0 && model.uploads.length === 0) {
    return null;
  }
  const rows = [
    ...model.downloads.map((d: IDownload) => ({
      created: d.created,
      row: (
        <Transfer
          key={d.id}
          kind="download"
          name={d.did}
          state={d.state}
          active={isActive(d)}
          onCancel={() => void model.cancel(d.id)}
          filesDone={d.files_done}
          filesTotal={d.files_total}
          bytesDone={d.bytes_done}
          bytesTotal={d.bytes_total}
          rate={d.rate}
          detail=""
          errors={d.errors}
        />
      )
    })),
    ...model.uploads.map((u: IUpload) => ({
      created: u.created,
      row: (
        <Transfer
          key={u.id}
          kind="upload"
          name={u.dataset}
          state={u.state}
          active={isActive(u)}
          onCancel={() => void model.cancelUpload(u.id)}
          filesDone={u.files_done}
          filesTotal={u.files_total}
          bytesDone={u.bytes_done}
          bytesTotal={u.bytes_total}
          rate={u.rate}
          detail={
            u.current
              ? `sending ${u.current} to ${u.rse}`
              : u.state === 'cancelled'
                ? `stopped: ${u.files_done} whole files kept`
                : `on ${u.rse}`
          }
          errors={u.errors}
        />
      )
    }))
  ].sort((a, b) => b.created - a.created);
  return (
    <div className="jp-OdlakeDownloads">
      <div className="jp-OdlakeSection-title">Transfers</div>
      {rows.map(r => r.row)}
    </div>
  );
}

/** The rules of the user's account: what, where, state in words, locks done/total, expiry, delete. */
function RulesView(props: { model: LakeModel; actions: IPanelActions }): JSX.Element {
  const { model, actions } = props;
  React.useEffect(() => {
    void model.loadRules();
  }, [model, model.instance]);
  return (
    <div className="jp-OdlakeRules">
      <div className="jp-OdlakeRules-head">
        <span className="jp-OdlakeHint">
          Replication rules of {model.current?.account ?? 'your account'}
        </span>
        <button
          className="jp-OdlakeButton jp-mod-styled"
          title="Read the rules again"
          onClick={() => void model.loadRules()}
        >
          ⟳
        </button>
      </div>
      {model.rulesError && <div className="jp-OdlakeError">{model.rulesError}</div>}
      {model.rules && model.rules.length === 0 && (
        <div className="jp-OdlakeHint">
          No rules yet: right-click a dataset and choose “Make available on…”.
        </div>
      )}
      {(model.rules ?? []).map(rule => (
        <div
          key={rule.id}
          className="jp-OdlakeRule"
          data-rule={rule.id}
          data-state={rule.state}
          title={`${rule.did}\nrule ${rule.id} of ${rule.account}`}
        >
          <div className="jp-OdlakeRule-head">
            <span className="jp-OdlakeRule-did">{rule.did}</span>
            <span className="jp-OdlakeRule-state" data-state={rule.state}>
              {rule.state}
            </span>
            <button
              className="jp-OdlakeButton jp-mod-styled"
              title={`Delete rule ${rule.id}`}
              onClick={() => actions.deleteRule(rule)}
            >
              Delete
            </button>
          </div>
          <div className="jp-OdlakeRule-detail">
            on {rule.rse_expression} · {rule.locks_ok}/{rule.locks_total} files there ·{' '}
            {rule.expires_at ? `expires ${rule.expires_at}` : 'no expiry'}
          </div>
          <div className="jp-OdlakeRule-explained">{rule.explained}</div>
        </div>
      ))}
    </div>
  );
}

type View = 'catalog' | 'search' | 'rules';
const VIEWS: { view: View; label: string }[] = [
  { view: 'catalog', label: 'Catalog' },
  { view: 'search', label: 'Search' },
  { view: 'rules', label: 'Rules' }
];

function Panel(props: { model: LakeModel; actions: IPanelActions }): JSX.Element {
  const { model, actions } = props;
  const [, setTick] = React.useState(0);
  const view = model.view;
  const setView = (v: View) => model.setView(v);
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
          {VIEWS.map(v => (
            <button
              key={v.view}
              role="tab"
              aria-selected={view === v.view}
              className={'jp-OdlakeTab' + (view === v.view ? ' jp-mod-active' : '')}
              onClick={() => setView(v.view)}
            >
              {v.label}
            </button>
          ))}
          <button
            className="jp-OdlakeButton jp-mod-styled jp-OdlakeUpload"
            title="Upload files from the Jupyter root into a dataset of yours"
            onClick={() => actions.upload()}
          >
            Upload…
          </button>
        </div>
      </div>
      <div className="jp-OdlakePanel-content">
        {view === 'catalog' && <CatalogView model={model} actions={actions} />}
        {view === 'search' && <SearchView model={model} actions={actions} />}
        {view === 'rules' && <RulesView model={model} actions={actions} />}
      </div>
      <Transfers model={model} />
    </div>
  );
}

/** The left-sidebar panel. */
export class LakePanel extends ReactWidget {
  constructor(
    readonly model: LakeModel,
    private _actions: IPanelActions
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
