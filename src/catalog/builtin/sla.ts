import { z } from 'zod';
import type { EntityTypeDefinition } from '../entity-type.js';
import { defineType, displayName, entityId, genericType } from '../define.js';
import { description, entityIds, itemId, refuseDuplicates } from './fields.js';

const area = 'sla';

const clockTime = () => z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a time HH:MM (24-hour)');

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

export const workdays = defineType({
  key: 'workdays',
  label: 'Workdays',
  area,
  description: 'Working hours that SLA clocks run in.',
  schema: z.strictObject({
    name: displayName(),
    timezone: z
      .string()
      .max(100)
      .refine(isTimeZone, 'must be an IANA time zone such as Europe/London')
      .describe('IANA time zone, e.g. Europe/London.'),
    days: z
      .array(
        z
          .strictObject({
            day: z.number().int().min(0).max(6).describe('0 = Sunday … 6 = Saturday.'),
            start: clockTime(),
            end: clockTime(),
          })
          .refine((hours) => hours.start < hours.end, { message: 'end must be after start', path: ['end'] }),
      )
      .max(50)
      .default([])
      .describe('Working hours; a day may have several intervals.'),
  }),
});

export const slas = defineType({
  key: 'slas',
  label: 'SLAs',
  area,
  description: 'Service level agreements, including their priorities.',
  schema: z
    .strictObject({
      name: displayName(),
      description: description(),
      workdayId: entityId().optional(),
      priorities: z
        .array(
          z.strictObject({
            id: itemId(),
            name: displayName(),
            level: z.number().int().min(1).max(10).describe('1 is the most urgent.'),
            responseMinutes: z.number().int().min(1).max(10_000_000),
            resolutionMinutes: z.number().int().min(1).max(10_000_000),
          }),
        )
        .min(1)
        .max(10),
      pausedStatusIds: entityIds().describe('Ticket statuses in which the SLA clock is paused.'),
    })
    .superRefine((sla, ctx) => {
      refuseDuplicates(ctx, sla.priorities, ['priorities'], 'id', 'priority id');
      refuseDuplicates(ctx, sla.priorities, ['priorities'], 'level', 'priority level');
      sla.priorities.forEach((priority, index) => {
        if (priority.resolutionMinutes < priority.responseMinutes) {
          ctx.addIssue({
            code: 'custom',
            message: 'resolution target must not be shorter than the response target',
            path: ['priorities', index, 'resolutionMinutes'],
          });
        }
      });
    }),
  references: [
    { path: 'workdayId', target: 'workdays' },
    { path: 'pausedStatusIds[]', target: 'statuses' },
  ],
});

export const slaTypes: EntityTypeDefinition[] = [slas, workdays, genericType('holiday-types', 'Holiday types', area)];
