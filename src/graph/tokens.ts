/**
 * Client-credential tokens for Graph, one MSAL confidential client per tenant (the token must
 * be for the tenant that owns the call; docs/teams-protocol.md#graph-token). MSAL caches tokens in
 * memory and refreshes them before expiry.
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
  // A burst of calls in a tenant whose token is not cached yet shares one token request.
  const inFlight = new Map<string, Promise<string>>();
  const acquire = async (tenantId: string): Promise<string> => {
    const result = await clientFor(tenantId).acquireTokenByClientCredential({
      scopes: [GRAPH_SCOPE],
    });
    if (!result?.accessToken) throw new Error(`no Graph token for tenant ${tenantId}`);
    return result.accessToken;
  };
  return {
    getToken(tenantId) {
      let pending = inFlight.get(tenantId);
      if (!pending) {
        pending = acquire(tenantId).finally(() => inFlight.delete(tenantId));
        inFlight.set(tenantId, pending);
      }
      return pending;
    },
  };
}
