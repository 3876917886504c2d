// Email over SMTP (nodemailer): the title as subject, text and HTML bodies. Credentials come from the environment.
import nodemailer, { type Transporter } from 'nodemailer';
import type { ReceiverConfig } from '../spec.js';
import type { Notification, Notifier, NotifyResult } from './notifier.js';
import { htmlOf, textOf, titleOf } from './render.js';

type EmailConfig = NonNullable<ReceiverConfig['email']>;

export class EmailNotifier implements Notifier {
  readonly kind = 'email';
  private readonly transport: Transporter;

  constructor(
    private readonly cfg: EmailConfig,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    const user = cfg.smtp.userEnv ? env[cfg.smtp.userEnv] : undefined;
    const pass = cfg.smtp.passwordEnv ? env[cfg.smtp.passwordEnv] : undefined;
    // A named variable that is unset means no authentication at all (as start-up and check-config warn), not a
    // sign-in with a user and no password that every server refuses.
    const unset = (name: string | undefined) => name !== undefined && !env[name];
    this.transport = nodemailer.createTransport({
      host: cfg.smtp.host,
      port: cfg.smtp.port,
      secure: cfg.smtp.secure,
      requireTLS: cfg.smtp.requireTLS,
      auth: user && !unset(cfg.smtp.passwordEnv) ? { user, pass } : undefined,
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 20_000,
    });
  }

  async send(n: Notification): Promise<NotifyResult> {
    try {
      await this.transport.sendMail({
        from: this.cfg.from,
        to: Array.isArray(this.cfg.to) ? this.cfg.to : [this.cfg.to],
        subject: titleOf(n),
        text: textOf(n),
        html: htmlOf(n),
      });
      return { ok: true };
    } catch (err) {
      return { ok: false, error: (err as Error)?.message ?? String(err) };
    }
  }

  async close(): Promise<void> {
    this.transport.close();
  }
}
