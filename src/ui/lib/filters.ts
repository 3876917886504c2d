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

/** The `meta.<key>` parameters of a URL: filters on a call's metadata (x-llmscope-meta-<key>), any number. */
export function metadataParams(params: URLSearchParams): [string, string][] {
  return [...params].filter(([k, v]) => k.startsWith(META) && k.length > META.length && v !== '');
}
const META = 'meta.';

/**
 * `metadata`: the bar also filters on metadata: a field per `meta.<key>` parameter in the URL (emptied and applied, it
 * is removed), and a `key=value` field that adds one (keys are lowercase, as header names arrive).
 */
export function filterBar(
  fields: FilterField[],
  params: URLSearchParams,
  id = 'filters',
  opts: { metadata?: boolean } = {},
): HTMLElement {
  const inputs = new Map<string, HTMLInputElement | HTMLSelectElement>();
  const form = h('form', { class: 'filters', id });
  if (opts.metadata)
    fields = [
      ...fields,
      ...metadataParams(params).map(([k]) => ({ name: k, label: k })),
      { name: 'meta', label: 'metadata', placeholder: 'key=value, e.g. tenant=acme' },
    ];
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
        // the metadata field takes key=value: the browser refuses anything else before it is applied
        ...(opts.metadata && f.name === 'meta'
          ? { pattern: '\\s*[^=\\s][^=]*=.*\\S.*', title: 'key=value, e.g. tenant=acme' }
          : {}),
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
  // clearing also drops the metadata filters (each is a field of its own, listed in `fields` above)
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
    if (opts.metadata) {
      const added = /^([^=]+)=(.*)$/.exec(changes.meta ?? '');
      delete changes.meta;
      if (added?.[1] && added[2]?.trim()) changes[`${META}${added[1].trim().toLowerCase()}`] = added[2].trim();
    }
    setParams(changes, true);
  });
  return form;
}
