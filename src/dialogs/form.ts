/**
 * The one way the extension asks something: a form in a dialog, read and checked when
 * accepted. What is wrong is said in a notification, and nothing is done.
 */
import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

/** What a form holds when accepted: its value, or what is wrong with it. */
export type Checked<T> = { value: T } | { error: string };

/** A form: its fields in its node; the dialog reads `getValue` when it is accepted. */
export abstract class Form<T> extends Widget {
  constructor(className = 'jp-OdlakeForm') {
    super();
    this.addClass(className);
  }

  abstract getValue(): Checked<T>;
}

/**
 * Show `form` with Cancel and an `accept` button (a warning's colour when `warn`); its value
 * when accepted and filled in right, else null (what is wrong is said in a notification).
 */
export async function ask<T>(
  title: string,
  form: Form<T>,
  accept: string,
  warn = false
): Promise<T | null> {
  const result = await showDialog({
    title,
    body: form,
    buttons: [
      Dialog.cancelButton(),
      warn ? Dialog.warnButton({ label: accept }) : Dialog.okButton({ label: accept })
    ]
  });
  if (!result.button.accept || !result.value) {
    return null;
  }
  if ('error' in result.value) {
    Notification.error(result.value.error, { autoClose: 6000 });
    return null;
  }
  return result.value.value;
}

/** A form with nothing to fill in: a question, accepted or not. */
export class Question extends Form<true> {
  constructor(text: string) {
    super('jp-OdlakeForm-question');
    this.node.textContent = text;
  }

  getValue(): Checked<true> {
    return { value: true };
  }
}

/** A labelled field of a form, with a hint under it. */
export function field(text: string, control: HTMLElement, hint = ''): HTMLElement {
  const label = document.createElement('label');
  label.className = 'jp-OdlakeForm-field';
  const title = document.createElement('span');
  title.textContent = text;
  label.append(title, control);
  if (hint) {
    const small = document.createElement('small');
    small.className = 'jp-OdlakeForm-hint';
    small.textContent = hint;
    label.appendChild(small);
  }
  return label;
}

export function input(label: string, value: string, placeholder = ''): HTMLInputElement {
  const element = document.createElement('input');
  element.className = 'jp-mod-styled';
  element.value = value;
  if (placeholder) {
    element.placeholder = placeholder;
  }
  element.setAttribute('aria-label', label);
  return element;
}

export function textarea(
  label: string,
  value: string,
  placeholder: string,
  rows: number
): HTMLTextAreaElement {
  const element = document.createElement('textarea');
  element.className = 'jp-mod-styled';
  element.value = value;
  element.placeholder = placeholder;
  element.rows = rows;
  element.setAttribute('aria-label', label);
  return element;
}

export function select(label: string, options: string[], value: string): HTMLSelectElement {
  const element = document.createElement('select');
  element.className = 'jp-mod-styled';
  element.setAttribute('aria-label', label);
  for (const o of options) {
    const option = document.createElement('option');
    option.value = o;
    option.textContent = o;
    element.appendChild(option);
  }
  element.value = value;
  return element;
}
