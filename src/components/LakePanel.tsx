import * as React from 'react';
import { FixedSizeList } from 'react-window';

import { ReactWidget } from '@jupyterlab/apputils';

import { formatBytes, signedInLine } from '../format';
import {
  ICatalog,
  ICatalogModel,
  IDid,
  IInstance,
  IRule,
  IRulesModel,
  isActive,
  ITransfersModel,
  LakeView,
  SearchType,
  Transfer
} from '../tokens';
import { DidRow, IDidActions, metadataLines } from './DidRow';
import { FileList } from './FileList';

const RESULT_ROW = 26;

/** What the panel asks of the application beyond the DID rows: the upload form, a rule's deletion. */
export interface IPanelActions extends IDidActions {
  upload(): void;
  deleteRule(rule: IRule): void;
}

/** What the panel shows. */
export interface ILakeModels {
  catalog: ICatalogModel;
  transfers: ITransfersModel;
  rules: IRulesModel;
}

function StatusDot(props: { catalog: ICatalogModel }): JSX.Element {
  const current = props.catalog.current;
  let state = 'unknown';
  let title = 'Checking…';
  if (props.catalog.instanceError) {
    state = 'error';
    title = props.catalog.instanceError;
  } else if (current) {
    state = current.authenticated ? 'ok' : 'error';
    title = current.authenticated
      ? `${current.display_name}: reachable, signed in as ${current.account} (${current.auth_type})`
      : (current.message ?? current.status);
  }
  return <span className={`jp-OdlakeStatus jp-mod-${state}`} title={title} data-state={state} />;
}

/** Whose token the instance reads with, and until when; said once when the sign-in ended. */
function SignedIn(props: { instance: IInstance }): JSX.Element | null {
  const { instance } = props;
  const line = signedInLine(instance.signed_in, instance.name);
  if (!line || (line.ended && !instance.authenticated && instance.message?.includes('has ended'))) {
    return null; // nothing kept, or the status above says it already
  }
  return (
    <div
      className={line.ended ? 'jp-OdlakeError' : 'jp-OdlakeHint jp-OdlakeSignedIn'}
      data-subject={instance.signed_in?.subject}
    >
      {line.text}
    </div>
  );
}

function Expandable(props: {
  did: IDid;
  depth: number;
  catalog: ICatalogModel;
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
          <FileList catalog={props.catalog} did={props.did.did} depth={props.depth + 1} />
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

function CatalogView(props: { catalog: ICatalogModel; actions: IDidActions }): JSX.Element {
  const { catalog, actions } = props;
  if (catalog.catalogError) {
    return <div className="jp-OdlakeError">{catalog.catalogError}</div>;
  }
  if (!catalog.catalog) {
    return (
      <div className="jp-OdlakeHint">{catalog.loadingCatalog ? 'Loading the catalog…' : ''}</div>
    );
  }
  if (catalog.catalog.analyses.length === 0) {
    return <div className="jp-OdlakeHint">No containers in this lake yet.</div>;
  }
  return (
    <div className="jp-OdlakeCatalog">
      {catalog.catalog.analyses.map(analysis => (
        <div key={analysis.name} className="jp-OdlakeAnalysis" data-analysis={analysis.name}>
          {!namedByItsContainer(analysis) && (
            <div className="jp-OdlakeAnalysis-title">{analysis.name}</div>
          )}
          {analysis.containers.map(container => (
            <Expandable
              key={container.did}
              did={container}
              depth={0}
              catalog={catalog}
              actions={actions}
            >
              {depth =>
                container.datasets.map(ds => (
                  <Expandable
                    key={ds.did}
                    did={ds}
                    depth={depth}
                    catalog={catalog}
                    actions={actions}
                  />
                ))
              }
            </Expandable>
          ))}
        </div>
      ))}
    </div>
  );
}

function SearchView(props: { catalog: ICatalogModel; actions: IDidActions }): JSX.Element {
  const { catalog, actions } = props;
  const [filter, setFilter] = React.useState('');
  const [filterError, setFilterError] = React.useState('');
  const [selected, setSelected] = React.useState<IDid | null>(null);
  const results = catalog.results;
  const addFilter = () => {
    if (!filter.trim()) {
      return;
    }
    if (catalog.addFilter(filter)) {
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
          void catalog.search();
        }}
      >
        <input
          className="jp-mod-styled jp-OdlakeSearch-query"
          placeholder="a word (GamGam) or scope:pattern (opendata:*MC*)"
          value={catalog.query}
          aria-label="DID pattern"
          onChange={e => {
            catalog.setQuery(e.target.value);
            setSelected(null);
            setFilterError('');
          }}
        />
        <select
          className="jp-mod-styled jp-OdlakeSearch-type"
          value={catalog.type}
          aria-label="DID type"
          onChange={e => {
            catalog.setType(e.target.value as SearchType);
            void catalog.search();
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
        {catalog.filters.map(f => (
          <span key={f} className="jp-OdlakeChip" data-filter={f}>
            {f}
            <button
              className="jp-OdlakeChip-remove"
              title={`Remove the filter ${f}`}
              onClick={() => {
                catalog.removeFilter(f);
                void catalog.search();
              }}
            >
              ×
            </button>
          </span>
        ))}
      </div>
      {catalog.searchError && <div className="jp-OdlakeError">{catalog.searchError}</div>}
      {catalog.searching && <div className="jp-OdlakeHint">Searching…</div>}
      {results && (
        <div className="jp-OdlakeHint jp-OdlakeSearch-count">{catalog.resultCount()}</div>
      )}
      {results && results.items.length > 0 && (
        <FixedSizeList
          className="jp-OdlakeResults"
          height={Math.min(results.items.length, 14) * RESULT_ROW}
          width="100%"
          itemCount={results.items.length}
          itemSize={RESULT_ROW}
          onItemsRendered={({ visibleStopIndex }) => {
            if (visibleStopIndex >= results.items.length - 3 && results.next) {
              void catalog.moreResults();
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
          <FileList key={selected.did} catalog={catalog} did={selected.did} depth={0} />
        </div>
      )}
    </div>
  );
}

/** What an upload's row says after its counts: the file in flight, or what a stopped one kept. */
function uploadDetail(t: Transfer): string {
  if (t.kind !== 'upload') {
    return '';
  }
  if (t.current) {
    return `sending ${t.current} to ${t.rse}`;
  }
  return t.state === 'cancelled' ? `stopped: ${t.files_done} whole files kept` : `on ${t.rse}`;
}

/** One transfer's row: what, state, cancel while active, a progress bar and the counts. */
function TransferRow(props: { transfer: Transfer; onCancel: () => void }): JSX.Element {
  const t = props.transfer;
  const active = isActive(t);
  const detail = uploadDetail(t);
  return (
    <div
      className="jp-OdlakeDownload"
      data-kind={t.kind}
      data-state={t.state}
      title={t.errors.join('\n')}
    >
      <div className="jp-OdlakeDownload-head">
        <span className="jp-OdlakeDownload-did">
          {t.kind === 'upload' ? '↑ ' : '↓ '}
          {t.did}
        </span>
        <span className="jp-OdlakeDownload-state">{t.state}</span>
        {active && (
          <button className="jp-OdlakeButton jp-mod-styled" onClick={props.onCancel}>
            Cancel
          </button>
        )}
      </div>
      <progress max={1} value={t.bytes_total ? t.bytes_done / t.bytes_total : 0} />
      <div className="jp-OdlakeDownload-detail">
        {t.files_done}/{t.files_total} files · {formatBytes(t.bytes_done)} of{' '}
        {formatBytes(t.bytes_total)}
        {active && t.rate > 0 ? ` · ${formatBytes(t.rate)}/s` : ''}
        {detail ? ` · ${detail}` : ''}
        {t.errors.length > 0 ? ` · ${t.errors[0]}` : ''}
      </div>
    </div>
  );
}

/** The downloads and uploads, newest first. */
function Transfers(props: { transfers: ITransfersModel }): JSX.Element | null {
  const { transfers } = props;
  if (transfers.jobs.length === 0) {
    return null;
  }
  const newestFirst = [...transfers.jobs].sort((a, b) => b.created - a.created);
  return (
    <div className="jp-OdlakeDownloads">
      <div className="jp-OdlakeSection-title">Transfers</div>
      {newestFirst.map(t => (
        <TransferRow
          key={`${t.kind}:${t.id}`}
          transfer={t}
          onCancel={() => void transfers.cancel(t)}
        />
      ))}
    </div>
  );
}

/** The rules of the user's account: what, where, state in words, locks done/total, expiry, delete. */
function RulesView(props: {
  rules: IRulesModel;
  catalog: ICatalogModel;
  actions: IPanelActions;
}): JSX.Element {
  const { rules, catalog, actions } = props;
  React.useEffect(() => {
    void rules.load();
  }, [rules, catalog.instance]);
  return (
    <div className="jp-OdlakeRules">
      <div className="jp-OdlakeRules-head">
        <span className="jp-OdlakeHint">
          Replication rules of {catalog.current?.account ?? 'your account'}
        </span>
        <button
          className="jp-OdlakeButton jp-mod-styled"
          title="Read the rules again"
          onClick={() => void rules.load()}
        >
          ⟳
        </button>
      </div>
      {rules.error && <div className="jp-OdlakeError">{rules.error}</div>}
      {rules.items && rules.items.length === 0 && (
        <div className="jp-OdlakeHint">
          No rules yet: right-click a dataset and choose “Make available on…”.
        </div>
      )}
      {(rules.items ?? []).map(rule => (
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

const VIEWS: { view: LakeView; label: string }[] = [
  { view: 'catalog', label: 'Catalog' },
  { view: 'search', label: 'Search' },
  { view: 'rules', label: 'Rules' }
];

function Panel(props: {
  models: ILakeModels;
  view: LakeView;
  onView: (view: LakeView) => void;
  actions: IPanelActions;
}): JSX.Element {
  const { models, view, onView: setView, actions } = props;
  const { catalog, transfers, rules } = models;
  const [, setTick] = React.useState(0);
  React.useEffect(() => {
    const rerender = () => setTick(t => t + 1);
    const signals = [catalog.changed, transfers.changed, rules.changed];
    signals.forEach(s => s.connect(rerender));
    // a model may have changed between the first render and this subscription (an answer that
    // came meanwhile): render once more, or the panel would show "Loading…" until the next change
    rerender();
    return () => {
      signals.forEach(s => s.disconnect(rerender));
    };
  }, [catalog, transfers, rules]);
  return (
    <div className="jp-OdlakePanel-body">
      <div className="jp-OdlakePanel-header">
        <h2>Open Data Lake</h2>
        <div className="jp-OdlakeInstance">
          <StatusDot catalog={catalog} />
          <select
            className="jp-mod-styled"
            aria-label="Rucio instance"
            value={catalog.instance}
            onChange={e => void catalog.selectInstance(e.target.value)}
          >
            {catalog.instances.map(i => (
              <option key={i.name} value={i.name}>
                {i.display_name}
              </option>
            ))}
          </select>
          <button
            className="jp-OdlakeButton jp-mod-styled"
            title="Check the instances again and reload"
            onClick={() => void catalog.refresh()}
          >
            ⟳
          </button>
        </div>
        {catalog.current && !catalog.current.authenticated && (
          <div className="jp-OdlakeError">{catalog.current.message}</div>
        )}
        {catalog.current && <SignedIn instance={catalog.current} />}
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
        {view === 'catalog' && <CatalogView catalog={catalog} actions={actions} />}
        {view === 'search' && <SearchView catalog={catalog} actions={actions} />}
        {view === 'rules' && <RulesView rules={rules} catalog={catalog} actions={actions} />}
      </div>
      <Transfers transfers={transfers} />
    </div>
  );
}

/** The left-sidebar panel: the catalog, a search or the rules, and the transfers under them. */
export class LakePanel extends ReactWidget {
  constructor(
    readonly models: ILakeModels,
    private _actions: IPanelActions
  ) {
    super();
    this.id = 'odlake-panel';
    this.addClass('jp-OdlakePanel');
  }

  get view(): LakeView {
    return this._view;
  }

  setView(view: LakeView): void {
    this._view = view;
    this.update();
  }

  render(): JSX.Element {
    return (
      <Panel
        models={this.models}
        view={this._view}
        onView={view => this.setView(view)}
        actions={this._actions}
      />
    );
  }

  private _view: LakeView = 'catalog';
}
