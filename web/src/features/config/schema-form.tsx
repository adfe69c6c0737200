import { useQuery } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { createContext, useContext, useId, useState, type ReactNode } from 'react';
import { fieldProblem } from '../../ui/problem-notice';
import { Button } from '../../ui/button';
import { pickerQuery, type CatalogType } from './config-queries';
import { singular, words } from './words';
import { blankOf, catalogPath, discriminatorOf, formatLocation, primaryType, setAt, variantIndex, variantsOf, type JsonSchema, type Location } from './json-schema';

export interface FormContext {
  type: CatalogType;
  labels: Map<string, string>;
  instances: string[];
  error: unknown;
  readOnly: boolean;
}

const Form = createContext<FormContext | null>(null);
const useForm = () => useContext(Form)!;

export type Change = (location: Location, value: unknown) => void;

export const input = 'w-full rounded border border-slate-400 bg-white px-2 py-1 text-sm disabled:bg-slate-100';


/** A form generated from the type's JSON Schema: every field, nested objects and arrays, references, secrets. */
export function SchemaForm({ type, labels, instances, value, onChange, error, readOnly }: Omit<FormContext, never> & { value: Record<string, unknown>; onChange: (next: unknown) => void }) {
  const change: Change = (location, next) => onChange(setAt(value, location, next));
  return (
    <FormScope type={type} labels={labels} instances={instances} error={error} readOnly={readOnly}>
      <ObjectFields schema={type.schema} value={value} location={[]} change={change} />
    </FormScope>
  );
}

/** What the fields of a form read: a hand-crafted editor puts its generated fields inside one. */
export function FormScope({ children, ...context }: FormContext & { children: ReactNode }) {
  return <Form.Provider value={context}>{children}</Form.Provider>;
}

export function ObjectFields({ schema, value, location, change }: { schema: JsonSchema; value: unknown; location: Location; change: Change }) {
  const object = (value && typeof value === 'object' ? value : {}) as Record<string, unknown>;
  const required = new Set(schema.required ?? []);
  return (
    <div className="space-y-4">
      {Object.entries(schema.properties ?? {}).map(([key, property]) =>
        property.const !== undefined ? null : <Field key={key} name={key} schema={property} value={object[key]} location={[...location, key]} required={required.has(key)} change={change} />,
      )}
    </div>
  );
}

export function FieldFrame({ label, required, location, description, children, group = false }: { label: string; required: boolean; location: Location; description: string | undefined; children: (ids: { id: string; describedBy: string; invalid: boolean }) => ReactNode; group?: boolean }) {
  const { error } = useForm();
  const id = useId();
  const problem = fieldProblem(error, formatLocation(location));
  const describedBy = [description ? `${id}-help` : '', problem ? `${id}-problem` : ''].filter(Boolean).join(' ');
  const Wrapper = group ? 'fieldset' : 'div';
  const Label = group ? 'legend' : 'label';
  return (
    <Wrapper className={group ? 'rounded border border-slate-200 p-3' : ''} data-field={formatLocation(location)}>
      <Label {...(group ? {} : { htmlFor: id })} className="mb-1 block text-sm font-medium text-slate-800">
        {label}
        {required && <span className="text-red-800"> (required)</span>}
      </Label>
      {description && (
        <p id={`${id}-help`} className="mb-1 text-xs text-slate-600">
          {description}
        </p>
      )}
      {children({ id, describedBy, invalid: Boolean(problem) })}
      {problem && (
        <p id={`${id}-problem`} className="mt-1 text-sm font-medium text-red-800">
          {problem}
        </p>
      )}
    </Wrapper>
  );
}

export function Field({ name, schema, value, location, required, change }: { name: string; schema: JsonSchema; value: unknown; location: Location; required: boolean; change: Change }) {
  const { type, instances, readOnly } = useForm();
  const path = catalogPath(location);
  const label = words(name);
  // A list of references is declared on its items: `fieldGroupIds[]`.
  const reference = type.references.find((r) => r.path === path || r.path === `${path}[]`);
  if (reference) return <ReferenceField label={label} target={reference.target} schema={schema} value={value} location={location} required={required} change={change} />;
  if (type.sensitive.includes(path)) return <SecretField label={label} schema={schema} value={value} location={location} required={required} change={change} />;
  if (type.instanceScoped.includes(path)) return <InstancesField label={label} schema={schema} value={value} location={location} instances={instances} change={change} readOnly={readOnly} />;
  const variants = variantsOf(schema);
  if (variants.length > 1) return <UnionField label={label} schema={schema} variants={variants} value={value} location={location} required={required} change={change} />;
  const effective = variants.length === 1 ? { ...variants[0]!, description: schema.description ?? variants[0]!.description } : schema;
  switch (primaryType(effective)) {
    case 'object':
      if (effective.properties)
        return (
          <FieldFrame label={label} required={required} location={location} description={effective.description} group>
            {() =>
              value === undefined && !required ? (
                <Button isDisabled={readOnly} onPress={() => change(location, blankOf(effective))}>
                  Add {label.toLowerCase()}
                </Button>
              ) : (
                <>
                  <ObjectFields schema={effective} value={value} location={location} change={change} />
                  {!required && !readOnly && (
                    <Button look="quiet" className="mt-2" onPress={() => change(location, undefined)}>
                      Remove {label.toLowerCase()}
                    </Button>
                  )}
                </>
              )
            }
          </FieldFrame>
        );
      return <MapField label={label} schema={effective} value={value} location={location} change={change} />;
    case 'array':
      return <ArrayField label={label} schema={effective} value={value} location={location} required={required} change={change} />;
    default:
      return (
        <FieldFrame label={label} required={required} location={location} description={effective.description}>
          {(ids) => <ScalarInput {...ids} schema={effective} value={value} onChange={(next) => change(location, next)} />}
        </FieldFrame>
      );
  }
}

export function ScalarInput({ id, describedBy, invalid, schema, value, onChange, label }: { id?: string; describedBy?: string; invalid?: boolean; schema: JsonSchema; value: unknown; onChange: (next: unknown) => void; label?: string }) {
  const { readOnly } = useForm();
  const common = { id, 'aria-describedby': describedBy || undefined, 'aria-invalid': invalid || undefined, 'aria-label': label, disabled: readOnly };
  const kind = primaryType(schema);
  if (schema.enum)
    return (
      <select {...common} className={input} value={value === undefined ? '' : String(value)} onChange={(e) => onChange(e.target.value === '' ? undefined : e.target.value)}>
        <option value="">—</option>
        {schema.enum.map((option) => (
          <option key={String(option)} value={String(option)}>
            {String(option)}
          </option>
        ))}
      </select>
    );
  if (kind === 'boolean')
    return <input {...common} type="checkbox" className="h-4 w-4" checked={value === true} onChange={(e) => onChange(e.target.checked)} />;
  if (kind === 'integer' || kind === 'number')
    return (
      <input
        {...common}
        type="number"
        className={input}
        step={kind === 'integer' ? 1 : 'any'}
        min={schema.minimum}
        max={schema.maximum}
        value={typeof value === 'number' ? value : ''}
        onChange={(e) => onChange(e.target.value === '' ? undefined : Number(e.target.value))}
      />
    );
  if (kind === 'string' && !schema.format && (schema.maxLength ?? 0) > 2000)
    return <textarea {...common} rows={3} className={input} value={typeof value === 'string' ? value : ''} onChange={(e) => onChange(e.target.value === '' ? undefined : e.target.value)} />;
  if (kind === 'string' || kind === undefined)
    return (
      <input
        {...common}
        type={schema.format === 'email' ? 'email' : schema.format === 'uri' ? 'url' : 'text'}
        className={input}
        value={typeof value === 'string' ? value : value === undefined || value === null ? '' : JSON.stringify(value)}
        onChange={(e) => onChange(e.target.value === '' ? undefined : kind === undefined ? parseLoose(e.target.value) : e.target.value)}
      />
    );
  return null;
}

/** A free-form value: JSON when it reads as JSON (a number, true), the text itself otherwise. */
function parseLoose(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function ReferenceField({ label, target, schema, value, location, required, change }: { label: string; target: string; schema: JsonSchema; value: unknown; location: Location; required: boolean; change: Change }) {
  const { labels, readOnly } = useForm();
  const options = useQuery(pickerQuery(target));
  const many = primaryType(schema) === 'array';
  const chosen = many ? ((value as string[] | undefined) ?? []) : typeof value === 'string' ? [value] : [];
  const nameOf = (id: string) => options.data?.find((o) => o.id === id)?.name ?? id;
  const targetLabel = labels.get(target) ?? target;
  return (
    <FieldFrame label={`${label.replace(/ ids?$/i, '')} (${targetLabel})`} required={required} location={location} description={schema.description}>
      {(ids) => (
        <div className="space-y-1">
          {many && chosen.length > 0 && (
            <ul className="flex flex-wrap gap-2">
              {chosen.map((id, index) => (
                <li key={id} className="inline-flex items-center gap-1 rounded bg-slate-100 px-2 py-0.5 text-sm">
                  <Link to="/config/$type/$id" params={{ type: target, id }} className="text-blue-800 underline">
                    {nameOf(id)}
                  </Link>
                  {!readOnly && (
                    <button type="button" aria-label={`Remove ${nameOf(id)}`} className="px-1 text-slate-700" onClick={() => change(location, chosen.filter((_, i) => i !== index))}>
                      ×
                    </button>
                  )}
                </li>
              ))}
            </ul>
          )}
          <div className="flex items-center gap-2">
            <select
              id={ids.id}
              aria-describedby={ids.describedBy || undefined}
              aria-invalid={ids.invalid || undefined}
              disabled={readOnly}
              className={input}
              value={many ? '' : (chosen[0] ?? '')}
              onChange={(e) => {
                const id = e.target.value;
                if (many) change(location, id && !chosen.includes(id) ? [...chosen, id] : chosen);
                else change(location, id === '' ? undefined : id);
              }}
            >
              <option value="">{many ? `Add a ${singular(targetLabel)}…` : '— none —'}</option>
              {options.data?.filter((o) => !many || !chosen.includes(o.id)).map((o) => (
                <option key={o.id} value={o.id}>
                  {o.name}
                </option>
              ))}
              {!many && chosen[0] && !options.data?.some((o) => o.id === chosen[0]) && <option value={chosen[0]}>{chosen[0]}</option>}
            </select>
            {!many && chosen[0] && (
              <Link to="/config/$type/$id" params={{ type: target, id: chosen[0] }} className="whitespace-nowrap text-sm text-blue-800 underline">
                Open {nameOf(chosen[0])}
              </Link>
            )}
          </div>
        </div>
      )}
    </FieldFrame>
  );
}

const isSet = (value: unknown) => Boolean(value && typeof value === 'object' && (value as { set?: unknown }).set === true);

/** Write-only: a stored secret shows only as "set"; it can be kept ({ set: true }), replaced or cleared (null). */
function SecretField({ label, schema, value, location, required, change }: { label: string; schema: JsonSchema; value: unknown; location: Location; required: boolean; change: Change }) {
  const { readOnly } = useForm();
  const [stored] = useState(isSet(value));
  return (
    <FieldFrame label={label} required={required} location={location} description={schema.description}>
      {(ids) =>
        isSet(value) ? (
          <div className="flex items-center gap-3 text-sm">
            <span className="rounded bg-emerald-50 px-2 py-0.5 font-medium text-emerald-900" data-secret="set">
              Set — the value is never shown
            </span>
            {!readOnly && (
              <>
                <Button onPress={() => change(location, '')}>Replace</Button>
                <Button onPress={() => change(location, null)}>Clear</Button>
              </>
            )}
          </div>
        ) : (
          <div className="flex items-center gap-3">
            {value === null ? (
              <span className="text-sm text-slate-700">Cleared when you save.</span>
            ) : (
              <input
                id={ids.id}
                aria-describedby={ids.describedBy || undefined}
                aria-invalid={ids.invalid || undefined}
                type="password"
                autoComplete="new-password"
                disabled={readOnly}
                className={input}
                value={typeof value === 'string' ? value : ''}
                onChange={(e) => change(location, e.target.value === '' ? (stored ? '' : undefined) : e.target.value)}
              />
            )}
            {stored && (
              <Button look="quiet" onPress={() => change(location, { set: true })}>
                Keep the stored value
              </Button>
            )}
          </div>
        )
      }
    </FieldFrame>
  );
}

function InstancesField({ label, schema, value, location, instances, change, readOnly }: { label: string; schema: JsonSchema; value: unknown; location: Location; instances: string[]; change: Change; readOnly: boolean }) {
  const chosen = Array.isArray(value) ? (value as string[]) : [];
  const all = [...new Set([...instances, ...chosen])];
  return (
    <FieldFrame label={label} required={false} location={location} description={schema.description ?? 'None chosen means every instance.'} group>
      {() => (
        <div className="flex flex-wrap gap-4">
          {all.map((name) => (
            <label key={name} className="inline-flex items-center gap-1 text-sm">
              <input type="checkbox" disabled={readOnly} checked={chosen.includes(name)} onChange={(e) => change(location, e.target.checked ? [...chosen, name] : chosen.filter((n) => n !== name))} />
              {name}
            </label>
          ))}
        </div>
      )}
    </FieldFrame>
  );
}

function UnionField({ label, schema, variants, value, location, required, change }: { label: string; schema: JsonSchema; variants: JsonSchema[]; value: unknown; location: Location; required: boolean; change: Change }) {
  const { readOnly } = useForm();
  const discriminator = discriminatorOf(variants);
  const index = variantIndex(variants, discriminator, value);
  const variant = variants[index]!;
  if (!discriminator) {
    // A scalar of several kinds (text, number, yes/no): edited as text, read as JSON where it is.
    return (
      <FieldFrame label={label} required={required} location={location} description={schema.description}>
        {(ids) => <ScalarInput {...ids} schema={{}} value={value} onChange={(next) => change(location, next)} />}
      </FieldFrame>
    );
  }
  return (
    <FieldFrame label={label} required={required} location={location} description={schema.description} group>
      {() => (
        <div className="space-y-3">
          <label className="flex items-center gap-2 text-sm">
            {words(discriminator)}
            <select className={input} disabled={readOnly} value={index} onChange={(e) => change(location, blankOf(variants[Number(e.target.value)]!))}>
              {variants.map((v, i) => (
                <option key={String(v.properties![discriminator]!.const)} value={i}>
                  {String(v.properties![discriminator]!.const)}
                </option>
              ))}
            </select>
          </label>
          <ObjectFields schema={variant} value={value} location={location} change={change} />
        </div>
      )}
    </FieldFrame>
  );
}

function ArrayField({ label, schema, value, location, required, change }: { label: string; schema: JsonSchema; value: unknown; location: Location; required: boolean; change: Change }) {
  const { readOnly } = useForm();
  const items = Array.isArray(value) ? value : [];
  const itemSchema = schema.items ?? {};
  const scalar = !['object', 'array'].includes(primaryType(itemSchema) ?? '') && variantsOf(itemSchema).length === 0;
  const one = singular(label);
  return (
    <FieldFrame label={label} required={required} location={location} description={schema.description} group>
      {() => (
        <div className="space-y-2">
          {items.length === 0 && <p className="text-sm text-slate-600">None.</p>}
          <ol className="space-y-2">
            {items.map((item, index) => (
              <li key={index} className="flex items-start gap-2">
                <div className="flex-1">
                  {scalar ? (
                    <ItemScalar schema={itemSchema} value={item} location={[...location, index]} change={change} label={`${label} ${index + 1}`} />
                  ) : (
                    <Field name={`${one} ${index + 1}`} schema={itemSchema} value={item} location={[...location, index]} required change={change} />
                  )}
                </div>
                {!readOnly && (
                  <Button look="quiet" aria-label={`Remove ${one} ${index + 1}`} onPress={() => change(location, items.filter((_, i) => i !== index))}>
                    Remove
                  </Button>
                )}
              </li>
            ))}
          </ol>
          {!readOnly && <Button onPress={() => change(location, [...items, blankOf(itemSchema)])}>Add {one}</Button>}
        </div>
      )}
    </FieldFrame>
  );
}

function ItemScalar({ schema, value, location, change, label }: { schema: JsonSchema; value: unknown; location: Location; change: Change; label: string }) {
  const { error } = useForm();
  const problem = fieldProblem(error, formatLocation(location));
  return (
    <div data-field={formatLocation(location)}>
      <ScalarInput schema={schema} value={value} label={label} invalid={Boolean(problem)} onChange={(next) => change(location, next)} />
      {problem && <p className="mt-1 text-sm font-medium text-red-800">{problem}</p>}
    </div>
  );
}

/** A free-form map (headers, settings): key and value rows. */
function MapField({ label, schema, value, location, change }: { label: string; schema: JsonSchema; value: unknown; location: Location; change: Change }) {
  const { readOnly } = useForm();
  const entries = Object.entries((value && typeof value === 'object' ? value : {}) as Record<string, unknown>);
  const valueSchema = typeof schema.additionalProperties === 'object' ? schema.additionalProperties : {};
  const write = (next: [string, unknown][]) => change(location, Object.fromEntries(next));
  return (
    <FieldFrame label={label} required={false} location={location} description={schema.description} group>
      {() => (
        <div className="space-y-2">
          {entries.length === 0 && <p className="text-sm text-slate-600">None.</p>}
          {entries.map(([key, item], index) => (
            <div key={index} className="flex items-center gap-2">
              <input aria-label={`${label}: name ${index + 1}`} disabled={readOnly} className={input} value={key} onChange={(e) => write(entries.map((en, i) => (i === index ? [e.target.value, en[1]] : en)))} />
              <ScalarInput schema={variantsOf(valueSchema).length > 0 ? {} : valueSchema} label={`${label}: value ${index + 1}`} value={item} onChange={(next) => write(entries.map((en, i) => (i === index ? [en[0], next ?? ''] : en)))} />
              {!readOnly && (
                <Button look="quiet" aria-label={`Remove ${label.toLowerCase()} ${key || index + 1}`} onPress={() => write(entries.filter((_, i) => i !== index))}>
                  Remove
                </Button>
              )}
            </div>
          ))}
          {!readOnly && <Button onPress={() => write([...entries, [`key${entries.length + 1}`, '']])}>Add an entry</Button>}
        </div>
      )}
    </FieldFrame>
  );
}
