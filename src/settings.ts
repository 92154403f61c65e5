import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ISignal, Signal } from '@lumino/signaling';

import { ILakeSettings, ISettings } from './tokens';

/** The id of the plugin whose settings schema/plugin.json holds. */
export const PLUGIN_ID = 'jupyterlab-odlake:plugin';

export const DEFAULTS: ISettings = {
  defaultInstance: '',
  defaultMode: '',
  streamSchemes: '',
  runDroppedCell: false,
  loadExtensionInKernels: true,
  pageSize: 100
};

/** The settings of schema/plugin.json: the defaults until the registry's have come, then the user's. */
export class LakeSettings implements ILakeSettings {
  get current(): ISettings {
    return this._current;
  }

  get changed(): ISignal<ILakeSettings, ISettings> {
    return this._changed;
  }

  /** Read the settings from the registry, and again whenever the user changes them. */
  async load(registry: ISettingRegistry): Promise<void> {
    try {
      const loaded = await registry.load(PLUGIN_ID);
      const update = () => {
        this._current = { ...DEFAULTS, ...(loaded.composite as Partial<ISettings>) };
        this._changed.emit(this._current);
      };
      update();
      loaded.changed.connect(update);
    } catch (reason) {
      console.error('Failed to load settings for jupyterlab-odlake.', reason);
    }
  }

  private _current: ISettings = { ...DEFAULTS };
  private _changed = new Signal<ILakeSettings, ISettings>(this);
}
