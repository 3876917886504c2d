// Leader election among replicas with a PostgreSQL session advisory lock: each replica holds one dedicated
// connection and tries `pg_try_advisory_lock` every interval; the holder is the leader. The server releases the lock
// the moment the leader's connection ends (process killed, network cut, backend terminated), so another replica
// takes over at its next try — within one interval. Used for work exactly one replica must do (evaluating alerts).
import pg from 'pg';

export interface LeaderElectorOptions {
  /** A `postgres://` URL, or connection settings for the dedicated connection. */
  connection: string | pg.ClientConfig;
  /** What is being led; replicas electing for the same name compete for the same lock (e.g. `alerts`). */
  name: string;
  /** How often a follower retries and the leader checks its connection (default 5000 ms). */
  intervalMs?: number;
  /** Called whenever leadership is gained (true) or lost (false). */
  onChange?: (leader: boolean) => void;
  /** Called with connection failures (leadership is simply lost; the elector keeps retrying). */
  onError?: (err: Error) => void;
}

/** A 64-bit lock key from a name (FNV-1a), as a signed bigint, plus the two halves pg_locks shows. */
export function lockKeyOf(name: string): { key: bigint; classid: number; objid: number } {
  let h = 0xcbf29ce484222325n;
  for (const b of Buffer.from(`llmscope.leader.${name}`, 'utf8')) {
    h ^= BigInt(b);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return { key: BigInt.asIntN(64, h), classid: Number(h >> 32n), objid: Number(h & 0xffffffffn) };
}

/**
 * Elects one leader among the replicas that run a `LeaderElector` with the same `name` on the same database.
 * `isLeader()` is this replica's view as of its last check; before an action that must not happen twice (sending a
 * notification) call `confirm()`, which asks the server whether this connection still holds the lock.
 */
export class LeaderElector {
  private client: pg.Client | null = null;
  private leader = false;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private ticking: Promise<void> | null = null;
  private readonly lock: ReturnType<typeof lockKeyOf>;
  readonly intervalMs: number;

  constructor(private readonly opts: LeaderElectorOptions) {
    this.lock = lockKeyOf(opts.name);
    this.intervalMs = opts.intervalMs ?? 5000;
  }

  /** This replica's leadership as of the last check (or the moment its connection failed). */
  isLeader(): boolean {
    return this.leader;
  }

  /** The server process id of the dedicated connection (null when not connected): for diagnostics and tests. */
  get backendPid(): number | null {
    return (this.client as unknown as { processID?: number } | null)?.processID ?? null;
  }

  /** Tries once now, then every interval until `stop()`. Resolves after the first try. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.tick();
    this.schedule();
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      void this.tick().finally(() => this.schedule());
    }, this.intervalMs);
    this.timer.unref();
  }

  private setLeader(v: boolean): void {
    if (this.leader === v) return;
    this.leader = v;
    this.opts.onChange?.(v);
  }

  /** Forgets the connection (and with it leadership); the next tick connects again. */
  private drop(client: pg.Client, err?: Error): void {
    if (this.client !== client) return;
    this.client = null;
    this.setLeader(false);
    if (err) this.opts.onError?.(err);
    client.removeAllListeners('error');
    client.on('error', () => {});
    void client.end().catch(() => {});
  }

  private async connect(): Promise<pg.Client> {
    const cfg: pg.ClientConfig =
      typeof this.opts.connection === 'string' ? { connectionString: this.opts.connection } : this.opts.connection;
    const client = new pg.Client({
      application_name: `llmscope-leader-${this.opts.name}`,
      connectionTimeoutMillis: Math.max(1000, this.intervalMs),
      // a half-open connection must not keep a dead leader believing in itself: TCP keepalive finds it
      keepAlive: true,
      ...cfg,
    });
    client.on('error', (err) => this.drop(client, err));
    client.on('end', () => this.drop(client));
    await client.connect();
    return client;
  }

  private tick(): Promise<void> {
    this.ticking ??= this.tryOnce().finally(() => {
      this.ticking = null;
    });
    return this.ticking;
  }

  private async tryOnce(): Promise<void> {
    if (!this.running) return;
    let client = this.client;
    try {
      if (!client) {
        client = await this.connect();
        if (!this.running) {
          await client.end().catch(() => {});
          return;
        }
        this.client = client;
      }
      // An answer is applied only while its connection is still ours: one that arrives after the connection was
      // dropped (the backend terminated right after answering) would make a replica that lost the lock a leader
      // again until its next check.
      if (this.leader) {
        // still holding it? (a terminated backend shows up here if the 'error' event has not already)
        const held = await this.holds(client);
        if (this.client === client) this.setLeader(held);
      } else {
        const r = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::int8) AS ok', [
          this.lock.key.toString(),
        ]);
        if (this.client === client) this.setLeader(r.rows[0]?.ok === true);
      }
    } catch (err) {
      if (client) this.drop(client, err as Error);
      else this.opts.onError?.(err as Error);
    }
  }

  private async holds(client: pg.Client): Promise<boolean> {
    const r = await client.query<{ held: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted
         AND classid = $1::int8::oid AND objid = $2::int8::oid AND objsubid = 1) AS held`,
      [this.lock.classid, this.lock.objid],
    );
    return r.rows[0]?.held === true;
  }

  /**
   * Asks the server whether this replica holds the lock right now (a round trip on the dedicated connection);
   * false when not connected or the connection fails. Updates `isLeader()`.
   */
  async confirm(): Promise<boolean> {
    const client = this.client;
    if (!client || !this.leader) return false;
    try {
      const held = await this.holds(client);
      if (this.client === client) this.setLeader(held);
      return held;
    } catch (err) {
      this.drop(client, err as Error);
      return false;
    }
  }

  /** Stops trying and gives leadership up (the lock goes with the connection). */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.ticking?.catch(() => {});
    const client = this.client;
    if (!client) return;
    this.client = null;
    this.setLeader(false);
    client.removeAllListeners('end');
    await client.end().catch(() => {});
  }
}
