/**
 * The environment of an orchestrator that talks to a local simulator instead of Teams: the
 * variables of README.md#configuration pointing at the simulator's OpenID configuration, Entra and
 * Graph, and the ingress on a loopback port. Used by the demo and the tests.
 */
export interface LocalEnvOptions {
  sim: { openIdConfigUrl: string; graphBaseUrl: string; authorityHost: string };
  botAppId: string;
  botAppSecret: string;
  redisUrl: string;
  redisKeyPrefix: string;
  /** Ingress port on 127.0.0.1. */
  port: number;
}

export function localOrchestratorEnv(o: LocalEnvOptions): Record<string, string> {
  return {
    BOT_APP_ID: o.botAppId,
    BOT_APP_SECRET: o.botAppSecret,
    REDIS_URL: o.redisUrl,
    REDIS_KEY_PREFIX: o.redisKeyPrefix,
    HOST: '127.0.0.1',
    PORT: String(o.port),
    PUBLIC_BASE_URL: `http://127.0.0.1:${o.port}`,
    TEAMS_OPENID_CONFIG_URL: o.sim.openIdConfigUrl,
    GRAPH_BASE_URL: o.sim.graphBaseUrl,
    ENTRA_AUTHORITY_HOST: o.sim.authorityHost,
  };
}
