import { fileURLToPath } from 'node:url';

const source = (name: string) =>
  fileURLToPath(new URL(`./packages/${name}/src/index.ts`, import.meta.url));

/**
 * Tests run the workspace packages from source, as tsc (tsconfig.json `paths`) and tsx do; plain
 * node (`npm start`) uses their built dist/ through node_modules instead.
 */
export const PACKAGE_SOURCES = [
  { find: /^@cr-orchestrator\/media-protocol$/, replacement: source('media-protocol') },
  { find: /^@cr-orchestrator\/teams-simulator$/, replacement: source('teams-simulator') },
];
