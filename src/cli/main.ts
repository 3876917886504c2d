// The `llmscope` command: one subcommand per job (DESIGN §3 CLI). Errors print a message, never a stack.
// The commands are declared in ./program.ts; each loads what it runs only when it runs (see ./commands.ts), so
// `--help` and one command do not load the whole app.
import { LlmscopeError } from '../errors.js';
import { buildProgram } from './program.js';

const program = buildProgram();

// `llmscope ... | head`: when the reader goes away early, stop quietly (as other command-line tools do), no EPIPE stack.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

try {
  await program.parseAsync(process.argv);
} catch (err) {
  const msg = err instanceof LlmscopeError ? err.message : ((err as Error)?.message ?? String(err));
  process.stderr.write(`llmscope: ${msg}\n`);
  process.exit(1);
}
