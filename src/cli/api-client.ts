import { InvalidArgumentError, type Command } from 'commander';
import { UsageError } from './usage-error.js';

/** The instance a command talks to: its base URL, a bearer token, and how long to wait for each answer. */
export interface ApiTarget {
  url: string;
  token: string;
  timeoutMs: number;
}

/** A problem document (RFC 9457) an instance answered with. */
export interface ProblemBody {
  code?: string;
  title?: string;
  detail?: string;
  status?: number;
  errors?: { path: string; code: string; message: string }[];
  problems?: unknown[];
  plan?: unknown;
  [extension: string]: unknown;
}

/** An answer other than 2xx. */
export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    readonly problem: ProblemBody,
  ) {
    super(
      [`${problem.code ?? status}: ${problem.detail ?? problem.title ?? `the instance answered ${status}`}`, ...(problem.errors ?? []).map((e) => `  ${e.path || '(body)'}: ${e.message}`)].join(
        '\n',
      ),
    );
    this.name = 'ApiProblem';
  }

  /** A refusal by the sync rules (the answer lists problems or carries a plan), as opposed to a failed request. */
  get refused(): boolean {
    return Array.isArray(this.problem.problems) || this.problem.plan !== undefined;
  }
}

/** How long a call waits for its answer unless told: long enough for any read, short enough that silence is noticed. */
export const CALL_TIMEOUT_S = 30;
/** How long push, pull, import, export and restore wait: the instance answers when the whole batch is done. */
export const LONG_WORK_TIMEOUT_S = 900;

/** The options as commander gives them. */
export interface TargetValues {
  url?: string;
  token?: string;
  json?: boolean;
  timeout?: number;
}

function seconds(value: string): number {
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value.trim()) || !(n > 0)) throw new InvalidArgumentError('give a number of seconds greater than 0');
  return n;
}

/** Adds the options of every command that talks to an instance: --url, --token, --timeout and (unless `json` is false) --json. */
export function withTarget(command: Command, options: { json?: boolean; timeoutS?: number } = {}): Command {
  command
    .option('--url <URL>', "the instance's base URL (default: SHIPLOG_URL)")
    .option('--token <TOKEN>', 'an API token of an agent with the permission the call needs (default: SHIPLOG_TOKEN)')
    .option('--timeout <SECONDS>', `how long to wait for each answer (default: SHIPLOG_TIMEOUT, else ${options.timeoutS ?? CALL_TIMEOUT_S})`, seconds);
  if (options.json !== false) command.option('--json', "print the instance's JSON answer instead of tables");
  return command;
}

/** The target from the flags, else from SHIPLOG_URL, SHIPLOG_TOKEN and SHIPLOG_TIMEOUT. */
export function resolveTarget(values: TargetValues, defaultTimeoutS = CALL_TIMEOUT_S, env: NodeJS.ProcessEnv = process.env): ApiTarget {
  const url = values.url ?? env.SHIPLOG_URL;
  const token = values.token ?? env.SHIPLOG_TOKEN;
  if (!url) throw new UsageError('give the instance with --url or SHIPLOG_URL');
  if (!token) throw new UsageError('give an API token with --token or SHIPLOG_TOKEN');
  if (!/^https?:\/\//.test(url)) throw new UsageError(`--url must be an http(s) URL, not "${url}"`);
  let timeout = values.timeout;
  if (timeout === undefined && env.SHIPLOG_TIMEOUT !== undefined) {
    try {
      timeout = seconds(env.SHIPLOG_TIMEOUT);
    } catch {
      throw new UsageError(`SHIPLOG_TIMEOUT must be a number of seconds greater than 0, not "${env.SHIPLOG_TIMEOUT}"`);
    }
  }
  return { url: url.replace(/\/+$/, ''), token, timeoutMs: Math.round((timeout ?? defaultTimeoutS) * 1000) };
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Calls the instance's API; answers the parsed JSON (or the text with `raw`), throws ApiProblem for any non-2xx. */
export async function callApi<T>(
  target: ApiTarget,
  method: HttpMethod,
  path: string,
  options: { json?: unknown; text?: string; headers?: Record<string, string>; raw?: boolean; onDownload?: (received: number, total: number | null) => void } = {},
): Promise<T> {
  const headers: Record<string, string> = { authorization: `Bearer ${target.token}`, accept: 'application/json', ...options.headers };
  let body: string | undefined;
  if (options.text !== undefined) {
    headers['content-type'] = 'text/plain; charset=utf-8';
    body = options.text;
  } else if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.json);
  }
  const url = `${target.url}${path}`;
  // The whole exchange, answer read to its end, within the timeout: a server that accepts and never answers is an error.
  const signal = AbortSignal.timeout(target.timeoutMs);
  const silent = () => new Error(`no answer from ${url} within ${target.timeoutMs / 1000} s (wait longer with --timeout SECONDS or SHIPLOG_TIMEOUT)`);
  let response: Response;
  try {
    response = await fetch(url, { method, headers, signal, ...(body === undefined ? {} : { body }) });
  } catch (error) {
    if (signal.aborted) throw silent();
    const cause = (error as { cause?: Error }).cause?.message ?? (error as Error).message;
    throw new Error(`cannot reach ${target.url}: ${cause}`);
  }
  let text: string;
  try {
    text = options.onDownload && response.ok && response.body ? await readCounting(response, options.onDownload) : await response.text();
  } catch (error) {
    if (signal.aborted) throw silent();
    throw new Error(`the answer from ${url} was cut off: ${(error as Error).message}`);
  }
  if (!response.ok) {
    let problem: ProblemBody = {};
    try {
      problem = JSON.parse(text) as ProblemBody;
    } catch {
      problem = { detail: text.slice(0, 500) || `the instance answered ${response.status}` };
    }
    throw new ApiProblem(response.status, problem);
  }
  if (options.raw) return text as T;
  return (text ? JSON.parse(text) : null) as T;
}

/** Reads a body as text, telling `onDownload` the bytes received so far (of Content-Length, when given). */
async function readCounting(response: Response, onDownload: (received: number, total: number | null) => void): Promise<string> {
  const length = Number(response.headers.get('content-length'));
  const total = Number.isFinite(length) && length > 0 ? length : null;
  const chunks: Uint8Array[] = [];
  let received = 0;
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    chunks.push(chunk);
    received += chunk.byteLength;
    onDownload(received, total);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Builds a query string from the defined values. */
export function query(params: Record<string, string | boolean | undefined>): string {
  const entries = Object.entries(params).flatMap(([k, v]): [string, string][] => (v === undefined ? [] : [[k, String(v)]]));
  return entries.length === 0 ? '' : `?${new URLSearchParams(entries).toString()}`;
}

export function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

/**
 * Calls, then prints the answer as JSON or rendered. A refusal by the sync rules prints its plan (or problems) and
 * gives exit code 2, as does an answer `failed` judges refused (a dry run that found problems); other errors throw.
 */
export async function report<T>(options: {
  json: boolean;
  call: () => Promise<T>;
  render: (answer: T) => string;
  failed?: (answer: T) => boolean;
  renderRefusal: (problem: ProblemBody) => string;
}): Promise<number> {
  try {
    const answer = await options.call();
    print(options.json ? JSON.stringify(answer, null, 2) : options.render(answer));
    return options.failed?.(answer) ? 2 : 0;
  } catch (error) {
    if (!(error instanceof ApiProblem && error.refused)) throw error;
    print(options.json ? JSON.stringify(error.problem, null, 2) : options.renderRefusal(error.problem));
    process.stderr.write(`shiplog: refused — ${error.message}\n`);
    return 2;
  }
}
