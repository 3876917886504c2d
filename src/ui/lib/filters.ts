// A filter bar whose values live in the URL: typing a value and pressing Enter (or "apply") updates the link.
import { h } from './dom.js';
import { setParams } from './state.js';

export interface FilterField {
  name: string;
  label: string;
  /** Choices for a select; a free text input when absent. */
  options?: string[];
  /** Suggestions for a text input. */
  suggestions?: string[];
  placeholder?: string;
}

export function filterBar(fields: FilterField[], params: URLSearchParams, id = 'filters'): HTMLElement {
  const inputs = new Map<string, HTMLInputElement | HTMLSelectElement>();
  const form = h('form', { class: 'filters', id });
  for (const f of fields) {
    const value = params.get(f.name) ?? '';
    let input: HTMLInputElement | HTMLSelectElement;
    if (f.options) {
      input = h(
        'select',
        { name: f.name },
        h('option', { value: '' }, `any ${f.label}`),
        f.options.map((o) => h('option', { value: o, selected: o === value }, o)),
      );
      input.addEventListener('change', () => form.requestSubmit());
    } else {
      const listId = `${id}-${f.name}-list`;
      input = h('input', {
        name: f.name,
        value,
        placeholder: f.placeholder ?? f.label,
        list: f.suggestions?.length ? listId : null,
        autocomplete: 'off',
        spellcheck: 'false',
      });
      if (f.suggestions?.length)
        form.append(
          h(
            'datalist',
            { id: listId },
            f.suggestions.map((s) => h('option', { value: s })),
          ),
        );
    }
    inputs.set(f.name, input);
    form.append(h('label', null, h('span', null, f.label), input));
  }
  const active = fields.some((f) => params.get(f.name));
  form.append(h('button', { type: 'submit' }, 'apply'));
  if (active)
    form.append(
      h(
        'button',
        {
          type: 'button',
          class: 'link',
          onclick: () => setParams(Object.fromEntries(fields.map((f) => [f.name, null])), true),
        },
        'clear',
      ),
    );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const changes: Record<string, string | null> = {};
    for (const [name, input] of inputs) changes[name] = input.value.trim() || null;
    setParams(changes, true);
  });
  return form;
}
