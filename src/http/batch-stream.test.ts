import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../shared/errors.js';
import type { StoredChange } from '../store/ports.js';
import type { ReceiveRequest } from '../sync/peer-client.js';
import { digestCheck, digestMatches, transferDigestOf, type TransferChange } from '../sync/transfer.js';
import { historyKeysOf } from '../tracking/history-keys.js';
import { createSecretBox } from '../tracking/secret-box.js';
import { batchText, storedOf } from '../../test/support/sync.js';
import { packBatch } from '../sync/transfer.js';
import { allPackedChanges, readBatchStream, streamedBatchLines } from './batch-stream.js';
import { MAX_BATCH_JSON_DEPTH } from './plugins/json-body.js';

const LIMIT = 64 * 1024 * 1024;
const keys = historyKeysOf(createSecretBox([randomBytes(32)]));
const matches = (change: TransferChange) => digestMatches(change, keys);

/** A chain of changes on a few teams, each with its true digest: creates, then updates whose before is the last after. */
function chain(length: number, teams = 3): TransferChange[] {
  const last = new Map<number, TransferChange>();
  const changes: TransferChange[] = [];
  for (let i = 0; i < length; i += 1) {
    const team = i % teams;
    const parent = last.get(team) ?? null;
    const change: TransferChange = {
      id: `01CHANGE${String(i).padStart(18, '0')}`,
      origin: '01ORIGIN000000000000000000',
      originSeq: i + 1,
      type: 'teams',
      entityId: `01TEAM${String(team).padStart(20, '0')}`,
      entityName: `Team ${team}`,
      op: parent ? 'update' : 'create',
      before: parent ? parent.after : null,
      after: { name: `Team ${team}`, description: `Revision ${i} — “quoted”, \\ and ünïcode`, isCoManaged: false },
      parent: parent?.id ?? null,
      requires: [],
      actor: { kind: 'agent', id: '01AGENT0000000000000000000', name: 'Administrator' },
      at: 1_700_000_000_000 + i,
      request: null,
      changeSet: i % 2 === 0 ? 'release-1' : null,
      revertOf: null,
      digest: '',
    };
    change.digest = transferDigestOf(change, keys);
    last.set(team, change);
    changes.push(change);
  }
  return changes;
}

const request = (changes: TransferChange[]): ReceiveRequest => ({
  sender: { instanceId: '01SENDER000000000000000000', name: 'dev', kind: 'development', version: '1.0.0', inPipeline: true },
  operation: 'push',
  changes,
  dryRun: false,
  allowMissing: [],
});

/** The text as chunks cut at the given byte offsets (as a socket may deliver it). */
function chunked(text: string, cuts: number[] = []): Readable {
  const bytes = Buffer.from(text, 'utf8');
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const cut of [...at, bytes.length]) {
    if (cut > from) chunks.push(bytes.subarray(from, cut));
    from = Math.max(from, cut);
  }
  return Readable.from(chunks);
}

const read = (text: string, cuts?: number[], limit = LIMIT) => readBatchStream(chunked(text, cuts), limit, MAX_BATCH_JSON_DEPTH, (change) => digestCheck(change, keys));

async function refusal(text: string, limit = LIMIT): Promise<DomainError> {
  const error = await read(text, [], limit).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DomainError);
  return error as DomainError;
}

async function streamed(stored: StoredChange[], count = stored.length, page = 7): Promise<{ text: string; sent: StoredChange[] }> {
  const sent: StoredChange[] = [];
  const { changes: _changes, ...header } = request([]);
  let text = '';
  const pages = async function* () {
    for (let i = 0; i < stored.length; i += page) yield stored.slice(i, i + page);
  };
  for await (const piece of streamedBatchLines({ ...header, changes: { count, pages } }, sent)) text += piece;
  return { text, sent };
}

describe('streamedBatchLines', () => {
  it('sends stored changes with their texts as they are, packed as packBatch packs the changes they hold', async () => {
    const changes = chain(60);
    const stored = storedOf(changes);
    const { text, sent } = await streamed(stored);
    expect(sent).toEqual(stored);
    expect(text.match(/"before":/g)).toHaveLength(3);
    const lines = text.split('\n').filter(Boolean).slice(1);
    expect(lines.map((line) => 'before' in (JSON.parse(line) as object))).toEqual(packBatch(changes).map((c) => c.before !== undefined));
    const body = (await read(text)) as unknown as ReceiveRequest;
    expect(body.changes).toEqual(changes);
    for (const change of body.changes) expect(matches(change)).toBe(true);
    // A stored text that spans lines is put on one.
    const spread = storedOf(chain(4, 4)).map((c) => ({ ...c, afterText: JSON.stringify(JSON.parse(c.afterText!), null, 2) }));
    const again = (await read((await streamed(spread)).text)) as unknown as ReceiveRequest;
    expect(again.changes).toEqual(chain(4, 4));
  });

  it('ends in an error when the pages bring other than the count announced', async () => {
    const stored = storedOf(chain(20));
    await expect(streamed(stored.slice(0, 19), 20)).rejects.toThrow('announced 20 changes and 19 could be read');
    await expect(streamed(stored, 13)).rejects.toThrow('announced 13 changes and 14 could be read');
  });
});

describe('readBatchStream', () => {
  it('reads the batch a push streams, however the bytes are cut, with every change whole and its digest checked', async () => {
    const changes = chain(600);
    const text = await batchText(request(changes));
    // Packed on the wire: only the first change of each team carries its before.
    expect(text.match(/"before":/g)).toHaveLength(3);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(), { maxLength: 40 }), async (cuts) => {
        const body = (await read(text, cuts)) as unknown as ReceiveRequest;
        const { changes: _changes, ...header } = request(changes);
        expect({ ...body, changes: undefined }).toEqual({ ...header, changes: undefined });
        expect(body.changes).toEqual(changes);
        // Each before is the very after its parent arrived with.
        expect(body.changes[5]!.before).toBe(body.changes[2]!.after);
        for (const change of body.changes) expect(matches(change)).toBe(true);
      }),
      { numRuns: 25 },
    );
  });

  it('finds an altered change as it arrives, and leaves refusing it to the check of the batch', async () => {
    const text = (await batchText(request(chain(10)))).replace('Revision 7', 'Revision seven');
    const body = (await read(text)) as unknown as ReceiveRequest;
    expect(body.changes.map(matches)).toEqual([true, true, true, true, true, true, true, false, true, true]);
  });

  it('refuses a batch cut off or added to: the header says how many changes come', async () => {
    const lines = (await batchText(request(chain(600)))).split('\n').filter(Boolean);
    for (const text of [lines.slice(0, -1).join('\n'), `${lines.join('\n')}\n${lines[lines.length - 1]}\n`]) {
      const error = await refusal(text);
      expect(error.code).toBe('VALIDATION_FAILED');
      expect(error.details.errors).toEqual([expect.objectContaining({ path: 'changes', code: 'count-mismatch' })]);
    }
    // A line cut in two is not JSON: it is named.
    const cut = await refusal(`${lines.slice(0, 4).join('\n')}\n${lines[4]!.slice(0, 200)}`);
    expect(cut.code).toBe('MALFORMED_JSON');
    expect(cut.details.errors).toEqual([expect.objectContaining({ path: 'changes[3]', code: 'malformed-json' })]);
  });

  it('takes the records the changes name from the line after them, and refuses any line after that', async () => {
    const records = [{ kind: 'customer' as const, id: '01CUSTOMER0000000000000000', thirdPartyId: 'CRM-1', name: 'Acme' }];
    const text = await batchText({ ...request(chain(8)), records });
    const lines = text.split('\n').filter(Boolean);
    expect(JSON.parse(lines.at(-1)!)).toEqual({ records });
    expect(lines).toHaveLength(10);
    const body = (await read(text, [17, 300])) as unknown as ReceiveRequest;
    expect(body.records).toEqual(records);
    expect(body.changes).toEqual(chain(8));
    // Without records, no such line: the batch is as before.
    expect(await batchText(request(chain(8)))).toBe(`${lines.slice(0, -1).join('\n')}\n`);

    const added = await refusal(`${text}${lines.at(-1)!}\n`);
    expect(added.details.errors).toEqual([expect.objectContaining({ path: 'changes', code: 'count-mismatch' })]);
    // Among the changes, a line of records is no change: the count says so.
    const early = await refusal(`${lines.slice(0, 4).join('\n')}\n${lines.at(-1)!}\n${lines.slice(4, -1).join('\n')}\n`);
    expect(early.details.errors).toEqual([expect.objectContaining({ path: 'changes', code: 'count-mismatch' })]);
  });

  it('refuses a header that is missing, not an object or without a count', async () => {
    for (const [text, path] of [
      ['', ''],
      ['[]\n', ''],
      ['{"operation":"push"}\n', 'count'],
      ['{"operation":"push","count":-1}\n', 'count'],
    ] as const) {
      const error = await refusal(text);
      expect(error.code, text).toBe('VALIDATION_FAILED');
      expect(error.details.errors, text).toEqual([expect.objectContaining({ path })]);
    }
  });

  it('refuses a line nested too deep, and a batch over its limit, as it arrives', async () => {
    const deep = `${'['.repeat(MAX_BATCH_JSON_DEPTH + 1)}${']'.repeat(MAX_BATCH_JSON_DEPTH + 1)}`;
    const tooDeep = await refusal(`{"count":1}\n${deep}\n`);
    expect(tooDeep.code).toBe('JSON_TOO_DEEP');
    expect(tooDeep.details.errors).toEqual([expect.objectContaining({ path: 'changes[0]', code: 'too-deep' })]);

    const text = await batchText(request(chain(50)));
    const tooLarge = await refusal(text, text.length - 1);
    expect(tooLarge.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('hands a change that is not well formed on as it is, and stops unpacking there, for validation to name', async () => {
    const lines = (await batchText(request(chain(6, 1)))).split('\n').filter(Boolean);
    // The header is the first line: change 3 is on line 4.
    const broken = JSON.parse(lines[4]!) as Record<string, unknown>;
    broken.originSeq = 'four';
    lines[4] = JSON.stringify(broken);
    const body = (await read(`${lines.join('\n')}\n`)) as { changes: Record<string, unknown>[] };
    expect(body.changes[3]).toEqual(broken);
    expect(body.changes.map((c) => c.before !== undefined)).toEqual([true, true, true, false, false, false]);
    expect(allPackedChanges(body.changes)).toBe(false);
  });

  it('answers whether every change is well formed from the reading when it took them all, and by looking otherwise', async () => {
    const body = (await read(await batchText(request(chain(12, 2))))) as { changes: unknown[] };
    expect(allPackedChanges(body.changes)).toBe(true);
    // A list the reader did not make is looked at change by change.
    expect(allPackedChanges([...body.changes])).toBe(true);
    expect(allPackedChanges([...body.changes, { ...(body.changes[0] as object), originSeq: 0 }])).toBe(false);
  });
});
