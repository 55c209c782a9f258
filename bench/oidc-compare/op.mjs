// oidc-provider (https://github.com/panva/node-oidc-provider), configured as the platform is for
// `mykey bench oidc-compare`: authorization code flow with PKCE S256 required, the client
// authenticating with private_key_jwt (ES256, a registered JWK Set), ES256 ID tokens, its
// development in-memory store. One extra route, POST /bench/codes?n=N&challenge=C, mints N
// authorization codes (grant + code, as an interaction would leave them) before the measured
// part; the measured part is the token endpoint alone. Its store is in memory (see MemoryAdapter).
//
//   CLIENT_JWKS='{"keys":[…]}' REDIRECT_URI=… node op.mjs     prints "listening http://127.0.0.1:PORT"

import { Provider } from 'oidc-provider';
import { generateKeyPair, exportJWK } from 'jose';

// The development adapter keeps at most 1,000 entries (an LRU cache), fewer than a run's codes and
// grants; this one is the same in-memory store without the eviction.
const stores = new Map();
class MemoryAdapter {
  constructor(name) {
    this.name = name;
    if (!stores.has(name)) stores.set(name, new Map());
    this.items = stores.get(name);
  }

  async upsert(id, payload, expiresIn) {
    this.items.set(id, { payload, expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : undefined });
    if (payload.grantId) {
      const grants = stores.get('grants') ?? new Map();
      stores.set('grants', grants);
      const ids = grants.get(payload.grantId) ?? [];
      ids.push([this.name, id]);
      grants.set(payload.grantId, ids);
    }
    if (payload.uid) this.items.set(`uid:${payload.uid}`, { payload, alias: id });
    if (payload.userCode) this.items.set(`userCode:${payload.userCode}`, { payload, alias: id });
  }

  async find(id) {
    const e = this.items.get(id);
    if (!e || (e.expiresAt && e.expiresAt < Date.now())) return undefined;
    return e.payload;
  }

  async findByUid(uid) { return this.items.get(`uid:${uid}`)?.payload; }

  async findByUserCode(userCode) { return this.items.get(`userCode:${userCode}`)?.payload; }

  async consume(id) {
    const e = this.items.get(id);
    if (e) e.payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) { this.items.delete(id); }

  async revokeByGrantId(grantId) {
    for (const [name, id] of stores.get('grants')?.get(grantId) ?? []) stores.get(name)?.delete(id);
  }
}

const { privateKey } = await generateKeyPair('ES256', { extractable: true });
const signing = { ...(await exportJWK(privateKey)), alg: 'ES256', use: 'sig', kid: 'op-es256' };
const redirect = process.env.REDIRECT_URI;
const clientJwks = JSON.parse(process.env.CLIENT_JWKS);

const port = await new Promise((resolve) => {
  import('node:net').then(({ createServer }) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port: p } = s.address();
      s.close(() => resolve(p));
    });
  });
});
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'bench',
    token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: 'ES256',
    id_token_signed_response_alg: 'ES256',
    jwks: clientJwks,
    redirect_uris: [redirect],
    grant_types: ['authorization_code'],
    response_types: ['code'],
  }],
  jwks: { keys: [signing] },
  pkce: { required: () => true },
  enabledJWA: {
    clientAuthSigningAlgValues: ['ES256'],
    idTokenSigningAlgValues: ['ES256'],
  },
  features: { devInteractions: { enabled: false } },
  findAccount: async (ctx, id) => ({ accountId: id, claims: async () => ({ sub: id }) }),
  ttl: { AuthorizationCode: 3600, AccessToken: 600, IdToken: 600 },
  cookies: { keys: ['mykey-bench-only'] },
  adapter: MemoryAdapter,
});

provider.use(async (ctx, next) => {
  if (ctx.path === '/bench/codes' && ctx.method === 'POST') {
    const n = Number(ctx.query.n);
    const client = await provider.Client.find('bench');
    const codes = [];
    for (let i = 0; i < n; i += 1) {
      const accountId = `person-${i}`;
      const grant = new provider.Grant({ accountId, clientId: 'bench' });
      grant.addOIDCScope('openid');
      const grantId = await grant.save();
      const code = new provider.AuthorizationCode({
        accountId,
        grantId,
        client,
        redirectUri: redirect,
        scope: 'openid',
        codeChallenge: ctx.query.challenge,
        codeChallengeMethod: 'S256',
        nonce: 'bench',
        authTime: Math.floor(Date.now() / 1000),
      });
      codes.push(await code.save());
    }
    ctx.body = codes;
    return;
  }
  await next();
});

let told = false;
provider.on('grant.error', (ctx, err) => {
  if (!told) {
    told = true;
    console.error(`oidc-provider refused a grant: ${err.message} (${err.error_detail ?? ''})`);
  }
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`listening ${issuer} pid ${process.pid}`);
});
