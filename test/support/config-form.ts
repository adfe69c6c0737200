import type { Locator, Page } from 'playwright-core';
import { catalogPath, formatLocation, primaryType as primary, variantsOf as variants, type JsonSchema, type Location } from '../../web/src/features/config/json-schema.js';
import { singular as singularOf, words } from '../../web/src/features/config/words.js';
import type { CatalogEntry } from './schema-example.js';

async function setScalar(control: Locator, schema: JsonSchema, value: unknown): Promise<void> {
  if (schema.enum) await control.selectOption(String(value));
  else if (primary(schema) === 'boolean') await control.setChecked(value === true);
  else await control.fill(typeof value === 'string' ? value : JSON.stringify(value));
}

/**
 * Fills a new entity's generated form with `body` the way a person would: text typed, options chosen, items and
 * entries added with their buttons, references picked by the entity they name, secrets typed in their write-only field,
 * instances ticked. The form starts as the console opens it (required fields and defaults in place).
 */
export async function fillGeneratedForm(page: Page, entry: CatalogEntry, body: Record<string, unknown>): Promise<void> {
  const fieldAt = (location: Location) => page.locator(`[data-field="${formatLocation(location)}"]`);

  const fillObject = async (schema: JsonSchema, value: Record<string, unknown>, location: Location) => {
    for (const [key, property] of Object.entries(schema.properties ?? {})) {
      // Constants are set by the form itself.
      if (property.const !== undefined || value[key] === undefined) continue;
      await fillField(key, property, value[key], [...location, key]);
    }
  };

  const fillField = async (name: string, schema: JsonSchema, value: unknown, location: Location): Promise<void> => {
    const path = catalogPath(location);
    const field = fieldAt(location);
    if (entry.references.some((r) => r.path === path || r.path === `${path}[]`)) {
      for (const id of Array.isArray(value) ? value : [value]) await field.locator('select').selectOption(String(id));
      return;
    }
    if (entry.sensitive.includes(path)) return field.locator('input[type="password"]').fill(String(value));
    if (entry.instanceScoped.includes(path)) {
      for (const instance of value as string[]) await field.getByRole('checkbox', { name: instance, exact: true }).check();
      return;
    }
    const options = variants(schema);
    if (options.length > 1) {
      const discriminator = Object.keys(options[0]!.properties ?? {}).find((key) => options.every((v) => v.properties?.[key]?.const !== undefined));
      if (!discriminator) return setScalar(field.locator('input').first(), {}, value);
      const index = options.findIndex((v) => v.properties![discriminator]!.const === (value as Record<string, unknown>)[discriminator]);
      await field.locator('select').first().selectOption(String(index));
      return fillObject(options[index]!, value as Record<string, unknown>, location);
    }
    const effective = options.length === 1 ? options[0]! : schema;
    switch (primary(effective)) {
      case 'object': {
        if (effective.properties) {
          // An optional object the form shows only as "Add …" until asked for.
          const add = field.locator(':scope > button', { hasText: /^Add / });
          if ((await add.count()) > 0) await add.click();
          return fillObject(effective, value as Record<string, unknown>, location);
        }
        const label = words(name);
        const valueSchema = typeof effective.additionalProperties === 'object' ? effective.additionalProperties : {};
        const entries = Object.entries(value as Record<string, unknown>);
        for (const [index, [key, item]] of entries.entries()) {
          await field.getByRole('button', { name: 'Add an entry', exact: true }).click();
          await field.getByLabel(`${label}: name ${index + 1}`, { exact: true }).fill(key);
          await setScalar(field.getByLabel(`${label}: value ${index + 1}`, { exact: true }), variants(valueSchema).length > 0 ? {} : valueSchema, item);
        }
        return;
      }
      case 'array': {
        const items = value as unknown[];
        const itemSchema = effective.items ?? {};
        const singular = singularOf(words(name));
        let present = 0;
        while ((await fieldAt([...location, present]).count()) > 0) present += 1;
        for (; present > items.length; present -= 1) await field.getByRole('button', { name: `Remove ${singular} ${present}`, exact: true }).click();
        for (; present < items.length; present += 1) await field.locator(':scope > div > button').click();
        const scalar = !['object', 'array'].includes(primary(itemSchema) ?? '') && variants(itemSchema).length === 0;
        for (const [index, item] of items.entries()) {
          if (scalar) await setScalar(fieldAt([...location, index]).locator('input, select, textarea').first(), itemSchema, item);
          else await fillField(`${singular} ${index + 1}`, itemSchema, item, [...location, index]);
        }
        return;
      }
      default:
        return setScalar(field.locator('input, select, textarea').first(), effective, value);
    }
  };

  await fillObject(entry.schema, body, []);
}
