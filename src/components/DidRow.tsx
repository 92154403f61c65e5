import * as React from 'react';

import { fileIcon, folderIcon, listIcon } from '@jupyterlab/ui-components';

import { formatBytes, IDid } from '../tokens';

export interface IDidActions {
  attach(did: IDid): void;
  download(did: IDid): void;
  /** Remember the DID a context menu was opened on. */
  context(did: IDid): void;
  /** Start dragging a DID (lumino drag, so notebooks can take the drop). */
  drag(did: IDid, event: React.MouseEvent): void;
}

const SUMMARY_KEYS = ['sample_type', 'physics_short', 'dsid', 'xsec_pb', 'lumi_fb', 'n_events'];

export function metadataSummary(meta: IDid['metadata']): string {
  if (!meta) {
    return '';
  }
  const parts: string[] = [];
  for (const key of SUMMARY_KEYS) {
    if (meta[key] !== undefined) {
      const value = meta[key];
      if (key === 'lumi_fb') {
        parts.push(`${value} fb⁻¹`);
      } else if (key === 'xsec_pb') {
        parts.push(`σ ${value} pb`);
      } else if (key === 'dsid') {
        parts.push(`DSID ${value}`);
      } else if (key === 'n_events') {
        parts.push(`${Number(value).toLocaleString()} events`);
      } else {
        parts.push(String(value));
      }
    }
  }
  return parts.join(' · ');
}

export function TypeIcon(props: { type: string }): JSX.Element {
  const Icon =
    props.type === 'container'
      ? folderIcon
      : props.type === 'dataset'
        ? listIcon
        : fileIcon;
  return <Icon.react tag="span" className="jp-OdlakeDid-icon" />;
}

/** Focus the row `step` rows away from `row` in the same panel. */
function moveFocus(row: HTMLElement, step: number): void {
  const rows = Array.from(
    row.closest('.jp-OdlakePanel')?.querySelectorAll<HTMLElement>('.jp-OdlakeDid') ?? []
  );
  rows[rows.indexOf(row) + step]?.focus();
}

/** One DID: icon, name (full DID on hover), size and metadata, actions. Keyboard: arrows move, Enter expands. */
export function DidRow(props: {
  did: IDid;
  actions: IDidActions;
  depth?: number;
  expanded?: boolean;
  onToggle?: () => void;
  style?: React.CSSProperties;
}): JSX.Element {
  const { did, actions } = props;
  const size = did.bytes ? formatBytes(did.bytes) : '';
  const count = did.type !== 'file' && did.length ? `${did.length} files` : '';
  const summary = metadataSummary(did.metadata);
  return (
    <div
      className="jp-OdlakeDid"
      data-did={did.did}
      data-type={did.type}
      style={{ ...props.style, paddingLeft: 4 + 14 * (props.depth ?? 0) }}
      title={did.did + (summary ? `\n${summary}` : '')}
      tabIndex={0}
      aria-label={`${did.type} ${did.did}`}
      aria-expanded={props.onToggle ? Boolean(props.expanded) : undefined}
      onMouseDown={event => actions.drag(did, event)}
      onContextMenu={() => actions.context(did)}
      onFocus={() => actions.context(did)}
      onKeyDown={event => {
        if (event.target !== event.currentTarget) {
          return;
        }
        if ((event.key === 'Enter' || event.key === 'ArrowRight' || event.key === 'ArrowLeft') && props.onToggle) {
          if (event.key === 'Enter' || (event.key === 'ArrowRight') !== Boolean(props.expanded)) {
            props.onToggle();
          }
          event.preventDefault();
        } else if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
          moveFocus(event.currentTarget, event.key === 'ArrowDown' ? 1 : -1);
          event.preventDefault();
        }
      }}
    >
      <span
        className="jp-OdlakeDid-toggle"
        onClick={props.onToggle}
        role={props.onToggle ? 'button' : undefined}
      >
        {props.onToggle ? (props.expanded ? '▾' : '▸') : ''}
      </span>
      <TypeIcon type={did.type} />
      <span className="jp-OdlakeDid-name">{did.name}</span>
      <span className="jp-OdlakeDid-meta">
        {[count, size, summary].filter(Boolean).join(' · ')}
      </span>
      <span className="jp-OdlakeDid-actions">
        <button
          className="jp-OdlakeButton jp-mod-styled"
          title={`Attach ${did.did} to the current notebook`}
          onMouseDown={e => e.stopPropagation()}
          onClick={() => actions.attach(did)}
        >
          Attach
        </button>
        <button
          className="jp-OdlakeButton jp-mod-styled"
          title={`Download ${did.did} into the cache, verified`}
          onMouseDown={e => e.stopPropagation()}
          onClick={() => actions.download(did)}
        >
          Download
        </button>
      </span>
    </div>
  );
}
