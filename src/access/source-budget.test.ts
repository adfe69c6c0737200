import { describe, expect, it } from 'vitest';
import { sourceOf } from './source-budget.js';

describe('sourceOf', () => {
  it('counts an IPv4 address as itself, however it is written', () => {
    expect(sourceOf('198.51.100.7')).toBe('198.51.100.7');
    expect(sourceOf('::ffff:198.51.100.7')).toBe('198.51.100.7');
    expect(sourceOf('::FFFF:198.51.100.7')).toBe('198.51.100.7');
  });

  it('counts an IPv6 address by its /64, however it is written', () => {
    const net = '2001:db8:85a3:8d3::/64';
    for (const address of ['2001:db8:85a3:8d3:1319:8a2e:370:7348', '2001:0db8:85a3:08d3::1', '2001:DB8:85A3:8D3::', '2001:db8:85a3:8d3:0:0:0:1%eth0', '2001:db8:85a3:8d3::1.2.3.4']) {
      expect(sourceOf(address), address).toBe(net);
    }
    expect(sourceOf('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(sourceOf('::1')).toBe('0:0:0:0::/64');
    expect(sourceOf('2001:db8:85a3:8d4::1')).not.toBe(net);
  });

  it('counts requests without an address together', () => {
    expect(sourceOf(null)).toBe('unknown');
    expect(sourceOf('')).toBe('unknown');
  });
});
