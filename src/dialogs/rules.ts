import { IRule } from '../tokens';
import { ask, Checked, field, Form, input, Question } from './form';

export interface IReplicateRequest {
  rseExpression: string;
  lifetimeDays: number | null;
}

/** Where to make a DID available (an RSE expression), and for how long. */
class ReplicateForm extends Form<IReplicateRequest> {
  constructor(rse: string) {
    super();
    this._rse = input('RSE expression', rse, 'ODLAKE_USERDISK, or type=DISK');
    this._lifetime = input('Lifetime in days', '', 'none: until the rule is deleted');
    this._lifetime.type = 'number';
    this._lifetime.min = '0';
    this.node.append(
      field('RSE expression', this._rse, "an RSE, or an expression in Rucio's syntax"),
      field('Lifetime (days)', this._lifetime)
    );
  }

  getValue(): Checked<IReplicateRequest> {
    const rseExpression = this._rse.value.trim();
    const text = this._lifetime.value.trim();
    const lifetimeDays = text ? Number(text) : null;
    if (lifetimeDays !== null && !(lifetimeDays > 0)) {
      return { error: 'A lifetime is a positive number of days, or empty for none.' };
    }
    if (!rseExpression) {
      return { error: 'Name the RSE (or an RSE expression) to make the data available on.' };
    }
    return { value: { rseExpression, lifetimeDays } };
  }

  private _rse: HTMLInputElement;
  private _lifetime: HTMLInputElement;
}

/** Ask where to make `did` available; null when cancelled or not filled in right. */
export function askReplicate(did: string, rse: string): Promise<IReplicateRequest | null> {
  return ask(`Make ${did} available on…`, new ReplicateForm(rse), 'Make available');
}

/** Ask whether to delete a rule: true when the user says so. */
export async function askDeleteRule(rule: IRule): Promise<boolean> {
  const question = new Question(
    `The rule keeping ${rule.did} on ${rule.rse_expression} ends: Rucio lets it expire within the hour, then removes the copies only it kept.`
  );
  return (await ask('Delete the rule?', question, 'Delete', true)) === true;
}
