// The server socket: plain HTTP, or HTTPS when `server.tls` names a certificate and key (for those without a
// TLS-terminating proxy; the session cookie is then Secure).
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { Server as TlsServer } from 'node:tls';
import { LlmscopeError } from '../errors.js';

export interface TlsFiles {
  cert: string;
  key: string;
}

type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

const OPTIONS = { keepAliveTimeout: 65_000, requestTimeout: 0 };

export function createListener(tls: TlsFiles | undefined, handler: RequestHandler): Server {
  if (!tls) return createServer(OPTIONS, handler);
  const read = (what: 'cert' | 'key') => {
    try {
      return readFileSync(tls[what]);
    } catch (err) {
      throw new LlmscopeError(
        'LLMSCOPE_ERR_CONFIG_INVALID',
        `server.tls.${what}: cannot read ${tls[what]} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      );
    }
  };
  try {
    return createHttpsServer({ ...OPTIONS, cert: read('cert'), key: read('key') }, handler);
  } catch (err) {
    if (err instanceof LlmscopeError) throw err;
    throw new LlmscopeError(
      'LLMSCOPE_ERR_CONFIG_INVALID',
      `server.tls: the certificate and key do not load as PEM (${(err as Error).message})`,
    );
  }
}

/** `https` for a TLS listener, else `http`. */
export function schemeOf(server: Server): 'http' | 'https' {
  return server instanceof TlsServer ? 'https' : 'http';
}
