import { ISignal, Signal } from '@lumino/signaling';

import { LakeClient } from '../client';
import { ICatalogModel, IRule, IRulesModel } from '../tokens';

/** The replication rules of the chosen instance's account (see IRulesModel). */
export class RulesModel implements IRulesModel {
  /** The rules are those of `catalog`'s chosen instance, and forgotten when another is chosen. */
  constructor(
    private _catalog: Pick<ICatalogModel, 'instance' | 'instanceChanged'>,
    private _client = new LakeClient()
  ) {
    _catalog.instanceChanged.connect(this._forget, this);
  }

  get changed(): ISignal<RulesModel, void> {
    return this._changed;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._catalog.instanceChanged.disconnect(this._forget, this);
    Signal.clearData(this);
  }

  items: IRule[] | null = null;
  error = '';

  async load(): Promise<void> {
    try {
      const reply = await this._client.rules(this._query());
      this.items = reply.rules;
      this.error = '';
    } catch (error) {
      this.error = (error as Error).message;
    }
    this._changed.emit();
  }

  async replicate(did: string, rseExpression: string, lifetimeDays: number | null): Promise<IRule> {
    const rule = await this._client.createRule({
      did,
      rse_expression: rseExpression,
      lifetime_days: lifetimeDays,
      instance: this._catalog.instance
    });
    await this.load();
    return rule;
  }

  async deleteRule(id: string): Promise<void> {
    await this._client.deleteRule(id, this._query());
    await this.load();
  }

  private _forget(): void {
    this.items = null;
    this._changed.emit();
  }

  private _query(): { instance?: string } {
    return this._catalog.instance ? { instance: this._catalog.instance } : {};
  }

  private _changed = new Signal<RulesModel, void>(this);
  private _isDisposed = false;
}
