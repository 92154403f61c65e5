import { attachLine, isVariableName, variableName } from '../cells';
import { MODES, SettingsMode } from '../tokens';
import { ask, Checked, Form, input, select } from './form';

/** The attach form: a variable name (checked) and a mode; its value is the attach line. */
class AttachForm extends Form<string> {
  constructor(
    private _did: string,
    mode: SettingsMode,
    private _schemes: string
  ) {
    super('jp-OdlakeAttachForm');
    this._name = input('Variable name', variableName(_did));
    this._mode = select('Mode', ['', ...MODES], mode);
    this._mode.options[0].textContent = "the instance's default";
    const label = (text: string, control: HTMLElement) => {
      const l = document.createElement('label');
      l.textContent = text;
      l.appendChild(control);
      return l;
    };
    this.node.append(label('Variable ', this._name), label('Mode ', this._mode));
  }

  getValue(): Checked<string> {
    const name = this._name.value.trim();
    if (!isVariableName(name)) {
      return { error: `"${name}" is not a valid Python variable name.` };
    }
    return { value: attachLine(this._did, name, this._mode.value as SettingsMode, this._schemes) };
  }

  private _name: HTMLInputElement;
  private _mode: HTMLSelectElement;
}

/** Ask for a variable name and a mode; the attach line, or null when cancelled or the name is refused. */
export function askAttachLine(
  did: string,
  mode: SettingsMode,
  schemes = ''
): Promise<string | null> {
  return ask(`Attach ${did}`, new AttachForm(did, mode, schemes), 'Attach');
}
