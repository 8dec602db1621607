/**
 * A small token server for registry token auth: checks basic credentials and issues an RS256
 * JWT granting the requested scopes, signed by a key whose self-signed certificate is the
 * registry's `rootcertbundle` (distribution verifies the `x5c` header chain against it).
 */
import { selfSignedCertificate } from '../../sandbox/fixtures/tls.ts';
import { createSign, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { join } from 'node:path';
import { freePort } from '../../sandbox/fixtures/ports.ts';

export interface TokenIssuer {
  realm: string;
  service: string;
  issuer: string;
  certFile: string;
  /** Every token request seen: scopes asked, for assertions on token reuse. */
  requests: string[][];
  /** The registry config lines under `auth:`. */
  authYaml: string;
  stop(): Promise<void>;
}

const b64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

export interface TokenIssuerOptions {
  /** Serve the realm over https with the issuer's own certificate (valid for 127.0.0.1): trust it through `certFile`. */
  https?: boolean;
  lifetimeSeconds?: number;
}

export async function startTokenIssuer(
  dir: string,
  users: Record<string, string>,
  options: TokenIssuerOptions = {},
): Promise<TokenIssuer> {
  const lifetimeSeconds = options.lifetimeSeconds ?? 300;
  const keyFile = join(dir, 'token.key');
  const certFile = join(dir, 'token.crt');
  selfSignedCertificate({ key: keyFile, certificate: certFile }, '/CN=test-token-issuer', 2, [
    '-addext',
    'subjectAltName=IP:127.0.0.1',
  ]);
  const key = readFileSync(keyFile, 'utf8');
  const der = readFileSync(certFile, 'utf8').replace(/-----[^-]+-----|\s/g, '');
  const port = await freePort();
  const service = 'test-registry';
  const issuer = 'test-issuer';
  const requests: string[][] = [];
  const answer = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    const [user, password] = Buffer.from((req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64')
      .toString()
      .split(':');
    if (!user || users[user] !== password) {
      res.writeHead(401).end('{"details":"bad credentials"}');
      return;
    }
    const scopes = url.searchParams.getAll('scope');
    requests.push(scopes);
    const access = scopes.map((scope) => {
      const [type, ...rest] = scope.split(':');
      const actions = rest.pop()!.split(',');
      return { type, name: rest.join(':'), actions };
    });
    const now = Math.floor(Date.now() / 1000);
    const header = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', x5c: [der] }));
    const claims = b64url(
      JSON.stringify({
        iss: issuer,
        sub: user,
        aud: service,
        exp: now + lifetimeSeconds,
        nbf: now - 10,
        iat: now,
        jti: randomUUID(),
        access,
      }),
    );
    const signature = createSign('RSA-SHA256').update(`${header}.${claims}`).sign(key).toString('base64url');
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ access_token: `${header}.${claims}.${signature}`, expires_in: lifetimeSeconds }));
  };
  const server: Server = options.https
    ? createHttpsServer({ key, cert: readFileSync(certFile) }, answer)
    : createServer(answer);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const realm = `${options.https ? 'https' : 'http'}://127.0.0.1:${port}/token`;
  return {
    realm,
    service,
    issuer,
    certFile,
    requests,
    authYaml: [
      '  token:',
      `    realm: ${realm}`,
      `    service: ${service}`,
      `    issuer: ${issuer}`,
      `    rootcertbundle: ${certFile}`,
    ].join('\n'),
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
