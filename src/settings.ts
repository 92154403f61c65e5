import { Mode } from './tokens';

export const PLUGIN_ID = 'jupyterlab-odlake:plugin';

/** The panel's settings (schema/plugin.json), as the plugin reads them. */
export interface ISettings {
  defaultInstance: string;
  defaultMode: Mode;
  /** Stream schemes, preferred first ("root,http"); empty for the server's order. */
  streamSchemes: string;
  runDroppedCell: boolean;
  loadExtensionInKernels: boolean;
  pageSize: number;
}

export const DEFAULTS: ISettings = {
  defaultInstance: '',
  defaultMode: 'auto',
  streamSchemes: '',
  runDroppedCell: false,
  loadExtensionInKernels: true,
  pageSize: 100
};
