import * as React from 'react';

import { fileIcon, folderIcon, listIcon } from '@jupyterlab/ui-components';

import { formatBytes } from '../format';
import { IDid } from '../tokens';

export interface IDidActions {
  attach(did: IDid): void;
  download(did: IDid): void;
  /** Remember the DID a context menu was opened on. */
  context(did: IDid): void;
  /** Start dragging a DID (lumino drag, so notebooks can take the drop). */
  drag(did: IDid, event: React.MouseEvent): void;
}

/** One metadata value in words: 10 fb⁻¹, σ 0.11 pb, DSID 343981, 1,000 events. */
export function metadataText(key: string, value: string | number | boolean | null): string {
  switch (key) {
    case 'lumi_fb':
      return `${value} fb⁻¹`;
    case 'xsec_pb':
      return `σ ${value} pb`;
    case 'dsid':
      return `DSID ${value}`;
    case 'n_events':
      return `${Number(value).toLocaleString('en')} events`;
    case 'energy_tev':
      return `${value} TeV`;
    default:
      return String(value);
  }
}

/**
 * The metadata of a DID in words, in the server's order (most useful first), without
 * what the row says already (its channel is the analysis it is listed under).
 */
export function metadataParts(meta: IDid['metadata'] | undefined): string[] {
  return Object.entries(meta ?? {})
    .filter(([key, value]) => value !== null && key !== 'channel')
    .map(([key, value]) => metadataText(key, value));
}

/** The first few parts, for the row itself; the rest shows on hover and in the row's details. */
export function metadataSummary(meta: IDid['metadata'] | undefined, most = 3): string {
  return metadataParts(meta).slice(0, most).join(' · ');
}

/** Every metadata key and value, one a line: the hover text and the expanded row's details. */
export function metadataLines(meta: IDid['metadata'] | undefined): string[] {
  return Object.entries(meta ?? {})
    .filter(([, value]) => value !== null)
    .map(([key, value]) => `${key}: ${value}`);
}

export function TypeIcon(props: { type: string }): JSX.Element {
  const Icon =
    props.type === 'container' ? folderIcon : props.type === 'dataset' ? listIcon : fileIcon;
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
  const lines = metadataLines(did.metadata);
  return (
    <div
      className="jp-OdlakeDid"
      data-did={did.did}
      data-type={did.type}
      style={{ ...props.style, paddingLeft: 4 + 14 * (props.depth ?? 0) }}
      title={[did.did, [count, size].filter(Boolean).join(' · '), ...lines]
        .filter(Boolean)
        .join('\n')}
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
        if (
          (event.key === 'Enter' || event.key === 'ArrowRight' || event.key === 'ArrowLeft') &&
          props.onToggle
        ) {
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
