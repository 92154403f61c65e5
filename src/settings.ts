import { Mode } from './tokens';

export const PLUGIN_ID = 'jupyterlab-odlake:plugin';

/** The panel's settings (schema/plugin.json), as the plugin reads them. */
export interface ISettings {
  defaultInstance: string;
  defaultMode: Mode;
  runDroppedCell: boolean;
  loadExtensionInKernels: boolean;
  pageSize: number;
}

export const DEFAULTS: ISettings = {
  defaultInstance: '',
  defaultMode: 'auto',
  runDroppedCell: false,
  loadExtensionInKernels: true,
  pageSize: 100
};
