/**
 * Client-credential tokens for Graph, one MSAL confidential client per tenant (the token must
 * be for the tenant that owns the call; docs/teams-protocol.md#graph-token). MSAL caches tokens in
 * memory and refreshes them before expiry; looking a token up in its cache costs about as much
 * as the Graph request's own client work, so each tenant's token is also held here until MSAL
 * would refresh it (at `refreshOn`, or five minutes before `expiresOn`, MSAL's own margin), and
 * only then asked for again (MSAL then returns its cached token or fetches a new one).
 */
import { ConfidentialClientApplication } from '@azure/msal-node';

export interface TokenSource {
  getToken(tenantId: string): Promise<string>;
}

export interface TokenSourceOptions {
  clientId: string;
  clientSecret: string;
  /** e.g. https://login.microsoftonline.com */
  authorityHost: string;
}

const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';
/** MSAL's default `tokenRenewalOffsetSeconds`: it refreshes a token this long before expiry. */
const RENEW_BEFORE_EXPIRY_MS = 300_000;

export function createTokenSource(options: TokenSourceOptions): TokenSource {
  const clients = new Map<string, ConfidentialClientApplication>();
  const host = new URL(options.authorityHost).host;
  const clientFor = (tenantId: string): ConfidentialClientApplication => {
    let client = clients.get(tenantId);
    if (!client) {
      client = new ConfidentialClientApplication({
        auth: {
          clientId: options.clientId,
          clientSecret: options.clientSecret,
          authority: `${options.authorityHost}/${encodeURIComponent(tenantId)}`,
          // skips instance discovery: the authority is the configured host, nothing else
          knownAuthorities: [host],
        },
      });
      clients.set(tenantId, client);
    }
    return client;
  };
  /** Tokens held until MSAL would refresh them. */
  const held = new Map<string, { token: string; until: number }>();
  // A burst of calls in a tenant whose token is not held yet shares one MSAL request.
  const inFlight = new Map<string, Promise<string>>();
  const acquire = async (tenantId: string): Promise<string> => {
    const result = await clientFor(tenantId).acquireTokenByClientCredential({
      scopes: [GRAPH_SCOPE],
    });
    if (!result?.accessToken) throw new Error(`no Graph token for tenant ${tenantId}`);
    // whichever MSAL would act on first; a token without an expiry is not held
    const expiry = result.expiresOn ? result.expiresOn.getTime() - RENEW_BEFORE_EXPIRY_MS : 0;
    const until = Math.min(expiry, result.refreshOn?.getTime() ?? expiry);
    if (until > Date.now()) held.set(tenantId, { token: result.accessToken, until });
    return result.accessToken;
  };
  return {
    getToken(tenantId) {
      const token = held.get(tenantId);
      if (token && Date.now() < token.until) return Promise.resolve(token.token);
      held.delete(tenantId);
      let pending = inFlight.get(tenantId);
      if (!pending) {
        pending = acquire(tenantId).finally(() => inFlight.delete(tenantId));
        inFlight.set(tenantId, pending);
      }
      return pending;
    },
  };
}
