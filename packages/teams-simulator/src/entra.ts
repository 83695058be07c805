/**
 * A fake Entra authority (docs/teams-protocol.md#graph-token) and the calling platform's OpenID
 * metadata (docs/teams-protocol.md#inbound-token).
 *
 * Entra: the tenant's OpenID configuration (with the fields msal-node checks before it trusts an
 * authority: authorization_endpoint, token_endpoint, issuer, jwks_uri) and the v2.0 token
 * endpoint for the client-credentials grant, which issues Graph access tokens signed by the
 * simulator. Calling platform: `/v1/.well-known/OpenIdConfiguration` and the `/v1/keys` JWKS.
 */
import { entraError } from './graph-errors.js';
import type { Reply, RequestContext } from './routes.js';
import { BOT_FRAMEWORK_ISSUER, type TokenService } from './tokens.js';

export interface EntraDeps {
  baseUrl: string;
  botAppId: string;
  botAppSecret: string;
  tokens: TokenService;
}

// The sample's string formatting yields a double slash and evidently works
// (docs/teams-protocol.md#graph-token).
const GRAPH_DEFAULT_SCOPES = new Set([
  'https://graph.microsoft.com/.default',
  'https://graph.microsoft.com//.default',
]);
// Client credentials need a concrete tenant; Entra refuses the multi-tenant aliases.
const ALIASES = new Set(['common', 'organizations', 'consumers']);

export function botFrameworkOpenIdConfig(baseUrl: string): Reply {
  return {
    status: 200,
    body: {
      issuer: BOT_FRAMEWORK_ISSUER,
      authorization_endpoint: `${baseUrl}/v1/authorize`,
      jwks_uri: `${baseUrl}/v1/keys`,
      // An old Bot Framework document says "RSA256" (sic); tokens are RS256
      // (docs/teams-protocol.md#inbound-token).
      id_token_signing_alg_values_supported: ['RS256'],
      token_endpoint_auth_methods_supported: ['private_key_jwt'],
    },
  };
}

export function entraMetadata(baseUrl: string, tenant: string): Reply {
  const base = `${baseUrl}/${encodeURIComponent(tenant)}`;
  return {
    status: 200,
    body: {
      token_endpoint: `${base}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: [
        'client_secret_post',
        'private_key_jwt',
        'client_secret_basic',
      ],
      jwks_uri: `${base}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: `${base}/v2.0`,
      request_uri_parameter_supported: false,
      userinfo_endpoint: `${base}/openid/userinfo`,
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${base}/oauth2/v2.0/logout`,
      claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nbf', 'tid', 'oid'],
      tenant_region_scope: 'NA',
      cloud_instance_name: 'microsoftonline.com',
      cloud_graph_host_name: 'graph.windows.net',
      msgraph_host: 'graph.microsoft.com',
    },
  };
}

/** POST /{tenant}/oauth2/v2.0/token (client credentials with a secret only). */
export async function tokenEndpoint(ctx: RequestContext, deps: EntraDeps): Promise<Reply> {
  const tenant = ctx.classified.tenant ?? '';
  const form = new URLSearchParams(ctx.text);
  if (form.get('grant_type') !== 'client_credentials') {
    return entraError(
      400,
      'unsupported_grant_type',
      'AADSTS70003: The app requested an unsupported grant type (the simulator supports client_credentials).',
    );
  }
  if (ALIASES.has(tenant.toLowerCase())) {
    return entraError(
      400,
      'invalid_request',
      `AADSTS90002: Tenant '${tenant}' cannot be used with the client credentials flow.`,
    );
  }
  if (form.get('client_id') !== deps.botAppId) {
    return entraError(
      400,
      'unauthorized_client',
      `AADSTS700016: Application with identifier '${form.get('client_id') ?? ''}' was not found in the directory '${tenant}'.`,
    );
  }
  if (form.get('client_secret') !== deps.botAppSecret) {
    return entraError(401, 'invalid_client', 'AADSTS7000215: Invalid client secret provided.');
  }
  const scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
  if (!scopes.some((s) => GRAPH_DEFAULT_SCOPES.has(s))) {
    return entraError(
      400,
      'invalid_scope',
      `AADSTS1002012: The provided value for scope ${scopes.join(' ')} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.`,
    );
  }
  return {
    status: 200,
    body: {
      token_type: 'Bearer',
      expires_in: deps.tokens.graphLifetimeSec,
      ext_expires_in: deps.tokens.graphLifetimeSec,
      access_token: await deps.tokens.graphToken(tenant),
    },
  };
}
