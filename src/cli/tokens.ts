// `llmscope tokens create`: a new dashboard and /api token with a role and optional team/feature scope. The token is
// printed once, with the `auth.tokens` entry to paste into the config (which keeps only its SHA-256); llmscope
// never stores or shows the token again (docs/security.md).
import { randomBytes } from 'node:crypto';
import { stringify } from 'yaml';
import { authTokenSchema } from '../config/schema.js';
import { LlmscopeError } from '../errors.js';
import { hashToken } from '../http/index.js';

export interface CreatedToken {
  token: string;
  entry: { name: string; role: string; tokenHash: string; teams?: string[]; features?: string[] };
}

/** The command's flag for each field of the entry, so a refusal names what the user typed. */
const FLAGS: Record<string, string> = { name: '--name', role: '--role', teams: '--team', features: '--feature' };

/** A random token (`lst_` + 32 bytes, base64url) and its validated config entry. */
export function createToken(opts: { name: string; role: string; teams?: string[]; features?: string[] }): CreatedToken {
  const token = `lst_${randomBytes(32).toString('base64url')}`;
  const entry = {
    name: opts.name,
    role: opts.role,
    tokenHash: hashToken(token),
    ...(opts.teams?.length ? { teams: opts.teams } : {}),
    ...(opts.features?.length ? { features: opts.features } : {}),
  };
  const r = authTokenSchema.safeParse(entry);
  if (!r.success)
    throw new LlmscopeError(
      'LLMSCOPE_ERR_CONFIG_INVALID',
      r.error.issues
        .map((i) => `${FLAGS[String(i.path[0])] ?? (i.path.join('.') || 'token')}: ${i.message}`)
        .join('; '),
    );
  return { token, entry };
}

/** `llmscope tokens create`'s action (declared in ./commands.ts). */
export function tokensCreateCommand(o: {
  name: string;
  role: string;
  team?: string[];
  feature?: string[];
  json?: boolean;
}): void {
  const c = createToken({ name: o.name, role: o.role, teams: o.team, features: o.feature });
  if (o.json) {
    process.stdout.write(`${JSON.stringify(c)}\n`);
    return;
  }
  process.stdout.write(
    `token (shown once; llmscope keeps only its hash): ${c.token}\n\nadd to the config under auth.tokens:\n${stringify([c.entry])}`,
  );
}
