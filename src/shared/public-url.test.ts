import { describe, expect, it } from 'vitest';
import { parsePublicUrl } from './public-url.js';

describe('the public URL of an instance', () => {
  it.each([
    ['https://desk.example.com', 'https://desk.example.com/'],
    ['https://desk.example.com/', 'https://desk.example.com/'],
    ['http://127.0.0.1:4100', 'http://127.0.0.1:4100/'],
    ['https://example.com/shiplog', 'https://example.com/shiplog/'],
  ])('takes %s as %s', (text, href) => {
    expect(parsePublicUrl(text).href).toBe(href);
  });

  it.each([
    ['desk.example.com', 'absolute'],
    ['/shiplog', 'absolute'],
    ['ftp://desk.example.com', 'http or https'],
    ['javascript:alert(1)', 'http or https'],
    ['https://user:pass@desk.example.com', 'credentials'],
    ['https://desk.example.com/?next=1', 'query or fragment'],
    ['https://desk.example.com/?', 'query or fragment'],
    ['https://desk.example.com/#top', 'query or fragment'],
  ])('refuses %s, saying it must be %s', (text, words) => {
    expect(() => parsePublicUrl(text)).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED', message: expect.stringContaining(words) }));
  });
});
