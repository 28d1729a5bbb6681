/**
 * A real OpenID provider (oidc-provider, certified) on loopback, for the
 * tests of signing in through an identity provider. It listens first (its
 * address is the issuer, which a service-wide configuration needs before the
 * key service starts), and serves once it knows its client (whose redirect
 * URI is the key service's address).
 *
 * Any login works on its development login form: login "ann" is
 * ann@<emailDomain>, a login with an @ is that address itself, and a login
 * starting with "unverified" has an email the provider does not vouch for
 * (email_verified false).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';

export interface TestOidcClient {
  clientId: string;
  clientSecret: string;
  redirectUri: string;
}

export class TestOidcProvider {
  readonly issuer: string;
  readonly #server: Server;

  private constructor(server: Server) {
    this.#server = server;
    this.issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  static async listen(): Promise<TestOidcProvider> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new TestOidcProvider(server);
  }

  /** Answers as a provider with this one client. */
  serve(client: TestOidcClient, options: { emailDomain?: string } = {}): this {
    const domain = options.emailDomain ?? 'example.com';
    const provider = new Provider(this.issuer, {
      clients: [
        {
          client_id: client.clientId,
          client_secret: client.clientSecret,
          redirect_uris: [client.redirectUri],
          response_types: ['code'],
          grant_types: ['authorization_code'],
        },
      ],
      findAccount: (_ctx, id) => ({
        accountId: id,
        claims: () => ({ sub: id, email: id.includes('@') ? id : `${id}@${domain}`, email_verified: !id.startsWith('unverified'), name: `User ${id}` }),
      }),
      claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
      cookies: { keys: ['oidc-provider-test-cookie-key'] },
      features: { devInteractions: { enabled: true } },
      ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 600, Grant: 600 },
    });
    this.#server.on('request', provider.callback());
    return this;
  }

  close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    return closed;
  }
}

/** An issuer on loopback where nothing listens (a provider that is down). */
export async function deadIssuer(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await new Promise((resolve) => server.close(resolve));
  return issuer;
}
