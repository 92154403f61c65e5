/** What the views say of sizes and of how a file is read. */
import { IFileRead, ISignedIn, Mode } from './tokens';

/** A file row's short word for how the file is read ("root", "in place", "copy") and its tooltip. */
export function readLabel(read: IFileRead | undefined, mode: Mode): { tag: string; title: string } {
  if (!read) {
    return { tag: '', title: '' };
  }
  switch (read.kind) {
    case 'stream':
      return {
        tag: read.scheme ?? 'stream',
        title: `streamed over ${read.scheme}:// from ${read.rse}`
      };
    case 'mounted':
      return { tag: 'in place', title: `read in place from ${read.rse}, where it is mounted` };
    case 'download':
      return { tag: 'copy', title: 'copied into the cache first, then read locally' };
    default:
      return mode === 'auto'
        ? {
            tag: 'copy',
            title: 'no replica to read in place or stream: copied into the cache first'
          }
        : { tag: 'none', title: read.reason ?? `cannot be read in ${mode} mode` };
  }
}

/** Human size: 1.6 MB. */
export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) {
    return '';
  }
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** Whose sign-in an instance uses and until when its storage token lives, in one line; whether it ended. */
export function signedInLine(
  signedIn: ISignedIn | null | undefined,
  instance: string
): { text: string; ended: boolean } | null {
  if (!signedIn) {
    return null;
  }
  if (signedIn.ended) {
    return {
      text: `The sign-in of ${signedIn.subject} has ended (${signedIn.ended}): sign in again with odlake login ${instance}`,
      ended: true
    };
  }
  const until = new Date(signedIn.expires_at * 1000).toLocaleTimeString([], {
    hour: '2-digit',
    minute: '2-digit'
  });
  return {
    text: `Signed in as ${signedIn.subject}; storage token until ${until}, renewed before then`,
    ended: false
  };
}
