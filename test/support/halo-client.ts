import * as client from 'openid-client';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a Halo client reads arbitrary records
export type HaloJson = any;

/**
 * A small client written the way Halo integrations are: a client-credentials token with scope=all (and a tenant),
 * list envelopes paged with pageinate/page_size/page_no, array POSTs, integer ids.
 */
export class HaloClient {
  private token = '';

  constructor(
    readonly baseUrl: string,
    private readonly clientId: string,
    private readonly clientSecret: string,
  ) {}

  /** Gets a token as Halo clients ask for one; answers the granted scope. */
  async authenticate(scope = 'all'): Promise<string> {
    const config = new client.Configuration({ issuer: this.baseUrl, token_endpoint: `${this.baseUrl}/auth/token` }, this.clientId, this.clientSecret, client.ClientSecretPost(this.clientSecret));
    client.allowInsecureRequests(config);
    const grant = await client.clientCredentialsGrant(config, { scope, tenant: 'shiplog-test' });
    this.token = grant.access_token;
    return grant.scope ?? '';
  }

  async request(method: string, path: string, body?: unknown): Promise<{ status: number; body: HaloJson; headers: Headers }> {
    const res = await fetch(`${this.baseUrl}/api/${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as HaloJson) : null, headers: res.headers };
  }

  async get(path: string): Promise<HaloJson> {
    const res = await this.request('GET', path);
    if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }

  /** Every record of a list, as Halo clients page: while page_no * page_size < record_count. */
  async all(resource: string, key: string, query = '', pageSize = 2): Promise<HaloJson[]> {
    const records: HaloJson[] = [];
    let recordCount = 0;
    let page = 0;
    do {
      page += 1;
      const body = await this.get(`${resource}?pageinate=true&page_size=${pageSize}&page_no=${page}${query ? `&${query}` : ''}`);
      records.push(...(body[key] as HaloJson[]));
      recordCount = body.record_count as number;
    } while (page * pageSize < recordCount);
    return records;
  }

  /** POSTs records as an array; answers the saved record (one) or records (several). */
  async save(resource: string, ...records: Record<string, unknown>[]): Promise<HaloJson> {
    const res = await this.request('POST', resource, records);
    if (res.status !== 200) throw new Error(`POST ${resource}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }
}
