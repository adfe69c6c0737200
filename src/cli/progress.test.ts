import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgress, progressWanted, renderBar } from './progress.js';

/** A stream that keeps what is written, a terminal or not. */
function sink(isTTY: boolean) {
  const written: string[] = [];
  const stream = Object.assign(
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        written.push(chunk.toString());
        done();
      },
    }),
    { isTTY },
  );
  return { stream, written };
}

describe('progress on standard error', () => {
  it('draws a bar when the total is known and a count when it is not', () => {
    expect(renderBar('Exporting', 0, 200, 'KiB')).toBe(`Exporting [${'-'.repeat(24)}]   0% 0/200 KiB`);
    expect(renderBar('Exporting', 100, 200, 'KiB')).toBe(`Exporting [${'#'.repeat(12)}${'-'.repeat(12)}]  50% 100/200 KiB`);
    expect(renderBar('Exporting', 250, 200, 'KiB')).toBe(`Exporting [${'#'.repeat(24)}] 100% 250/200 KiB`);
    expect(renderBar('Fetched', 12_345, null, 'records')).toBe('Fetched: 12,345 records');
  });

  it('shows itself on a terminal, never beside --json, and as SHIPLOG_PROGRESS says', () => {
    expect(progressWanted(false, {}, { isTTY: true })).toBe(true);
    expect(progressWanted(true, {}, { isTTY: true })).toBe(false);
    expect(progressWanted(false, {}, { isTTY: false })).toBe(false);
    expect(progressWanted(true, { SHIPLOG_PROGRESS: 'always' }, { isTTY: false })).toBe(true);
    expect(progressWanted(false, { SHIPLOG_PROGRESS: 'never' }, { isTTY: true })).toBe(false);
  });

  it('redraws one line on a terminal and ends it when the work is done', () => {
    const { stream, written } = sink(true);
    const progress = createProgress({ enabled: true, stream });
    progress.update('Exporting', 1, 4, 'KiB');
    progress.update('Exporting', 4, 4, 'KiB');
    expect(written).toEqual([`\r\u001b[2K${renderBar('Exporting', 1, 4, 'KiB')}`, `\r\u001b[2K${renderBar('Exporting', 4, 4, 'KiB')}\n`]);
  });

  it('writes a log at most a line a second, and the last state at the end', () => {
    const { stream, written } = sink(false);
    let clock = 0;
    const progress = createProgress({ enabled: true, stream, now: () => clock });
    for (let n = 1; n <= 10; n += 1) {
      clock += 300;
      progress.update('Fetched', n * 100, null, 'records');
    }
    progress.finish();
    expect(written).toEqual(['Fetched: 100 records\n', 'Fetched: 500 records\n', 'Fetched: 900 records\n', 'Fetched: 1,000 records\n']);
  });

  it('times work of unknown size, and says when it stopped', async () => {
    const { stream, written } = sink(false);
    let clock = 0;
    const progress = createProgress({ enabled: true, stream, now: () => clock });
    await progress.during('Pushing to staging', Promise.resolve().then(() => (clock = 1600)));
    await expect(progress.during('Pulling from dev', Promise.reject(new Error('refused')))).rejects.toThrow('refused');
    expect(written).toEqual(['Pushing to staging…\n', 'Pushing to staging: done in 1.6 s\n', 'Pulling from dev…\n', 'Pulling from dev: stopped after 0.0 s\n']);
  });

  it('writes nothing when not wanted', async () => {
    const { stream, written } = sink(true);
    const progress = createProgress({ enabled: false, stream });
    progress.update('Exporting', 1, 2, 'KiB');
    await progress.during('Pushing', Promise.resolve(1));
    progress.finish();
    expect(written).toEqual([]);
  });
});
