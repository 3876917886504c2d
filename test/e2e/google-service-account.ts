// A Google service account for tests of llmscope's own Google credentials (providers[].googleCredentials): an RSA key
// pair made here, key files naming a token endpoint on loopback as their token_uri (Google's cannot be reached), and
// that endpoint, which checks each JWT-bearer assertion's signature with the public key and mints tokens, counting them.
import { generateKeyPairSync, verify } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const dir = mkdtempSync(join(tmpdir(), 'llmscope-vertex-auth-'));
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
export const EMAIL = 'llmscope-test@my-proj.iam.gserviceaccount.com';

/** A service account's key file whose token_uri is `tokenUri`. */
export function keyFile(name: string, tokenUri: string): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    JSON.stringify({
      type: 'service_account',
      project_id: 'my-proj',
      private_key_id: 'k1',
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }),
      client_email: EMAIL,
      client_id: '1',
      token_uri: tokenUri,
    }),
  );
  return path;
}

/** The token endpoint: a JWT-bearer grant whose assertion the service account's key signed gets a fresh token. */
export interface TokenEndpoint {
  url: string;
  minted: string[];
  refused: number;
  close(): Promise<void>;
}
export async function startTokenEndpoint(): Promise<TokenEndpoint> {
  const ep: TokenEndpoint = { url: '', minted: [], refused: 0, close: async () => {} };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      const form = new URLSearchParams(body);
      const [h, p, sig] = (form.get('assertion') ?? '').split('.');
      const claims = p ? JSON.parse(Buffer.from(p, 'base64url').toString()) : {};
      const signed =
        h !== undefined &&
        sig !== undefined &&
        verify('RSA-SHA256', Buffer.from(`${h}.${p}`), publicKey, Buffer.from(sig, 'base64url'));
      if (
        req.method !== 'POST' ||
        form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer' ||
        !signed ||
        claims.iss !== EMAIL ||
        !String(claims.scope).includes('https://www.googleapis.com/auth/cloud-platform')
      ) {
        ep.refused++;
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'invalid_grant', error_description: 'bad assertion' }));
        return;
      }
      const token = `ya29.minted-${ep.minted.length + 1}`;
      ep.minted.push(token);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ access_token: token, expires_in: 3600, token_type: 'Bearer' }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  ep.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
  ep.close = () => new Promise((r) => server.close(() => r()));
  return ep;
}
